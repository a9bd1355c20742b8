"""Upstream OIDC eIDs (spec/idporten-oidc.md §6): a fake upstream in this test, honest or hostile."""

import hashlib
import base64
import json
import os
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, parse_qsl, urlencode, urljoin, urlsplit

import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt as authlib_jwt
from jwcrypto import jwk, jwt as jjwt

from conftest import (HIGH, PID, TIMEOUT, Page, auth_params, authorize, classify, free_port, start,
                      start_upstream_node, submit_form, url_params)

NODE_PORT = free_port()
NODE = f"http://127.0.0.1:{NODE_PORT}"
CLIENT_KEY = jwk.JWK.generate(kty="RSA", size=2048, kid="porten-bankid-1")
FAKE_PORT = free_port()
FAKE = f"http://127.0.0.1:{FAKE_PORT}"
DOWN = f"http://127.0.0.1:{free_port()}"
KEY = jwk.JWK.generate(kty="RSA", size=2048, kid="fake-1")
OTHER = jwk.JWK.generate(kty="RSA", size=2048, kid="fake-2")
# auth_age: the ID token's auth_time that many seconds ago (None: none);
# iss: what the authorization response names as its issuer (None: nothing);
# asked: the query of the last authorization request.
STATE = {"mode": "ok", "codes": {}, "auth_age": None, "iss": None, "asked": None}


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Fake(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, status, body, ctype="application/json", headers=()):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        u = urlsplit(self.path)
        if u.path == "/.well-known/openid-configuration":
            return self.send(200, {"issuer": FAKE, "authorization_endpoint": FAKE + "/authorize",
                                   "token_endpoint": FAKE + "/token", "jwks_uri": FAKE + "/jwks"})
        if u.path == "/jwks":
            keys = [json.loads(KEY.export_public())]
            if STATE["mode"] == "rotated":
                keys.append(json.loads(OTHER.export_public()))
            return self.send(200, {"keys": keys})
        if u.path == "/authorize":
            q = {k: v[0] for k, v in parse_qs(u.query).items()}
            STATE["asked"] = q
            back = {"state": q["state"]}
            if STATE["iss"] is not None:
                back["iss"] = STATE["iss"]
            if STATE["mode"].startswith("error:"):
                back["error"] = STATE["mode"][6:]
            else:
                code = uuid.uuid4().hex
                STATE["codes"][code] = q
                back["code"] = code
            return self.send(302, "", "text/plain", [("Location", q["redirect_uri"] + "?" + urlencode(back))])
        self.send(404, {"error": "not_found"})

    def do_POST(self):
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        q = STATE["codes"].pop(form.get("code"), None)
        mode = STATE["mode"]
        if mode == "timeout":
            time.sleep(4)
        if mode == "garbage":
            return self.send(200, "<html>not json", "text/html")
        ok = (q is not None and form.get("client_secret") == "s3cret" and
              b64u(hashlib.sha256(form["code_verifier"].encode()).digest()) == q["code_challenge"])
        if not ok:
            return self.send(400, {"error": "invalid_grant"})
        now = int(time.time())
        claims = {"iss": FAKE, "aud": "porten", "sub": "x", "iat": now, "exp": now + 300,
                  "nonce": q["nonce"], "acr": "fake-high", "nnin": PID}
        if STATE["auth_age"] is not None:
            claims["auth_time"] = now - STATE["auth_age"]
        key, alg = KEY, "RS256"
        if mode == "wrong_iss":
            claims["iss"] = "http://evil.example"
        elif mode == "wrong_aud":
            claims["aud"] = "someone-else"
        elif mode == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        elif mode == "expired":
            claims["iat"], claims["exp"] = now - 900, now - 600
        elif mode == "low":
            claims["acr"] = "fake-sub"
        elif mode in ("unknown_kid", "rotated"):
            key = OTHER
        if mode == "alg_none":
            tok = b64u(b'{"alg":"none"}') + "." + b64u(json.dumps(claims).encode()) + "."
        else:
            t = jjwt.JWT(header={"alg": alg, "kid": key.kid}, claims=claims)
            t.make_signed_token(key)
            tok = t.serialize()
        self.send(200, {"access_token": "at", "token_type": "Bearer", "id_token": tok})


