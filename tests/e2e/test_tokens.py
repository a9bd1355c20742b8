"""Refresh tokens, userinfo, introspection, revocation (spec/idporten-oidc.md §11-§14)."""

import json
import uuid

import pytest

from conftest import (PID, b64u, check_access_token, check_id_token, jwt_parts, login, start)


def err(r):
    try:
        return r.json().get("error")
    except ValueError:
        return None


def bearer(server, token, path="/userinfo"):
    return server.get(path, headers={"Authorization": "Bearer " + token})


# ---- refresh ------------------------------------------------------------

def test_refresh_rotation_and_reuse(server, new_client, new_browser):
    c = new_client(refresh=True)
    res = login(server, c, new_browser())
    tok = c.tokens(res)
    idc = check_id_token(server, c, tok["id_token"], res)
    rt1 = tok["refresh_token"]
    assert len(rt1) >= 43

    r = c.refresh(rt1)
    assert r.status_code == 200, r.text
    t2 = r.json()
    rt2 = t2["refresh_token"]
    assert rt2 != rt1, "refresh token not rotated"
    assert t2["access_token"] != tok["access_token"]
    assert t2["token_type"] == "Bearer"
    assert "no-store" in r.headers.get("Cache-Control", "")
    check_access_token(server, c, t2["access_token"], idc)
    if "id_token" in t2:
        c2 = server.verify(t2["id_token"])[1]
        assert c2["sub"] == idc["sub"] and c2["aud"] == c.client_id

    r = c.refresh(rt2)
    assert r.status_code == 200, r.text
    rt3 = r.json()["refresh_token"]
    assert rt3 not in (rt1, rt2)

    # a spent token fails ...
    r = c.refresh(rt1)
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    # ... and its reuse revoked the whole family, newest included
    r = c.refresh(rt3)
    assert r.status_code == 400 and err(r) == "invalid_grant", f"newest refresh token survived reuse: {r.text}"
    r = c.refresh(rt2)
    assert r.status_code == 400 and err(r) == "invalid_grant"


def test_spent_refresh_token_fails(server, new_client, new_browser):
    c = new_client(refresh=True)
    rt1 = c.tokens(login(server, c, new_browser()))["refresh_token"]
    assert c.refresh(rt1).status_code == 200
    r = c.refresh(rt1)
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text


def test_refresh_public_client(server, new_client, new_browser):
    c = new_client(auth="none", refresh=True)
    tok = c.tokens(login(server, c, new_browser()))
    r = c.refresh(tok["refresh_token"])
    assert r.status_code == 200, r.text
    assert r.json()["refresh_token"] != tok["refresh_token"]
    r2 = c.refresh(tok["refresh_token"])
    assert r2.status_code == 400 and err(r2) == "invalid_grant"


def test_refresh_requires_client_auth(server, new_client, new_browser):
    c = new_client(refresh=True)
    rt = c.tokens(login(server, c, new_browser()))["refresh_token"]
    for kw in ({"method": "noauth"}, {"method": "none"}, {"secret": "wrong"},
               {"method": "client_secret_post"}):
        r = c.refresh(rt, **kw)
        assert r.status_code == 401 and err(r) == "invalid_client", (kw, r.text)
    # failed authentication did not spend the token
    r = c.refresh(rt)
    assert r.status_code == 200, r.text


def test_refresh_token_of_another_client(server, new_client, new_browser):
    a, b = new_client(refresh=True), new_client(refresh=True)
    rt = a.tokens(login(server, a, new_browser()))["refresh_token"]
    r = b.refresh(rt)
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    r = a.refresh(rt)
    assert r.status_code == 200, f"another client's attempt killed the token: {r.text}"


def test_no_refresh_token_without_grant(server, new_client, new_browser):
    c = new_client(refresh=False)
    tok = c.tokens(login(server, c, new_browser()))
    assert "refresh_token" not in tok


def test_refresh_narrower_scope(server, new_client, new_browser):
    c = new_client(refresh=True)
    tok = c.tokens(login(server, c, new_browser()))
    r = c.refresh(tok["refresh_token"], scope="openid")
    assert r.status_code == 200, r.text
    t2 = r.json()
    assert t2["scope"].split() == ["openid"]
    assert jwt_parts(t2["access_token"])[1]["scope"].split() == ["openid"]
    # widening is refused
    r = c.refresh(t2["refresh_token"], scope="openid profile idporten:token.introspection")
    assert r.status_code == 400 and err(r) == "invalid_scope", r.text


