"""
The hostile half: malformed, duplicated, oversized, forged and replayed input.

Each case checks the exact OAuth error and where it is shown (redirect to
the client or error page at Porten, spec/idporten-oidc.md §4 validation
order and §17), and that nothing stored changed: a canary client's refresh
token still refreshes and its not-yet-used code still redeems once.
"""

import json
import time
import uuid
from urllib.parse import urlencode

import pytest
import requests
from jwcrypto import jwk
from jwcrypto import jws as jjws

from conftest import (HIGH, PID, Page, auth_params, authorize, b64u, classify, follow, jwt_parts, login,
                      logout, new_verifier, open_testid, rand, s256, start, submit_form, url_base)


def err(r):
    try:
        return r.json().get("error")
    except ValueError:
        return None


class Canary:
    def __init__(self, server, client, browser):
        self.server = server
        self.client = client
        self.browser = browser
        self.tok = client.tokens(login(server, client, browser))
        self.rt = self.tok["refresh_token"]
        self.pending = login(server, client, browser, expect_eid=False)

    def fresh_code(self):
        """Another code for the canary client (SSO, no page)."""
        return login(self.server, self.client, self.browser, expect_eid=False)

    def check(self):
        assert self.server.alive(), "portend died"
        r = self.client.redeem(self.pending)
        assert r.status_code == 200, f"an unused code no longer redeems: {r.status_code} {r.text}"
        r = self.client.refresh(self.rt)
        assert r.status_code == 200, f"a live refresh token no longer refreshes: {r.status_code} {r.text}"
        self.rt = r.json()["refresh_token"]


@pytest.fixture
def canary(server, new_client, new_browser):
    return Canary(server, new_client(refresh=True), new_browser())


def assert_redirect_error(server, res, client, error, check_state=True):
    assert res.kind == "redirect", f"expected a redirect with error={error}, got {res!r}"
    assert url_base(res.location) == client.redirect_uri, res.location
    assert res.error == error, f"error={res.error!r} ({res.params.get('error_description')}), want {error}"
    assert "code" not in res.params
    assert res.iss == server.issuer
    if check_state:
        assert res.state == res.sent["state"]


def assert_error_page(server, res):
    r = res.resp
    assert res.kind == "page", f"expected an error page at Porten, got {res!r}"
    assert r.status_code == 400, f"error page status {r.status_code}: {r.text[:300]!r}"
    page = Page(r.text)
    assert not page.meta_refresh, "error page refreshes elsewhere"
    off = [f["action"] for f in page.forms if f["action"].startswith("http") and not server.owns(f["action"])]
    assert not off, f"error page posts off-site: {off}"


def raw_authorize(server, browser, query):
    """GET /authorize with a hand-built query string (kept byte for byte)."""
    r = browser.get(server.url("/authorize") + "?" + query, allow_redirects=False, timeout=10)
    return follow(server, browser, r)


# ---- /authorize: errors redirected to the client ----------------------------------

GOOD = s256("xyo94uhy3zKvgB0NJwLms86SwcjtWviEOpkBnGgaLlo")
assert GOOD == "b7elB7ZyxIXgFyvBznKvxl7wOB-H17Pz0a3B62NIMFI"  # the docs' test vector

