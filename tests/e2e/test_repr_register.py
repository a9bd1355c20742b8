"""
The HTTP register of representation (src/repr/reg_http.c, docs/representation.md):
a small register server started here answers the organisation chooser, the
fullmakt chooser and the refresh check; one that is slow, down or answers
garbage ends the login on a clear page, never a hang.  Also the
ansattporten:sjef pilot, switched on for this module's portend.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import (PID, PID2, PID_BADSUM, SUBSTANTIAL, Ansattporten, Page, auth_params, authorize,
                      classify, create_client, finish_login, open_testid, post_form_at_once,
                      submit_form, submit_testid)

RES = "urn:altinn:resource:http-register"
HADM = "urn:altinn:rolecode:HADM"
MAIN = "910000004"
TIMEOUT = 1  # repr_register_timeout for this module's portend


class Register:
    """The register: its data, what it was asked, and how it answers (mode)."""

    def __init__(self):
        self.mode = "ok"
        self.asked = []
        self.reportees = {
            RES: [{"orgno": MAIN, "name": "Registert AS", "unit_type": "AS", "parent": None,
                   "deleted": False, "rights": ["read"]}],
            HADM: [{"orgno": MAIN, "name": "Registert AS", "unit_type": "AS", "parent": None,
                    "deleted": False, "rights": ["HADM"]}],
        }
        self.fullmakts = [{"authorizer": PID2, "name": "Full Makt",
                           "permissions": [{"owner": "nav", "role": "arbeid"}]}]
        self.names = {PID: "Kari Register"}
        self.name_delay = 0  # seconds the person's name is held back
        self.name_asked = threading.Event()
        self.gate = None  # a threading.Barrier the fullmakts answers wait at
        self.gate_met = False  # two asked at once and met there
        reg = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                reg.asked.append((self.path, body))
                reg.answer(self, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d/api" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def send(self, h, status, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def answer(self, h, q):
        mode = self.mode
        if mode == "slow":
            time.sleep(TIMEOUT + 2)
        elif mode == "garbage":
            return self.send(h, 200, b"<html>not json", "text/html")
        elif mode == "status":
            return self.send(h, 500, {"error": "oops"})
        elif mode == "shape":
            return self.send(h, 200, {"reportees": [{"orgno": 12}], "fullmakts": [{"authorizer": 1}],
                                      "name": 7})
        elif mode == "huge":
            return self.send(h, 200, b'{"x":"' + b"a" * 400000 + b'"}')
        elif mode == "close":
            h.close_connection = True
            h.wfile.flush()
            return h.connection.shutdown(2)
        if h.path == "/api/reportees":
            return self.send(h, 200, {"name": "Registertenesta",
                                      "reportees": self.reportees.get(q.get("resource"), [])
                                      if q.get("pid") == PID else []})
        if h.path == "/api/fullmakts":
            if self.gate is not None:
                try:
                    self.gate.wait()
                    self.gate_met = True
                except threading.BrokenBarrierError:
                    pass
            return self.send(h, 200, {"fullmakts": self.fullmakts if q.get("pid") == PID else []})
        if h.path == "/api/person":
            self.name_asked.set()
            time.sleep(self.name_delay)
        if h.path == "/api/person" and q.get("pid") in self.names:
            return self.send(h, 200, {"name": self.names[q["pid"]]})
        return self.send(h, 404, {"error": "unknown"})

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def register():
    reg = Register()
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def server_env(register):
    return {"PORTEN_REPR_REGISTER_URL": register.url, "PORTEN_REPR_REGISTER_TIMEOUT": str(TIMEOUT),
            "PORTEN_ANSATTPORTEN_SJEF_PILOT": "true", "PORTEN_THREADS": "4"}


@pytest.fixture(autouse=True)
def register_ok(register):
    register.mode = "ok"
    yield
    register.mode = "ok"


@pytest.fixture(scope="module")
def ap(server):
    ap = Ansattporten(server)
    server.ctl("scope", "create", "--name", "ansattporten:sjef", "--description", "the pilot",
               "--accessible-for-all", "--allowed-integration-type", "ansattporten")
    return ap


def login(server, c, b, pid=PID, **kw):
    params, verifier = auth_params(c, **kw)
    return finish_login(server, b, authorize(server, b, params), c.redirect_uri, pid, SUBSTANTIAL,
                        params, verifier)


ORG_RAR = json.dumps([{"type": "ansattporten:altinn:resource", "resource": RES}])
FM_RAR = json.dumps([{"type": "idporten:fullmakt", "permission_roles": ["arbeid"]}])


def test_organisations_from_the_register(ap, ap_client, register, new_browser):
    c = ap_client()
    b = new_browser()
    res = login(ap, c, b, authorization_details=ORG_RAR)
    assert res.kind == "page" and "Registert AS" in res.resp.text, res
    assert ("/api/reportees", {"pid": PID, "resource": RES}) in register.asked
    done = classify(ap, submit_form(b, res.resp, "repr-form", {"org": MAIN}), c.redirect_uri,
                    res.sent, res.verifier)
    tok = c.tokens(done)
    _, idt = ap.verify(tok["id_token"])
    assert idt["name"] == "Kari Register"
    assert idt["authorization_details"] == [{
        "type": "ansattporten:altinn:resource", "resource": RES, "resource_name": "Registertenesta",
        "authorized_parties": [{"orgno": {"authority": "iso6523-actorid-upis", "ID": "0192:" + MAIN},
                                "resource": "http-register", "name": "Registert AS", "unit_type": "AS"}]}]


def test_fullmakt_from_the_register(server, new_client, register, new_browser):
    c = new_client()
    b = new_browser()
    res = login(server, c, b, authorization_details=FM_RAR)
    assert res.kind == "page" and "Full Makt" in res.resp.text, res
    done = classify(server, submit_form(b, res.resp, "repr-form", {"whom": PID2}), c.redirect_uri,
                    res.sent, res.verifier)
    tok = c.tokens(done)
    assert tok["authorization_details"] == [{
        "type": "idporten:fullmakt", "authorizer": {"name": "Full Makt", "pid": PID2},
        "authorized_representative": {"name": "Kari Register", "pid": PID},
        "permissions": [{"owner": "nav", "role": "arbeid"}]}]


@pytest.mark.parametrize("mode", ["slow", "garbage", "status", "shape", "huge", "close"])
def test_register_away_ends_on_a_page(ap, server, ap_client, new_client, register, new_browser, mode):
    """Each chooser, the register misbehaving: a 503 page within the timeout, then temporarily_unavailable."""
    for issuer, c, rar in ((ap, ap_client(), ORG_RAR), (server, new_client(), FM_RAR)):
        b = new_browser()
        params, verifier = auth_params(c, authorization_details=rar)
        r = authorize(issuer, b, params)
        register.mode = mode
        t0 = time.monotonic()
        res = finish_login(issuer, b, r, c.redirect_uri, PID, SUBSTANTIAL, params, verifier)
        took = time.monotonic() - t0
        register.mode = "ok"
        assert res.kind == "page" and res.resp.status_code == 503, (mode, res)
        assert took < TIMEOUT + 1.5, (mode, took)
        assert 'role="alert"' in res.resp.text and "<h1>" in res.resp.text
        done = classify(issuer, submit_form(b, res.resp, "repr-form"), c.redirect_uri, params, verifier)
        assert done.error == "temporarily_unavailable" and not done.code, (mode, done)


def chooser_refuses(issuer, c, b, rar):
    """The chooser of a login asking rar: the register's answer refused (503), then temporarily_unavailable."""
    params, verifier = auth_params(c, authorization_details=rar)
    res = finish_login(issuer, b, authorize(issuer, b, params), c.redirect_uri, PID, SUBSTANTIAL,
                       params, verifier)
    assert res.kind == "page" and res.resp.status_code == 503, res
    assert 'role="alert"' in res.resp.text and "repr-form" in res.resp.text
    done = classify(issuer, submit_form(b, res.resp, "repr-form"), c.redirect_uri, params, verifier)
    assert done.error == "temporarily_unavailable" and not done.code, done


