"""Discovery metadata and JWKS (spec/idporten-oidc.md §1, §2)."""

import base64
import json
import time

import pytest
from jwcrypto import jwk

from conftest import HIGH, SUBSTANTIAL, b64u_decode, create_client, jwt_parts, login

ENDPOINTS = {
    "authorization_endpoint": "/authorize",
    "pushed_authorization_request_endpoint": "/par",
    "token_endpoint": "/token",
    "userinfo_endpoint": "/userinfo",
    "jwks_uri": "/jwks.json",
    "end_session_endpoint": "/logout",
    "revocation_endpoint": "/revoke",
    "introspection_endpoint": "/token/introspect",
}

AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]

LISTS = {
    "response_types_supported": ["code"],
    "response_modes_supported": ["query", "form_post", "fragment"],
    "grant_types_supported": ["authorization_code", "refresh_token"],
    "code_challenge_methods_supported": ["S256"],
    "token_endpoint_auth_methods_supported": AUTH_METHODS,
    "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
    # RFC 7662 §2.1: the caller of introspection authenticates
    "introspection_endpoint_auth_methods_supported": AUTH_METHODS[:3],
    "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "RS512"],
    "subject_types_supported": ["pairwise"],
    "id_token_signing_alg_values_supported": ["RS256"],
    "ui_locales_supported": ["nb", "nn", "en", "se"],
    "prompt_values_supported": ["login", "none"],
    "scopes_supported": ["openid", "profile"],
    "claims_supported": "sub iss aud exp iat jti auth_time nonce acr amr pid locale sid".split(),
    "authorization_details_types_supported": ["idporten:fullmakt"],
}

BOOLS = {
    "request_parameter_supported": True,
    "request_uri_parameter_supported": False,
    "require_pushed_authorization_requests": False,
    "frontchannel_logout_supported": True,
    "frontchannel_logout_session_supported": True,
    "backchannel_logout_supported": True,
    "backchannel_logout_session_supported": True,
    "authorization_response_iss_parameter_supported": True,
    "claims_parameter_supported": False,
}

# Features Porten does not have: advertising them would mislead clients.
NOT_IMPLEMENTED = [
    "registration_endpoint", "check_session_iframe", "device_authorization_endpoint",
    "backchannel_authentication_endpoint",
    "mtls_endpoint_aliases", "id_token_encryption_alg_values_supported",
    "id_token_encryption_enc_values_supported", "userinfo_encryption_alg_values_supported",
    "userinfo_encryption_enc_values_supported", "request_object_encryption_alg_values_supported",
    "request_object_encryption_enc_values_supported",
    "authorization_encryption_alg_values_supported",
]


@pytest.fixture(scope="module")
def meta(server):
    r = server.get("/.well-known/openid-configuration")
    assert r.status_code == 200, r.text
    assert r.headers.get("Content-Type", "").startswith("application/json")
    return r.json()


def test_issuer_exact(server, meta):
    assert meta["issuer"] == server.issuer
    assert not meta["issuer"].endswith("/")


@pytest.mark.parametrize("field,path", sorted(ENDPOINTS.items()))
def test_endpoint_urls(server, meta, field, path):
    # one host serves everything: every endpoint is the issuer followed by its path (§2 design)
    assert meta.get(field) == server.issuer + path


@pytest.mark.parametrize("field,value", sorted(LISTS.items()))
def test_list_values(meta, field, value):
    assert field in meta, f"{field} missing"
    got = meta[field]
    assert isinstance(got, list), f"{field} is not a list: {got!r}"
    assert len(got) == len(set(got)), f"{field} has duplicates: {got}"
    assert sorted(got) == sorted(value), f"{field}: {got} != {value}"


def test_acr_values(meta):
    got = meta.get("acr_values_supported")
    assert isinstance(got, list)
    assert SUBSTANTIAL in got and HIGH in got
    # (design) eidas-loa-* may be listed too; nothing else
    assert set(got) <= {SUBSTANTIAL, HIGH, "eidas-loa-substantial", "eidas-loa-high"}, got
    assert "idporten-loa-low" not in got


