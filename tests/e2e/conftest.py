"""
End-to-end fixtures and helpers for the ID-porten issuer of portend.

Every test module gets its own portend (own data directory, own port, own
signing key); every test makes its own clients with portenctl and its own
"browsers" (requests.Session objects that keep cookies).  The tests act as
the browser: they never follow a redirect that leaves the issuer (the
clients' redirect URIs point at a small loopback listener that records what
it receives, which is also where front-channel logout calls land).

Test modules import the helpers below with `from conftest import ...`.
"""

import base64
import hashlib
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import pytest
import requests
from jwcrypto import jwk
from jwcrypto import jwt as jjwt

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

BUILD = os.environ.get("PORTEN_BUILD", "/work/main/build")
PORTEND = os.path.join(BUILD, "portend")
PORTENCTL = os.path.join(BUILD, "portenctl")

SUBSTANTIAL = "idporten-loa-substantial"
HIGH = "idporten-loa-high"

# Synthetic people (spec/national-id-numbers.md): month + 80.
PID = "21879498012"          # the docs' TestID example
PID2 = "01819012365"         # synthetic, 1990-01-01
PID_D = "41819012359"        # synthetic D-number
PID_REAL = "01019012480"     # valid checksum, ordinary (real-looking) number
PID_BADSUM = "01019012481"   # checksum wrong

ORGNO = "991825827"          # valid organisation number (check digit ok)
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
INTROSPECTION_SCOPE = "idporten:token.introspection"
TIMEOUT = 10
START_TIMEOUT = 30


# --------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------

# A certificate file the sessions trust (test_tls.py sets it for its https portend).
TLS_CA = None


def http():
    """A requests session that ignores proxy settings (everything is loopback)."""
    s = requests.Session()
    s.trust_env = False
    s.headers["User-Agent"] = "porten-e2e/1"
    if TLS_CA:
        s.verify = TLS_CA
    return s


_HTTP = http()


PORTS_GIVEN = set()


def ephemeral_low():
    """The first port of the kernel's range for outgoing connections' local ports."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """
    A port on 127.0.0.1 that nothing holds now, below the kernel's range for
    outgoing connections' local ports.  A server often binds it only later
    (an upstream eID is started when the first test that needs it runs,
    minutes after Porten was configured with its address), and meanwhile a
    port from that range can become the local end of any connection the
    tests make (EADDRINUSE then).  Never the same port twice in one run.
    """
    low = ephemeral_low()
    for _ in range(500):
        if low <= 20001:
            break
        port = secrets.randbelow(low - 20000) + 20000
        if port in PORTS_GIVEN:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        PORTS_GIVEN.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(s):
    s = s + "=" * (-len(s) % 4)
    return base64.urlsafe_b64decode(s.encode("ascii"))


def rand(n=16):
    return secrets.token_urlsafe(n)


def new_verifier():
    return secrets.token_urlsafe(48)[:64]


def s256(verifier):
    return b64u(hashlib.sha256(verifier.encode("ascii")).digest())


def jwt_parts(token):
    """(header, claims) of a compact JWS without verifying anything."""
    h, p, _ = token.split(".")
    return json.loads(b64u_decode(h)), json.loads(b64u_decode(p))


def url_base(url):
    """scheme://host:port/path of a URL (no query, no fragment)."""
    u = urlsplit(url)
    return f"{u.scheme}://{u.netloc}{u.path}"


def url_params(url):
    """Query and fragment parameters of a URL as a dict (last one wins)."""
    u = urlsplit(url)
    d = dict(parse_qsl(u.query, keep_blank_values=True))
    d.update(parse_qsl(u.fragment, keep_blank_values=True))
    return d


# --------------------------------------------------------------------------
# HTML: one parser for forms, links and iframes
# --------------------------------------------------------------------------

def po_catalogues():
    """The page translations, {lang: {msgid: msgstr}}, for the tests that every text has its four."""
    out = {}
    for lang in ("nb", "nn", "en", "se"):
        with open(os.path.join(REPO_ROOT, "po", f"{lang}.po"), encoding="utf-8") as f:
            out[lang] = dict(re.findall(r'^msgid "(.*)"\nmsgstr "(.*)"$', f.read(), re.M))
    return out