@pytest.mark.parametrize("parent", ["9", "91000", "91000000", "9100000040", "91000000x", "910000003", ""])
def test_register_bad_parent(ap, ap_client, register, new_browser, parent):
    """An organisation number is 9 digits with its check digit: a short or bad parent is garbage."""
    bad = dict(register.reportees[RES][0], orgno="311046349", parent=parent)
    saved = register.reportees[RES]
    register.reportees[RES] = saved + [bad]
    try:
        chooser_refuses(ap, ap_client(), new_browser(), ORG_RAR)
    finally:
        register.reportees[RES] = saved
    assert ap.alive()


def test_register_bad_orgno(ap, ap_client, register, new_browser):
    saved = register.reportees[RES]
    register.reportees[RES] = [dict(saved[0], orgno="910000003")]  # check digit wrong
    try:
        chooser_refuses(ap, ap_client(), new_browser(), ORG_RAR)
    finally:
        register.reportees[RES] = saved


def test_register_sub_unit(ap, ap_client, register, new_browser):
    """A good parent is shown the way organisation numbers are read."""
    saved = register.reportees[RES]
    register.reportees[RES] = saved + [dict(saved[0], orgno="311046349", name="Filialen",
                                            unit_type="BEDR", parent=MAIN)]
    try:
        c = ap_client()
        res = login(ap, c, new_browser(), authorization_details=ORG_RAR)
    finally:
        register.reportees[RES] = saved
    assert res.kind == "page" and res.resp.status_code == 200, res
    assert "Filialen" in res.resp.text and "910 000 004" in res.resp.text, res.resp.text


