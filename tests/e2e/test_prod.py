"""
Production mode behind a TLS-terminating proxy (issue: "Production mode
tested"; docs/operations.md "Behind a proxy").  portend runs with
PORTEN_ENV=prod and an https issuer, on plain HTTP behind haproxy, which
terminates TLS and names the client in X-Forwarded-For.  What differs from
the test environment is exercised here over https end to end:

- discovery, JWKS and every endpoint under the https issuer;
- TestID is not offered and its pages do not exist; a testid: login hint
  logs nobody in;
- a MinID login of a person with a real (non-synthetic) number, the code
  sent through the HTTP SMS gateway, tokens verified against the JWKS;
- every cookie Secure, HttpOnly and SameSite;
- synthetic numbers refused by MinID;
- a Maskinporten token for an https audience.

The rest of the suite runs in the test environment, where TestID logs
people in; these are the parts of it that apply in production.
"""

import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urljoin

import pytest
import requests
from jwcrypto import jwk, jwt as jjwt

import conftest
from conftest import (Page, Server, ServerStartError, TIMEOUT, auth_params, authorize, classify,
                      create_client, follow, free_port, submit_form)
from test_minid import open_minid, post_password
from test_tls import make_cert

PASSWORD = "Prod-e2e password 1"

HAPROXY_CFG = """\
global
    maxconn 512
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend tls
    bind 127.0.0.1:{port} ssl crt {pem}
    option forwardfor
    http-request set-header X-Forwarded-Proto https
    {metrics_rule}
    default_backend porten
backend porten
    server p 127.0.0.1:{backend}
"""


def metrics_rule():
    """The proxy rule docs/operations.md gives for keeping /metrics off the internet."""
    docs = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "operations.md")
    with open(docs) as f:
        rules = [l.strip() for l in f if l.strip().startswith("http-request deny if")]
    assert len(rules) == 1 and "/metrics" in rules[0], rules
    return rules[0]


def real_pid(n):
    """The n-th valid national identity number that is not synthetic (born 1990)."""
    w1 = [3, 7, 6, 1, 8, 9, 4, 5, 2]
    w2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    found = 0
    for ind in range(100, 499):
        d = [int(c) for c in f"1503{90:02d}{ind:03d}"]
        k1 = 11 - sum(a * b for a, b in zip(w1, d)) % 11
        k1 = 0 if k1 == 11 else k1
        if k1 == 10:
            continue
        k2 = 11 - sum(a * b for a, b in zip(w2, d + [k1])) % 11
        k2 = 0 if k2 == 11 else k2
        if k2 == 10:
            continue
        if found == n:
            return "".join(map(str, d + [k1, k2]))
        found += 1
    raise AssertionError("no number left")


class SmsGateway:
    """An HTTP SMS gateway: records every message POSTed to it."""

    def __init__(self):
        self.bodies = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                outer.bodies.append(self.rfile.read(min(n, 1 << 16)).decode("utf-8", "replace"))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/send"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def last_code(self, mobile):
        digits = mobile.lstrip("+")
        for body in reversed(self.bodies):
            if digits in body:
                m = re.search(r"\b(\d{5})\b", body.replace(digits, ""))
                if m:
                    return m.group(1)
        raise AssertionError(f"no SMS to {mobile}: {self.bodies!r}")

    def close(self):
        self.httpd.shutdown()