class Page(HTMLParser):
    """Forms (with their fields), links and iframes of a server-rendered page."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self.links = []
        self.iframes = []
        self.meta_refresh = []
        self._form = None
        self._select = None
        self._option = None
        self.feed(html or "")
        self.close()

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = {"id": a.get("id"), "method": (a.get("method") or "get").lower(),
                      "action": a.get("action", ""), "fields": [], "buttons": []}
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and a.get("name"):
            t = (a.get("type") or "text").lower()
            if t in ("submit", "image"):
                self._form["buttons"].append((a["name"], a.get("value", "")))
            elif t in ("button", "reset", "file"):
                pass
            elif t in ("checkbox", "radio"):
                if "checked" in a:
                    self._form["fields"].append((a["name"], a.get("value", "on")))
            else:
                self._form["fields"].append((a["name"], a.get("value", "")))
        elif tag == "button" and self._form is not None and a.get("name"):
            if (a.get("type") or "submit").lower() == "submit":
                self._form["buttons"].append((a["name"], a.get("value", "")))
        elif tag == "select" and self._form is not None and a.get("name"):
            self._select = {"name": a["name"], "options": [], "selected": None}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": ""}
            self._select["options"].append(self._option)
            if "selected" in a:
                self._select["selected"] = self._option
        elif tag == "textarea" and self._form is not None and a.get("name"):
            self._form["fields"].append((a["name"], ""))
        elif tag == "a":
            self.links.append({"id": a.get("id"), "href": a.get("href")})
        elif tag == "iframe":
            self.iframes.append(a.get("src"))
        elif tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            self.meta_refresh.append(a.get("content", ""))

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"] += data

    def handle_endtag(self, tag):
        if tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            sel = self._select
            o = sel["selected"] or (sel["options"][0] if sel["options"] else None)
            if o is not None and self._form is not None:
                v = o["value"] if o["value"] is not None else o["text"].strip()
                self._form["fields"].append((sel["name"], v))
            self._select = None
        elif tag == "form":
            self._form = None

    def form(self, form_id):
        for f in self.forms:
            if f["id"] == form_id:
                return f
        return None


def select_values(html, name):
    """The option values of <select name=...> in html (for the acr picker)."""
    vals = []

    class P(HTMLParser):
        inside = False

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "select":
                P.inside = a.get("name") == name
            elif tag == "option" and P.inside:
                vals.append(a.get("value"))

        def handle_endtag(self, tag):
            if tag == "select":
                P.inside = False

    P().feed(html)
    return vals


def submit_form(browser, resp, form_id, values=None, form=None):
    """
    Parse the form with id form_id out of resp (a page the browser got),
    keep its hidden inputs, overlay values and submit it like a browser
    (form-encoded, no redirects followed).
    """
    if form is None:
        page = Page(resp.text)
        form = page.form(form_id)
        assert form is not None, (f"no <form id={form_id!r}> on {resp.url} (status {resp.status_code}); "
                      f"forms: {[f['id'] for f in page.forms]}; page: {resp.text[:800]!r}")
    fields = [(k, v) for k, v in form["fields"] if not values or k not in values]
    if values:
        fields += list(values.items())
    if form["buttons"]:
        fields.append(form["buttons"][0])
    target = urljoin(resp.url, form["action"] or resp.url)
    if form["method"] == "post":
        return browser.post(target, data=fields, allow_redirects=False, timeout=TIMEOUT)
    return browser.get(target, params=fields, allow_redirects=False, timeout=TIMEOUT)


# --------------------------------------------------------------------------
# the server under test
# --------------------------------------------------------------------------

class ServerStartError(Exception):
    pass


class Server:
    def __init__(self, workdir, extra_env=None):
        self.workdir = str(workdir)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.data = os.path.join(self.workdir, "data")
        os.makedirs(self.data, mode=0o700, exist_ok=True)
        self.log_path = os.path.join(self.workdir, "portend.log")
        self.err_path = os.path.join(self.workdir, "portend.stderr")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTEN_")}
        env.update({
            "PORTEN_LISTEN": f"127.0.0.1:{self.port}",
            "PORTEN_DATA": self.data,
            "PORTEN_ISSUER": self.issuer,
            "PORTEN_ENV": "test",
            "PORTEN_KEK": b64u(secrets.token_bytes(32)),
        })
        # On PostgreSQL (make test-pg) every portend gets a fresh database.
        store = os.environ.get("PORTEN_STORE", "")
        if store.startswith(("postgresql://", "postgres://")):
            env["PORTEN_STORE"] = subprocess.run(
                ["sh", os.path.join(REPO_ROOT, "tools", "pg-test.sh"), "newdb",
                 "e2e_" + uuid.uuid4().hex[:16]],
                check=True, capture_output=True, text=True, timeout=60).stdout.strip()
        env.update(extra_env or {})
        self.env = env
        self.proc = None
        self.returncode = None
        self._jwks = None

    # -- life cycle --
    def start(self):
        for b in (PORTEND, PORTENCTL):
            if not os.access(b, os.X_OK):
                raise ServerStartError(f"{b} not built")
        self._out = open(self.log_path, "ab")
        self._err = open(self.err_path, "ab")
        self.proc = subprocess.Popen([PORTEND], env=self.env, stdout=self._out, stderr=self._err,
                         stdin=subprocess.DEVNULL, cwd=self.workdir)
        # A first start makes an RSA signing key for each of the three issuers;
        # on a machine busy with builds that alone has taken over 10 s.
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerStartError(f"portend exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                r = _HTTP.get(self.url("/health/ready"), timeout=1)
                if r.status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise ServerStartError(f"portend not ready within {START_TIMEOUT} s: {self.log_tail()}")

    def stop(self):
        if self.proc is None or self.returncode is not None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.returncode = "killed after SIGTERM timeout"
        if self.returncode is None:
            self.returncode = self.proc.returncode
        self._out.close()
        self._err.close()
        return self.returncode

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=4000):
        out = ""
        for p in (self.log_path, self.err_path):
            try:
                with open(p, "rb") as f:
                    out += f"\n--- {os.path.basename(p)} ---\n" + f.read()[-n:].decode("utf-8", "replace")
            except OSError:
                pass
        return out

    # -- helpers --
    def url(self, path):
        return self.issuer + path

    def owns(self, url):
        return url == self.issuer or url.startswith(self.issuer + "/") or url.startswith(self.issuer + "?")

    def ctl(self, *args, check=True):
        """Run portenctl --json with this server's environment; parsed JSON output."""
        p = subprocess.run([PORTENCTL, "--json", *args], env=self.env, capture_output=True,
                   timeout=30, cwd=self.workdir)
        if check and p.returncode != 0:
            raise AssertionError(f"portenctl {' '.join(args)} failed ({p.returncode}): "
                         f"{p.stderr.decode(errors='replace')} {p.stdout.decode(errors='replace')}")
        text = p.stdout.decode("utf-8", "replace").strip()
        if not check:
            return p
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text

    def jwks(self, refresh=False):
        if self._jwks is None or refresh:
            r = _HTTP.get(self.url("/jwks.json"), timeout=TIMEOUT)
            assert r.status_code == 200, r.text
            self._jwks = r.json()
        return self._jwks

    def keyset(self, refresh=False):
        return jwk.JWKSet.from_json(json.dumps(self.jwks(refresh)))

    def verify(self, token):
        """Verify a JWS against the issuer's JWKS (RS256 only); (header, claims)."""
        header, _ = jwt_parts(token)
        ks = self.keyset()
        if header.get("kid") and ks.get_key(header["kid"]) is None:
            ks = self.keyset(refresh=True)
        t = jjwt.JWT(jwt=token, key=ks, algs=["RS256"], check_claims=False)
        return header, json.loads(t.claims)

    def get(self, path, **kw):
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return _HTTP.get(self.url(path), **kw)

    def post(self, path, **kw):
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return _HTTP.post(self.url(path), **kw)


