"""
The Ansattporten issuer (spec/ansattporten-eidas-testid.md §1): its own
issuer, keys, discovery and JWKS beside ID-porten in the same portend; no
SSO between its clients nor with ID-porten; PKCE, state and nonce always;
its acr values; no userinfo; clients of one issuer refused at the other.
"""

import csv
import io
import time
from urllib.parse import urlsplit

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from jwcrypto.common import JWException

from conftest import (AP_PATH, HIGH, ORGNO, PID, PID2, SUBSTANTIAL, TIMEOUT, Ansattporten, Server,
                      auth_params, authorize,
                      create_client, finish_login, follow, login, rand, ServerStartError, start,
                      url_base, pending_ar)


@pytest.fixture(scope="module")
def ap(server):
    return Ansattporten(server)


def ap_login(ap, client, browser, **kw):
    return login(ap, client, browser, **kw)


def check_ap_id_token(ap, client, id_token, nonce=None, pid=PID, acr="substantial"):
    header, c = ap.verify(id_token)
    assert header.get("alg") == "RS256" and header.get("kid")
    assert c["iss"] == ap.issuer
    assert c["aud"] == client.client_id
    assert isinstance(c.get("sub"), str) and len(c["sub"]) == 43
    assert c.get("pid") == pid
    assert c.get("acr") == acr, c
    assert c.get("amr") == ["TestID"]
    assert c["exp"] == c["iat"] + 120
    if nonce is not None:
        assert c.get("nonce") == nonce
    return c


# ---- discovery and keys ------------------------------------------------------

def test_discovery(ap, server):
    r = ap.get("/.well-known/openid-configuration")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["issuer"] == ap.issuer == server.issuer + AP_PATH
    for field, path in (("authorization_endpoint", "/authorize"),
                        ("pushed_authorization_request_endpoint", "/par"),
                        ("token_endpoint", "/token"), ("jwks_uri", "/jwks.json"),
                        ("end_session_endpoint", "/logout"), ("revocation_endpoint", "/revoke"),
                        ("introspection_endpoint", "/token/introspect")):
        assert d[field] == ap.issuer + path, field
    # spec §1.1: no userinfo endpoint, and Ansattporten's own acr values
    assert "userinfo_endpoint" not in d
    assert d["acr_values_supported"] == ["substantial", "high"]
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert d["authorization_response_iss_parameter_supported"] is True
    assert "name" in d["claims_supported"] and "authorization_details" in d["claims_supported"]
    assert "profile" not in d["scopes_supported"]
    # ID-porten's own metadata is unchanged beside it
    i = server.get("/.well-known/openid-configuration").json()
    assert i["issuer"] == server.issuer
    assert i["userinfo_endpoint"] == server.issuer + "/userinfo"
    assert i["acr_values_supported"] == [SUBSTANTIAL, HIGH, "eidas-loa-substantial",
                                         "eidas-loa-high"]


def test_jwks_are_its_own(ap, server):
    ak = ap.jwks(refresh=True)["keys"]
    ik = server.jwks(refresh=True)["keys"]
    mk = server.get("/maskinporten/jwk").json()["keys"]
    assert ak and ik and mk
    for k in ak:
        assert k["kty"] == "RSA" and k["use"] == "sig" and k["alg"] == "RS256" and "d" not in k
    akids = {k["kid"] for k in ak}
    assert not akids & {k["kid"] for k in ik}, "Ansattporten must not share ID-porten's keys"
    assert not akids & {k["kid"] for k in mk}, "Ansattporten must not share Maskinporten's keys"
    assert {k["n"] for k in ak}.isdisjoint({k["n"] for k in ik})
    # portenctl sees them as the Ansattporten issuer's
    listed = server.ctl("keys", "list", "--issuer", "ansattporten")
    assert {k["kid"] for k in listed} >= akids