@pytest.mark.parametrize("authorizer", [PID_BADSUM, "2187949801x", PID])
def test_register_bad_authorizer(server, new_client, register, new_browser, authorizer):
    """The authorizer goes into the token's pid: a number that is none, or the person itself, is refused."""
    saved = register.fullmakts
    register.fullmakts = saved + [dict(saved[0], authorizer=authorizer)]
    try:
        chooser_refuses(server, new_client(), new_browser(), FM_RAR)
    finally:
        register.fullmakts = saved


def test_fullmakt_posted_twice_one_event(server, new_client, register, new_browser):
    """
    Two posts of the chooser at once (the register holds each until both ask):
    one code, one event.  The server may take the two one after the other
    (one thread had both connections): then again, a few times.
    """
    c = new_client()
    for _ in range(5):
        b = new_browser()
        res = login(server, c, b, authorization_details=FM_RAR)
        assert res.kind == "page" and "Full Makt" in res.resp.text, res
        before = len(server.ctl("repr", "events", c.client_id))
        register.gate, register.gate_met = threading.Barrier(2, timeout=0.8), False
        try:
            answers, coded = post_form_at_once(b, res.resp, "repr-form", {"whom": PID2}, n=2)
        finally:
            register.gate = None
        if register.gate_met:
            break
    assert register.gate_met, "the two posts never ran at once"
    assert len(coded) == 1, [(a.status_code, a.headers.get("Location")) for a in answers]
    other = [a for a in answers if a not in coded][0]
    assert other.status_code == 400 and "Location" not in other.headers, other.status_code
    ev = server.ctl("repr", "events", c.client_id)
    assert len(ev) == before + 1 and ev[0]["kind"] == "fullmakt", ev


def test_register_down(start_server, new_browser, listener, tmp_path):
    """A register that is not there at all (connection refused): the page, at once."""
    dead = Register()
    url = dead.url
    dead.stop()
    s = start_server({"PORTEN_REPR_REGISTER_URL": url})
    c = create_client(s, listener, tmp_path)
    b = new_browser()
    t0 = time.monotonic()
    res = login(s, c, b, authorization_details=FM_RAR)
    assert res.kind == "page" and res.resp.status_code == 503, res
    assert time.monotonic() - t0 < 5
    done = classify(s, submit_form(b, res.resp, "repr-form"), c.redirect_uri, res.sent, res.verifier)
    assert done.error == "temporarily_unavailable"