# ---- userinfo -----------------------------------------------------------

def test_userinfo(server, new_client, new_browser):
    c = new_client()
    res = login(server, c, new_browser())
    tok = c.tokens(res)
    idc = check_id_token(server, c, tok["id_token"], res)
    r = bearer(server, tok["access_token"])
    assert r.status_code == 200, r.text
    assert r.headers.get("Content-Type", "").startswith("application/json")
    j = r.json()
    assert j["sub"] == idc["sub"] and j["pid"] == PID and j["locale"] == "nb"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 2000], ids=["none", "garbage", "jwt_shape", "long"])
def test_userinfo_bad_token(server, token):
    r = bearer(server, token) if token else server.get("/userinfo")
    assert r.status_code == 401, r.text
    assert r.headers.get("WWW-Authenticate", "").lower().startswith("bearer"), r.headers
    if token:
        assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_userinfo_tampered_token(server, new_client, new_browser):
    c = new_client()
    at = c.tokens(login(server, c, new_browser()))["access_token"]
    h, p, s = at.split(".")
    claims = jwt_parts(at)[1]
    claims["pid"] = "01819012365"
    forged = ".".join([h, b64u(json.dumps(claims).encode()), s])
    assert bearer(server, forged).status_code == 401
    # a token with a flipped signature byte
    bad = at[:-2] + ("A" if at[-2] != "A" else "B") + at[-1]
    assert bearer(server, bad).status_code == 401


def test_userinfo_needs_profile(server, new_client, new_browser):
    c = new_client()
    tok = c.tokens(login(server, c, new_browser(), scope="openid"))
    r = bearer(server, tok["access_token"])
    assert r.status_code == 403, r.text
    assert 'error="insufficient_scope"' in r.headers.get("WWW-Authenticate", "")


# ---- introspection --------------------------------------------------------

def test_introspect_own_token(server, new_client, new_browser):
    c = new_client(introspect=True, refresh=True)
    res = login(server, c, new_browser())
    tok = c.tokens(res)
    idc = check_id_token(server, c, tok["id_token"], res)
    for path in ("/token/introspect", "/tokeninfo"):
        r = c.introspect(tok["access_token"], path=path)
        assert r.status_code == 200, r.text
        j = r.json()
        assert j.get("active") is True, j
        assert j["sub"] == idc["sub"]
        assert j["client_id"] == c.client_id
        assert j["iss"] == server.issuer
        assert set(j["scope"].split()) == {"openid", "profile"}
        assert j["pid"] == PID and j["acr"] == "idporten-loa-substantial"
        assert isinstance(j["exp"], int) and j["exp"] > 0
        assert "token_type" in j and "expires_in" in j
        assert 0 < j["expires_in"] <= 120


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "Q2hhbmdlZCBieSBub2JvZHkgYXQgYWxsIGV2ZXIgMTIzNDU"],
                         ids=["garbage", "jwt_shape", "random"])
def test_introspect_unknown_token(server, new_client, token):
    c = new_client(introspect=True)
    r = c.introspect(token)
    assert r.status_code == 200 and r.json() == {"active": False}, r.text


def test_introspect_without_scope(server, new_client, new_browser):
    """A caller without idporten:token.introspection learns nothing (spec §14: active false)."""
    c = new_client()
    tok = c.tokens(login(server, c, new_browser()))
    r = c.introspect(tok["access_token"])
    assert r.status_code == 200 and r.json() == {"active": False}, r.text


def test_introspect_another_clients_login_token(server, new_client, new_browser):
    """A token carrying only openid/profile may be introspected only by its own client."""
    owner = new_client()
    other = new_client(introspect=True)
    tok = owner.tokens(login(server, owner, new_browser()))
    r = other.introspect(tok["access_token"])
    assert r.status_code == 200 and r.json() == {"active": False}, r.text


@pytest.mark.parametrize("kw", [{"secret": "wrong"}, {"method": "noauth"}, {"method": "client_secret_post"},
                                {"method": "none"}], ids=["wrong_secret", "no_auth", "wrong_method", "client_id_only"])
