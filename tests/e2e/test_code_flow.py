"""The authorization code flow (spec/idporten-oidc.md §3-§7, §9-§11)."""

import time
from types import SimpleNamespace

import pytest
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from jwcrypto import jwt as jjwt

from conftest import (HIGH, PID, PID2, PID_BADSUM, PID_D, PID_REAL, SUBSTANTIAL, Page, auth_params,
                      authorize, check_access_token, check_id_token, classify, finish_login, follow,
                      login, open_testid, rand, select_values, start, submit_form, submit_testid,
                      url_base)


class FreshPrivateKeyJWT(PrivateKeyJWT):
    """authlib's PrivateKeyJWT with a short-lived assertion (exp - iat <= 120 s), a fresh jti and kid."""

    def __init__(self, token_endpoint, kid):
        super().__init__(token_endpoint)
        self.kid = kid

    def sign(self, auth, token_endpoint):
        now = int(time.time())
        return private_key_jwt_sign(auth.client_secret, client_id=auth.client_id,
                                    token_endpoint=token_endpoint,
                                    claims={"iat": now, "exp": now + 60, "jti": generate_token(32)},
                                    header={"kid": self.kid}, alg="RS256")


def authlib_session(server, client):
    secret = client.secret
    if client.auth_method == "private_key_jwt":
        secret = client.key.export_to_pem(private_key=True, password=None).decode()
    sess = OAuth2Session(client.client_id, secret, token_endpoint_auth_method=client.auth_method,
                         scope=client.scope, redirect_uri=client.redirect_uri,
                         code_challenge_method="S256")
    sess.trust_env = False
    if client.auth_method == "private_key_jwt":
        sess.register_client_auth_method(FreshPrivateKeyJWT(server.url("/token"), client.kid))
    return sess


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
def test_code_flow_with_authlib(server, new_client, new_browser, method):
    c = new_client(auth=method)
    sess = authlib_session(server, c)
    verifier = generate_token(48)
    nonce = rand()
    url, state = sess.create_authorization_url(server.url("/authorize"), code_verifier=verifier, nonce=nonce)
    b = new_browser()
    r = follow(server, b, b.get(url, allow_redirects=False, timeout=10))
    res = finish_login(server, b, r, c.redirect_uri)
    assert res.kind == "redirect", res
    assert url_base(res.location) == c.redirect_uri
    assert res.state == state
    assert res.iss == server.issuer, "RFC 9207 iss must equal the issuer"
    assert res.code and res.eid_shown
    tok = sess.fetch_token(server.url("/token"), authorization_response=res.location, code_verifier=verifier)
    assert tok["token_type"] == "Bearer"
    assert tok["expires_in"] == 120
    assert set(tok["scope"].split()) == {"openid", "profile"}
    assert "refresh_token" not in tok, "refresh token for a client without the refresh_token grant"

    idc = check_id_token(server, c, tok["id_token"], SimpleNamespace(nonce=nonce))
    check_access_token(server, c, tok["access_token"], idc)
    # the access token works at userinfo through authlib's bearer auth
    ui = sess.get(server.url("/userinfo"), timeout=10)
    assert ui.status_code == 200, ui.text
    assert ui.json()["sub"] == idc["sub"] and ui.json()["pid"] == PID


def test_token_response_headers(server, new_client, new_browser):
    c = new_client()
    res = login(server, c, new_browser())
    r = c.redeem(res)
    assert r.status_code == 200, r.text
    assert r.headers.get("Content-Type", "").startswith("application/json")
    assert "no-store" in r.headers.get("Cache-Control", "")
    assert set(r.json()) >= {"access_token", "token_type", "expires_in", "scope", "id_token"}


def test_pairwise_sub(server, new_client, new_browser):
    a, b_ = new_client(), new_client()
    br = new_browser()
    ta = a.tokens(login(server, a, br))
    tb = b_.tokens(login(server, b_, br, expect_eid=False))
    ca = check_id_token(server, a, ta["id_token"])
    cb = check_id_token(server, b_, tb["id_token"])
    assert ca["sub"] != cb["sub"], "sub must differ between clients"
    # the same person, another login (new browser, new session) to client a: same sub
    ta2 = a.tokens(login(server, a, new_browser(), expect_eid=True))
    assert check_id_token(server, a, ta2["id_token"])["sub"] == ca["sub"]
    # another person: another sub
    ta3 = a.tokens(login(server, a, new_browser(), pid=PID2))
    assert check_id_token(server, a, ta3["id_token"], pid=PID2)["sub"] != ca["sub"]