@pytest.fixture(scope="module")
def server_env(tmp_path_factory):
    # Ports taken now, not at import (see test_eidas.py).
    global NODE_PORT, NODE, FAKE_PORT, FAKE
    NODE_PORT, FAKE_PORT = free_port(), free_port()
    # An upstream that takes connections and never answers.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    slow = f"http://127.0.0.1:{hole.getsockname()[1]}"
    NODE = f"http://127.0.0.1:{NODE_PORT}"
    FAKE = f"http://127.0.0.1:{FAKE_PORT}"
    d = tmp_path_factory.mktemp("upstream")
    secret = d / "secret"
    secret.write_text("s3cret\n")
    os.chmod(secret, 0o600)
    pem = d / "bankid.pem"
    pem.write_bytes(CLIENT_KEY.export_to_pem(private_key=True, password=None))
    os.chmod(pem, 0o600)
    conf = d / "upstream-eids.conf"
    conf.write_text(f"""
[bankid]
display = BankID
issuer = {NODE}
client_id = porten-bankid
client_auth = private_key_jwt
private_key_file = {pem}
private_key_kid = porten-bankid-1
scope = openid nnin
acr = bankid-substantial substantial
acr = bankid-high high
amr = BankID
pid_claim = nnin

[fakeid]
display = FakeID
logo = /static/fake.svg
issuer = {FAKE}
client_id = porten
client_auth = client_secret_post
client_secret_file = {secret}
scope = openid nnin
acr = fake-sub substantial
acr = fake-high high
amr = BankID
pid_claim = nnin
""" + "".join(f"""
[{name.lower()}]
display = {name}
issuer = {issuer}
client_id = porten
client_auth = client_secret_basic
client_secret_file = {secret}
acr = x high
amr = Buypass
pid_claim = pid
""" for name, issuer in (("DownID", DOWN), ("SlowID", slow))))
    httpd = ThreadingHTTPServer(("127.0.0.1", FAKE_PORT), Fake)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {"PORTEN_UPSTREAM_EIDS": str(conf), "PORTEN_UPSTREAM_TIMEOUT": "2"}
    httpd.shutdown()
    hole.close()


@pytest.fixture(autouse=True)
def fake_defaults():
    STATE.update(auth_age=None, iss=None, asked=None)
    yield
    STATE.update(auth_age=None, iss=None, asked=None)


def drive(server, browser, client, eid, **overrides):
    """authorize, pick eid on the selector, follow every redirect until the client or a page."""
    params, verifier = auth_params(client, **overrides)
    r = authorize(server, browser, params)
    link = [l["href"] for l in Page(r.text).links if l["href"] and f"/{eid}?" in l["href"]]
    assert link, r.text[:800]
    r = browser.get(urljoin(r.url, link[0]), allow_redirects=False, timeout=TIMEOUT)
    for _ in range(10):
        loc = r.headers.get("Location")
        if r.status_code not in (302, 303) or loc is None or loc.startswith(client.redirect_uri):
            break
        r = browser.get(urljoin(r.url, loc), allow_redirects=False, timeout=TIMEOUT)
    return classify(server, r, client.redirect_uri, params, verifier)


def assert_no_session(server, client, browser):
    res = start(server, client, browser, prompt="none")
    assert res.kind == "redirect" and res.error == "login_required", res


def test_login_through_upstream(server, new_client, new_browser):
    STATE["mode"] = "ok"
    c, b = new_client(), new_browser()
    res = drive(server, b, c, "fakeid", acr_values=HIGH)
    assert res.kind == "redirect" and res.code, res
    _, idc = server.verify(c.tokens(res)["id_token"])
    assert idc["pid"] == PID and idc["acr"] == HIGH and idc["amr"] == ["BankID"]
    # SSO after the level-high login: no eID page for the next client
    c2 = new_client()
    res = start(server, c2, b, prompt="none")
    assert res.kind == "redirect" and res.code, res