def test_introspect_bad_client_auth(server, new_client, new_browser, kw):
    c = new_client(introspect=True)
    tok = c.tokens(login(server, c, new_browser()))
    r = c.introspect(tok["access_token"], **kw)
    assert r.status_code == 401 and err(r) == "invalid_client", r.text
    assert "active" not in r.json()


def test_introspect_revoked(server, new_client, new_browser):
    c = new_client(introspect=True, refresh=True)
    tok = c.tokens(login(server, c, new_browser()))
    assert c.introspect(tok["access_token"]).json()["active"] is True
    r = c.revoke(tok["access_token"], hint="access_token")
    assert r.status_code == 200, r.text
    assert c.introspect(tok["access_token"]).json() == {"active": False}
    # the grant went with it
    r = c.refresh(tok["refresh_token"])
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text


# ---- revocation --------------------------------------------------------------

def test_revoke_refresh_token(server, new_client, new_browser):
    c = new_client(introspect=True, refresh=True)
    b = new_browser()
    tok = c.tokens(login(server, c, b))
    r = c.revoke(tok["refresh_token"], hint="refresh_token")
    assert r.status_code == 200, r.text
    r = c.refresh(tok["refresh_token"])
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    assert c.introspect(tok["access_token"]).json() == {"active": False}
    # the SSO session is untouched (spec §14)
    res = login(server, c, b, prompt="none")
    assert not res.eid_shown


def test_revoke_without_hint(server, new_client, new_browser):
    c = new_client(refresh=True, auth="client_secret_post")
    tok = c.tokens(login(server, c, new_browser()))
    assert c.revoke(tok["refresh_token"]).status_code == 200
    assert err(c.refresh(tok["refresh_token"])) == "invalid_grant"


@pytest.mark.parametrize("token,hint", [("unknown-0f3c9a7e", None),
                                        ("Q2hhbmdlZCBieSBub2JvZHkgYXQgYWxsIGV2ZXIgMTIzNDU", "refresh_token"),
                                        ("a.b.c", "access_token")], ids=["plain", "refresh_hint", "jwt_shape"])
def test_revoke_unknown_token(server, new_client, token, hint):
    c = new_client()
    r = c.revoke(token, hint=hint)
    assert r.status_code == 200, r.text


def test_revoke_requires_client_auth(server, new_client, new_browser):
    c = new_client(refresh=True)
    tok = c.tokens(login(server, c, new_browser()))
    for kw in ({"secret": "wrong"}, {"method": "noauth"}):
        r = c.revoke(tok["refresh_token"], **kw)
        assert r.status_code == 401 and err(r) == "invalid_client", r.text
    assert c.refresh(tok["refresh_token"]).status_code == 200


def test_revoke_other_clients_token_is_noop(server, new_client, new_browser):
    a, b = new_client(refresh=True), new_client(refresh=True)
    tok = a.tokens(login(server, a, new_browser()))
    r = b.revoke(tok["refresh_token"])
    assert r.status_code == 200
    r = a.refresh(tok["refresh_token"])
    assert r.status_code == 200, f"client b revoked client a's token: {r.text}"


def test_revoke_public_client(server, new_client, new_browser):
    c = new_client(auth="none", refresh=True)
    tok = c.tokens(login(server, c, new_browser()))
    assert c.revoke(tok["refresh_token"]).status_code == 200
    assert err(c.refresh(tok["refresh_token"])) == "invalid_grant"


# ---- API scopes: opaque and pseudonymous tokens (§11, §13) -------------------------

def test_opaque_access_token(server, new_client, new_browser):
    api = new_client(introspect=True)      # the API provider's introspecting client
    name = f"e2etest:opaque.{uuid.uuid4().hex[:8]}"
    server.ctl("scope", "create", "--name", name, "--description", "e2e", "--token-type", "OPAQUE",
               "--allowed-integration-type", "api_klient",
               "--enforced-aud-for-introspection", api.client_id)
    c = new_client(integration_type="api_klient", scopes=["openid", "profile", name])
    res = login(server, c, new_browser(), scope=f"openid profile {name}")
    tok = c.tokens(res)
    idc = check_id_token(server, c, tok["id_token"], res)
    at = tok["access_token"]
    assert at.count(".") != 2, "OPAQUE scope but a self-contained token"
    assert len(at) >= 43
    assert bearer(server, at).json()["sub"] == idc["sub"]
    r = api.introspect(at)
    j = r.json()
    assert r.status_code == 200 and j.get("active") is True, r.text
    assert j["sub"] == idc["sub"] and j["client_id"] == c.client_id
    assert name in j["scope"].split()
    # the receiving client is not named in enforced_aud_for_introspection
    assert c.introspect(at).json() == {"active": False}


