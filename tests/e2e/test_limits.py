"""
Limits on everything a client can send (issue 7): request target, body,
header fields, parameters, request rate per address and per client,
connections per address, and slow clients.  Each limit is tried against a
running portend; each test checks the exact refusal (414, 413, 431, 400,
429 with Retry-After), that the server keeps serving others, and where a
refused request carried something single-use (a code), that it was not
spent.

The rate and connection limits are set low through PORTEN_* variables on
servers of their own (start_server), so the shared server of this module
and every other module keep the generous defaults.
"""

import json
import re
import socket
import threading
import time

import pytest
import requests

from conftest import auth_params, http, login

MAX_URI = 8192           # src/http/limits.h HTTP_MAX_URI
MAX_BODY = 65536         # HTTP_MAX_BODY
MAX_PARAMS = 64          # HTTP_MAX_PARAMS
MAX_VALUE = 8192         # HTTP_MAX_PARAM_VALUE
MAX_HEADERS = 64         # HTTP_MAX_HEADERS
MAX_HEADER_BYTES = 16384  # HTTP_MAX_HEADER_BYTES


def oauth_error(r):
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body.get("error"), str), body
    return body["error"]


def limits_of(server):
    """The limits portend says it applied (its start-up log line), as a dict."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with open(server.log_path, "rb") as f:
            for line in f:
                try:
                    msg = json.loads(line).get("msg", "")
                except ValueError:
                    continue
                if msg.startswith("http limits:"):
                    n = [int(x) for x in re.findall(r"\d+", msg)]
                    keys = ["ip_rate", "ip_burst", "client_rate", "client_burst", "conn_per_ip",
                            "conn_timeout", "request_deadline"]
                    return dict(zip(keys, n))
        time.sleep(0.05)
    raise AssertionError(f"no 'http limits:' line in the log: {server.log_tail()}")


def limited_server(start_server, **env):
    """A portend with low limits (PORTEN_<KEY>=value), checked to be in force."""
    s = start_server({f"PORTEN_{k.upper()}": str(v) for k, v in env.items()})
    got = limits_of(s)
    names = {"rate_ip": "ip_rate", "rate_ip_burst": "ip_burst", "rate_client": "client_rate",
             "rate_client_burst": "client_burst", "conn_per_ip": "conn_per_ip",
             "conn_timeout": "conn_timeout", "request_deadline": "request_deadline"}
    for k, v in env.items():
        assert got[names[k]] == v, (
            f"portend ignored PORTEN_{k.upper()}={v} (applied {got}): the configuration "
            "does not reach the HTTP server (main.c must call http_limits_set() with "
            "http_limits_from_cfg() before http_server_start())")
    return s


def raw(server, data, timeout=10):
    """Send raw bytes on a fresh connection; (status, headers+body text) of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered early and closed
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
    text = out.decode("latin-1")
    m = re.match(r"HTTP/1\.1 (\d{3})", text)
    return (int(m.group(1)) if m else None), text


def alive(server):
    r = server.get("/health/live", timeout=5)
    assert r.status_code == 200, r.status_code


def fresh_get(server, path="/health/live", timeout=5):
    """GET on a new connection: with a short conn_timeout a pooled one may be closed under us."""
    with http() as b:
        return b.get(server.url(path), headers={"Connection": "close"}, allow_redirects=False,
                     timeout=timeout)


# ---------------------------------------------------------------------------
# sizes and counts: the shared server with its defaults
# ---------------------------------------------------------------------------

def test_uri_too_long_is_414(server):
    r = server.get("/authorize?client_id=x&state=" + "A" * (MAX_URI + 1))
    assert r.status_code == 414, r.status_code
    assert oauth_error(r) == "invalid_request"
    alive(server)


def test_uri_at_the_limit_is_not_414(server):
    target = "/health/live?x=" + "a" * (MAX_URI - len("/health/live?x="))
    assert len(target) == MAX_URI
    assert server.get(target).status_code == 200