AP_PATH = "/ansattporten"


class Ansattporten:
    """
    The Ansattporten issuer of a running portend, with the Server's
    interface: url(), get(), post(), jwks(), verify() speak to it, and the
    pages it sends the browser to count as Porten's own.
    """

    def __init__(self, server):
        self.server = server
        self.issuer = server.issuer + AP_PATH
        self._jwks = None

    def __getattr__(self, name):
        return getattr(self.server, name)

    def url(self, path):
        return self.issuer + path

    def owns(self, url):
        return self.server.owns(url)

    get = Server.get
    post = Server.post
    jwks = Server.jwks
    keyset = Server.keyset
    verify = Server.verify


# --------------------------------------------------------------------------
# clients
# --------------------------------------------------------------------------

# Every secret the suite handles, for test_zz_logsecrets.py: none may reach a log.
SECRETS = set()


def remember_secret(value):
    if isinstance(value, str) and len(value) >= 16:
        SECRETS.add(value)
    return value


class Client:
    def __init__(self, server, info, auth, app_type, redirect_uris, post_logout, scopes, refresh,
             fc_uri, fc_session, sso_disabled, key, kid):
        self.server = server
        self.info = info
        self.client_id = info["client_id"]
        self.secret = remember_secret(info.get("client_secret"))
        self.auth_method = auth
        self.app_type = app_type
        self.redirect_uris = redirect_uris
        self.redirect_uri = redirect_uris[0]
        self.post_logout_redirect_uri = post_logout
        self.scopes = scopes
        self.scope = " ".join(s for s in scopes if s in ("openid", "profile")) or " ".join(scopes)
        self.refresh_grant = refresh
        self.frontchannel_logout_uri = fc_uri
        self.fc_session = fc_session
        self.sso_disabled = sso_disabled
        self.key = key
        self.kid = kid

    def __repr__(self):
        return f"<Client {self.client_id} {self.auth_method}>"

    # -- client authentication --
    def assertion(self, aud=None, iat=None, exp=None, lifetime=60, jti=None, iss=None, sub=None,
              kid=None, key=None, alg="RS256", extra=None, drop=(), header_extra=None):
        now = int(time.time())
        iat = now if iat is None else iat
        claims = {
            "iss": self.client_id if iss is None else iss,
            "sub": self.client_id if sub is None else sub,
            "aud": self.server.issuer if aud is None else aud,
            "iat": iat,
            "exp": iat + lifetime if exp is None else exp,
            "jti": rand() if jti is None else jti,
        }
        claims.update(extra or {})
        for d in drop:
            claims.pop(d, None)
        header = {"alg": alg, "kid": self.kid if kid is None else kid}
        header.update(header_extra or {})
        header = {k: v for k, v in header.items() if v is not None}
        t = jjwt.JWT(header=header, claims=claims)
        t.make_signed_token(key or self.key)
        return t.serialize()

    def with_auth(self, data=None, headers=None, method=None, secret=None, assertion=None):
        """(data, headers) with client authentication added by method (default: registered)."""
        data = list((data or {}).items()) if isinstance(data, dict) else list(data or [])
        headers = dict(headers or {})
        method = method or self.auth_method
        secret = self.secret if secret is None else secret
        if method == "client_secret_basic":
            cred = f"{quote(self.client_id, safe='')}:{quote(secret or '', safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        elif method == "client_secret_post":
            data += [("client_id", self.client_id), ("client_secret", secret or "")]
        elif method == "private_key_jwt":
            data += [("client_id", self.client_id), ("client_assertion_type", ASSERTION_TYPE),
                 ("client_assertion", self.assertion() if assertion is None else assertion)]
        elif method == "none":
            data += [("client_id", self.client_id)]
        elif method == "noauth":
            pass
        else:
            raise ValueError(method)
        return data, headers

    def post(self, path, data=None, method=None, headers=None, **kw):
        d, h = self.with_auth(data, headers, method=method, **kw)
        return self.server.post(path, data=d, headers=h)

    # -- token endpoint --
    # method/secret/assertion override the client authentication (hostile tests)
    def redeem(self, res, method=None, secret=None, assertion=None, **overrides):
        data = {"grant_type": "authorization_code", "code": res.code,
                "redirect_uri": res.sent.get("redirect_uri", self.redirect_uri)}
        if res.verifier:
            data["code_verifier"] = res.verifier
        for k, v in overrides.items():
            if v is None:
                data.pop(k, None)
            else:
                data[k] = v
        return self.post("/token", data, method=method, secret=secret, assertion=assertion)

    def tokens(self, res, **kw):
        remember_secret(res.code)
        remember_secret(res.verifier)
        r = self.redeem(res, **kw)
        assert r.status_code == 200, f"token request failed: {r.status_code} {r.text}"
        body = r.json()
        for k in ("access_token", "refresh_token", "id_token"):
            remember_secret(body.get(k))
        return body

    def refresh(self, refresh_token, method=None, secret=None, assertion=None, **extra):
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        data.update(extra)
        remember_secret(refresh_token)
        r = self.post("/token", data, method=method, secret=secret, assertion=assertion)
        if r.status_code == 200:
            for k in ("access_token", "refresh_token", "id_token"):
                remember_secret(r.json().get(k))
        return r

    def introspect(self, token, path="/token/introspect", **auth):
        return self.post(path, {"token": token}, **auth)

    def revoke(self, token, hint=None, **auth):
        data = {"token": token}
        if hint:
            data["token_type_hint"] = hint
        return self.post("/revoke", data, **auth)

    def par(self, method=None, secret=None, assertion=None, **params):
        # client_id is an authorization parameter and, for most methods, part of
        # the client authentication too: send it once
        if (method or self.auth_method) in ("client_secret_post", "private_key_jwt", "none"):
            params.pop("client_id", None)
        return self.post("/par", params, method=method, secret=secret, assertion=assertion)