def test_selector_offers_by_level(server, new_client, new_browser):
    c = new_client()
    r = authorize(server, new_browser(), auth_params(c, acr_values=HIGH)[0])
    assert 'id="eid-fakeid"' in r.text and 'src="/static/fake.svg"' in r.text
    assert 'id="eid-downid"' in r.text


@pytest.mark.parametrize("mode,error", [
    ("wrong_iss", "server_error"), ("wrong_aud", "server_error"), ("wrong_nonce", "server_error"),
    ("expired", "server_error"), ("alg_none", "server_error"), ("unknown_kid", "server_error"),
    ("low", "access_denied"), ("timeout", "temporarily_unavailable"),
    ("garbage", "temporarily_unavailable"), ("error:server_error", "temporarily_unavailable"),
])
def test_hostile_upstream(server, new_client, new_browser, mode, error):
    STATE["mode"] = mode
    c, b = new_client(), new_browser()
    res = drive(server, b, c, "fakeid", acr_values=HIGH)
    assert res.kind == "page" and res.resp.status_code in (403, 502), res
    assert f'data-error="{error}"' in res.resp.text and "FakeID" in res.resp.text
    r = submit_form(b, res.resp, "upstream-back")
    back = url_params(r.headers["Location"])
    assert r.headers["Location"].startswith(c.redirect_uri) and back["error"] == error, back
    assert_no_session(server, c, b)


def test_key_rotation_followed(server, new_client, new_browser):
    STATE["mode"] = "rotated"
    c, b = new_client(), new_browser()
    res = drive(server, b, c, "fakeid", acr_values=HIGH)
    assert res.kind == "redirect" and res.code, res


def test_cancel_at_upstream(server, new_client, new_browser):
    STATE["mode"] = "error:access_denied"
    c, b = new_client(), new_browser()
    res = drive(server, b, c, "fakeid")
    assert res.kind == "redirect" and res.error == "access_denied", res
    assert_no_session(server, c, b)


def test_upstream_down(server, new_client, new_browser):
    c, b = new_client(), new_browser()
    res = drive(server, b, c, "downid", acr_values=HIGH)
    assert res.kind == "page" and 'data-error="temporarily_unavailable"' in res.resp.text, res
    r = submit_form(b, res.resp, "upstream-back")
    assert url_params(r.headers["Location"])["error"] == "temporarily_unavailable"
    assert_no_session(server, c, b)