def test_no_userinfo(ap, ap_client, new_browser):
    c = ap_client()
    tok = c.tokens(ap_login(ap, c, new_browser()))
    bearer = {"Authorization": "Bearer " + tok["access_token"]}
    for send in (ap.get, ap.post):
        r = send("/userinfo", headers=bearer)
        assert r.status_code == 404, (r.request.method, r.status_code, r.text[:200])
    # nor does ID-porten's userinfo take an Ansattporten token
    r = ap.server.get("/userinfo", headers={"Authorization": "Bearer " + tok["access_token"]})
    assert r.status_code == 401, r.text


# ---- a full login through TestID with authlib --------------------------------

def authlib_session(ap, client):
    sess = OAuth2Session(client.client_id, client.secret, token_endpoint_auth_method=client.auth_method,
                         scope=client.scope, redirect_uri=client.redirect_uri,
                         code_challenge_method="S256")
    sess.trust_env = False
    return sess


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "none"])
def test_login_with_authlib(ap, server, ap_client, new_browser, method):
    c = ap_client(auth=method)
    sess = authlib_session(ap, c)
    verifier, nonce = generate_token(48), rand()
    url, state = sess.create_authorization_url(ap.url("/authorize"), code_verifier=verifier, nonce=nonce)
    b = new_browser()
    r = follow(ap, b, b.get(url, allow_redirects=False, timeout=TIMEOUT))
    # the pages of the login live under the Ansattporten issuer
    assert r.status_code == 200 and r.url.startswith(ap.issuer + "/"), r.url
    # ... and carry its name
    assert "<header><p>Ansattporten</p></header>" in r.text and "– Ansattporten</title>" in r.text
    res = finish_login(ap, b, r, c.redirect_uri)
    assert res.kind == "redirect" and res.eid_shown, res
    assert url_base(res.location) == c.redirect_uri
    assert res.state == state
    assert res.iss == ap.issuer, "RFC 9207: iss is the Ansattporten issuer"
    tok = sess.fetch_token(ap.url("/token"), authorization_response=res.location, code_verifier=verifier)
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 120
    assert tok["scope"] == "openid"
    idc = check_ap_id_token(ap, c, tok["id_token"], nonce)
    _, at = ap.verify(tok["access_token"])
    assert at["iss"] == ap.issuer and at["acr"] == "substantial" and at["pid"] == PID
    assert at["sub"] == idc["sub"] and at["client_id"] == c.client_id
    assert at["consumer"] == {"authority": "iso6523-actorid-upis", "ID": f"0192:{ORGNO}"}
    assert "authorization_details" not in idc, "no representation asked for, none in the token"
    # neither token verifies against ID-porten's keys
    for t in (tok["id_token"], tok["access_token"]):
        with pytest.raises(JWException):
            server.verify(t)


def test_acr_values(ap, ap_client, new_browser):
    c = ap_client()
    # high: TestID at high, the token says "high"
    res = ap_login(ap, c, new_browser(), acr=HIGH, acr_values="high")
    check_ap_id_token(ap, c, c.tokens(res)["id_token"], acr="high")
    # low is taken as the lowest level offered (substantial)
    res = ap_login(ap, c, new_browser(), acr_values="low")
    check_ap_id_token(ap, c, c.tokens(res)["id_token"], acr="substantial")
    # ID-porten's names mean nothing here: the default, substantial
    res = ap_login(ap, c, new_browser(), acr_values="idporten-loa-high")
    check_ap_id_token(ap, c, c.tokens(res)["id_token"], acr="substantial")
    # a substantial session does not satisfy a later request for high: step-up
    b = new_browser()
    ap_login(ap, c, b)
    res = ap_login(ap, c, b, acr=HIGH, acr_values="high", expect_eid=True)
    check_ap_id_token(ap, c, c.tokens(res)["id_token"], acr="high")
    # ID-porten still speaks its own names
    i = ap.server.get("/.well-known/openid-configuration").json()
    assert "high" not in i["acr_values_supported"]