def create_client(server, listener, tmpdir, auth="client_secret_basic", app_type=None,
          integration_type="idporten", scopes=None, refresh=False, fc=False, fc_session=False,
          sso_disabled=False, pkce_none=False, redirect_uris=None, introspect=False, extra_args=(),
          orgno=ORGNO, key=True):
    n = uuid.uuid4().hex[:10]
    if app_type is None:
        app_type = "browser" if auth == "none" else "web"
    if redirect_uris is None:
        redirect_uris = [f"{listener.base}/cb/{n}"]
    post_logout = f"{listener.base}/logged-out/{n}"
    fc_uri = f"{listener.base}/fc/{n}" if fc else None
    if scopes is None:
        scopes = ["openid", "profile"]
    if introspect:
        # the caller must hold idporten:token.introspection (spec §14): an api_klient
        integration_type = "api_klient"
        scopes = list(scopes) + [INTROSPECTION_SCOPE]
    args = ["client", "create", "--client-name", f"e2e {n}", "--description", "end-to-end test client",
        "--integration-type", integration_type, "--application-type", app_type,
        "--token-endpoint-auth-method", auth]
    if orgno is not None:
        args += ["--client-orgno", orgno]
    for u in redirect_uris:
        args += ["--redirect-uri", u]
    args += ["--post-logout-redirect-uri", post_logout]
    if fc_uri:
        args += ["--frontchannel-logout-uri", fc_uri]
        if fc_session:
            args.append("--frontchannel-logout-session-required")
    if integration_type != "idporten":
        for s in scopes:
            args += ["--scope", s]
    args += ["--grant-type", "authorization_code"]
    if refresh:
        args += ["--grant-type", "refresh_token"]
    if sso_disabled:
        args.append("--sso-disabled")
    if pkce_none:
        args += ["--code-challenge-method", "none"]
    # key=False: a private_key_jwt client with no registered keys (a business certificate in x5c)
    want_key, key, kid = key, None, None
    if auth == "private_key_jwt" and want_key:
        key = jwk.JWK.generate(kty="RSA", size=2048)
        kid = f"e2e-{n}"
        pub = json.loads(key.export_public())
        pub.update({"kid": kid, "use": "sig", "alg": "RS256"})
        path = os.path.join(str(tmpdir), f"jwks-{n}.json")
        with open(path, "w") as f:
            json.dump({"keys": [pub]}, f)
        args += ["--jwks-file", path]
    args += list(extra_args)
    info = server.ctl(*args)
    assert isinstance(info, dict) and info.get("client_id"), f"portenctl client create printed {info!r}"
    if auth in ("client_secret_basic", "client_secret_post"):
        assert info.get("client_secret"), f"no client_secret in {info!r}"
    return Client(server, info, auth, app_type, redirect_uris, post_logout, scopes, refresh,
              fc_uri, fc_session, sso_disabled, key, kid)