@pytest.mark.parametrize("field,value", sorted(BOOLS.items()))
def test_boolean_values(meta, field, value):
    assert field in meta, f"{field} missing"
    assert meta[field] is value, f"{field} = {meta[field]!r}, want {value}"


def test_nothing_unimplemented_advertised(meta):
    present = [k for k in NOT_IMPLEMENTED if k in meta]
    assert not present, f"advertises unimplemented features: {present}"
    assert meta.get("tls_client_certificate_bound_access_tokens", False) is False
    for rt in meta["response_types_supported"]:
        assert rt == "code"
    for k, v in meta.items():
        if k.endswith("signing_alg_values_supported"):
            assert "none" not in v, f"{k} allows none"
            assert "HS256" not in v, f"{k} allows HS256"
    if "request_object_signing_alg_values_supported" in meta:
        assert set(meta["request_object_signing_alg_values_supported"]) <= {"RS256", "RS384", "RS512"}


def test_every_advertised_endpoint_exists(server, meta):
    """Each endpoint URL answers (a 4xx for an empty request is fine, a 404/5xx is not)."""
    for field, path in ENDPOINTS.items():
        url = meta[field]
        assert url.startswith(server.issuer)
        rel = url[len(server.issuer):]
        if field in ("jwks_uri",):
            r = server.get(rel)
            assert r.status_code == 200
        elif field in ("authorization_endpoint", "end_session_endpoint", "userinfo_endpoint"):
            r = server.get(rel)
            assert r.status_code not in (404, 405) and r.status_code < 500, (field, r.status_code)
        else:
            r = server.post(rel, data={})
            assert r.status_code not in (404, 405) and r.status_code < 500, (field, r.status_code)
    # the documented alias of the introspection endpoint
    r = server.post("/tokeninfo", data={})
    assert r.status_code not in (404, 405) and r.status_code < 500


def test_health(server):
    assert server.get("/health/live").status_code == 200
    assert server.get("/health/ready").status_code == 200


def _check_jwk(k):
    assert k.get("kty") == "RSA", k
    assert k.get("use") == "sig", k
    assert k.get("alg") == "RS256", k
    assert isinstance(k.get("kid"), str) and k["kid"], k
    assert k.get("n") and k.get("e"), k
    private = [m for m in ("d", "p", "q", "dp", "dq", "qi", "oth", "k") if m in k]
    assert not private, f"private members published: {private}"
    key = jwk.JWK(**k)
    assert not key.has_private
    n = int.from_bytes(b64u_decode(k["n"]), "big")
    assert n.bit_length() >= 2048, f"modulus {n.bit_length()} bits"
    if "x5c" in k:
        # (design) x5c: the certificate must carry this very public key
        from cryptography import x509
        cert = x509.load_der_x509_certificate(base64.b64decode(k["x5c"][0]))
        pub = cert.public_key().public_numbers()
        assert pub.n == n and pub.e == int.from_bytes(b64u_decode(k["e"]), "big")
    return key


def test_jwks(server, meta):
    r = server.get("/jwks.json")
    assert r.status_code == 200
    assert r.headers.get("Content-Type", "").startswith(("application/json", "application/jwk-set+json"))
    keys = r.json().get("keys")
    assert isinstance(keys, list) and keys, r.text
    kids = [k.get("kid") for k in keys]
    assert len(kids) == len(set(kids)), f"duplicate kids {kids}"
    for k in keys:
        _check_jwk(k)
    # the whole set imports too
    ks = jwk.JWKSet.from_json(r.text)
    assert len(ks["keys"]) == len(keys)


def test_tokens_signed_by_published_key(server, new_client, new_browser):
    c = new_client()
    res = login(server, c, new_browser())
    tok = c.tokens(res)
    for t in (tok["id_token"], tok["access_token"]):
        header, _ = jwt_parts(t)
        assert header["kid"] in [k["kid"] for k in server.jwks(refresh=True)["keys"]]
        server.verify(t)