def test_refresh_revoke_introspect(ap, server, ap_client, new_browser, new_client):
    c = ap_client(refresh=True)
    tok = c.tokens(ap_login(ap, c, new_browser()))
    r = c.refresh(tok["refresh_token"])
    assert r.status_code == 200, r.text
    t2 = r.json()
    _, at = ap.verify(t2["access_token"])
    assert at["iss"] == ap.issuer and at["acr"] == "substantial"
    # the refresh token is Ansattporten's: ID-porten's token endpoint refuses it
    d, h = c.with_auth({"grant_type": "refresh_token", "refresh_token": t2["refresh_token"]})
    r = server.post("/token", data=d, headers=h)
    assert r.status_code in (400, 401) and r.json()["error"] in ("unauthorized_client", "invalid_client")
    # revocation ends the grant
    assert c.revoke(t2["refresh_token"]).status_code == 200
    assert c.refresh(t2["refresh_token"]).json()["error"] == "invalid_grant"
    # introspection at Ansattporten: an unknown token is inactive, never an error
    r = c.introspect("x" * 43)
    assert r.status_code == 200 and r.json() == {"active": False}


# ---- SSO ---------------------------------------------------------------------

def test_no_sso_between_clients(ap, ap_client, new_browser):
    a, b = ap_client(), ap_client()
    br = new_browser()
    ca = check_ap_id_token(ap, a, a.tokens(ap_login(ap, a, br, expect_eid=True))["id_token"])
    # another Ansattporten client in the same browser: a login of its own
    res = start(ap, b, br, prompt="none")
    assert res.kind == "redirect" and res.error == "login_required", res
    assert res.iss == ap.issuer
    ap_login(ap, b, br, pid=PID2, expect_eid=True)
    time.sleep(1.1)
    # a second login to the same client is silent, from its own session
    res = ap_login(ap, a, br, expect_eid=False)
    ca2 = check_ap_id_token(ap, a, a.tokens(res)["id_token"])
    assert ca2["auth_time"] == ca["auth_time"] and ca2["iat"] > ca["auth_time"]
    assert ca2["sub"] == ca["sub"]
    # and b's own session is still b's person, not a's
    res = ap_login(ap, b, br, expect_eid=False)
    check_ap_id_token(ap, b, b.tokens(res)["id_token"], pid=PID2)
    # prompt=none works on the client's own session
    res = ap_login(ap, a, br, prompt="none", expect_eid=False)
    assert res.iss == ap.issuer


def test_no_sso_with_idporten(ap, server, ap_client, new_client, new_browser):
    a, i = ap_client(), new_client()
    br = new_browser()
    login(server, i, br, expect_eid=True)
    # an ID-porten session gives nothing at Ansattporten
    res = start(ap, a, br, prompt="none")
    assert res.error == "login_required", res
    ap_login(ap, a, br, pid=PID2, expect_eid=True)
    # ... and an Ansattporten login neither changes nor replaces ID-porten's session
    i2 = new_client()
    res = login(server, i2, br, expect_eid=False)
    claims = server.verify(i2.tokens(res)["id_token"])[1]
    assert claims["pid"] == PID and claims["iss"] == server.issuer
    # the other way round: an Ansattporten session gives nothing at ID-porten
    br2 = new_browser()
    ap_login(ap, a, br2)
    res = start(server, i, br2, prompt="none")
    assert res.error == "login_required", res


def test_sso_disabled_forced_at_registration(ap, ap_client):
    c = ap_client()
    shown = ap.server.ctl("client", "show", c.client_id)
    assert shown["sso_disabled"] is True
    assert shown["integration_type"] == "ansattporten"
    assert shown["scopes"] == ["openid"]
    c2 = ap_client(extra_args=("--sso-disabled=false",))
    assert ap.server.ctl("client", "show", c2.client_id)["sso_disabled"] is True


def test_no_pkce_downgrade_at_registration(ap, listener, tmp_path):
    with pytest.raises(AssertionError, match="PKCE"):
        create_client(ap, listener, tmp_path, integration_type="ansattporten", scopes=["openid"],
                      pkce_none=True)