class ProdServer(Server):
    """portend in prod on plain HTTP, its issuer the https address of haproxy."""

    def __init__(self, workdir, cert_dir, sms):
        super().__init__(workdir)
        self.backend = f"http://127.0.0.1:{self.port}"
        self.proxy_port = free_port()
        self.issuer = f"https://127.0.0.1:{self.proxy_port}"
        cert, key = make_cert(cert_dir, "proxy")
        self.ca = cert
        self.pem = os.path.join(cert_dir, "proxy.pem")
        with open(self.pem, "w") as f:
            f.write(open(cert).read() + open(key).read())
        os.chmod(self.pem, 0o600)
        self.env.update({
            "PORTEN_ENV": "prod",
            "PORTEN_ISSUER": self.issuer,
            "PORTEN_TRUSTED_PROXIES": "127.0.0.1",
            "PORTEN_SMS_GATEWAY": "http",
            "PORTEN_SMS_URL": sms.url,
        })
        self.haproxy = None

    def start(self):
        cfg = os.path.join(self.workdir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(HAPROXY_CFG.format(port=self.proxy_port, pem=self.pem, backend=self.port,
                                       metrics_rule=metrics_rule()))
        chk = subprocess.run(["haproxy", "-c", "-q", "-f", cfg], capture_output=True, text=True)
        assert chk.returncode == 0, f"haproxy refuses its configuration: {chk.stderr}"
        self.haproxy_log = open(os.path.join(self.workdir, "haproxy.log"), "ab")
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=self.haproxy_log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return super().start()

    def stop(self):
        rc = super().stop()
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            self.haproxy.wait(10)
            self.haproxy_log.close()
        return rc


@pytest.fixture(scope="module")
def sms():
    g = SmsGateway()
    yield g
    g.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, sms):
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (make deps installs it)")
    s = ProdServer(tmp_path_factory.mktemp("porten"), str(tmp_path_factory.mktemp("tls")), sms)
    # Every session of the suite trusts the proxy's certificate, as a browser trusts a real CA.
    saved = (conftest.TLS_CA, conftest._HTTP.verify)
    conftest.TLS_CA, conftest._HTTP.verify = s.ca, s.ca
    try:
        s.start()
    except ServerStartError as e:
        conftest.TLS_CA, conftest._HTTP.verify = saved
        if "not built" in str(e):
            pytest.skip(str(e))
        raise
    yield s
    rc = s.stop()
    conftest.TLS_CA, conftest._HTTP.verify = saved
    assert rc == 0, f"portend did not stop cleanly on SIGTERM (exit {rc}): {s.log_tail()}"


@pytest.fixture
def new_browser(server):
    made = []

    def _new():
        b = conftest.http()
        made.append(b)
        return b

    yield _new
    for b in made:
        b.close()


class RelyingParty:
    """A web client's address in production: https and not loopback (it is never called)."""
    base = "https://rp.example.no"


_PIDS = iter(range(1000))


def new_account(server):
    pid = real_pid(next(_PIDS))
    mobile = f"+47{41000000 + int(uuid.uuid4().int % 999999)}"
    info = server.ctl("minid", "create", pid, "--password", PASSWORD, "--mobile", mobile)
    assert info["pid"] == pid and info["status"] == "ACTIVE", info
    return pid, mobile


def test_discovery_names_the_https_issuer(server):
    r = server.get("/.well-known/openid-configuration")
    assert r.status_code == 200, r.text
    meta = r.json()
    assert meta["issuer"] == server.issuer
    for k in ("authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint",
              "pushed_authorization_request_endpoint"):
        assert meta[k].startswith(server.issuer + "/"), (k, meta[k])
    assert server.jwks()["keys"], "no key in JWKS"
    # The plain listener sits behind the proxy: the issuer it names is still the https one.
    direct = requests.get(server.backend + "/.well-known/openid-configuration", timeout=TIMEOUT)
    assert direct.json()["issuer"] == server.issuer


def test_testid_is_off(server, tmp_path, new_browser):
    c = create_client(server, RelyingParty, tmp_path)
    b = new_browser()
    params, _ = auth_params(c)
    sel = authorize(server, b, params)
    assert sel.status_code == 200, sel.text[:600]
    ids = [l["id"] for l in Page(sel.text).links]
    assert "eid-minid" in ids and "eid-testid" not in ids, ids
    assert "TestID" not in sel.text
    assert server.get("/testid").status_code == 404
    # a headless test login hint logs nobody in
    params, verifier = auth_params(c, login_hint="testid:02918095010_idporten-loa-substantial")
    r = new_browser().get(server.url("/authorize"), params=params, allow_redirects=False,
                          timeout=TIMEOUT)
    res = classify(server, r, c.redirect_uri, params, verifier)
    assert not res.code, res