def test_sid_only_for_session_required(server, new_client, new_browser):
    with_sid = new_client(fc=True, fc_session=True)
    without = new_client(fc=True, fc_session=False)
    b = new_browser()
    t1 = with_sid.tokens(login(server, with_sid, b))
    t2 = without.tokens(login(server, without, b))
    c1 = check_id_token(server, with_sid, t1["id_token"])
    check_id_token(server, without, t2["id_token"])
    assert len(c1["sid"]) >= 16


def test_state_echoed_exactly(server, new_client, new_browser):
    c = new_client()
    state = "s t&a=t/e+~%41\u00e6\u00f8\u00e5:?#"
    res = login(server, c, new_browser(), state=state)
    assert res.state == state
    assert res.iss == server.issuer


def test_form_post(server, new_client, new_browser):
    c = new_client()
    res = login(server, c, new_browser(), response_mode="form_post")
    assert res.kind == "form_post", res
    assert res.resp.status_code == 200
    assert set(res.params) >= {"code", "state", "iss"}
    assert res.state == res.sent["state"] and res.iss == server.issuer
    form = [f for f in Page(res.resp.text).forms if f["action"] == c.redirect_uri]
    assert form and form[0]["method"] == "post"
    check_id_token(server, c, c.tokens(res)["id_token"], res)


def test_form_post_error(server, new_client, new_browser):
    """Errors go the same way as codes: cancel with response_mode=form_post."""
    c = new_client()
    b = new_browser()
    params, _ = auth_params(c, response_mode="form_post")
    r = authorize(server, b, params)
    assert r.status_code == 200
    r = submit_form(b, r, "cancel-form")
    res = classify(server, r, c.redirect_uri, params)
    assert res.kind == "form_post", res
    assert res.error == "access_denied" and res.state == params["state"] and res.iss == server.issuer
    assert "code" not in res.params


def test_fragment(server, new_client, new_browser):
    c = new_client()
    res = login(server, c, new_browser(), response_mode="fragment")
    assert res.kind == "redirect"
    loc = res.location
    assert "#" in loc and "code=" in loc.split("#", 1)[1], loc
    assert "code=" not in loc.split("#", 1)[0]
    assert res.iss == server.issuer and res.state == res.sent["state"]
    c.tokens(res)


def test_authorize_post(server, new_client, new_browser):
    c = new_client()
    res = login(server, c, new_browser(), method="POST")
    check_id_token(server, c, c.tokens(res)["id_token"], res)


@pytest.mark.parametrize("ui_locales,want", [("en", "en"), ("de nn en", "nn"), ("se", "se"), ("fr", "nb")])
def test_locale(server, new_client, new_browser, ui_locales, want):
    c = new_client()
    res = login(server, c, new_browser(), ui_locales=ui_locales)
    tok = c.tokens(res)
    check_id_token(server, c, tok["id_token"], res, locale=want)
    ui = server.get("/userinfo", headers={"Authorization": "Bearer " + tok["access_token"]})
    assert ui.status_code == 200 and ui.json().get("locale") == want