# --------------------------------------------------------------------------
# the browser side of a login
# --------------------------------------------------------------------------

class AuthResult:
    """Where an authorization request ended, from the client's point of view."""

    def __init__(self, resp, kind, params, sent=None, verifier=None, eid_shown=False):
        self.resp = resp
        self.kind = kind          # "redirect" (to the client), "form_post", or "page" (at Porten)
        self.params = params
        self.sent = sent or {}
        self.verifier = verifier
        self.eid_shown = eid_shown

    code = property(lambda s: s.params.get("code"))
    state = property(lambda s: s.params.get("state"))
    iss = property(lambda s: s.params.get("iss"))
    error = property(lambda s: s.params.get("error"))
    nonce = property(lambda s: s.sent.get("nonce"))

    @property
    def location(self):
        return self.resp.headers.get("Location")

    def __repr__(self):
        body = self.resp.text[:600] if self.kind == "page" else ""
        return (f"<AuthResult {self.kind} status={self.resp.status_code} params={self.params} "
            f"location={self.location!r} {body!r}>")


def follow(server, browser, resp, limit=15):
    """Follow Porten's own redirects (GET); stop at one that leaves the issuer."""
    for _ in range(limit):
        if resp.status_code not in (301, 302, 303, 307, 308) or "Location" not in resp.headers:
            return resp
        target = urljoin(resp.url, resp.headers["Location"])
        if not server.owns(target):
            return resp
        resp = browser.get(target, allow_redirects=False, timeout=TIMEOUT)
    raise AssertionError(f"redirect loop at {resp.url}")


def pending_ar(resp):
    """
    The pending authorization (ar) a login page belongs to: from the page's
    address, else from the page (the selector answered by /authorize names
    its own address, /login?ar=..., and links the eIDs with ?ar=).
    """
    ar = url_params(resp.url).get("ar")
    if ar:
        return ar
    # a store row's id (43 characters) or a sealed login (longer)
    m = re.search(r"\?ar=([A-Za-z0-9_-]{43,})", resp.text)
    assert m, f"no ar on the page at {resp.url}: {resp.text[:600]!r}"
    return m.group(1)


def classify(server, resp, redirect_uri=None, sent=None, verifier=None):
    if resp.status_code in (301, 302, 303, 307, 308) and "Location" in resp.headers:
        loc = urljoin(resp.url, resp.headers["Location"])
        if not server.owns(loc):
            return AuthResult(resp, "redirect", url_params(loc), sent, verifier)
    if resp.status_code == 200:
        page = Page(resp.text)
        for f in page.forms:
            action = urljoin(resp.url, f["action"] or "")
            if f["method"] == "post" and not server.owns(action) and (
                    redirect_uri is None or action == redirect_uri):
                return AuthResult(resp, "form_post", dict(f["fields"]), sent, verifier)
    return AuthResult(resp, "page", {}, sent, verifier)


