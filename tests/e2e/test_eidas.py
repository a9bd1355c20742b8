"""eIDAS as an eID (spec/ansattporten-eidas-testid.md §2) and the person register (§2.4).

The eIDAS connector is panva's oidc-provider (tests/upstream/server.mjs,
MODE=eidas), reached through a small proxy in this test that can spoil its
ID tokens (a broken signature, alg=none) on the way back to Porten.
"""

import base64
import http.client
import json
import os
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urljoin, urlsplit

import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt as authlib_jwt

from conftest import (PID, PID2, PID_REAL, SUBSTANTIAL, TIMEOUT, Page, auth_params, authorize, classify,
                      free_port, login, start, start_upstream_node, submit_form, url_params, pending_ar)

EIDAS_SUB = "eidas-loa-substantial"
EIDAS_HIGH = "eidas-loa-high"
NODE_PORT = free_port()
PROXY_PORT = free_port()
CONNECTOR = f"http://127.0.0.1:{PROXY_PORT}"
STATE = {"mode": "ok"}
# Matched (SE), ambiguous (FI: on two persons) and not unique (for MinID).
NOT_UNIQUE = "04879140078"
H_NUMBER = "01419012463"     # 1990-01-01, month + 40: an H-number
REGISTER = [
    {"pid": PID2, "unique": True, "foreign": [{"country": "SE", "id": "199001011234"},
                                               {"country": "FI", "id": "010190-123A"}]},
    {"pid": PID, "foreign": [{"country": "FI", "id": "010190-123A"}]},
    {"pid": NOT_UNIQUE, "unique": False},
]


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def spoil(body):
    """The token answer with its ID token spoilt as STATE["mode"] says."""
    mode = STATE["mode"]
    if mode == "ok":
        return body
    tok = json.loads(body)
    h, p, s = tok["id_token"].split(".")
    if mode == "bad_sig":
        sig = bytearray(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
        sig[-1] ^= 1
        tok["id_token"] = f"{h}.{p}.{b64u(bytes(sig))}"
    elif mode == "alg_none":
        tok["id_token"] = b64u(b'{"alg":"none"}') + "." + p + "."
    return json.dumps(tok).encode()


class Proxy(BaseHTTPRequestHandler):
    """Everything to the connector and back; the token answer may be spoilt."""

    def log_message(self, *a):
        pass

    def relay(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        conn = http.client.HTTPConnection("127.0.0.1", NODE_PORT, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        if self.command == "POST" and urlsplit(self.path).path.endswith("/token") and r.status == 200:
            data = spoil(data)
        self.send_response(r.status)
        for k, v in r.getheaders():
            # The connector keeps no session of its own: every login shows its form.
            if k.lower() == "set-cookie" and v.startswith("_session"):
                continue
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "keep-alive"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = relay


@pytest.fixture(scope="module")
def server_env(tmp_path_factory):
    # Ports taken now, not when the module is imported: pytest imports every
    # module before the first test, and a port picked then may be another
    # test's by the time this module runs.
    global NODE_PORT, PROXY_PORT, CONNECTOR
    NODE_PORT, PROXY_PORT = free_port(), free_port()
    CONNECTOR = f"http://127.0.0.1:{PROXY_PORT}"
    d = tmp_path_factory.mktemp("eidas")
    secret = d / "secret"
    secret.write_text("eidas-s3cret\n")
    os.chmod(secret, 0o600)
    conf = d / "upstream-eids.conf"
    conf.write_text(f"""
[eidas]
kind = eidas
display = eIDAS
issuer = {CONNECTOR}
client_id = porten-eidas
client_auth = client_secret_basic
client_secret_file = {secret}
scope = openid eidas
acr = eidas-loa-substantial substantial
acr = eidas-loa-high high
amr = eIDAS
""")
    httpd = ThreadingHTTPServer(("127.0.0.1", PROXY_PORT), Proxy)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {"PORTEN_UPSTREAM_EIDS": str(conf), "PORTEN_UPSTREAM_TIMEOUT": "5"}
    httpd.shutdown()


@pytest.fixture(scope="module")
def connector(server, tmp_path_factory):
    """The eIDAS connector, and the person register it is matched against."""
    client = {"client_id": "porten-eidas", "client_secret": "eidas-s3cret",
              "token_endpoint_auth_method": "client_secret_basic",
              "redirect_uris": [server.url("/eidas/callback")],
              "grant_types": ["authorization_code"], "response_types": ["code"]}
    # The connector believes it is at the proxy's address: every call goes through it.
    p = start_upstream_node(NODE_PORT, CONNECTOR, [client], MODE="eidas",
                            ACRS=f"{EIDAS_SUB},{EIDAS_HIGH}")
    reg = tmp_path_factory.mktemp("register") / "people.json"
    reg.write_text(json.dumps(REGISTER))
    server.ctl("person", "import", str(reg))
    yield
    p.terminate()
    p.wait(5)


def events(server, kinds=("eidas_match",)):
    """The store's events of those kinds (SQLite only: None on PostgreSQL)."""
    if server.env.get("PORTEN_STORE", "").startswith("postgres"):
        return None
    db = sqlite3.connect(f"file:{os.path.join(server.data, 'porten.db')}?mode=ro", uri=True)
    try:
        return [json.loads(r[0]) for r in db.execute(
            "SELECT doc FROM events WHERE type IN (%s) ORDER BY id" % ",".join("?" * len(kinds)),
            kinds)]
    finally:
        db.close()


EVERY = ("eidas_match", "authentication")


def go(b, r, limit=12):
    """Follow redirects on any host; stop at a page or at the client."""
    for _ in range(limit):
        loc = r.headers.get("Location")
        if r.status_code not in (302, 303) or loc is None or loc.startswith("https://"):
            return r
        r = b.get(urljoin(r.url, loc), allow_redirects=False, timeout=TIMEOUT)
    return r


def eidas_login(server, b, c, acr_values=EIDAS_SUB, person=None, acr=EIDAS_HIGH,
                action="login", seen=None, **overrides):
    """authorize with acr_values, on to the connector (no selector: eIDAS only), log in there."""
    params, verifier = auth_params(c, acr_values=acr_values, **overrides)
    r = authorize(server, b, params)
    r = go(b, r)
    assert r.status_code == 200 and Page(r.text).form("upstream-login"), (r.url, r.text[:600])
    fields = {"eidas_identifier": "SE/NO/199001011234", "eidas_firstname": "Astrid",
              "eidas_lastname": "Lindgren", "eidas_date_of_birth": "1990-01-01",
              "acr": acr, "action": action}
    fields.update(person or {})
    r = submit_form(b, r, "upstream-login", fields)
    for _ in range(12):
        loc = r.headers.get("Location")
        if r.status_code not in (302, 303) or loc is None or loc.startswith(c.redirect_uri):
            break
        if seen is not None and "/eidas/callback" in loc:
            seen.append(urljoin(r.url, loc))
        r = b.get(urljoin(r.url, loc), allow_redirects=False, timeout=TIMEOUT)
    return classify(server, r, c.redirect_uri, params, verifier)


def id_claims(server, c, res):
    sess = OAuth2Session(c.client_id, c.secret, token_endpoint_auth_method=c.auth_method,
                         redirect_uri=c.redirect_uri)
    sess.trust_env = False
    tok = sess.fetch_token(server.url("/token"), code=res.code, code_verifier=res.verifier)
    claims = authlib_jwt.decode(tok["id_token"], JsonWebKey.import_key_set(server.jwks(refresh=True)))
    claims.validate()
    assert claims["iss"] == server.issuer and claims["aud"] == c.client_id
    return claims


def no_session(server, c, b):
    for acr in (EIDAS_SUB, SUBSTANTIAL):
        res = start(server, c, b, prompt="none", acr_values=acr)
        assert res.kind == "redirect" and res.error == "login_required", res


def test_matched_person_gets_pid(server, connector, new_client, new_browser):
    c, b = new_client(), new_browser()
    before = events(server)
    res = eidas_login(server, b, c)
    assert res.kind == "redirect" and res.code, res
    cl = id_claims(server, c, res)
    assert cl["pid"] == PID2 and cl["acr"] == EIDAS_HIGH and cl["amr"] == ["eIDAS"]
    assert cl["eidas_identifier"] == "SE/NO/199001011234"
    assert (cl["eidas_firstname"], cl["eidas_lastname"]) == ("Astrid", "Lindgren")
    assert cl["eidas_date_of_birth"] == "1990-01-01"
    # sub from pid: the same as the person's Norwegian login at this client
    nres = login(server, c, new_browser(), pid=PID2)
    assert id_claims(server, c, nres)["sub"] == cl["sub"]
    if before is not None:
        got = events(server)[len(before):]
        assert [(e["country"], e["result"]) for e in got] == [("SE", "matched")]
        assert "199001011234" not in json.dumps(got) and PID2 not in json.dumps(got)


def test_unmatched_and_ambiguous_have_no_pid(server, connector, new_client, new_browser):
    c = new_client()
    before = events(server)
    subs = []
    for ident in ("DE/NO/unknown-42", "FI/NO/010190-123A"):
        res = eidas_login(server, new_browser(), c, person={"eidas_identifier": ident})
        assert res.kind == "redirect" and res.code, res
        cl = id_claims(server, c, res)
        assert "pid" not in cl and cl["eidas_identifier"] == ident and cl["acr"] == EIDAS_HIGH
        subs.append(cl["sub"])
    # sub from the eIDAS identifier: stable per person, differs between persons
    assert subs[0] != subs[1] and len(subs[0]) == 43
    res = eidas_login(server, new_browser(), c, person={"eidas_identifier": "DE/NO/unknown-42"})
    assert id_claims(server, c, res)["sub"] == subs[0]
    if before is not None:
        got = [(e["country"], e["result"]) for e in events(server)[len(before):]]
        assert got == [("DE", "unmatched"), ("FI", "ambiguous"), ("DE", "unmatched")]


def test_selector_and_activation(server, connector, new_client, new_browser):
    c = new_client()
    # eIDAS beside the Norwegian eIDs when both are asked for
    r = authorize(server, new_browser(), auth_params(c, acr_values=f"{SUBSTANTIAL} {EIDAS_SUB}")[0])
    assert 'id="eid-eidas"' in r.text and 'id="eid-testid"' in r.text
    # never without an eidas-loa-* value, nor reachable by its address then
    b = new_browser()
    r = authorize(server, b, auth_params(c, acr_values=SUBSTANTIAL)[0])
    assert r.status_code == 200 and 'id="eid-eidas"' not in r.text
    ar = pending_ar(r)
    r2 = b.get(server.url("/eidas"), params={"ar": ar}, allow_redirects=False, timeout=TIMEOUT)
    assert r2.status_code == 400
    # eIDAS only: no selector, straight to the connector
    r = authorize(server, new_browser(), auth_params(c, acr_values=EIDAS_HIGH)[0])
    assert r.status_code == 302 and r.headers["Location"].startswith(CONNECTOR), r.status_code


def test_sso_rules(server, connector, new_client, new_browser):
    c, b = new_client(), new_browser()
    res = eidas_login(server, b, c, acr=EIDAS_SUB)
    assert res.kind == "redirect" and res.code, res
    # an eIDAS session serves a request asking eIDAS at or below its level ...
    res = start(server, new_client(), b, prompt="none", acr_values=f"{SUBSTANTIAL} {EIDAS_SUB}")
    assert res.kind == "redirect" and res.code, res
    # ... not above it, and never a Norwegian-only request
    for acr in (EIDAS_HIGH, SUBSTANTIAL):
        res = start(server, c, b, prompt="none", acr_values=acr)
        assert res.kind == "redirect" and res.error == "login_required", (acr, res)
    # step-up to eidas-loa-high in the same session
    res = eidas_login(server, b, c, acr_values=EIDAS_HIGH, acr=EIDAS_HIGH)
    assert res.kind == "redirect" and res.code, res
    assert id_claims(server, c, res)["acr"] == EIDAS_HIGH
    # a Norwegian session never serves an eIDAS-only request
    b2 = new_browser()
    login(server, c, b2)
    res = start(server, c, b2, prompt="none", acr_values=EIDAS_SUB)
    assert res.kind == "redirect" and res.error == "login_required", res


@pytest.mark.parametrize("mode,person,acr,error", [
    ("ok", {}, EIDAS_SUB, "access_denied"),                              # level below the one asked
    ("ok", {"eidas_lastname": ""}, EIDAS_HIGH, "server_error"),          # a mandatory claim missing
    ("ok", {"eidas_date_of_birth": ""}, EIDAS_HIGH, "server_error"),
    ("ok", {"eidas_identifier": "SE-199001011234"}, EIDAS_HIGH, "server_error"),  # not CC/NO/value
    ("ok", {"eidas_identifier": "SE/DK/199001011234"}, EIDAS_HIGH, "server_error"),  # not for Norway
    ("ok", {"eidas_date_of_birth": "01.01.1990"}, EIDAS_HIGH, "server_error"),
    ("bad_sig", {}, EIDAS_HIGH, "server_error"),
    ("alg_none", {}, EIDAS_HIGH, "server_error"),
])
def test_hostile_connector(server, connector, new_client, new_browser, mode, person, acr, error):
    STATE["mode"] = mode
    try:
        c, b = new_client(), new_browser()
        before = events(server, EVERY)
        res = eidas_login(server, b, c, acr_values=EIDAS_HIGH, person=person, acr=acr)
    finally:
        STATE["mode"] = "ok"
    assert res.kind == "page" and res.resp.status_code in (403, 502), res
    assert f'data-error="{error}"' in res.resp.text, res
    r = submit_form(b, res.resp, "upstream-back")
    back = url_params(r.headers["Location"])
    assert r.headers["Location"].startswith(c.redirect_uri) and back["error"] == error, back
    no_session(server, c, b)
    if before is not None:
        assert events(server, EVERY) == before


def test_cancel_and_replay(server, connector, new_client, new_browser):
    c, b = new_client(), new_browser()
    res = eidas_login(server, b, c, action="cancel")
    assert res.kind == "redirect" and res.error == "access_denied", res
    no_session(server, c, b)
    # a callback used once is worth nothing the second time
    seen = []
    res = eidas_login(server, b, c, seen=seen)
    assert res.kind == "redirect" and res.code and seen, res
    before = events(server, EVERY)
    r = b.get(seen[-1], allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400 and "Location" not in r.headers
    if before is not None:
        assert events(server, EVERY) == before
    # in another browser it names no login at all
    r = new_browser().get(seen[-1], allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400


def test_person_register_cli(server, connector):
    got = server.ctl("person", "show", PID2)
    assert got["unique"] is True and {"country": "SE", "id": "199001011234"} in got["foreign"]
    p = server.ctl("person", "show", "01819012365x", check=False)
    assert p.returncode != 0
    bad = os.path.join(server.workdir, "bad-register.json")
    with open(bad, "w") as f:
        json.dump([{"pid": PID}, {"pid": "123"}], f)
    p = server.ctl("person", "import", bad, check=False)
    assert p.returncode != 0 and b"entry 1" in p.stderr
    # nothing of a refused file went in
    assert server.ctl("person", "show", PID)["foreign"] == [{"country": "FI", "id": "010190-123A"}]
    # natid §4: an H-number (month + 40) is never a pid, nor a real number in TEST
    for wrong in (H_NUMBER, PID_REAL):
        with open(bad, "w") as f:
            json.dump([{"pid": PID}, {"pid": wrong, "foreign": [{"country": "SE", "id": "H1"}]}], f)
        p = server.ctl("person", "import", bad, check=False)
        assert p.returncode != 0 and b"entry 1" in p.stderr and b"as a pid" in p.stderr, p.stderr
        assert server.ctl("person", "show", wrong, check=False).returncode != 0


def test_minid_refused_when_not_unique(server, connector, new_browser):
    b = new_browser()
    r = b.get(server.url("/minid/register?lang=en"), timeout=TIMEOUT)
    r2 = submit_form(b, r, "minid-register-form", {"pid": NOT_UNIQUE})
    assert r2.status_code == 403 and "knows you under another number" in r2.text
    assert 'id="activation-code"' not in r2.text
    p = server.ctl("minid", "show", NOT_UNIQUE, check=False)
    assert p.returncode != 0