def test_slow_name_holds_no_lock(start_server, new_browser, listener, tmp_path):
    """
    The person's name is fetched before the login's transaction: while the
    register takes its time over it, the rest of the server writes on (an
    ID-porten login), and the name still reaches the token.
    """
    reg = Register()
    reg.name_delay = 2.5
    try:
        s = start_server({"PORTEN_REPR_REGISTER_URL": reg.url,
                          "PORTEN_REPR_REGISTER_TIMEOUT": "10", "PORTEN_THREADS": "4"})
        ap = Ansattporten(s)
        c = create_client(ap, listener, tmp_path, integration_type="ansattporten",
                          scopes=["openid"])
        other = create_client(s, listener, tmp_path)
        b = new_browser()
        params, verifier = auth_params(c)
        testid = open_testid(ap, b, authorize(ap, b, params))
        out = {}
        slow = threading.Thread(target=lambda: out.update(r=submit_testid(ap, b, testid)))
        slow.start()
        assert reg.name_asked.wait(10), "the register was never asked for the name"
        t0 = time.monotonic()
        res = login(s, other, new_browser())
        took = time.monotonic() - t0
        slow.join(30)
        assert res.code, res
        assert took < reg.name_delay / 2, "the login waited %.2f s for the register" % took
        done = classify(ap, out["r"], c.redirect_uri, params, verifier)
        assert done.code, done
        _, idt = ap.verify(c.tokens(done)["id_token"])
        assert idt["name"] == "Kari Register"
    finally:
        reg.stop()


def test_refresh_asks_the_register(server, new_client, register, new_browser):
    c = new_client(refresh=True)
    b = new_browser()
    res = login(server, c, b, authorization_details=FM_RAR)
    done = classify(server, submit_form(b, res.resp, "repr-form", {"whom": PID2}), c.redirect_uri,
                    res.sent, res.verifier)
    tok = c.tokens(done)
    rt = tok["refresh_token"]
    # the register away: try again later, and the token is not spent
    register.mode = "slow"
    r = c.refresh(rt)
    register.mode = "ok"
    assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable", r.text
    r = c.refresh(rt)
    assert r.status_code == 200 and r.json()["authorization_details"] == tok["authorization_details"]
    rt = r.json()["refresh_token"]
    # the fullmakt withdrawn at the source: invalid_grant
    saved = register.fullmakts
    register.fullmakts = []
    try:
        r = c.refresh(rt)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    finally:
        register.fullmakts = saved


def test_sjef_pilot(ap, ap_client, register, new_browser):
    """spec §1.4: the scope ansattporten:sjef opens the chooser on the main administrators' role."""
    c = ap_client(scopes=["openid", "ansattporten:sjef"])
    b = new_browser()
    res = login(ap, c, b, scope="openid ansattporten:sjef")
    assert res.kind == "page" and "Registert AS" in res.resp.text, res
    assert ("/api/reportees", {"pid": PID, "resource": HADM}) in register.asked
    done = classify(ap, submit_form(b, res.resp, "repr-form", {"org": MAIN}), c.redirect_uri,
                    res.sent, res.verifier)
    _, idt = ap.verify(c.tokens(done)["id_token"])
    rar = idt["authorization_details"]
    assert rar[0]["type"] == "ansattporten:sjef" and rar[0]["resource"] == HADM
    assert rar[0]["reportees"][0]["ID"] == "0192:" + MAIN
    # without the scope: a plain login
    c2 = ap_client()
    res = login(ap, c2, new_browser())
    assert res.code and "authorization_details" not in ap.verify(c2.tokens(res)["id_token"])[1]
    # a person who is nobody's main administrator goes on without it
    res = login(ap, c, new_browser(), pid=PID2, scope="openid ansattporten:sjef")
    assert res.code, res
    assert "authorization_details" not in ap.verify(c.tokens(res)["id_token"])[1]
    assert Page(res.resp.text).form("repr-form") is None
