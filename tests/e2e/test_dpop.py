"""DPoP (spec/idporten-oidc.md §19) at /token, /par, /authorize and /userinfo, proofs made
with python3-jwcrypto (dpopkit.py)."""

import json
import os
import time

import pytest
from jwcrypto import jwk, jws

from dpopkit import ath, ec, proof
from conftest import (auth_params, authorize, b64u, b64u_decode, finish_login, http, jwt_parts,
                      login, start)


def redeem(c, res, dpop):
    data = {"grant_type": "authorization_code", "code": res.code,
            "redirect_uri": res.sent.get("redirect_uri", c.redirect_uri)}
    if res.verifier:
        data["code_verifier"] = res.verifier
    return c.post("/token", data, headers={"DPoP": dpop} if dpop else None)


def refresh(c, rt, dpop):
    return c.post("/token", {"grant_type": "refresh_token", "refresh_token": rt},
                  headers={"DPoP": dpop} if dpop else None)


def test_public_client_binds_access_and_refresh(server, new_client, new_browser):
    c = new_client(auth="none", refresh=True)
    key = ec()
    url = server.url("/token")
    r = redeem(c, login(server, c, new_browser()), proof(key, url))
    assert r.status_code == 200, r.text
    tok = r.json()
    assert tok["token_type"] == "DPoP"
    claims = jwt_parts(tok["access_token"])[1]
    assert claims["cnf"]["jkt"] == key.thumbprint()
    # bound refresh token: no proof, or another key, is invalid_grant (and spends nothing)
    assert refresh(c, tok["refresh_token"], None).json()["error"] == "invalid_grant"
    assert refresh(c, tok["refresh_token"], proof(ec(), url)).json()["error"] == "invalid_grant"
    r = refresh(c, tok["refresh_token"], proof(key, url))
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "DPoP"


def test_confidential_client_refresh_unbound(server, new_client, new_browser):
    c = new_client(refresh=True)
    key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    url = server.url("/token")
    r = redeem(c, login(server, c, new_browser()), proof(key, url, alg="EdDSA"))
    assert r.status_code == 200, r.text
    tok = r.json()
    assert tok["token_type"] == "DPoP"
    r = refresh(c, tok["refresh_token"], None)
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "Bearer"


def test_algs_rs256_ps256(server, new_client, new_browser):
    key = jwk.JWK.generate(kty="RSA", size=2048)
    for alg in ("RS256", "PS256"):
        c = new_client()
        r = redeem(c, login(server, c, new_browser()), proof(key, server.url("/token"), alg=alg))
        assert r.status_code == 200, (alg, r.text)
        assert r.json()["token_type"] == "DPoP"


def test_iat_window_accepts_pm10(server, new_client, new_browser):
    for d in (-10, 8):
        c = new_client()
        r = redeem(c, login(server, c, new_browser()),
                   proof(ec(), server.url("/token"), iat=int(time.time()) + d))
        assert r.status_code == 200, (d, r.text)


def test_bad_proofs(server, new_client, new_browser):
    url = server.url("/token")
    key = ec()
    priv = key.export(as_dict=True)
    now = int(time.time())
    cases = {
        "no typ": lambda: proof(key, url, typ=None),
        "wrong typ": lambda: proof(key, url, typ="JWT"),
        "private jwk": lambda: proof(key, url, jwk_pub=priv),
        "extra header": lambda: proof(key, url, extra_hdr={"kid": "x"}),
        "no jti": lambda: proof(key, url, drop=("jti",)),
        "no htm": lambda: proof(key, url, drop=("htm",)),
        "no htu": lambda: proof(key, url, drop=("htu",)),
        "no iat": lambda: proof(key, url, drop=("iat",)),
        "wrong htm": lambda: proof(key, url, htm="GET"),
        "wrong htu": lambda: proof(key, server.url("/par")),
        "too old": lambda: proof(key, url, iat=int(time.time()) - 61),
        "future": lambda: proof(key, url, iat=int(time.time()) + 31),
        "not a jws": lambda: "abc.def",
    }
    for what, p in cases.items():
        c = new_client()
        r = redeem(c, login(server, c, new_browser()), p())
        assert r.status_code == 400, (what, r.text)
        assert r.json()["error"] == "invalid_dpop_proof", (what, r.text)
    # no jwk at all
    s = jws.JWS(json.dumps({"jti": "j", "htm": "POST", "htu": url, "iat": now}))
    s.add_signature(key, alg="ES256", protected=json.dumps({"alg": "ES256", "typ": "dpop+jwt"}))
    c = new_client()
    r = redeem(c, login(server, c, new_browser()), s.serialize(compact=True))
    assert r.json()["error"] == "invalid_dpop_proof"