def test_pseudonymous_scope(server, new_client, new_browser):
    name = f"e2etest:pseudo.{uuid.uuid4().hex[:8]}"
    server.ctl("scope", "create", "--name", name, "--description", "e2e", "--requires-pseudonymous-tokens",
               "--allowed-integration-type", "api_klient")
    c = new_client(integration_type="api_klient", scopes=["openid", "profile", name])
    res = login(server, c, new_browser(), scope=f"openid profile {name}")
    tok = c.tokens(res)
    idc = server.verify(tok["id_token"])[1]
    assert "pid" not in idc, "pid in the ID token despite a pseudonymising scope"
    assert idc["aud"] == c.client_id and idc["nonce"] == res.nonce
    atc = server.verify(tok["access_token"])[1]
    assert "pid" not in atc, "pid in the access token despite a pseudonymising scope"
    assert atc["sub"] == idc["sub"]


def test_scope_not_for_idporten_type(server, new_client, new_browser):
    """A scope allowed only for api_klient cannot be asked for by an idporten client."""
    name = f"e2etest:api.{uuid.uuid4().hex[:8]}"
    server.ctl("scope", "create", "--name", name, "--description", "e2e", "--allowed-integration-type", "api_klient")
    c = new_client()
    res = start(server, c, new_browser(), scope=f"openid profile {name}")
    assert res.kind == "redirect" and res.error == "invalid_scope", res


def test_access_token_lifetime_from_registration(server, new_client, new_browser):
    c = new_client(extra_args=["--access-token-lifetime", "300"])
    res = login(server, c, new_browser())
    tok = c.tokens(res)
    assert tok["expires_in"] == 300
    idc = check_id_token(server, c, tok["id_token"], res)      # the ID token keeps 120 s
    check_access_token(server, c, tok["access_token"], idc, lifetime=300)


def test_scope_integration_type_checked_at_use(server, new_client, new_browser):
    """A scope's allowed integration types hold at /authorize and /token, not only at registration."""
    name = f"e2etest:typed.{uuid.uuid4().hex[:8]}"
    server.ctl("scope", "create", "--name", name, "--description", "e2e", "--allowed-integration-type", "api_klient")
    c = new_client(integration_type="api_klient", scopes=["openid", "profile", name], refresh=True)
    scope = f"openid profile {name}"
    tok = c.tokens(login(server, c, new_browser(), scope=scope))
    pending = login(server, c, new_browser(), scope=scope)      # a code not yet redeemed
    # The scope is narrowed to another type after the client registered it.
    server.ctl("scope", "update", name, "--allowed-integration-type", "maskinporten")
    res = start(server, c, new_browser(), scope=scope)
    assert res.kind == "redirect" and res.error == "invalid_scope", res
    r = c.redeem(pending)
    assert r.status_code == 400 and err(r) == "invalid_scope", r.text
    r = c.refresh(tok["refresh_token"])
    assert r.status_code == 400 and err(r) == "invalid_scope", r.text
    # Allowed for api_klient again: the same client logs in.
    server.ctl("scope", "update", name, "--allowed-integration-type", "api_klient")
    c.tokens(login(server, c, new_browser(), scope=scope))