def test_testid_offers_both_levels(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    params, _ = auth_params(c)
    t = open_testid(server, b, authorize(server, b, params))
    assert set(select_values(t.text, "acr")) >= {SUBSTANTIAL, HIGH}


def test_high_level_and_d_number(server, new_client, new_browser):
    c = new_client()
    res = login(server, c, new_browser(), pid=PID_D, acr=HIGH)
    tok = c.tokens(res)
    idc = check_id_token(server, c, tok["id_token"], res, pid=PID_D, acr=HIGH)
    check_access_token(server, c, tok["access_token"], idc, pid=PID_D, acr=HIGH)


def test_testid_refuses_non_synthetic_numbers(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    params, verifier = auth_params(c)
    sel = authorize(server, b, params)
    t = open_testid(server, b, sel)
    for bad in (PID_REAL, PID_BADSUM, "1234", "2187949801x", ""):
        r = submit_testid(server, b, t, pid=bad)
        res = classify(server, r, c.redirect_uri, params)
        assert res.kind == "page", f"TestID accepted {bad!r}: {res!r}"
        assert r.status_code in (200, 400, 422), r.status_code
        # back on a TestID form (re-rendered, or reopened from the selector)
        t = r if Page(r.text).form("testid-form") else open_testid(server, b, sel)
    r = submit_testid(server, b, t, pid=PID)
    res = classify(server, r, c.redirect_uri, params, verifier)
    assert res.code, res
    check_id_token(server, c, c.tokens(res)["id_token"], res)


def test_testid_refuses_unknown_acr(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    params, _ = auth_params(c)
    t = open_testid(server, b, authorize(server, b, params))
    for acr in ("idporten-loa-low", "Level4", "eidas-loa-high", ""):
        r = submit_testid(server, b, t, acr=acr)
        res = classify(server, r, c.redirect_uri, params)
        assert res.kind == "page" or res.error, f"TestID accepted acr {acr!r}: {res!r}"


@pytest.mark.parametrize("where", ["selector", "testid"])
def test_cancel(server, new_client, new_browser, where):
    c = new_client()
    b = new_browser()
    params, _ = auth_params(c)
    page = authorize(server, b, params)
    if where == "testid":
        page = open_testid(server, b, page)
    r = submit_form(b, page, "cancel-form")
    res = classify(server, r, c.redirect_uri, params)
    assert res.kind == "redirect", res
    assert url_base(res.location) == c.redirect_uri
    assert res.error == "access_denied"
    assert res.state == params["state"] and res.iss == server.issuer
    assert "code" not in res.params


def test_par_flow(server, new_client, new_browser):
    c = new_client()
    params, verifier = auth_params(c)
    r = c.par(**params)
    assert r.status_code == 201, r.text
    j = r.json()
    assert j["request_uri"].startswith("urn:idporten:") and len(j["request_uri"]) > len("urn:idporten:") + 16
    assert j["expires_in"] == 120
    b = new_browser()
    r = authorize(server, b, {"client_id": c.client_id, "request_uri": j["request_uri"]})
    res = finish_login(server, b, r, c.redirect_uri, sent=params, verifier=verifier)
    assert res.code and res.state == params["state"] and res.iss == server.issuer
    check_id_token(server, c, c.tokens(res)["id_token"], res)
    # the URN is single use: an error page, never a redirect
    r = authorize(server, new_browser(), {"client_id": c.client_id, "request_uri": j["request_uri"]})
    res = classify(server, r, c.redirect_uri)
    assert res.kind == "page" and r.status_code == 400, res


@pytest.mark.parametrize("method", ["client_secret_post", "private_key_jwt", "none"])
def test_par_auth_methods(server, new_client, new_browser, method):
    c = new_client(auth=method)
    params, verifier = auth_params(c)
    r = c.par(**params)
    assert r.status_code == 201, r.text
    b = new_browser()
    r = authorize(server, b, {"client_id": c.client_id, "request_uri": r.json()["request_uri"]})
    res = finish_login(server, b, r, c.redirect_uri, sent=params, verifier=verifier)
    assert res.code, res
    c.tokens(res)


def test_par_urn_of_another_client(server, new_client, new_browser):
    a, other = new_client(), new_client()
    params, _ = auth_params(a)
    urn = a.par(**params).json()["request_uri"]
    r = authorize(server, new_browser(), {"client_id": other.client_id, "request_uri": urn})
    res = classify(server, r, other.redirect_uri)
    assert res.kind == "page" and r.status_code == 400, res
    assert "Location" not in r.headers


def test_par_urn_with_other_parameters(server, new_client, new_browser):
    c = new_client()
    params, _ = auth_params(c)
    urn = c.par(**params).json()["request_uri"]
    r = authorize(server, new_browser(), {"client_id": c.client_id, "request_uri": urn, "state": "x"})
    res = classify(server, r, c.redirect_uri)
    assert res.kind == "page" and r.status_code == 400, res


def test_par_validates_like_authorize(server, new_client):
    c = new_client()
    params, _ = auth_params(c, code_challenge=None, code_challenge_method=None)
    r = c.par(**params)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    params, _ = auth_params(c, redirect_uri=c.redirect_uri + "/x")
    r = c.par(**params)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text


def test_par_requires_client_auth(server, new_client):
    c = new_client()
    params, _ = auth_params(c)
    r = c.par(method="none", **params)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    r = c.par(secret="wrong", **params)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text


def test_native_loopback_any_port(server, new_client, new_browser):
    c = new_client(auth="none", app_type="native", redirect_uris=["http://127.0.0.1:0/callback"])
    uri = "http://127.0.0.1:47123/callback"
    res = login(server, c, new_browser(), redirect_uri=uri)
    assert url_base(res.location) == uri
    tok = c.tokens(res)  # the token request repeats the exact URI used
    check_id_token(server, c, tok["id_token"], res)
    # a different path is not the registered URI
    r = start(server, c, new_browser(), redirect_uri="http://127.0.0.1:47123/other")
    assert r.kind == "page" and r.resp.status_code == 400, r


def test_pkce_downgraded_client(server, new_client, new_browser):
    c = new_client(pkce_none=True)
    res = login(server, c, new_browser(), code_challenge=None, code_challenge_method=None)
    assert res.verifier is None
    r = c.redeem(res)
    assert r.status_code == 200, r.text
    # a downgraded client that still sends a challenge gets it verified
    res = login(server, c, new_browser())
    r = c.redeem(res, code_verifier="x" * 43)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text


def test_request_object(server, new_client, new_browser):
    """request_parameter_supported is true (§2): a signed request object by a registered key works."""
    c = new_client(auth="private_key_jwt")
    params, verifier = auth_params(c)
    now = int(time.time())
    claims = dict(params, iss=c.client_id, aud=server.issuer, iat=now, exp=now + 60, jti=rand())
    t = jjwt.JWT(header={"alg": "RS256", "kid": c.kid}, claims=claims)
    t.make_signed_token(c.key)
    b = new_browser()
    r = authorize(server, b, {"client_id": c.client_id, "response_type": "code", "scope": params["scope"],
                              "request": t.serialize()})
    res = finish_login(server, b, r, c.redirect_uri, sent=params, verifier=verifier)
    assert res.code and res.state == params["state"], res
    check_id_token(server, c, c.tokens(res)["id_token"], res)


def test_request_object_bad_signature(server, new_client, new_browser):
    c = new_client(auth="private_key_jwt")
    params, _ = auth_params(c)
    now = int(time.time())
    from jwcrypto import jwk
    other = jwk.JWK.generate(kty="RSA", size=2048)
    claims = dict(params, iss=c.client_id, aud=server.issuer, iat=now, exp=now + 60, jti=rand())
    t = jjwt.JWT(header={"alg": "RS256", "kid": c.kid}, claims=claims)
    t.make_signed_token(other)
    res = start(server, c, new_browser(), params={
        "client_id": c.client_id, "response_type": "code", "scope": params["scope"],
        "redirect_uri": c.redirect_uri, "state": params["state"], "request": t.serialize()})
    assert res.kind == "redirect" and res.error == "invalid_request_object", res


@pytest.mark.parametrize("drop", [None, "jti", "iat"])
def test_request_object_single_use_and_complete(server, new_client, new_browser, drop):
    """A request object needs iat and jti, and is good for one request only."""
    c = new_client(auth="private_key_jwt")
    params, _ = auth_params(c)
    now = int(time.time())
    claims = dict(params, iss=c.client_id, aud=server.issuer, iat=now, exp=now + 60, jti=rand())
    if drop:
        del claims[drop]
    t = jjwt.JWT(header={"alg": "RS256", "kid": c.kid}, claims=claims)
    t.make_signed_token(c.key)
    outer = {"client_id": c.client_id, "response_type": "code", "scope": params["scope"],
             "redirect_uri": c.redirect_uri, "state": params["state"], "request": t.serialize()}
    first = start(server, c, new_browser(), params=outer)
    if drop:
        assert first.kind == "redirect" and first.error == "invalid_request_object", first
        return
    assert first.kind != "redirect" or first.error is None, first
    again = start(server, c, new_browser(), params=outer)
    assert again.kind == "redirect" and again.error == "invalid_request_object", again