def test_replayed_proof(server, new_client, new_browser):
    url = server.url("/token")
    p = proof(ec(), url)
    c = new_client()
    assert redeem(c, login(server, c, new_browser()), p).status_code == 200
    c2 = new_client()
    r = redeem(c2, login(server, c2, new_browser()), p)
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof", r.text


def test_discovery_and_introspection(server, new_client, new_browser):
    d = server.get("/.well-known/openid-configuration").json()
    assert d["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA"]
    key = ec()
    c = new_client(introspect=True)
    tok = redeem(c, login(server, c, new_browser()), proof(key, server.url("/token"))).json()
    r = c.introspect(tok["access_token"])
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "DPoP"
    assert r.json()["cnf"]["jkt"] == key.thumbprint()


@pytest.fixture(scope="module")
def node2(server, start_server):
    """A second node on the same store, with server nonces on for all three issuers."""
    store = server.env.get("PORTEN_STORE") or os.path.join(server.data, "porten.db")
    return start_server({"PORTEN_STORE": store, "PORTEN_KEK": server.env["PORTEN_KEK"],
                         "PORTEN_ISSUER": server.issuer, "PORTEN_DPOP_NONCE": "true",
                         "PORTEN_MASKINPORTEN_DPOP_NONCE": "true",
                         "PORTEN_ANSATTPORTEN_DPOP_NONCE": "true"})


def on_node(node, c, res, dpop):
    data = {"grant_type": "authorization_code", "code": res.code,
            "redirect_uri": res.sent.get("redirect_uri", c.redirect_uri),
            "code_verifier": res.verifier}
    d, h = c.with_auth(data, {"DPoP": dpop} if dpop else None)
    return http().post(f"http://127.0.0.1:{node.port}/token", data=d, headers=h)


def test_replayed_on_second_node(server, node2, new_client, new_browser):
    """A proof spent on one node is refused by another node on the same store (§19 check 7)."""
    url = server.url("/token")
    p = proof(ec(), url)
    c = new_client()
    assert redeem(c, login(server, c, new_browser()), p).status_code == 200
    c2 = new_client()
    res = login(server, c2, new_browser())
    r = on_node(node2, c2, res, p)
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof", r.text
    assert "used before" in r.json().get("error_description", ""), r.text
    # nothing was spent: the code is redeemed there with a fresh proof and the node's nonce
    key = ec()
    r = on_node(node2, c2, res, proof(key, url))
    assert r.status_code == 400 and r.json()["error"] == "use_dpop_nonce", r.text
    r = on_node(node2, c2, res, proof(key, url, nonce=r.headers["DPoP-Nonce"]))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text