def auth_params(client, **overrides):
    """
    Default /authorize parameters for client plus the PKCE verifier; an
    override of None drops a parameter.  _verifier= picks the verifier.
    """
    verifier = overrides.pop("_verifier", None) or new_verifier()
    p = {
        "client_id": client.client_id,
        "response_type": "code",
        "redirect_uri": client.redirect_uri,
        "scope": client.scope,
        "state": rand(),
        "nonce": rand(),
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    for k, v in overrides.items():
        if v is None:
            p.pop(k, None)
        else:
            p[k] = v
    if p.get("code_challenge") != s256(verifier):
        verifier = None
    return p, verifier


def authorize(server, browser, params, method="GET"):
    """Send an authorization request (params: dict or list of pairs) and follow Porten's redirects."""
    if method == "GET":
        r = browser.get(server.url("/authorize"), params=params, allow_redirects=False, timeout=TIMEOUT)
    else:
        r = browser.post(server.url("/authorize"), data=params, allow_redirects=False, timeout=TIMEOUT)
    return follow(server, browser, r)


def open_testid(server, browser, resp):
    """From the eID selector page to the TestID page (or resp itself if it is the TestID page)."""
    page = Page(resp.text)
    if page.form("testid-form") is not None:
        return resp
    hrefs = [l["href"] for l in page.links if l["href"] and "/testid" in l["href"]]
    hrefs.sort(key=lambda h: 0 if "lang=" not in h else 1)
    assert hrefs, f"no TestID link on the page at {resp.url} ({resp.status_code}): {resp.text[:800]!r}"
    r = browser.get(urljoin(resp.url, hrefs[0]), allow_redirects=False, timeout=TIMEOUT)
    r = follow(server, browser, r)
    assert r.status_code == 200 and Page(r.text).form("testid-form") is not None, \
        f"TestID page missing its form: {r.status_code} {r.text[:800]!r}"
    return r


def post_form_at_once(browser, resp, form_id, values, n=8):
    """
    The form form_id of resp posted n times at once with browser's cookies,
    each from a session of its own (two tabs, a double click): the answers,
    none followed, and the one that carries a code ([] or [answer]).
    """
    from concurrent.futures import ThreadPoolExecutor

    form = Page(resp.text).form(form_id)
    assert form is not None, f"no <form id={form_id!r}> on {resp.url}"
    target = urljoin(resp.url, form["action"])
    data = dict(form["fields"], **values)
    cookies = browser.cookies.get_dict()

    def post(_):
        with requests.Session() as s:
            s.cookies.update(cookies)
            return s.post(target, data=data, allow_redirects=False, timeout=TIMEOUT)

    with ThreadPoolExecutor(max_workers=n) as pool:
        answers = list(pool.map(post, range(n)))
    return answers, [a for a in answers if "code=" in a.headers.get("Location", "")]


def submit_testid(server, browser, testid_resp, pid=PID, acr=SUBSTANTIAL):
    r = submit_form(browser, testid_resp, "testid-form", {"pid": pid, "acr": acr})
    return follow(server, browser, r)


def finish_login(server, browser, resp, redirect_uri, pid=PID, acr=SUBSTANTIAL, sent=None,
         verifier=None):
    """From the first answer to an authorization request to the client's response."""
    res = classify(server, resp, redirect_uri, sent, verifier)
    if res.kind != "page":
        return res
    assert resp.status_code == 200, f"authorization request refused: {res!r}"
    t = open_testid(server, browser, resp)
    r = submit_testid(server, browser, t, pid, acr)
    res = classify(server, r, redirect_uri, sent, verifier)
    res.eid_shown = True
    return res


def login(server, client, browser, pid=PID, acr=SUBSTANTIAL, method="GET", expect_eid=None,
      **overrides):
    """
    Log in to client in browser: authorize (GET or POST), TestID if Porten
    shows the login page, and return the AuthResult holding code/state/iss
    (asserts a code came back).  expect_eid: assert the eID page was / was
    not shown.
    """
    params, verifier = auth_params(client, **overrides)
    r = authorize(server, browser, params, method)
    res = finish_login(server, browser, r, params["redirect_uri"], pid, acr, params, verifier)
    assert res.kind in ("redirect", "form_post") and res.code, f"login did not yield a code: {res!r}"
    if expect_eid is not None:
        assert res.eid_shown == expect_eid, \
            f"eID page {'not ' if expect_eid else ''}expected but {'shown' if res.eid_shown else 'skipped'}"
    return res


def start(server, client, browser, method="GET", params=None, **overrides):
    """Send an authorization request and classify the first answer (no login performed)."""
    if params is None:
        params, verifier = auth_params(client, **overrides)
        sent = params
    else:
        verifier = None
        sent = dict(params)
    r = authorize(server, browser, params, method)
    return classify(server, r, client.redirect_uri if client else None, sent, verifier)


def logout(server, browser, method="GET", **params):
    if method == "GET":
        r = browser.get(server.url("/logout"), params=params, allow_redirects=False, timeout=TIMEOUT)
    else:
        r = browser.post(server.url("/logout"), data=params, allow_redirects=False, timeout=TIMEOUT)
    return follow(server, browser, r)


# --------------------------------------------------------------------------
# token checks shared by the modules
# --------------------------------------------------------------------------

def check_id_token(server, client, id_token, res=None, pid=PID, acr=SUBSTANTIAL, locale="nb"):
    """Verify signature and the claims of spec §10; return the claims."""
    header, c = server.verify(id_token)
    assert header.get("alg") == "RS256" and header.get("kid"), header
    assert c["iss"] == server.issuer
    assert c["aud"] == client.client_id, "aud must be the client_id as a string"
    sub = c.get("sub")
    assert isinstance(sub, str) and len(sub) == 43, f"sub {sub!r} is not 43 characters"
    assert all(ch.isalnum() or ch in "-_" for ch in sub), f"sub {sub!r} not base64url"
    assert c.get("pid") == pid
    assert c.get("acr") == acr
    assert c.get("amr") == ["TestID"]
    assert isinstance(c.get("auth_time"), int)
    assert isinstance(c.get("iat"), int) and isinstance(c.get("exp"), int)
    assert c["exp"] == c["iat"] + 120, f"exp {c['exp']} != iat {c['iat']} + 120"
    assert c["auth_time"] <= c["iat"] + 1
    assert abs(c["iat"] - time.time()) < 60
    assert isinstance(c.get("jti"), str) and c["jti"]
    if res is not None:
        assert c.get("nonce") == res.nonce
    assert c.get("locale") == locale
    assert "at_hash" not in c, "at_hash must not be present"
    if client.fc_session:
        assert isinstance(c.get("sid"), str) and c["sid"], "sid missing for a session_required client"
    else:
        assert "sid" not in c, "sid present for a client without frontchannel_logout_session_required"
    return c


def check_access_token(server, client, at, id_claims=None, scope=None, pid=PID, acr=SUBSTANTIAL,
               lifetime=120):
    """A self-contained access token with the claims of spec §11; return the claims."""
    assert at.count(".") == 2, f"access token is not a JWS: {at[:40]}..."
    header, c = server.verify(at)
    assert header.get("alg") == "RS256" and header.get("kid")
    assert c["iss"] == server.issuer
    assert isinstance(c.get("iat"), int) and c["exp"] == c["iat"] + lifetime
    assert isinstance(c.get("jti"), str) and c["jti"]
    assert c.get("client_id") == client.client_id
    assert c.get("client_amr") == client.auth_method
    assert c.get("consumer") == {"authority": "iso6523-actorid-upis", "ID": f"0192:{ORGNO}"}
    assert "client_orgno" not in c
    assert "aud" not in c, "aud only when resource was requested"
    assert set(c.get("scope", "").split()) == set((scope or client.scope).split())
    assert c.get("acr") == acr
    assert c.get("pid") == pid
    if id_claims is not None:
        assert c.get("sub") == id_claims["sub"]
        assert c["jti"] != id_claims["jti"]
    return c


# --------------------------------------------------------------------------
# front-channel listener (also "hosts" every client's redirect URIs)
# --------------------------------------------------------------------------

class Listener:
    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self, body=b""):
                u = urlsplit(self.path)
                with outer.lock:
                    outer.calls.append({"path": u.path, "params": dict(parse_qsl(u.query, keep_blank_values=True)),
                                "query": u.query, "method": self.command, "body": body})
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def do_GET(self):
                self._record()

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self._record(self.rfile.read(min(n, 1 << 20)))

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def calls_to(self, path):
        with self.lock:
            return [c for c in self.calls if c["path"] == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def loopback_tls_cert(cert, key):
    """A self-signed certificate for 127.0.0.1 (the back-channel logout receivers)."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)


class LogoutReceiver:
    """
    An HTTPS back-channel logout endpoint on 127.0.0.1: answers 503 to the
    first `refuse` deliveries per path, or with hang_first holds the very
    first one unanswered (its sender is to be killed), and 200 to the rest.
    """

    def __init__(self, cert, key, refuse=0, hang_first=False):
        self.refuse = refuse
        self.calls = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(n, 1 << 20)).decode()
                with outer.lock:
                    first = not outer.calls
                    seen = len([c for c in outer.calls if c["path"] == self.path])
                    outer.calls.append({"path": self.path, "ctype": self.headers.get("Content-Type"),
                                        "form": parse_qsl(body, keep_blank_values=True),
                                        "at": time.time()})
                if hang_first and first:
                    outer.release.wait(30)
                    return
                self.send_response(503 if seen < outer.refuse else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.httpd.daemon_threads = True
        self.base = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def calls_to(self, path=None):
        with self.lock:
            return [c for c in self.calls if path is None or c["path"] == path]

    def wait(self, path, n, timeout=40):
        end = time.time() + timeout
        while time.time() < end:
            if len(self.calls_to(path)) >= n:
                break
            time.sleep(0.1)
        return self.calls_to(path)

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="session", autouse=True)
def binaries(tmp_path_factory):
    """
    Run a snapshot of portend/portenctl: the build directory may be rebuilt
    while the suite runs, and a binary replaced under a running server must
    not show up as a server failure.
    """
    global PORTEND, PORTENCTL
    if os.access(PORTEND, os.X_OK) and os.access(PORTENCTL, os.X_OK):
        d = tmp_path_factory.mktemp("bin")
        for name in ("PORTEND", "PORTENCTL"):
            src = globals()[name]
            dst = os.path.join(str(d), os.path.basename(src))
            shutil.copy2(src, dst)
            globals()[name] = dst
    yield


@pytest.fixture(scope="session")
def listener():
    l = Listener()
    yield l
    l.close()


@pytest.fixture(scope="session")
def start_server(tmp_path_factory):
    """Factory: start_server(extra_env) -> a started Server, stopped at session end."""
    started = []

    def _start(extra_env=None):
        s = Server(tmp_path_factory.mktemp("porten"), extra_env)
        s.start()
        started.append(s)
        return s

    yield _start
    for s in started:
        s.stop()


def start_or_skip(s):
    """Start s; skip the test when portend is not built."""
    try:
        s.start()
    except ServerStartError as e:
        if "not built" in str(e):
            pytest.skip(str(e))
        raise
    return s


@pytest.fixture(scope="module")
def server_env(request):
    """The environment of a module's portend: the module's SERVER_ENV = {...};
    a module whose environment needs other fixtures defines its own server_env."""
    return getattr(request.module, "SERVER_ENV", None)


@pytest.fixture(scope="module")
def server(server_env, tmp_path_factory):
    """One portend per test module, started with server_env."""
    s = start_or_skip(Server(tmp_path_factory.mktemp("porten"), server_env))
    yield s
    rc = s.stop()
    assert rc == 0, f"portend did not stop cleanly on SIGTERM (exit {rc}): {s.log_tail()}"


@pytest.fixture
def new_client(server, listener, tmp_path):
    """Factory: new_client(auth=..., refresh=..., fc=..., ...) -> Client registered by portenctl."""
    def _new(**kw):
        return create_client(server, listener, tmp_path, **kw)
    return _new


@pytest.fixture
def ap_client(ap, listener, tmp_path):
    """Factory: a client of integration type ansattporten, registered by portenctl
    (the module gives its Ansattporten as the fixture ap)."""
    def _new(**kw):
        kw.setdefault("scopes", ["openid"])
        return create_client(ap, listener, tmp_path, integration_type="ansattporten", **kw)
    return _new


@pytest.fixture
def new_browser():
    """Factory: a fresh browser (cookie jar) per call."""
    made = []

    def _new():
        b = http()
        made.append(b)
        return b

    yield _new
    for b in made:
        b.close()


def start_upstream_node(port, issuer, clients, **env):
    """
    panva's oidc-provider (tests/upstream/server.mjs) listening on port as
    issuer, with clients (oidc-provider metadata) and the other settings in
    env (ACRS, MODE, ...): the process, once it is ready.
    """
    here = os.path.join(os.path.dirname(__file__), "..", "upstream")
    if not os.path.isdir(os.path.join(here, "node_modules")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=here, check=True,
                       capture_output=True, timeout=300)
    e = dict(os.environ, PORT=str(port), ISSUER=issuer, CLIENTS=json.dumps(clients), **env)
    # stderr to a file: a pipe nobody reads can fill and stall the server.
    err = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen(["node", os.path.join(here, "server.mjs")], env=e,
                         stdout=subprocess.PIPE, stderr=err, text=True)
    # Ready within a minute, or a clear failure instead of a hang.
    ready, _, _ = select.select([p.stdout], [], [], 60)
    line = p.stdout.readline().strip() if ready else ""
    if line != "ready":
        p.kill()
        p.wait()
        err.seek(0)
        pytest.fail(f"the upstream OIDC server did not start on port {port}: {err.read()[-2000:]}")
    err.close()    # the server writes into its own copy of the descriptor
    return p