REDIRECTED = [
    ("pkce_plain", {"code_challenge_method": "plain"}, "invalid_request"),
    ("pkce_method_lowercase", {"code_challenge_method": "s256"}, "invalid_request"),
    ("pkce_missing", {"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ("pkce_challenge_missing", {"code_challenge": None}, "invalid_request"),
    ("pkce_method_missing", {"code_challenge_method": None, "code_challenge": GOOD}, "invalid_request"),
    ("pkce_padding_in_43", {"code_challenge": GOOD[:42] + "="}, "invalid_request"),
    ("pkce_padding_44", {"code_challenge": GOOD + "="}, "invalid_request"),
    ("pkce_short", {"code_challenge": GOOD[:42]}, "invalid_request"),
    ("pkce_long", {"code_challenge": GOOD + "A"}, "invalid_request"),
    ("pkce_128", {"code_challenge": "A" * 128}, "invalid_request"),
    ("pkce_std_base64", {"code_challenge": GOOD[:41] + "+/"}, "invalid_request"),
    ("pkce_empty", {"code_challenge": ""}, "invalid_request"),
    ("nonce_missing", {"nonce": None}, "invalid_request"),
    ("response_type_token", {"response_type": "token"}, "unsupported_response_type"),
    ("response_type_hybrid", {"response_type": "code id_token"}, "unsupported_response_type"),
    ("response_type_id_token", {"response_type": "id_token"}, "unsupported_response_type"),
    ("response_type_missing", {"response_type": None}, "invalid_request"),
    ("response_mode_unknown", {"response_mode": "bogus"}, "invalid_request"),
    ("scope_unregistered", {"scope": "openid profile krr:user/kontaktinformasjon.read"}, "invalid_scope"),
    ("scope_unknown", {"scope": "openid profile nosuch:scope"}, "invalid_scope"),
    ("scope_introspection_not_registered", {"scope": "openid idporten:token.introspection"}, "invalid_scope"),
    ("prompt_both", {"prompt": "login none"}, "invalid_request"),
    ("prompt_consent", {"prompt": "consent"}, "invalid_request"),
    ("prompt_select_account", {"prompt": "select_account"}, "invalid_request"),
    ("onbehalfof_unknown", {"onbehalfof": "nosuchcustomer"}, "invalid_request"),
    ("onbehalfof_bad_syntax", {"onbehalfof": "a-b/c"}, "invalid_request"),
    ("request_object_garbage", {"request": "not.a.jwt"}, "invalid_request_object"),
]


@pytest.mark.parametrize("name,overrides,error", REDIRECTED, ids=[c[0] for c in REDIRECTED])
def test_authorize_redirected_errors(server, canary, name, overrides, error):
    # the canary browser has a live SSO session: validation must come before SSO
    res = start(server, canary.client, canary.browser, **overrides)
    assert_redirect_error(server, res, canary.client, error)
    canary.check()


def test_missing_state(server, canary):
    res = start(server, canary.client, canary.browser, state=None)
    assert_redirect_error(server, res, canary.client, "invalid_request", check_state=False)
    assert "state" not in res.params
    canary.check()


@pytest.mark.parametrize("param", ["state", "nonce", "scope", "code_challenge", "response_type", "prompt"])
def test_duplicated_parameter_redirected(server, canary, param):
    params, _ = auth_params(canary.client, prompt="login")
    pairs = list(params.items()) + [(param, params[param])]
    res = classify(server, authorize(server, canary.browser, pairs), canary.client.redirect_uri, params)
    assert_redirect_error(server, res, canary.client, "invalid_request", check_state=False)
    canary.check()


def test_duplicated_parameter_different_values(server, canary):
    params, _ = auth_params(canary.client)
    pairs = list(params.items()) + [("state", "other")]
    res = classify(server, authorize(server, canary.browser, pairs), canary.client.redirect_uri, params)
    assert_redirect_error(server, res, canary.client, "invalid_request", check_state=False)
    canary.check()


# ---- /authorize: error page, never a redirect ---------------------------------------

def _near_misses(c):
    u = c.redirect_uri                         # http://127.0.0.1:<port>/cb/<n>
    host, rest = u[len("http://"):].split("/", 1)
    h, port = host.split(":")
    return {
        "unregistered": "http://127.0.0.1:9/evil",
        "trailing_slash": u + "/",
        "other_port": f"http://{h}:{int(port) + 1}/{rest}",
        "no_port": f"http://{h}/{rest}",
        "extra_query": u + "?x=1",
        "fragment": u + "#f",
        "https": "https://" + u[len("http://"):],
        "path_case": f"http://{host}/{rest.upper()}",
        "path_prefix": u[:-1],
        "path_suffix": u + "x",
        "dot_segment": f"http://{host}/{rest}/../{rest.split('/')[-1]}",
        "encoded": u.replace("/cb/", "/%63b/"),
        "userinfo": f"http://evil@{host}/{rest}",
        "empty": "",
    }


NEAR_MISSES = ["unregistered", "trailing_slash", "other_port", "no_port", "extra_query", "fragment", "https",
               "path_case", "path_prefix", "path_suffix", "dot_segment", "encoded", "userinfo", "empty"]


@pytest.mark.parametrize("variant", NEAR_MISSES)
def test_redirect_uri_near_misses(server, canary, variant):
    bad = _near_misses(canary.client)[variant]
    res = start(server, canary.client, canary.browser, redirect_uri=bad)
    assert_error_page(server, res)
    canary.check()


def test_redirect_uri_upper_case_host(server, listener, new_client, new_browser):
    c = new_client(redirect_uris=[f"http://localhost:{listener.port}/cb/{uuid.uuid4().hex[:8]}"])
    b = new_browser()
    res = login(server, c, b)                  # the registered form works
    c.tokens(res)
    for bad in (c.redirect_uri.replace("localhost", "LOCALHOST"), c.redirect_uri.replace("http:", "HTTP:"),
                c.redirect_uri.replace("localhost", "127.0.0.1")):
        assert_error_page(server, start(server, c, b, redirect_uri=bad))


def test_redirect_uri_missing(server, canary):
    assert_error_page(server, start(server, canary.client, canary.browser, redirect_uri=None))
    canary.check()


@pytest.mark.parametrize("client_id", ["nosuch-5b1c2e9d", "", None], ids=["unknown", "empty", "missing"])
def test_unknown_or_missing_client_id(server, canary, client_id):
    res = start(server, canary.client, canary.browser, client_id=client_id)
    assert_error_page(server, res)
    canary.check()


@pytest.mark.parametrize("param", ["client_id", "redirect_uri"])
def test_duplicated_client_id_or_redirect_uri(server, canary, param):
    params, _ = auth_params(canary.client)
    pairs = list(params.items()) + [(param, params[param])]
    assert_error_page(server, classify(server, authorize(server, canary.browser, pairs), canary.client.redirect_uri))
    canary.check()


def test_request_uri_without_client_id(server, canary):
    params, _ = auth_params(canary.client)
    urn = canary.client.par(**params).json()["request_uri"]
    res = classify(server, authorize(server, canary.browser, {"request_uri": urn}), canary.client.redirect_uri)
    assert_error_page(server, res)
    canary.check()


@pytest.mark.parametrize("urn", ["urn:idporten:" + "A" * 43, "urn:idporten:", "https://127.0.0.1:9/req.jwt",
                                 "urn:ietf:params:oauth:request_uri:x"], ids=["unknown", "empty", "https", "other_urn"])
def test_request_uri_unknown(server, canary, urn):
    res = classify(server, authorize(server, canary.browser, {"client_id": canary.client.client_id,
                                                               "request_uri": urn}),
                   canary.client.redirect_uri)
    assert_error_page(server, res)
    canary.check()


def test_duplicated_request_uri(server, canary):
    params, _ = auth_params(canary.client)
    urn = canary.client.par(**params).json()["request_uri"]
    pairs = [("client_id", canary.client.client_id), ("request_uri", urn), ("request_uri", urn)]
    assert_error_page(server, classify(server, authorize(server, canary.browser, pairs), canary.client.redirect_uri))
    canary.check()


# ---- /authorize: bytes that must not get through ------------------------------------

@pytest.mark.parametrize("bad", ["%FF", "%C3%28", "%0D%0ALocation:%20http://evil", "%00", "ab%0Acd"],
                         ids=["ff", "bad_utf8_seq", "crlf_header", "nul", "lf"])
def test_bad_bytes_in_state(server, canary, bad):
    """
    Invalid UTF-8 or control characters: invalid_request.  The HTTP layer may
    refuse the whole query (then Porten cannot trust redirect_uri and shows
    an error page) or the error is redirected; never a code, never a header
    built from the raw bytes.
    """
    params, _ = auth_params(canary.client)
    params.pop("state")
    r = raw_authorize(server, canary.browser, urlencode(params) + "&state=" + bad)
    res = classify(server, r, canary.client.redirect_uri, params)
    if res.kind == "redirect":
        assert_redirect_error(server, res, canary.client, "invalid_request", check_state=False)
        assert "\r" not in res.location and "\n" not in res.location
        assert "evil" not in r.headers.get("Location", "").split("?")[0]
    else:
        assert_error_page(server, res)
    canary.check()


@pytest.mark.parametrize("bad", ["%FF", "%0D%0A"], ids=["ff", "crlf"])
def test_bad_bytes_in_client_id(server, canary, bad):
    params, _ = auth_params(canary.client)
    params.pop("client_id")
    r = raw_authorize(server, canary.browser, urlencode(params) + "&client_id=" + canary.client.client_id + bad)
    assert_error_page(server, classify(server, r, canary.client.redirect_uri))
    canary.check()


def test_oversized_state_get(server, canary):
    params, _ = auth_params(canary.client, state="A" * 100_000)
    try:
        r = canary.browser.get(server.url("/authorize"), params=params, allow_redirects=False, timeout=10)
        assert 400 <= r.status_code < 500, r.status_code
        assert "Location" not in r.headers
    except requests.ConnectionError as e:
        pytest.fail(f"connection dropped instead of a 4xx: {e}")
    assert server.get("/health/live").status_code == 200
    canary.check()


def test_oversized_state_post(server, canary):
    params, _ = auth_params(canary.client, state="A" * 100_000)
    r = canary.browser.post(server.url("/authorize"), data=params, allow_redirects=False, timeout=10)
    assert 400 <= r.status_code < 500, r.status_code
    assert "Location" not in r.headers or server.owns(r.headers["Location"])
    assert server.get("/health/live").status_code == 200
    canary.check()


def test_long_parameter_value_under_body_limit(server, canary):
    """A 17000-byte state in a POSTed request (over the per-value limit, under the body limit)."""
    params, _ = auth_params(canary.client, state="A" * 17000)
    r = canary.browser.post(server.url("/authorize"), data=params, allow_redirects=False, timeout=10)
    res = classify(server, follow(server, canary.browser, r), canary.client.redirect_uri, params)
    if res.kind == "redirect":
        assert_redirect_error(server, res, canary.client, "invalid_request", check_state=False)
    else:
        assert 400 <= res.resp.status_code < 500, res
    canary.check()


def test_too_many_parameters(server, canary):
    params, _ = auth_params(canary.client)
    pairs = list(params.items()) + [(f"x{i}", "y") for i in range(300)]
    r = canary.browser.get(server.url("/authorize"), params=pairs, allow_redirects=False, timeout=10)
    res = classify(server, follow(server, canary.browser, r), canary.client.redirect_uri, params)
    assert not res.code, res
    assert 400 <= res.resp.status_code < 500 or res.error == "invalid_request", res
    canary.check()


def test_oversized_token_request(server, canary):
    code = canary.fresh_code()
    r = canary.client.redeem(code, padding="A" * 100_000)
    assert 400 <= r.status_code < 500, r.status_code
    assert canary.client.redeem(code).status_code == 200, "a refused oversized request consumed the code"
    canary.check()


# ---- /token: PKCE and the code -----------------------------------------------------

def test_missing_code_verifier(server, canary):
    res = canary.fresh_code()
    r = canary.client.redeem(res, code_verifier=None)
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    canary.check()


@pytest.mark.parametrize("verifier", ["right_length", "short", "bad_chars", "long", "challenge_itself"])
def test_wrong_code_verifier(server, canary, verifier):
    res = canary.fresh_code()
    v = {"right_length": new_verifier(), "short": "a" * 42, "bad_chars": "a" * 42 + "!",
         "long": "a" * 129, "challenge_itself": res.sent["code_challenge"]}[verifier]
    r = canary.client.redeem(res, code_verifier=v)
    assert r.status_code == 400, r.text
    if verifier == "right_length" or verifier == "challenge_itself":
        assert err(r) == "invalid_grant", r.text
    else:
        assert err(r) in ("invalid_grant", "invalid_request"), r.text
    canary.check()


def test_verifier_for_code_without_challenge(server, new_client, new_browser):
    """Downgraded client: a verifier sent for a code issued without a challenge (RFC 9700 §4.8.2)."""
    c = new_client(pkce_none=True)
    res = login(server, c, new_browser(), code_challenge=None, code_challenge_method=None)
    r = c.redeem(res, code_verifier=new_verifier())
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text


def test_redirect_uri_mismatch_at_token(server, canary):
    res = canary.fresh_code()
    r = canary.client.redeem(res, redirect_uri=canary.client.redirect_uri + "/x")
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    res = canary.fresh_code()
    r = canary.client.redeem(res, redirect_uri=None)
    assert r.status_code == 400 and err(r) in ("invalid_request", "invalid_grant"), r.text
    canary.check()


def test_code_of_another_client(server, canary, new_client):
    other = new_client(refresh=True)
    res = canary.fresh_code()
    r = other.redeem(res, redirect_uri=canary.client.redirect_uri)
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    r = other.redeem(res)
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    canary.check()


@pytest.mark.parametrize("code", ["garbage", "", "A" * 43, "%"], ids=["garbage", "empty", "random", "percent"])
def test_unknown_code(server, canary, code):
    res = canary.fresh_code()
    r = canary.client.redeem(res, code=code)
    assert r.status_code == 400 and err(r) in ("invalid_grant", "invalid_request"), r.text
    if code not in ("",):
        assert err(r) == "invalid_grant"
    canary.check()


def test_code_reuse_revokes_first_issue(server, new_client, new_browser, canary):
    c = new_client(refresh=True, introspect=True)
    b = new_browser()
    res = login(server, c, b)
    tok = c.tokens(res)
    assert c.introspect(tok["access_token"]).json()["active"] is True
    r = c.redeem(res)
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    r = c.refresh(tok["refresh_token"])
    assert r.status_code == 400 and err(r) == "invalid_grant", f"refresh token of a replayed code lives: {r.text}"
    intro = c.introspect(tok["access_token"]).json()
    assert intro == {"active": False}, f"access token of a replayed code still active: {intro}"
    # other grants of the same client and person are untouched
    res2 = login(server, c, b, expect_eid=False)
    assert c.redeem(res2).status_code == 200
    canary.check()


def test_duplicated_code_parameter(server, canary):
    res = canary.fresh_code()
    data, headers = canary.client.with_auth([("grant_type", "authorization_code"), ("code", res.code),
                                             ("code", res.code), ("redirect_uri", canary.client.redirect_uri),
                                             ("code_verifier", res.verifier)])
    r = server.post("/token", data=data, headers=headers)
    assert r.status_code == 400 and err(r) == "invalid_request", r.text
    assert canary.client.redeem(res).status_code == 200, "a malformed request consumed the code"
    canary.check()


def test_json_body(server, canary):
    res = canary.fresh_code()
    body = {"grant_type": "authorization_code", "code": res.code, "redirect_uri": canary.client.redirect_uri,
            "code_verifier": res.verifier}
    _, headers = canary.client.with_auth()
    r = server.post("/token", json=body, headers=headers)
    assert r.status_code == 400 and err(r) == "invalid_request", r.text
    assert canary.client.redeem(res).status_code == 200, "a JSON request consumed the code"
    canary.check()


@pytest.mark.parametrize("grant", ["password", "client_credentials", "implicit", "token",
                                   "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                   "urn:ietf:params:oauth:grant-type:device_code",
                                   "urn:ietf:params:oauth:grant-type:token-exchange", "nosuch"])
def test_unsupported_grant_type(server, canary, grant):
    r = canary.client.post("/token", {"grant_type": grant, "username": "u", "password": "p",
                                      "assertion": "a.b.c", "scope": "openid"})
    assert r.status_code == 400 and err(r) == "unsupported_grant_type", r.text
    canary.check()


def test_missing_grant_type(server, canary):
    res = canary.fresh_code()
    r = canary.client.redeem(res, grant_type=None)
    assert r.status_code == 400 and err(r) == "invalid_request", r.text
    assert canary.client.redeem(res).status_code == 200
    canary.check()


def test_token_get_not_allowed(server, canary):
    res = canary.fresh_code()
    r = server.get("/token", params={"grant_type": "authorization_code", "code": res.code,
                                     "redirect_uri": canary.client.redirect_uri, "code_verifier": res.verifier,
                                     "client_id": canary.client.client_id,
                                     "client_secret": canary.client.secret})
    assert r.status_code in (400, 405), r.status_code
    assert "access_token" not in r.text
    canary.check()


@pytest.mark.parametrize("bad", ["%FF", "%0D%0A"], ids=["ff", "crlf"])
def test_bad_bytes_at_token(server, canary, bad):
    res = canary.fresh_code()
    _, headers = canary.client.with_auth()
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    body = urlencode({"grant_type": "authorization_code", "redirect_uri": canary.client.redirect_uri,
                      "code_verifier": res.verifier}) + "&code=" + res.code + bad
    r = server.post("/token", data=body, headers=headers)
    assert r.status_code == 400 and err(r) == "invalid_request", r.text
    assert canary.client.redeem(res).status_code == 200
    canary.check()


# ---- client authentication ------------------------------------------------------------

WRONG_METHOD = [
    ("client_secret_basic", "client_secret_post"),
    ("client_secret_basic", "none"),
    ("client_secret_basic", "noauth"),
    ("client_secret_post", "client_secret_basic"),
    ("client_secret_post", "none"),
    ("private_key_jwt", "client_secret_post"),
    ("private_key_jwt", "client_secret_basic"),
    ("private_key_jwt", "none"),
    ("none", "client_secret_basic"),
    ("none", "client_secret_post"),
]


@pytest.mark.parametrize("registered,used", WRONG_METHOD)
def test_wrong_client_auth_method(server, new_client, new_browser, registered, used):
    c = new_client(auth=registered)
    res = login(server, c, new_browser())
    r = c.redeem(res, method=used, secret=c.secret or "not-a-secret")
    assert r.status_code == 401 and err(r) == "invalid_client", r.text
    if used == "client_secret_basic":
        assert r.headers.get("WWW-Authenticate", "").lower().startswith("basic")
    r = c.redeem(res)
    assert r.status_code == 200, f"failed client authentication consumed the code: {r.text}"


def test_two_auth_methods_at_once(server, new_client, new_browser):
    c = new_client(auth="client_secret_basic")
    res = login(server, c, new_browser())
    data, headers = c.with_auth({"grant_type": "authorization_code", "code": res.code,
                                 "redirect_uri": c.redirect_uri, "code_verifier": res.verifier})
    data += [("client_id", c.client_id), ("client_secret", c.secret)]
    r = server.post("/token", data=data, headers=headers)
    assert r.status_code == 401 and err(r) == "invalid_client", r.text
    assert c.redeem(res).status_code == 200


def test_client_id_mismatch_basic_and_form(server, new_client, new_browser):
    c, other = new_client(), new_client()
    res = login(server, c, new_browser())
    r = c.redeem(res, client_id=other.client_id)
    assert r.status_code in (400, 401) and err(r) in ("invalid_client", "invalid_request"), r.text
    assert c.redeem(res).status_code == 200


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_wrong_secret(server, new_client, new_browser, method):
    c, other = new_client(auth=method), new_client(auth=method)
    res = login(server, c, new_browser())
    for secret in ("wrong", c.secret[:-1], c.secret + "x", other.secret, "", c.secret.upper()):
        if secret == c.secret:
            continue
        r = c.redeem(res, secret=secret)
        assert r.status_code == 401 and err(r) == "invalid_client", (secret, r.text)
        if method == "client_secret_basic":
            assert r.headers.get("WWW-Authenticate", "").lower().startswith("basic")
    assert c.redeem(res).status_code == 200


def test_unknown_client_at_token(server, new_client, new_browser):
    c = new_client()
    res = login(server, c, new_browser())
    real = c.client_id
    c.client_id = "nosuch-" + uuid.uuid4().hex
    try:
        r = c.redeem(res)
    finally:
        c.client_id = real
    assert r.status_code == 401 and err(r) == "invalid_client", r.text
    assert c.redeem(res).status_code == 200


# ---- private_key_jwt assertions ----------------------------------------------------------

@pytest.fixture
def jwt_client(server, new_client, new_browser):
    c = new_client(auth="private_key_jwt", refresh=True)
    b = new_browser()
    c.browser = b
    return c


def test_assertion_aud_token_endpoint_accepted(server, jwt_client):
    c = jwt_client
    res = login(server, c, c.browser)
    a = c.assertion(aud=server.url("/token"))
    r = c.redeem(res, assertion=a)
    assert r.status_code == 200, r.text


def test_assertion_lifetime_120_accepted(server, jwt_client):
    c = jwt_client
    res = login(server, c, c.browser)
    assert c.redeem(res, assertion=c.assertion(lifetime=120)).status_code == 200


def test_assertion_replay(server, jwt_client):
    c = jwt_client
    a = c.assertion()
    res1 = login(server, c, c.browser)
    res2 = login(server, c, c.browser, expect_eid=False)
    r = c.redeem(res1, assertion=a)
    assert r.status_code == 200, r.text
    r = c.redeem(res2, assertion=a)
    assert r.status_code == 401 and err(r) == "invalid_client", f"replayed assertion accepted: {r.text}"
    assert c.redeem(res2).status_code == 200, "the replay consumed the code"


def _bad_assertion(c, server, case):
    now = int(time.time())
    make = {
        "aud_other": lambda: c.assertion(aud="https://idporten.no"),
        "aud_slash": lambda: c.assertion(aud=server.issuer + "/"),
        "aud_par": lambda: c.assertion(aud=server.url("/par")),
        "aud_list_other": lambda: c.assertion(aud=["https://example.com"]),
        "expired": lambda: c.assertion(iat=now - 300, exp=now - 180),
        "lifetime_121": lambda: c.assertion(lifetime=121),
        "lifetime_300": lambda: c.assertion(lifetime=300),
        "lifetime_3600": lambda: c.assertion(lifetime=3600),
        "iss_other": lambda: c.assertion(iss="someone-else"),
        "sub_other": lambda: c.assertion(sub="someone-else"),
        "no_iss": lambda: c.assertion(drop=("iss",)),
        "no_sub": lambda: c.assertion(drop=("sub",)),
        "no_jti": lambda: c.assertion(drop=("jti",)),
        "no_exp": lambda: c.assertion(drop=("exp",)),
        "no_iat": lambda: c.assertion(drop=("iat",)),
        "unknown_kid": lambda: c.assertion(kid="nosuchkid"),
        "no_kid": lambda: c.assertion(header_extra={"kid": None}),
        "other_key_same_kid": lambda: c.assertion(key=jwk.JWK.generate(kty="RSA", size=2048)),
        "alg_none": lambda: _unsigned(c, server),
        "alg_hs256": lambda: _hs256(c, server),
        "garbage": lambda: "eyJhbGciOiJSUzI1NiJ9.e30.AAAA",
        "empty": lambda: "",
    }
    return make[case]()


def _claims(c, server):
    now = int(time.time())
    return {"iss": c.client_id, "sub": c.client_id, "aud": server.issuer, "iat": now, "exp": now + 60,
            "jti": rand()}


def _unsigned(c, server):
    h = b64u(json.dumps({"alg": "none", "kid": c.kid}).encode())
    return h + "." + b64u(json.dumps(_claims(c, server)).encode()) + "."


def _hs256(c, server):
    # the classic confusion attack: the public key as an HMAC secret
    pub = c.key.export_to_pem(private_key=False)
    k = jwk.JWK(kty="oct", k=b64u(pub))
    s = jjws.JWS(json.dumps(_claims(c, server)).encode())
    s.add_signature(k, alg="HS256", protected=json.dumps({"alg": "HS256", "kid": c.kid}))
    return s.serialize(compact=True)


BAD_ASSERTIONS = ["aud_other", "aud_slash", "aud_par", "aud_list_other", "expired", "lifetime_121",
                  "lifetime_300", "lifetime_3600", "iss_other", "sub_other", "no_iss", "no_sub", "no_jti",
                  "no_exp", "no_iat", "unknown_kid", "no_kid", "other_key_same_kid", "alg_none", "alg_hs256",
                  "garbage", "empty"]


@pytest.mark.parametrize("case", BAD_ASSERTIONS)
def test_bad_assertion(server, jwt_client, case):
    c = jwt_client
    res = login(server, c, c.browser)
    a = _bad_assertion(c, server, case)
    r = c.redeem(res, assertion=a)
    assert r.status_code == 401 and err(r) == "invalid_client", f"{case}: {r.status_code} {r.text}"
    r = c.redeem(res)
    assert r.status_code == 200, f"a refused assertion consumed the code: {r.text}"


def test_assertion_of_another_client(server, new_client, jwt_client):
    c = jwt_client
    other = new_client(auth="private_key_jwt")
    res = login(server, c, c.browser)
    a = other.assertion()                    # iss = sub = other, signed by other's key
    r = c.redeem(res, assertion=a)
    assert r.status_code == 401 and err(r) == "invalid_client", r.text
    a = c.assertion(kid=other.kid, key=other.key)   # claims say c, key is other's
    r = c.redeem(res, assertion=a)
    assert r.status_code == 401 and err(r) == "invalid_client", r.text
    assert c.redeem(res).status_code == 200


def test_x5c_despite_registered_keys(server, jwt_client):
    c = jwt_client
    res = login(server, c, c.browser)
    a = c.assertion(header_extra={"kid": None, "x5c": ["MIIB"]})
    r = c.redeem(res, assertion=a)
    assert r.status_code == 401 and err(r) == "invalid_client", r.text
    assert c.redeem(res).status_code == 200


# ---- forged tokens --------------------------------------------------------------------

def _forge(server, claims, kid):
    other = jwk.JWK.generate(kty="RSA", size=2048)
    s = jjws.JWS(json.dumps(claims).encode())
    s.add_signature(other, alg="RS256", protected=json.dumps({"alg": "RS256", "kid": kid}))
    return s.serialize(compact=True)


def _alg_none(claims):
    return b64u(json.dumps({"alg": "none"}).encode()) + "." + b64u(json.dumps(claims).encode()) + "."


@pytest.mark.parametrize("kind", ["forged", "alg_none", "id_token", "stripped_signature"])
def test_forged_bearer(server, canary, kind):
    at = canary.tok["access_token"]
    header, claims = jwt_parts(at)
    token = {"forged": lambda: _forge(server, claims, header["kid"]),
             "alg_none": lambda: _alg_none(claims),
             "id_token": lambda: canary.tok["id_token"],
             "stripped_signature": lambda: at.rsplit(".", 1)[0] + "."}[kind]()
    r = server.get("/userinfo", headers={"Authorization": "Bearer " + token})
    if kind == "id_token":
        assert r.status_code in (401, 403), r.text
    else:
        assert r.status_code == 401, r.text
        assert 'error="invalid_token"' in r.headers.get("WWW-Authenticate", "")
    canary.check()


@pytest.mark.parametrize("kind", ["forged", "alg_none", "tampered"])
def test_forged_id_token_hint(server, new_client, new_browser, kind):
    c = new_client()
    b = new_browser()
    tok = c.tokens(login(server, c, b))
    header, claims = jwt_parts(tok["id_token"])
    if kind == "forged":
        hint = _forge(server, claims, header["kid"])
    elif kind == "alg_none":
        hint = _alg_none(claims)
    else:
        h, _, s = tok["id_token"].split(".")
        hint = h + "." + b64u(json.dumps(dict(claims, aud="x")).encode()) + "." + s
    r = logout(server, b, id_token_hint=hint, post_logout_redirect_uri=c.post_logout_redirect_uri, state="x")
    loc = r.headers.get("Location", "")
    assert not (r.status_code in (301, 302, 303, 307) and url_base(loc) == c.post_logout_redirect_uri), \
        f"forged id_token_hint ({kind}) honoured: {loc}"
    page = Page(r.text)
    links = [url_base(l["href"] or "") for l in page.links]
    assert c.post_logout_redirect_uri not in links, f"forged id_token_hint ({kind}) honoured by the page"
    assert not any(c.post_logout_redirect_uri in m for m in page.meta_refresh)


def test_logout_state_must_be_printable(server, new_client, new_browser):
    """Logout state is printable ASCII (§15): a CR/LF state must not be reflected into a header."""
    c = new_client()
    b = new_browser()
    tok = c.tokens(login(server, c, b))
    q = urlencode({"id_token_hint": tok["id_token"], "post_logout_redirect_uri": c.post_logout_redirect_uri})
    r = b.get(server.url("/logout") + "?" + q + "&state=a%0D%0ASet-Cookie:%20x=y", allow_redirects=False,
              timeout=10)
    assert "x=y" not in r.headers.get("Set-Cookie", "")
    assert "\n" not in r.headers.get("Location", "")


# ---- login pages: browser binding and CSRF ---------------------------------------------

def test_testid_form_from_another_browser(server, new_client, new_browser):
    c = new_client()
    a, b = new_browser(), new_browser()
    params, _ = auth_params(c)
    t = open_testid(server, a, authorize(server, a, params))
    r = follow(server, b, submit_form(b, t, "testid-form", {"pid": PID, "acr": HIGH}))
    res = classify(server, r, c.redirect_uri, params)
    assert not res.code, f"a TestID form posted by another browser produced a code: {res!r}"
    # and the rightful browser can still finish
    r = follow(server, a, submit_form(a, t, "testid-form", {"pid": PID}))
    res = classify(server, r, c.redirect_uri, params)
    assert res.code, res


@pytest.mark.parametrize("field", ["csrf", "ar"])
def test_testid_form_tampered_hidden_field(server, new_client, new_browser, field):
    c = new_client()
    a = new_browser()
    params, _ = auth_params(c)
    t = open_testid(server, a, authorize(server, a, params))
    hidden = dict(Page(t.text).form("testid-form")["fields"])
    if field not in hidden:
        pytest.skip(f"the TestID form has no hidden {field!r} field")
    r = follow(server, a, submit_form(a, t, "testid-form", {"pid": PID, field: hidden[field][:-2] + "xx"}))
    res = classify(server, r, c.redirect_uri, params)
    assert not res.code, f"tampered {field} accepted: {res!r}"


def test_cancel_from_another_browser(server, new_client, new_browser):
    c = new_client()
    a, b = new_browser(), new_browser()
    params, _ = auth_params(c)
    page = authorize(server, a, params)
    r = follow(server, b, submit_form(b, page, "cancel-form"))
    res = classify(server, r, c.redirect_uri, params)
    assert not res.code
    # the real browser's login still completes
    t = open_testid(server, a, page)
    r = follow(server, a, submit_form(a, t, "testid-form", {"pid": PID}))
    assert classify(server, r, c.redirect_uri, params).code


# ---- expiry (separate server with the shortest lifetimes the configuration allows) -------

def test_expired_code_and_par(start_server, listener, tmp_path, new_browser):
    from conftest import ServerStartError, create_client
    try:
        s = start_server({"PORTEN_CODE_LIFETIME": "5", "PORTEN_PAR_LIFETIME": "10"})
    except ServerStartError as e:
        pytest.xfail(f"cannot shorten code/PAR lifetimes: {e}")
    c = create_client(s, listener, tmp_path)
    params, _ = auth_params(c)
    r = c.par(**params)
    assert r.status_code == 201 and r.json()["expires_in"] == 10, r.text
    urn = r.json()["request_uri"]
    t0 = time.monotonic()
    b = new_browser()
    res = login(s, c, b)
    res2 = login(s, c, b, expect_eid=False)
    assert c.redeem(res2).status_code == 200        # in time
    time.sleep(max(0, 6.5 - (time.monotonic() - t0)))
    r = c.redeem(res)
    assert r.status_code == 400 and err(r) == "invalid_grant", f"expired code accepted: {r.text}"
    time.sleep(max(0, 11 - (time.monotonic() - t0)))
    res = classify(s, authorize(s, new_browser(), {"client_id": c.client_id, "request_uri": urn}), c.redirect_uri)
    assert_error_page(s, res)


# ---- registration refuses what the runtime must never see (selfservice-api §5, §6.2) -----

BAD_REGISTRATIONS = {
    "frontchannel_other_host": ["--frontchannel-logout-uri", "http://evil.example/fc"],
    "redirect_fragment": ["--redirect-uri", "http://127.0.0.1:9/cb#f"],
    "redirect_wildcard_port": ["--redirect-uri", "https://127.0.0.1:*/cb"],
    "web_client_auth_none": ["--token-endpoint-auth-method", "none"],
    "browser_client_secret": ["--application-type", "browser", "--token-endpoint-auth-method",
                              "client_secret_basic"],
    "implicit_grant": ["--grant-type", "implicit"],
    "client_credentials_grant": ["--grant-type", "client_credentials"],
    "maskinporten_type": ["--integration-type", "maskinporten"],
    "bad_orgno": ["--client-orgno", "991825828"],
}


@pytest.mark.parametrize("case", sorted(BAD_REGISTRATIONS))
def test_bad_registration_refused(server, case):
    args = ["client", "create", "--client-name", "bad", "--description", "must be refused",
            "--redirect-uri", "http://127.0.0.1:9/cb", "--post-logout-redirect-uri", "http://127.0.0.1:9/out"]
    p = server.ctl(*(args + BAD_REGISTRATIONS[case]), check=False)
    assert p.returncode != 0, f"portenctl accepted {case}: {p.stdout.decode(errors='replace')}"


# ---- last: the server survived all of it ---------------------------------------------------

def test_zz_server_still_alive(server):
    assert server.alive()
    r = server.get("/health/live")
    assert r.status_code == 200
    assert server.get("/.well-known/openid-configuration").status_code == 200