def test_server_nonces(server, node2, new_client, new_browser):
    """§19 Nonces: use_dpop_nonce with a DPoP-Nonce header, then the nonce is taken."""
    url = server.url("/token")
    key = ec()
    c = new_client(auth="none", refresh=True)
    res = login(server, c, new_browser())
    r = on_node(node2, c, res, proof(key, url))
    assert r.status_code == 400 and r.json()["error"] == "use_dpop_nonce", r.text
    nonce = r.headers["DPoP-Nonce"]
    assert len(nonce) >= 40
    # a node without nonces sends none
    assert "DPoP-Nonce" not in redeem(c, login(server, c, new_browser()), None).headers
    # forged and tampered nonces (an older slot under the same MAC) are refused the same
    # way; a truly stale one is in tests/unit/oauth/test_dpop.c (it needs the clock moved)
    raw = b64u_decode(nonce)
    older = b64u((int.from_bytes(raw[:8], "big") - 2).to_bytes(8, "big") + raw[8:])
    for bad in ("x", nonce[:-2], older, nonce + "A"):
        r = on_node(node2, c, res, proof(key, url, nonce=bad))
        assert r.status_code == 400 and r.json()["error"] == "use_dpop_nonce", (bad, r.text)
        nonce = r.headers["DPoP-Nonce"]
    r = on_node(node2, c, res, proof(key, url, nonce=nonce))
    assert r.status_code == 200, r.text
    assert r.headers.get("DPoP-Nonce"), r.headers
    tok = r.json()
    # the bound refresh token at that node: a nonce too
    d = {"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]}
    d, h = c.with_auth(d, {"DPoP": proof(key, url, nonce=r.headers["DPoP-Nonce"])})
    r = http().post(f"http://127.0.0.1:{node2.port}/token", data=d, headers=h)
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    # userinfo at that node: 401 with the DPoP challenge and a nonce
    at = r.json()["access_token"]
    uurl = server.url("/userinfo")
    h = {"Authorization": f"DPoP {at}", "DPoP": proof(key, uurl, htm="GET", ath=ath(at))}
    r = http().get(f"http://127.0.0.1:{node2.port}/userinfo", headers=h)
    assert r.status_code == 401 and 'error="use_dpop_nonce"' in r.headers["WWW-Authenticate"], r.text
    h["DPoP"] = proof(key, uurl, htm="GET", ath=ath(at), nonce=r.headers["DPoP-Nonce"])
    r = http().get(f"http://127.0.0.1:{node2.port}/userinfo", headers=h)
    assert r.status_code == 200 and r.headers.get("DPoP-Nonce"), r.text


# ---- dpop_jkt: binding the code (§19 "Binding the code", RFC 9449 §10) ----

def test_dpop_jkt_at_authorize(server, new_client, new_browser):
    key = ec()
    url = server.url("/token")
    c = new_client(auth="none")
    # without a proof, or with another key: invalid_grant
    r = redeem(c, login(server, c, new_browser(), dpop_jkt=key.thumbprint()), None)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    r = redeem(c, login(server, c, new_browser(), dpop_jkt=key.thumbprint()), proof(ec(), url))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    r = redeem(c, login(server, c, new_browser(), dpop_jkt=key.thumbprint()), proof(key, url))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    # a malformed thumbprint is redirected back as invalid_request
    for bad in ("abc", key.thumbprint() + "=", "!" * 43):
        res = start(server, c, new_browser(), dpop_jkt=bad)
        assert res.kind == "redirect" and res.error == "invalid_request", (bad, res)


def par_login(server, c, b, headers=None, **extra):
    params, verifier = auth_params(c, **extra)
    body = dict(params)
    if c.auth_method != "client_secret_basic":
        body.pop("client_id")   # the client authentication sends it
    r = c.post("/par", body, headers=headers)
    if r.status_code != 201:
        return r
    r = authorize(server, b, {"client_id": c.client_id, "request_uri": r.json()["request_uri"]})
    return finish_login(server, b, r, c.redirect_uri, sent=params, verifier=verifier)


def test_dpop_jkt_at_par(server, new_client, new_browser):
    key = ec()
    turl, purl = server.url("/token"), server.url("/par")
    c = new_client()
    # dpop_jkt in the PAR body
    res = par_login(server, c, new_browser(), dpop_jkt=key.thumbprint())
    r = redeem(c, res, proof(ec(), turl))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    res = par_login(server, c, new_browser(), dpop_jkt=key.thumbprint())
    assert redeem(c, res, proof(key, turl)).json()["token_type"] == "DPoP"
    # a DPoP header on /par binds as dpop_jkt does
    res = par_login(server, c, new_browser(), headers={"DPoP": proof(key, purl)})
    r = redeem(c, res, None)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    res = par_login(server, c, new_browser(), headers={"DPoP": proof(key, purl)})
    r = redeem(c, res, proof(key, turl))
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    # header and dpop_jkt of different keys; a proof for another endpoint; a bad thumbprint
    for hdr, extra in (({"DPoP": proof(key, purl)}, {"dpop_jkt": ec().thumbprint()}),
                       ({"DPoP": proof(key, turl)}, {}),
                       ({"DPoP": proof(key, purl, typ="JWT")}, {}),
                       (None, {"dpop_jkt": "short"})):
        r = par_login(server, c, new_browser(), headers=hdr, **extra)
        want = "invalid_request" if hdr is None else "invalid_dpop_proof"
        assert r.status_code == 400 and r.json()["error"] == want, (extra, r.text)


# ---- userinfo: a bound token needs Authorization: DPoP, a proof and ath (§19 "Userinfo") ----

def userinfo(server, scheme, token, dpop=None):
    h = {"Authorization": f"{scheme} {token}"}
    if dpop:
        h["DPoP"] = dpop
    return http().get(server.url("/userinfo"), headers=h)


def refused(r, error):
    assert r.status_code == 401, r.text
    ch = r.headers.get("WWW-Authenticate", "")
    assert ch.startswith("DPoP ") and f'error="{error}"' in ch, ch
    assert 'algs="ES256 RS256 PS256 EdDSA"' in ch, ch


def test_userinfo_dpop(server, new_client, new_browser):
    key = ec()
    uurl = server.url("/userinfo")
    c = new_client(auth="none")
    at = redeem(c, login(server, c, new_browser()), proof(key, server.url("/token"))).json()["access_token"]
    good = proof(key, uurl, htm="GET", ath=ath(at))
    r = userinfo(server, "DPoP", at, good)
    assert r.status_code == 200 and r.json()["sub"], r.text
    # the same proof again: replay
    refused(userinfo(server, "DPoP", at, good), "invalid_dpop_proof")
    # the bound token as Bearer, with or without a proof
    refused(userinfo(server, "Bearer", at), "invalid_token")
    refused(userinfo(server, "Bearer", at, proof(key, uurl, htm="GET", ath=ath(at))), "invalid_token")
    cases = {
        "no proof": None,
        "no ath": proof(key, uurl, htm="GET"),
        "bad ath": proof(key, uurl, htm="GET", ath=ath(at + "x")),
        "another key": proof(ec(), uurl, htm="GET", ath=ath(at)),
        "wrong htm": proof(key, uurl, htm="POST", ath=ath(at)),
        "wrong htu": proof(key, server.url("/token"), htm="GET", ath=ath(at)),
        "wrong typ": proof(key, uurl, htm="GET", typ="JWT", ath=ath(at)),
        "too old": proof(key, uurl, htm="GET", ath=ath(at), iat=int(time.time()) - 61),
    }
    for what, p in cases.items():
        r = userinfo(server, "DPoP", at, p)
        assert r.status_code == 401, (what, r.text)
        refused(r, "invalid_dpop_proof")
    # the refusals spent nothing: a fresh good proof still works
    assert userinfo(server, "DPoP", at, proof(key, uurl, htm="GET", ath=ath(at))).status_code == 200
    # an unbound token is Bearer only
    plain = c.tokens(login(server, c, new_browser()))["access_token"]
    assert userinfo(server, "Bearer", plain).status_code == 200
    refused(userinfo(server, "DPoP", plain, proof(key, uurl, htm="GET", ath=ath(plain))),
            "invalid_token")


def test_more_bad_proofs(server, new_client, new_browser):
    """Check 2-4 beyond the conformance list: algs, key types and sizes, a foreign signature."""
    url = server.url("/token")
    key = ec()
    rsa_small = jwk.JWK.generate(kty="RSA", size=1024)
    p384 = jwk.JWK.generate(kty="EC", crv="P-384")
    hs = jwk.JWK.generate(kty="oct", size=256)
    cases = {
        "HS256": lambda: proof(hs, url, alg="HS256", jwk_pub={"kty": "oct", "k": "AAAA"}),
        "ES384": lambda: proof(p384, url, alg="ES384"),
        "RSA 1024": lambda: proof(rsa_small, url, alg="RS256"),
        "alg for another kty": lambda: proof(key, url, jwk_pub=jwk.JWK.generate(
            kty="RSA", size=2048).export_public(as_dict=True)),
        "signed by another key": lambda: proof(ec(), url, jwk_pub=key.export_public(as_dict=True)),
        "jti too long": lambda: proof(key, url, jti="j" * 257),
        "iat a string": lambda: proof(key, url, iat=str(int(time.time()))),
        "htu with a path added": lambda: proof(key, url + "/x"),
        "htu of another host": lambda: proof(key, url.replace("127.0.0.1", "localhost")),
        "jku in the header": lambda: proof(key, url, extra_hdr={"jku": "https://x.example/k"}),
    }
    for what, p in cases.items():
        c = new_client()
        r = redeem(c, login(server, c, new_browser()), p())
        assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof", (what, r.text)
    # alg none: an unsigned JWS
    hdr = b64u(json.dumps({"typ": "dpop+jwt", "alg": "none",
                           "jwk": key.export_public(as_dict=True)}).encode())
    body = b64u(json.dumps({"jti": "n1", "htm": "POST", "htu": url,
                            "iat": int(time.time())}).encode())
    c = new_client()
    r = redeem(c, login(server, c, new_browser()), f"{hdr}.{body}.")
    assert r.status_code == 400 and r.json()["error"] == "invalid_dpop_proof", r.text
    # htu differing only in the scheme's case and by a query: accepted
    c = new_client()
    odd = url.replace("http://", "HTTP://")
    r = redeem(c, login(server, c, new_browser()), proof(key, odd + "?q=1"))
    assert r.status_code == 200, r.text


def test_two_dpop_headers(server, new_client, new_browser):
    """Check 1: exactly one DPoP header."""
    import http.client as hc
    from urllib.parse import urlencode
    url = server.url("/token")
    key = ec()
    c = new_client(auth="none")
    res = login(server, c, new_browser())
    data, _ = c.with_auth({"grant_type": "authorization_code", "code": res.code,
                           "redirect_uri": c.redirect_uri, "code_verifier": res.verifier})
    conn = hc.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("POST", "/token")
    body = urlencode(data).encode()
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Content-Length", str(len(body)))
    conn.putheader("DPoP", proof(key, url))
    conn.putheader("DPoP", proof(key, url))
    conn.endheaders(body)
    r = conn.getresponse()
    out = json.loads(r.read())
    conn.close()
    assert r.status == 400 and out["error"] == "invalid_dpop_proof", out