def test_key_rotation_publishes_before_signing(server, new_client, new_browser):
    """`portenctl keys rotate`: the new key shows up in JWKS at once but does not sign yet (§1)."""
    c = new_client()
    before = {k["kid"] for k in server.jwks(refresh=True)["keys"]}
    res = login(server, c, new_browser())
    old_kid = jwt_parts(c.tokens(res)["id_token"])[0]["kid"]
    server.ctl("keys", "rotate")
    listing = server.ctl("keys", "list")
    new = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        new = {k["kid"] for k in server.jwks(refresh=True)["keys"]} - before
        if new:
            break
        time.sleep(0.5)
    assert len(new) == 1, f"rotation did not publish exactly one new key: {new}"
    new_kid = new.pop()
    assert new_kid in json.dumps(listing), f"keys list does not show {new_kid}: {listing}"
    assert old_kid in {k["kid"] for k in server.jwks()["keys"]}, "current key dropped from JWKS"
    for k in server.jwks()["keys"]:
        _check_jwk(k)
    # key_publish_delay defaults to 24 h: the old key keeps signing
    res = login(server, c, new_browser())
    tok = c.tokens(res)
    assert jwt_parts(tok["id_token"])[0]["kid"] == old_kid
    assert jwt_parts(tok["access_token"])[0]["kid"] == old_kid


def test_key_withdraw(server, new_client, new_browser):
    """`portenctl keys withdraw KID`: a compromised key leaves the JWKS and stops signing at once
    (within the 5 s key caches of every node); a new key signs straight away."""
    c = new_client()
    old_kid = jwt_parts(c.tokens(login(server, c, new_browser()))["id_token"])[0]["kid"]
    out = server.ctl("keys", "withdraw", old_kid)
    assert out["withdrawn"] == old_kid and out["signing_key"], out
    new_kid = out["signing_key"]
    assert new_kid in {k["kid"] for k in server.jwks(refresh=True)["keys"]}
    assert old_kid not in {k["kid"] for k in server.jwks(refresh=True)["keys"]}
    assert old_kid not in json.dumps(server.ctl("keys", "list"))
    deadline = time.monotonic() + 10
    while True:
        tok = c.tokens(login(server, c, new_browser()))
        kids = {jwt_parts(tok[t])[0]["kid"] for t in ("id_token", "access_token")}
        if kids == {new_kid} or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert kids == {new_kid}, f"still signing with {kids} after the withdrawal"
    server.verify(tok["id_token"])
    # hostile: unknown, already withdrawn, missing or odd arguments
    for args in (["keys", "withdraw", "no-such-kid"], ["keys", "withdraw", old_kid],
                 ["keys", "withdraw"], ["keys", "withdraw", old_kid, "--issuer", "nobody"],
                 ["keys", "withdraw", "x" * 4000]):
        p = server.ctl(*args, check=False)
        assert p.returncode != 0, args
    assert new_kid in {k["kid"] for k in server.jwks(refresh=True)["keys"]}


def test_key_withdraw_successor(start_server, listener, tmp_path, new_browser):
    """`keys rotate`, then `keys withdraw` of the new key before it signs: the old key signs on
    past the new key's start, and tokens are still issued."""
    s = start_server({"PORTEN_KEY_PUBLISH_DELAY": "6"})
    c = create_client(s, listener, tmp_path)
    old_kid = jwt_parts(c.tokens(login(s, c, new_browser()))["id_token"])[0]["kid"]
    s.ctl("keys", "rotate")
    pending = [k["kid"] for k in s.ctl("keys", "list") if k["state"] == "pending"]
    assert len(pending) == 1, s.ctl("keys", "list")
    out = s.ctl("keys", "withdraw", pending[0])
    assert out["withdrawn"] == pending[0], out
    time.sleep(8)
    listing = s.ctl("keys", "list")
    assert [k["kid"] for k in listing if k["state"] == "signing"] == [old_kid], listing
    tok = c.tokens(login(s, c, new_browser()))
    assert {jwt_parts(tok[t])[0]["kid"] for t in ("id_token", "access_token")} == {old_kid}
    s.verify(tok["id_token"])