def test_minid_login_over_https_with_secure_cookies(server, sms, tmp_path, new_browser):
    pid, mobile = new_account(server)
    c = create_client(server, RelyingParty, tmp_path, refresh=True)
    b = new_browser()
    params, verifier = auth_params(c)
    sel = authorize(server, b, params)
    page = open_minid(server, b, sel)
    r = post_password(server, b, page, pid, PASSWORD)
    assert r.status_code == 200 and Page(r.text).form("minid-code-form"), r.text[:800]
    r = follow(server, b, submit_form(b, r, "minid-code-form", {"code": sms.last_code(mobile)}))
    res = classify(server, r, c.redirect_uri, params, verifier)
    assert res.kind == "redirect" and res.code, res
    assert res.iss == server.issuer
    tok = c.tokens(res)
    _, claims = server.verify(tok["id_token"])
    assert claims["pid"] == pid and claims["iss"] == server.issuer
    assert claims["acr"] == "idporten-loa-substantial" and claims["amr"] == ["Minid-OTC"], claims
    # every cookie set on the way is Secure, HttpOnly and SameSite
    set_cookies = []
    for resp in (sel, page, r):
        set_cookies += resp.raw.headers.getlist("Set-Cookie")
    assert set_cookies
    for cookie in set_cookies:
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=" in cookie, cookie
    # the refresh token works through the proxy too
    again = c.refresh(tok["refresh_token"])
    assert again.status_code == 200 and again.json().get("access_token"), again.text


def test_metrics_not_served_through_the_proxy(server):
    """The documented proxy rule keeps /metrics in, however the path is spelt."""
    ctx = ssl.create_default_context(cafile=server.ca)

    def status(path):
        c = http.client.HTTPSConnection("127.0.0.1", server.proxy_port, context=ctx, timeout=10)
        try:
            c.request("GET", path)
            return c.getresponse().status
        finally:
            c.close()

    # the proxy denies each spelling (403); what it lets by, portend refuses (400)
    for path in ("/metrics", "/%6detrics", "/%6D%65trics", "/metrics?x=1"):
        assert status(path) == 403, path
    assert status("/%2Fmetrics") == 400
    assert status("/health/live") == 200
    direct = requests.get(server.backend + "/metrics", timeout=TIMEOUT)
    assert direct.status_code == 200


def test_synthetic_numbers_are_refused(server):
    p = server.ctl("minid", "create", "02918095010", "--password", PASSWORD, "--mobile", "+4741999999",
                   check=False)
    assert p.returncode != 0
    assert b"not a national identity number MinID accepts in this environment" in p.stderr, p.stderr
    # the same number is a good one in the test environment: only prod refuses it
    assert server.ctl("minid", "show", "02918095010", check=False).returncode != 0


def test_maskinporten_token_for_an_https_audience(server, tmp_path):
    key = jwk.JWK.generate(kty="RSA", size=2048)
    kid = f"prod-{uuid.uuid4().hex[:8]}"
    pub = json.loads(key.export_public())
    pub.update({"kid": kid, "use": "sig", "alg": "RS256"})
    path = os.path.join(str(tmp_path), "mp.json")
    with open(path, "w") as f:
        json.dump({"keys": [pub]}, f)
    scope = f"prodtest:api.{uuid.uuid4().hex[:6]}"
    server.ctl("scope", "create", "--name", scope, "--description", "prod test API",
               "--allowed-integration-type", "maskinporten")
    server.ctl("scope", "grant", scope, "991825827")
    info = server.ctl("client", "create", "--client-name", "prod mp", "--description", "prod test",
                      "--integration-type", "maskinporten", "--application-type", "web",
                      "--token-endpoint-auth-method", "private_key_jwt", "--client-orgno",
                      "991825827", "--scope", scope, "--grant-type",
                      "urn:ietf:params:oauth:grant-type:jwt-bearer", "--jwks-file", path)
    meta = server.get("/maskinporten/.well-known/oauth-authorization-server").json()
    assert meta["issuer"].startswith(server.issuer + "/")
    now = int(time.time())
    grant = jjwt.JWT(header={"alg": "RS256", "kid": kid},
                     claims={"iss": info["client_id"], "aud": meta["issuer"], "scope": scope,
                             "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex})
    grant.make_signed_token(key)
    r = conftest._HTTP.post(meta["token_endpoint"], timeout=TIMEOUT, data={
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": grant.serialize()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == scope and body["token_type"] == "Bearer"