def test_forged_state(server, new_client, new_browser):
    c, b = new_client(), new_browser()
    r = b.get(server.url("/fakeid/callback"), params={"state": "abc.def", "code": "x"},
              allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400


def test_fresh_login_asked_of_upstream(server, new_client, new_browser):
    """prompt=login (or max_age 0) goes upstream as prompt=login, max_age as it is (§8, §4)."""
    STATE["mode"], STATE["auth_age"] = "ok", 0
    for extra, prompt, max_age in [({}, None, None), ({"prompt": "login"}, "login", None),
                                   ({"max_age": "600"}, None, "600"),
                                   ({"max_age": "0"}, "login", "0")]:
        c, b = new_client(), new_browser()
        res = drive(server, b, c, "fakeid", acr_values=HIGH, **extra)
        assert res.kind == "redirect" and res.code, (extra, res)
        assert STATE["asked"].get("prompt") == prompt, (extra, STATE["asked"])
        assert STATE["asked"].get("max_age") == max_age, (extra, STATE["asked"])


def test_upstream_auth_time_taken(server, new_client, new_browser):
    """The upstream's auth_time is the authentication time; now when it names none."""
    STATE["mode"] = "ok"
    for age in (None, 1000):
        STATE["auth_age"] = age
        c, b = new_client(), new_browser()
        before = int(time.time())
        res = drive(server, b, c, "fakeid", acr_values=HIGH)
        assert res.kind == "redirect" and res.code, res
        _, idc = server.verify(c.tokens(res)["id_token"])
        if age is None:
            assert before <= idc["auth_time"] <= time.time() + 1, idc
        else:
            assert before - age - 1 <= idc["auth_time"] <= before - age + 2, idc
        # the session has it too: a max_age it no longer meets sends the person to log in
        if age is not None:
            again = start(server, new_client(), b, prompt="none", max_age="500")
            assert again.kind == "redirect" and again.error == "login_required", again


@pytest.mark.parametrize("age,extra", [
    (-600, {}),                                   # in the future
    (1000, {"prompt": "login"}),                  # not the new authentication asked for
    (1000, {"max_age": "300"}),                   # older than max_age allows
    (None, {"max_age": "600"}),                   # none, but max_age requires it
    (None, {"max_age": "0"}),
])
def test_upstream_auth_time_refused(server, new_client, new_browser, age, extra):
    STATE["mode"], STATE["auth_age"] = "ok", age
    c, b = new_client(), new_browser()
    res = drive(server, b, c, "fakeid", acr_values=HIGH, **extra)
    assert res.kind == "page" and 'data-error="server_error"' in res.resp.text, res
    assert_no_session(server, c, b)


def test_upstream_no_auth_time_with_prompt_login(server, new_client, new_browser):
    """With prompt=login and no max_age, auth_time is optional (OIDC Core §2): now."""
    STATE["mode"], STATE["auth_age"] = "ok", None
    c, b = new_client(), new_browser()
    before = int(time.time())
    res = drive(server, b, c, "fakeid", acr_values=HIGH, prompt="login")
    assert res.kind == "redirect" and res.code, res
    assert STATE["asked"].get("prompt") == "login" and "max_age" not in STATE["asked"]
    _, idc = server.verify(c.tokens(res)["id_token"])
    assert before <= idc["auth_time"] <= time.time() + 1, idc


def test_upstream_error_from_another_issuer(server, new_client, new_browser):
    """RFC 9207: an error answer naming another issuer is not taken for the upstream's."""
    STATE["mode"], STATE["iss"] = "error:access_denied", "http://evil.example"
    c, b = new_client(), new_browser()
    res = drive(server, b, c, "fakeid")
    assert res.kind == "page" and 'data-error="server_error"' in res.resp.text, res
    STATE["iss"] = FAKE
    res = drive(server, new_browser(), c, "fakeid")
    assert res.kind == "redirect" and res.error == "access_denied", res


def test_dead_upstream_fails_fast(server, new_client, new_browser):
    """After an upstream did not answer, the next login start does not wait for it again."""
    took = []
    for _ in range(2):
        c, b = new_client(), new_browser()
        t0 = time.monotonic()
        res = drive(server, b, c, "slowid", acr_values=HIGH)
        took.append(time.monotonic() - t0)
        assert res.kind == "page" and 'data-error="temporarily_unavailable"' in res.resp.text, res
    assert took[0] >= 1.5, took      # the first waited upstream_timeout (2 s)
    assert took[1] < 1.0, took       # the second was answered at once


@pytest.fixture(scope="module")
def bankid(server):
    """panva's oidc-provider as BankID, Porten's client authenticating with private_key_jwt."""
    client = {"client_id": "porten-bankid", "token_endpoint_auth_method": "private_key_jwt",
              "redirect_uris": [server.url("/bankid/callback")], "grant_types": ["authorization_code"],
              "response_types": ["code"], "jwks": {"keys": [json.loads(CLIENT_KEY.export_public())]}}
    p = start_upstream_node(NODE_PORT, NODE, [client], ACRS="bankid-substantial,bankid-high")
    yield
    p.terminate()
    p.wait(5)


def bankid_login(server, b, c, acr, action="login", edit=None, **overrides):
    """A login at BankID; edit(url) changes the answer on its way back to Porten."""
    res = drive(server, b, c, "bankid", **overrides)
    assert res.kind == "page" and "upstream-login" in res.resp.text, res
    r = submit_form(b, res.resp, "upstream-login", {"nnin": PID, "acr": acr, "action": action})
    for _ in range(10):
        loc = r.headers.get("Location")
        if r.status_code not in (302, 303) or loc is None or loc.startswith(c.redirect_uri):
            break
        if edit is not None and "/bankid/callback?" in loc:
            loc = edit(loc)
        r = b.get(urljoin(r.url, loc), allow_redirects=False, timeout=TIMEOUT)
    return classify(server, r, c.redirect_uri, res.sent, res.verifier), res


def test_bankid_login_step_up_and_sso(server, bankid, new_client, new_browser):
    c, b = new_client(), new_browser()
    # a substantial session first (TestID), then step-up to high with BankID
    from conftest import login
    login(server, c, b)
    res, page = bankid_login(server, b, c, "bankid-high", acr_values=HIGH)
    assert "bankid-high" in page.resp.text and "bankid-substantial" not in \
        page.resp.text.split('id="acr-values">')[1].split("<")[0]
    assert res.kind == "redirect" and res.code, res
    sess = OAuth2Session(c.client_id, c.secret, token_endpoint_auth_method=c.auth_method,
                         redirect_uri=c.redirect_uri)
    sess.trust_env = False
    tok = sess.fetch_token(server.url("/token"), code=res.code, code_verifier=res.verifier)
    claims = authlib_jwt.decode(tok["id_token"], JsonWebKey.import_key_set(server.jwks(refresh=True)))
    claims.validate()
    assert claims["pid"] == PID and claims["acr"] == HIGH and claims["amr"] == ["BankID"]
    assert claims["iss"] == server.issuer and claims["aud"] == c.client_id
    res = start(server, new_client(), b, prompt="none")
    assert res.kind == "redirect" and res.code, res


def test_bankid_lower_level_and_cancel(server, bankid, new_client, new_browser):
    c, b = new_client(), new_browser()
    res, _ = bankid_login(server, b, c, "bankid-substantial", acr_values=HIGH)
    assert res.kind == "page" and 'data-error="access_denied"' in res.resp.text, res
    assert_no_session(server, c, b)
    res, _ = bankid_login(server, new_browser(), c, "bankid-high", action="cancel")
    assert res.kind == "redirect" and res.error == "access_denied", res


def test_bankid_prompt_login_asks_again(server, bankid, new_client, new_browser):
    """prompt=login and an expired max_age make BankID ask again, not answer from its session."""
    c, b = new_client(), new_browser()
    res, _ = bankid_login(server, b, c, "bankid-high", acr_values=HIGH)
    assert res.kind == "redirect" and res.code, res
    for extra in ({"prompt": "login"}, {"max_age": "1"}):
        time.sleep(2)      # both sessions, Porten's and BankID's, older than max_age
        c2 = new_client()
        before = int(time.time())
        res, _ = bankid_login(server, b, c2, "bankid-high", acr_values=HIGH, **extra)
        assert res.kind == "redirect" and res.code, (extra, res)
        _, idc = server.verify(c2.tokens(res)["id_token"])
        assert idc["auth_time"] >= before, (extra, idc)


def drop_iss(url):
    u = urlsplit(url)
    q = [(k, v) for k, v in parse_qsl(u.query) if k != "iss"]
    assert len(q) < len(parse_qsl(u.query)), url     # BankID named itself (RFC 9207)
    return u._replace(query=urlencode(q)).geturl()


def test_bankid_answer_without_iss(server, bankid, new_client, new_browser):
    """RFC 9207 §2.4: BankID says it names itself, so an answer without iss is refused."""
    c = new_client()
    for action in ("login", "cancel"):
        b = new_browser()
        res, _ = bankid_login(server, b, c, "bankid-high", action=action, edit=drop_iss,
                              acr_values=HIGH)
        assert res.kind == "page" and 'data-error="server_error"' in res.resp.text, (action, res)
        assert_no_session(server, c, b)