def test_body_too_large_is_413(server):
    r = server.post("/token", data="grant_type=x&pad=" + "A" * MAX_BODY,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413, r.status_code
    assert oauth_error(r) == "invalid_request"
    alive(server)


def test_chunked_body_too_large_is_413(server):
    """Without Content-Length the size is only known while reading: still 413, not a hang."""
    def chunks():
        for _ in range(40):
            yield b"A" * 4096
    r = server.post("/token", data=chunks(),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413, r.status_code
    alive(server)


def test_too_many_header_fields_is_431(server):
    headers = {f"X-Filler-{i}": "y" for i in range(MAX_HEADERS + 1)}
    r = server.get("/health/live", headers=headers)
    assert r.status_code == 431, r.status_code
    assert oauth_error(r) == "invalid_request"
    alive(server)


def test_header_fields_too_large_is_431(server):
    r = server.get("/health/live", headers={"X-Big": "b" * MAX_HEADER_BYTES})
    assert r.status_code == 431, r.status_code
    alive(server)


def test_headers_just_under_the_limit_are_served(server):
    """A header block just under the limit leaves room in the connection's memory for the
    response's own header lines (an HTML error page with its security headers, a JSON
    document)."""
    big = {"X-Big": "b" * (MAX_HEADER_BYTES - 1024)}
    r = server.get("/authorize", headers=big)
    assert r.status_code == 400, r.status_code
    assert "Content-Security-Policy" in r.headers
    r = server.get("/.well-known/openid-configuration", headers=big)
    assert r.status_code == 200, r.status_code
    assert r.json()["issuer"]
    alive(server)


def test_header_larger_than_connection_memory(server):
    """Past what MHD holds per connection it answers 431 itself, never a crash."""
    status, _ = raw(server, b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Huge: "
                    + b"h" * (300 * 1024) + b"\r\n\r\n")
    assert status in (431, 414, None), status  # None: MHD closed the connection
    alive(server)


def test_two_host_fields_is_400(server):
    """RFC 9112 §3.2: a request with more than one Host field is refused."""
    for hosts in (b"Host: a\r\nHost: b\r\n", b"Host: a\r\nhost: a\r\n"):
        status, _ = raw(server, b"GET /health/live HTTP/1.1\r\n" + hosts
                        + b"Connection: close\r\n\r\n")
        assert status == 400, (hosts, status)
    status, _ = raw(server, b"GET /health/live HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert status == 200, status


def test_too_many_parameters_is_400(server, new_client):
    c = new_client()
    form = [("grant_type", "authorization_code")] + [(f"p{i}", "v") for i in range(MAX_PARAMS)]
    r = c.post("/token", form)
    assert r.status_code == 400, r.status_code
    assert oauth_error(r) == "invalid_request"
    assert "too many parameters" in r.json().get("error_description", "")


def test_parameter_too_long_is_400(server, new_client):
    c = new_client()
    r = c.post("/token", {"grant_type": "authorization_code", "code": "c" * (MAX_VALUE + 1)})
    assert r.status_code == 400, r.status_code
    assert oauth_error(r) == "invalid_request"
    assert "too long" in r.json().get("error_description", "")


def test_parameter_name_too_long_is_400(server, new_client):
    c = new_client()
    r = c.post("/token", {"grant_type": "authorization_code", "n" * 65: "v"})
    assert r.status_code == 400, r.status_code
    assert oauth_error(r) == "invalid_request"


def test_too_many_parameters_at_authorize_is_a_page(server, new_client, new_browser):
    """At /authorize the refusal is a page, never a redirect to an unchecked target."""
    c = new_client()
    params, _ = auth_params(c)
    pairs = list(params.items()) + [(f"x{i}", "y") for i in range(MAX_PARAMS)]
    r = new_browser().get(server.url("/authorize"), params=pairs, allow_redirects=False, timeout=10)
    assert r.status_code == 400, r.status_code
    assert "Location" not in r.headers


# ---------------------------------------------------------------------------
# request rate
# ---------------------------------------------------------------------------

def test_rate_per_address(start_server):
    s = limited_server(start_server, rate_ip=2, rate_ip_burst=10)
    statuses = []
    limited = None
    for _ in range(25):
        r = s.get("/health/live")
        statuses.append(r.status_code)
        if r.status_code == 429 and limited is None:
            limited = r
    # The burst (less what the start-up readiness probe took) goes through.
    assert statuses[:8] == [200] * 8, statuses
    assert limited is not None, f"no 429 after the burst: {statuses}"
    assert set(statuses) <= {200, 429}, statuses
    assert oauth_error(limited) == "too_many_requests"
    ra = limited.headers.get("Retry-After")
    assert ra is not None and ra.isdigit() and 1 <= int(ra) <= 2, ra
    assert limited.headers.get("Cache-Control") == "no-store"
    # Retry-After is honest: after waiting it, requests go through again.
    time.sleep(int(ra) + 0.2)
    assert s.get("/health/live").status_code == 200


def test_rate_limited_token_request_spends_nothing(start_server, listener, tmp_path):
    """A code presented in a 429'd request is still good afterwards."""
    from conftest import create_client
    s = limited_server(start_server, rate_ip=1, rate_ip_burst=40)
    c = create_client(s, listener, tmp_path)
    b = http()
    res = login(s, c, b)
    # Spend what is left of the address's bucket.
    while s.get("/health/live").status_code != 429:
        pass
    r = c.redeem(res)
    assert r.status_code == 429, r.status_code
    assert oauth_error(r) == "too_many_requests"
    time.sleep(int(r.headers["Retry-After"]) + 0.2)
    r = c.redeem(res)
    assert r.status_code == 200, f"the refused request spent the code: {r.status_code} {r.text}"
    assert r.json().get("access_token")


def test_rate_per_client(start_server, listener, tmp_path):
    from conftest import create_client
    s = limited_server(start_server, rate_client=1, rate_client_burst=3)
    a = create_client(s, listener, tmp_path)
    b = create_client(s, listener, tmp_path)
    # A stranger naming a with a wrong secret does not spend a's budget...
    for _ in range(6):
        r = a.revoke("no-such-token", secret="wrong")
        assert r.status_code == 401, r.status_code
    # ...a's own requests do.
    got = [a.revoke("no-such-token").status_code for _ in range(5)]
    assert got[:3] == [200, 200, 200], got
    assert 429 in got, got
    r = a.revoke("no-such-token")
    assert r.status_code == 429
    assert oauth_error(r) == "slow_down"
    assert r.headers.get("Retry-After", "").isdigit()
    # Another client, and the front channel, are not affected.
    assert b.revoke("no-such-token").status_code == 200
    assert s.get("/.well-known/openid-configuration").status_code == 200
    time.sleep(int(r.headers["Retry-After"]) + 0.2)
    assert a.revoke("no-such-token").status_code == 200


def test_rate_per_client_not_spent_before_authentication(start_server, listener, tmp_path):
    """Requests refused before the client authenticates (400) spend none of its budget."""
    from conftest import create_client
    s = limited_server(start_server, rate_client=1, rate_client_burst=3)
    a = create_client(s, listener, tmp_path)
    strangers = [
        {"client_id": a.client_id, "grant_type": "bogus"},
        {"client_id": a.client_id},
        [("client_id", a.client_id), ("grant_type", "authorization_code"),
         ("grant_type", "refresh_token")],
    ]
    for data in strangers * 4:
        r = s.post("/token", data=data)
        assert r.status_code == 400, (r.status_code, r.text)
    got = [a.revoke("no-such-token").status_code for _ in range(3)]
    assert got == [200, 200, 200], f"a stranger spent the client's budget: {got}"


def test_default_limits_are_generous(server):
    got = limits_of(server)
    assert got["ip_rate"] >= 50 and got["ip_burst"] >= 200, got
    assert got["client_rate"] >= 50, got


# ---------------------------------------------------------------------------
# connections and slow clients
# ---------------------------------------------------------------------------

def _closed_within(sock, seconds):
    """True when the server closes sock within seconds (EOF or reset)."""
    sock.settimeout(seconds)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_connections_per_address(start_server):
    s = limited_server(start_server, conn_per_ip=4)
    held, refused = [], 0
    try:
        # The test's own keep-alive pool may hold one connection already.
        for _ in range(8):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
            try:
                c.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")  # half a request
            except OSError:
                pass
            if _closed_within(c, 0.3):
                refused += 1
                c.close()
            else:
                held.append(c)
        assert 3 <= len(held) <= 4, f"{len(held)} connections held open with a limit of 4"
        assert refused >= 4
    finally:
        for c in held:
            c.close()
    time.sleep(0.3)
    # The limit counts open connections, not a ban: closed ones free their place.
    assert fresh_get(s).status_code == 200


def test_idle_partial_request_is_cut(start_server):
    s = limited_server(start_server, conn_timeout=2, request_deadline=30)
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        assert _closed_within(c, 8), "an idle half request was kept open"
        assert time.monotonic() - t0 < 5
    assert fresh_get(s).status_code == 200


def test_slowloris(start_server):
    """
    Headers trickled a byte at a time, fast enough for the idle timeout:
    the request deadline cuts them, and other clients are served quickly
    all along.
    """
    s = limited_server(start_server, conn_timeout=2, request_deadline=3)
    slow = []
    for _ in range(20):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        c.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        slow.append(c)
    stop = threading.Event()
    cut = set()

    def trickle():
        while not stop.is_set():
            for i, c in enumerate(slow):
                if i in cut:
                    continue
                try:
                    c.sendall(b"a")
                except OSError:
                    cut.add(i)
            time.sleep(0.5)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    t0 = time.monotonic()
    worst = 0.0
    try:
        while time.monotonic() - t0 < 6:
            a = time.monotonic()
            assert fresh_get(s).status_code == 200
            worst = max(worst, time.monotonic() - a)
            time.sleep(0.2)
        for i, c in enumerate(slow):
            if i not in cut:
                assert _closed_within(c, 2), f"slow connection {i} still open after {time.monotonic() - t0:.1f} s"
    finally:
        stop.set()
        t.join()
        for c in slow:
            c.close()
    assert worst < 1.0, f"a normal request took {worst:.2f} s while slow clients were connected"
    assert s.alive()


def test_slow_body_is_cut(start_server):
    """A body trickled slower than the deadline allows is cut too; others are served."""
    s = limited_server(start_server, conn_timeout=2, request_deadline=3)
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"POST /token HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 8:
            try:
                c.sendall(b"a")
            except OSError:
                closed = True
                break
            assert fresh_get(s).status_code == 200
            c.settimeout(0.5)
            try:
                if c.recv(4096) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
                break
        assert closed, "a body trickled for 8 s was still being read"
        assert time.monotonic() - t0 < 6


def test_limits_leave_the_shared_server_alive(server):
    alive(server)
    assert server.alive()


# ---------------------------------------------------------------------------
# browser-facing defaults of every answer (RFC 9700 §4.2, §4.3, §4.11, §4.15);
# here because they are set in one place for all answers, src/http/server.c
# ---------------------------------------------------------------------------

def _login_page(server, client, browser):
    params, _ = auth_params(client)
    # /authorize answers with the eID selector itself (docs/login-flow.md)
    page = browser.get(server.url("/authorize"), params=params, allow_redirects=False, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers.get("Content-Type", "")
    return page


def test_pages_cannot_be_framed(server, new_client, new_browser):
    """§4.15 clickjacking: every HTML page forbids framing."""
    c = new_client()
    pages = [_login_page(server, c, new_browser()),
             server.get("/authorize", params={"client_id": "no-such-client"})]
    for p in pages:
        assert "text/html" in p.headers.get("Content-Type", ""), p.headers
        assert p.headers.get("X-Frame-Options") == "DENY", p.headers
        assert "frame-ancestors 'none'" in p.headers.get("Content-Security-Policy", ""), p.headers


def test_no_referrer_and_no_store(server, new_client, new_browser):
    """§4.2.2, §4.3: pages and the redirect carrying the code leak nothing onwards."""
    c = new_client()
    b = new_browser()
    page = _login_page(server, c, b)
    res = login(server, c, b)
    assert res.kind == "redirect"
    for r in (page, res.resp):
        assert r.headers.get("Referrer-Policy") == "no-referrer", r.headers
        assert "no-store" in r.headers.get("Cache-Control", ""), r.headers


def test_no_307_after_a_form_post(server, new_client, new_browser):
    """§4.11: a redirect answering a POSTed login form must not be 307 (it would re-POST)."""
    from conftest import open_testid, submit_form
    c = new_client()
    b = new_browser()
    params, _ = auth_params(c)
    r = b.get(server.url("/authorize"), params=params, allow_redirects=False, timeout=10)
    from conftest import follow
    t = open_testid(server, b, follow(server, b, r))
    r = submit_form(b, t, "testid-form", {"pid": "21879498012"})
    assert r.status_code in (302, 303), r.status_code
    assert r.status_code != 307


# ---------------------------------------------------------------------------
# file permissions checked at start (src/core/fsperm.c)
# ---------------------------------------------------------------------------

def _start_with_data(tmp_path, mode, db_mode=None):
    """Start a portend whose data directory (and database) have these modes; (server, error)."""
    import os
    from conftest import Server, ServerStartError
    data = tmp_path / "data"
    data.mkdir()
    if db_mode is not None:
        (data / "porten.db").touch()
        os.chmod(data / "porten.db", db_mode)
    os.chmod(data, mode)
    # The embedded SQLite store in that directory, also under make test-pg.
    s = Server(tmp_path, {"PORTEN_DATA": str(data), "PORTEN_STORE": ""})
    try:
        s.start()
        return s, None
    except ServerStartError as e:
        return s, str(e)
    finally:
        s.stop()


def test_world_writable_data_dir_refused(tmp_path):
    s, err = _start_with_data(tmp_path, 0o777)
    assert err is not None, ("portend started with a world-writable data directory: "
                             "app_init must call fsperm_check_private() on it")
    assert "world-writable" in s.log_tail(), s.log_tail()


def test_world_writable_database_refused(tmp_path):
    s, err = _start_with_data(tmp_path, 0o700, db_mode=0o666)
    assert err is not None, ("portend started with a world-writable database: "
                             "app_init must call fsperm_check_private() on it")
    assert "world-writable" in s.log_tail(), s.log_tail()


def test_world_readable_data_dir_warned(tmp_path):
    s, err = _start_with_data(tmp_path, 0o755)
    assert err is None, err
    assert "world-readable" in s.log_tail(), "no warning about a world-readable data directory"