def test_refused_refresh_keeps_the_token(server, new_client, new_browser):
    """A refresh refused after the look-up (here: its scope narrowed since) issues nothing and
    spends nothing: once the scope is allowed again the same token refreshes, and its use is
    no reuse that would revoke the grant."""
    name = f"e2etest:typed.{uuid.uuid4().hex[:8]}"
    server.ctl("scope", "create", "--name", name, "--description", "e2e", "--allowed-integration-type", "api_klient")
    c = new_client(integration_type="api_klient", scopes=["openid", "profile", name], refresh=True)
    tok = c.tokens(login(server, c, new_browser(), scope=f"openid profile {name}"))
    server.ctl("scope", "update", name, "--allowed-integration-type", "maskinporten")
    r = c.refresh(tok["refresh_token"])
    assert r.status_code == 400 and err(r) == "invalid_scope", r.text
    server.ctl("scope", "update", name, "--allowed-integration-type", "api_klient")
    r = c.refresh(tok["refresh_token"])
    assert r.status_code == 200, f"a refused refresh spent the token: {r.text}"
    r = c.refresh(r.json()["refresh_token"])
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("opaque", [False, True])
def test_consumer_without_client_orgno(server, new_client, new_browser, opaque):
    """spec §11: consumer always. A client registered without an organisation is the operator's."""
    operator = {"authority": "iso6523-actorid-upis", "ID": "0192:991825827"}   # operator_orgno default
    if not opaque:
        c = new_client(orgno=None)
        tok = c.tokens(login(server, c, new_browser()))
        assert server.verify(tok["access_token"])[1]["consumer"] == operator
        return
    api = new_client(introspect=True)
    name = f"e2etest:opq.{uuid.uuid4().hex[:8]}"
    server.ctl("scope", "create", "--name", name, "--description", "e2e", "--token-type", "OPAQUE",
               "--allowed-integration-type", "api_klient",
               "--enforced-aud-for-introspection", api.client_id)
    c = new_client(integration_type="api_klient", scopes=["openid", "profile", name], orgno=None)
    tok = c.tokens(login(server, c, new_browser(), scope=f"openid profile {name}"))
    j = api.introspect(tok["access_token"]).json()
    assert j.get("active") is True and j["consumer"] == operator, j


def test_operator_orgno_configured(start_server, listener, tmp_path, new_browser):
    """Another operator's organisation number is the consumer of its own clients' tokens."""
    from conftest import create_client
    s = start_server({"PORTEN_OPERATOR_ORGNO": "974760673"})
    c = create_client(s, listener, tmp_path, orgno=None)
    tok = c.tokens(login(s, c, new_browser()))
    assert s.verify(tok["access_token"])[1]["consumer"] == {
        "authority": "iso6523-actorid-upis", "ID": "0192:974760673"}
    c = create_client(s, listener, tmp_path)              # a client of its own organisation
    tok = c.tokens(login(s, c, new_browser()))
    assert s.verify(tok["access_token"])[1]["consumer"]["ID"] == "0192:991825827"


def test_operator_orgno_checked():
    """operator_orgno must be a valid organisation number; a bad one stops start-up."""
    import os
    import subprocess
    from conftest import PORTEND
    env = dict(os.environ, PORTEN_OPERATOR_ORGNO="123456789")
    p = subprocess.run([PORTEND, "--check-config"], env=env, capture_output=True, timeout=30)
    assert p.returncode != 0 and b"operator_orgno" in p.stdout + p.stderr, p
    env["PORTEN_OPERATOR_ORGNO"] = "974760673"
    p = subprocess.run([PORTEND, "--check-config"], env=env, capture_output=True, timeout=30)
    assert p.returncode == 0, p


def test_scope_description_and_visibility(server):
    """spec/maskinporten.md §9: description is required; INTERNAL is a visibility."""
    name = f"e2etest:vis.{uuid.uuid4().hex[:8]}"
    p = server.ctl("scope", "create", "--name", name, check=False)
    assert p.returncode != 0 and b"description is required" in p.stderr + p.stdout, p
    p = server.ctl("scope", "create", "--name", name, "--description", "", check=False)
    assert p.returncode != 0 and b"description is required" in p.stderr + p.stdout, p
    s = server.ctl("scope", "create", "--name", name, "--description", "Internal API",
                   "--visibility", "INTERNAL")
    assert s["visibility"] == "INTERNAL" and s["description"] == "Internal API"
    p = server.ctl("scope", "update", name, "--visibility", "HIDDEN", check=False)
    assert p.returncode != 0 and b"visibility" in p.stderr + p.stdout, p
    assert server.ctl("scope", "show", name)["visibility"] == "INTERNAL"