# ---- logout ------------------------------------------------------------------

def test_logout_ends_only_that_clients_session(ap, ap_client, new_browser):
    a, b = ap_client(fc=True), ap_client(fc=True)
    br = new_browser()
    ta = a.tokens(ap_login(ap, a, br))
    ap_login(ap, b, br)
    r = br.get(ap.url("/logout"), params={"id_token_hint": ta["id_token"],
                                           "post_logout_redirect_uri": a.post_logout_redirect_uri,
                                           "state": "s1"},
               allow_redirects=False, timeout=TIMEOUT)
    r = follow(ap, br, r)
    assert r.status_code == 200 and a.frontchannel_logout_uri in r.text, r.text[:500]
    assert b.frontchannel_logout_uri not in r.text, "another client's session was ended"
    assert "logget ut av Ansattporten" in r.text and "ID-porten og tjenestene" not in r.text
    # a must authenticate again, b still has its own session
    assert start(ap, a, br, prompt="none").error == "login_required"
    ap_login(ap, b, br, expect_eid=False)
    # without naming the client there is no session to end at Ansattporten
    r = br.get(ap.url("/logout"), allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400
    ap_login(ap, b, br, expect_eid=False)


# ---- what the request must carry ---------------------------------------------

@pytest.mark.parametrize("drop,why", [
    ("code_challenge", "code_challenge"), ("state", "state"), ("nonce", "nonce"),
])
def test_pkce_state_nonce_required(ap, ap_client, new_browser, drop, why):
    c = ap_client()
    res = start(ap, c, new_browser(), **{drop: None})
    assert res.kind == "redirect", res
    assert url_base(res.location) == c.redirect_uri
    assert res.error == "invalid_request" and why in res.params.get("error_description", ""), res
    assert res.iss == ap.issuer
    assert "code" not in res.params


def test_pkce_plain_and_bad_challenge_refused(ap, ap_client, new_browser):
    c = ap_client()
    assert start(ap, c, new_browser(), code_challenge_method="plain").error == "invalid_request"
    assert start(ap, c, new_browser(), code_challenge="short").error == "invalid_request"
    assert start(ap, c, new_browser(), code_challenge_method=None).error == "invalid_request"
    # the token endpoint wants the verifier
    res = ap_login(ap, c, new_browser())
    r = c.redeem(res, code_verifier=None)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_nonce_required_without_openid_too(ap, ap_client, new_browser, server):
    server.ctl("scope", "create", "--name", "e2eap:read", "--description", "Ansattporten test API",
               "--owner-orgno", ORGNO, "--allowed-integration-type", "ansattporten", check=False)
    c = ap_client(scopes=["openid", "e2eap:read"])
    res = start(ap, c, new_browser(), scope="e2eap:read", nonce=None)
    assert res.error == "invalid_request" and "nonce" in res.params.get("error_description", ""), res
    res = ap_login(ap, c, new_browser(), scope="e2eap:read")
    tok = c.tokens(res)
    assert "id_token" not in tok and tok["scope"] == "e2eap:read"


# ---- clients of one issuer refused at the other ------------------------------

def test_idporten_client_refused_at_ansattporten(ap, server, new_client, new_browser):
    i = new_client()
    params, _ = auth_params(i)
    r = new_browser().get(ap.url("/authorize"), params=params, allow_redirects=False, timeout=TIMEOUT)
    # never redirected: at this issuer the client is not one of its own
    assert r.status_code == 400 and "Location" not in r.headers
    assert "unauthorized_client" in r.text
    # nor at PAR, nor at the token endpoint
    r = i.post(AP_PATH + "/par", {"response_type": "code", "redirect_uri": i.redirect_uri,
                                  "scope": "openid", "state": "s", "nonce": "n",
                                  "code_challenge": params["code_challenge"],
                                  "code_challenge_method": "S256"})
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client", r.text
    res = login(server, i, new_browser())
    r = i.post(AP_PATH + "/token", {"grant_type": "authorization_code", "code": res.code,
                                    "redirect_uri": i.redirect_uri, "code_verifier": res.verifier})
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client", r.text
    # logout names a client of the other issuer: refused, nothing ended
    r = new_browser().get(ap.url("/logout"), params={"client_id": i.client_id},
                          allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400


def test_ansattporten_client_refused_at_idporten(ap, server, ap_client, new_browser):
    a = ap_client(refresh=True)
    params, _ = auth_params(a)
    r = new_browser().get(server.url("/authorize"), params=params, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400 and "Location" not in r.headers
    assert "unauthorized_client" in r.text
    d, h = a.with_auth({"response_type": "code", "redirect_uri": a.redirect_uri,
                        "scope": "openid", "state": "s", "nonce": "n",
                        "code_challenge": params["code_challenge"],
                        "code_challenge_method": "S256"})
    r = server.post("/par", data=d, headers=h)
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client", r.text
    # an Ansattporten code is redeemed at Ansattporten only
    res = ap_login(ap, a, new_browser())
    d, h = a.with_auth({"grant_type": "authorization_code", "code": res.code,
                        "redirect_uri": a.redirect_uri, "code_verifier": res.verifier})
    r = server.post("/token", data=d, headers=h)
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client", r.text
    # the code was not spent by the refusal: Ansattporten still redeems it
    tok = a.tokens(res)
    check_ap_id_token(ap, a, tok["id_token"])
    # nor at ID-porten's revocation endpoint, which leaves the grant alone
    d, h = a.with_auth({"token": tok["refresh_token"], "token_type_hint": "refresh_token"})
    r = server.post("/revoke", data=d, headers=h)
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client", r.text
    assert a.refresh(tok["refresh_token"]).status_code == 200


def test_login_stays_at_its_issuer(ap, server, ap_client, new_client, new_browser):
    """A login begun at one issuer cannot be carried on under the other's pages."""
    a = ap_client()
    br = new_browser()
    params, _ = auth_params(a)
    r = authorize(ap, br, params)
    assert r.status_code == 200 and r.url.startswith(ap.issuer + "/authorize?"), r.url
    ar = pending_ar(r)
    assert f'data-url="{urlsplit(ap.issuer).path}/login?ar={ar}"' in r.text
    for path in ("/login?ar=" + ar, "/testid?ar=" + ar):
        r2 = br.get(server.url(path), allow_redirects=False, timeout=TIMEOUT)
        assert r2.status_code == 400, (path, r2.status_code)
    # the other way round: an ID-porten login under Ansattporten's pages
    i = new_client()
    params, _ = auth_params(i)
    r = authorize(server, br, params)
    ar = pending_ar(r)
    t = br.get(ap.url("/testid"), params={"ar": ar}, allow_redirects=False, timeout=TIMEOUT)
    assert t.status_code == 400
    assert "<header><p>ID-porten</p></header>" in r.text
    # both logins still finish where they began
    res = finish_login(server, br, r, i.redirect_uri)
    assert res.code and res.iss == server.issuer


# ---- counted as logins are ---------------------------------------------------

def test_logins_counted(ap, server, listener, tmp_path, new_browser):
    org = "974760673"
    c = create_client(ap, listener, tmp_path, integration_type="ansattporten", scopes=["openid"],
                      orgno=org)

    def counts():
        p = server.ctl("stats", "auth", check=False)
        assert p.returncode == 0, p.stderr
        rows = [r for r in csv.DictReader(io.StringIO(p.stdout.decode())) if r["client_id"] == c.client_id]
        return (sum(int(r["authentications"]) for r in rows),
                sum(int(r["sso_logins"]) for r in rows), rows)

    br = new_browser()
    ap_login(ap, c, br, expect_eid=True)
    ap_login(ap, c, br, expect_eid=False)
    auths, sso, rows = counts()
    assert (auths, sso) == (1, 1), rows
    assert {r["customer"] for r in rows} == {org}
    assert {r["eid"] for r in rows} == {"testid"}


# ---- configuration -----------------------------------------------------------

@pytest.mark.parametrize("value,why", [
    ("ftp://127.0.0.1/ansattporten", "https URL"),
    ("{issuer}/ansattporten/", "not end in '/'"),
    ("{issuer}/ansattporten?x=1", "no query"),
    ("{issuer}/maskinporten", "path of another issuer"),
    ("http://other.example", "no path"),
    ("{issuer}/ans%20attporten", "plain path"),
])
def test_bad_issuer_stops_startup(tmp_path, value, why):
    s = Server(tmp_path)
    s.env["PORTEN_ANSATTPORTEN_ISSUER"] = value.format(issuer=s.issuer)
    with pytest.raises(ServerStartError) as ex:
        s.start()
    s.stop()
    assert "ansattporten_issuer" in str(ex.value) and why in str(ex.value), str(ex.value)[-600:]


def test_switched_off_and_moved(tmp_path, listener):
    off = Server(tmp_path / "off", {"PORTEN_ANSATTPORTEN_ISSUER": ""}).start()
    try:
        assert off.get(AP_PATH + "/.well-known/openid-configuration").status_code == 404
        assert off.get(AP_PATH + "/authorize").status_code == 404
        with pytest.raises(AssertionError, match="not supported"):
            create_client(Ansattporten(off), listener, tmp_path, integration_type="ansattporten",
                          scopes=["openid"])
        # ID-porten and Maskinporten are as before
        assert off.get("/.well-known/openid-configuration").status_code == 200
    finally:
        assert off.stop() == 0
    moved = Server(tmp_path / "moved")
    moved.env["PORTEN_ANSATTPORTEN_ISSUER"] = moved.issuer + "/ap"
    moved.start()
    try:
        d = moved.get("/ap/.well-known/openid-configuration").json()
        assert d["issuer"] == moved.issuer + "/ap" and d["token_endpoint"] == moved.issuer + "/ap/token"
        assert moved.get(AP_PATH + "/.well-known/openid-configuration").status_code == 404
    finally:
        assert moved.stop() == 0


# ---- hostile input -----------------------------------------------------------

def test_hostile_authorize(ap, ap_client, new_browser):
    c = ap_client()
    b = new_browser()
    # repeated parameters, an overlong acr_values, unknown levels, a bad prompt
    params, _ = auth_params(c)
    pairs = list(params.items()) + [("nonce", "again")]
    res = start(ap, c, b, params=pairs)
    assert res.error == "invalid_request" and res.iss == ap.issuer, res
    res = start(ap, c, b, prompt="sometimes")
    assert res.error == "invalid_request", res
    res = start(ap, c, b, response_type="token")
    assert res.error == "unsupported_response_type", res
    res = ap_login(ap, c, new_browser(), acr_values="x" * 60 + " y high substantial")
    check_ap_id_token(ap, c, c.tokens(res)["id_token"], acr="substantial")
    # a control character: the request is refused on a page
    params, _ = auth_params(c, acr_values="high\x01")
    r = b.get(ap.url("/authorize"), params=params, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400 and "Location" not in r.headers
    # beyond the limits of a parameter: refused on a page, nothing redirected
    params, _ = auth_params(c, acr_values="x" * 70000)
    r = b.get(ap.url("/authorize"), params=params, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code in (400, 414) and "Location" not in r.headers
    # a redirect_uri not registered, an unknown client: a page, never a redirect
    for bad in ({"redirect_uri": "https://evil.example/cb"}, {"client_id": "no-such-client"}):
        params, _ = auth_params(c, **bad)
        r = b.get(ap.url("/authorize"), params=params, allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 400 and "Location" not in r.headers
    # a step's page with a forged or absent login
    for path in ("/login?ar=" + "A" * 43, "/login", "/testid?ar=%00"):
        r = b.get(ap.url(path), allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 400, (path, r.status_code)
