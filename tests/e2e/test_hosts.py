"""
One node, two hosts (spec/idporten-oidc.md §1; docs/operations.md "Two
hosts"): with browser_url set, the browser host serves authorize, logout
and the pages, the issuer's host serves PAR, token, userinfo, JWKS,
revocation and introspection.  Here the browser host is
http://localhost:PORT and the issuer http://127.0.0.1:PORT, one listener.

- discovery names authorize and logout on the browser host, the rest on
  the issuer's, for ID-porten and Ansattporten alike;
- a whole login runs its pages on the browser host and its token request
  on the issuer's; a second login rides the SSO cookie of the browser host;
- authorize or logout asked for on the issuer's host is redirected (308,
  query kept) to the browser host; a back-channel endpoint asked for on the
  browser host answers 421;
- a browser_url with a path, the issuer's own host, or http in prod stops
  start-up and --check-config, as an issuer with its default port does.
"""

import re
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import (PID, PORTEND, SUBSTANTIAL, Server, TIMEOUT, auth_params, check_id_token,
                      create_client, follow, login, open_testid, start_or_skip, submit_testid)

BROWSER_PATHS = ("/authorize", "/logout", "/ansattporten/authorize", "/ansattporten/logout")


class TwoHosts(Server):
    """portend with a browser host (localhost) beside its issuer's (127.0.0.1)."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.browser = f"http://localhost:{self.port}"
        self.env["PORTEN_BROWSER_URL"] = self.browser

    def url(self, path):
        if path.split("?")[0] in BROWSER_PATHS:
            return self.browser + path
        return super().url(path)

    def owns(self, url):
        return super().owns(url) or url == self.browser or url.startswith(self.browser + "/")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = start_or_skip(TwoHosts(tmp_path_factory.mktemp("porten")))
    yield s
    assert s.stop() == 0, s.log_tail()


def test_discovery_splits_the_hosts(server):
    for prefix in ("", "/ansattporten"):
        meta = requests.get(f"{server.issuer}{prefix}/.well-known/openid-configuration",
                            timeout=TIMEOUT).json()
        assert meta["issuer"] == server.issuer + prefix
        assert meta["authorization_endpoint"] == f"{server.browser}{prefix}/authorize"
        assert meta["end_session_endpoint"] == f"{server.browser}{prefix}/logout"
        for k in ("token_endpoint", "jwks_uri", "revocation_endpoint", "introspection_endpoint",
                  "pushed_authorization_request_endpoint"):
            assert meta[k].startswith(server.issuer + prefix + "/"), (k, meta[k])


def test_login_on_the_browser_host_tokens_on_the_issuers(server, listener, tmp_path, new_browser):
    c = create_client(server, listener, tmp_path)
    b = new_browser()
    res = login(server, c, b)
    assert res.iss == server.issuer
    # every page of the login was on the browser host, and its cookies are that host's
    hosts = {urlsplit(r.url).netloc for r in res.resp.history} | {urlsplit(res.resp.url).netloc}
    assert hosts == {f"localhost:{server.port}"}, hosts
    assert b.cookies and all(ck.domain.startswith("localhost") for ck in b.cookies), \
        [(ck.name, ck.domain) for ck in b.cookies]
    tok = c.tokens(res)
    check_id_token(server, c, tok["id_token"], res)
    # the SSO session lives on the browser host: a second login needs no eID
    again = login(server, create_client(server, listener, tmp_path), b, expect_eid=False)
    assert again.code


def test_browser_endpoints_move_to_the_browser_host(server, listener, tmp_path):
    c = create_client(server, listener, tmp_path)
    params, _ = auth_params(c)
    r = requests.get(server.issuer + "/authorize", params=params, allow_redirects=False,
                     timeout=TIMEOUT)
    assert r.status_code == 308, r.text
    loc = r.headers["Location"]
    assert loc.startswith(server.browser + "/authorize?") and f"client_id={c.client_id}" in loc
    # a POSTed request keeps its method and body across the 308
    r = requests.post(server.issuer + "/authorize", data=params, allow_redirects=False,
                      timeout=TIMEOUT)
    assert r.status_code == 308 and r.headers["Location"] == server.browser + "/authorize"
    r = requests.get(server.issuer + "/ansattporten/logout", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 308 and r.headers["Location"] == server.browser + "/ansattporten/logout"


def test_krr_pages_on_the_browser_host(server, new_browser):
    """KRR's self-service pages log in, and keep their cookies, on the browser host."""
    server.ctl("krr", "testdata")
    b = new_browser()
    r = b.get(f"{server.issuer}/minprofil?lang=en", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 308 and r.headers["Location"] == f"{server.browser}/minprofil?lang=en"
    r = b.get(r.headers["Location"], allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302 and r.headers["Location"].startswith(f"{server.browser}/authorize?")
    q = parse_qs(urlsplit(r.headers["Location"]).query)
    assert q["redirect_uri"] == [f"{server.browser}/minprofil/callback"]
    r = submit_testid(server, b, open_testid(server, b, follow(server, b, r)), PID, SUBSTANTIAL)
    assert r.status_code == 200 and 'id="current"' in r.text, (r.url, r.text[-600:])
    assert urlsplit(r.url).netloc == f"localhost:{server.port}"
    assert all(ck.domain.startswith("localhost") for ck in b.cookies)
    # its forms post on the browser host and change the register
    tok = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
    r = b.post(f"{server.browser}/minprofil", data={"csrf": tok, "action": "lang", "spraak": "nn"},
               allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200 and 'id="notice"' in r.text
    assert server.ctl("krr", "show", PID)["spraak"] == "nn"
    # the callback is not the issuer host's
    r = b.get(f"{server.issuer}/minprofil/callback?state=x&code=y", allow_redirects=False,
              timeout=TIMEOUT)
    assert r.status_code == 308 and r.headers["Location"].startswith(server.browser)


def test_krr_pages_client_follows_browser_url(tmp_path):
    """Setting browser_url on a node that ran without one moves the pages' callback there."""
    s = start_or_skip(Server(tmp_path))
    try:
        assert s.ctl("client", "show", "krr-minprofil")["redirect_uris"] == \
            [f"{s.issuer}/minprofil/callback"]
    finally:
        assert s.stop() == 0, s.log_tail()
    s.returncode = None
    browser = f"http://localhost:{s.port}"
    s.env["PORTEN_BROWSER_URL"] = browser
    start_or_skip(s)
    try:
        assert s.ctl("client", "show", "krr-minprofil")["redirect_uris"] == \
            [f"{browser}/minprofil/callback"]
    finally:
        assert s.stop() == 0, s.log_tail()


def test_back_channel_is_not_the_browser_hosts(server):
    for method, path in (("POST", "/token"), ("POST", "/par"), ("GET", "/jwks.json"),
                         ("POST", "/revoke"), ("POST", "/token/introspect"), ("GET", "/userinfo"),
                         ("POST", "/ansattporten/token")):
        r = requests.request(method, server.browser + path, data={"x": "y"}, timeout=TIMEOUT,
                             allow_redirects=False)
        assert r.status_code == 421, (path, r.status_code, r.text)
        assert r.json()["error"] == "invalid_request"
    # what is on both: discovery, health, the pages the login sends the browser to
    assert requests.get(server.browser + "/.well-known/openid-configuration",
                        timeout=TIMEOUT).status_code == 200
    assert requests.get(server.issuer + "/health/ready", timeout=TIMEOUT).status_code == 200
    assert requests.get(server.browser + "/health/ready", timeout=TIMEOUT).status_code == 200


def test_browser_url_with_the_default_port(tmp_path):
    """http://login.test:80 is http://login.test: the browser host is served, not redirected to itself."""
    s = Server(tmp_path)
    s.env["PORTEN_BROWSER_URL"] = "http://login.test:80"
    start_or_skip(s)
    try:
        meta = requests.get(s.issuer + "/.well-known/openid-configuration", timeout=TIMEOUT).json()
        assert meta["authorization_endpoint"] == "http://login.test/authorize", meta
        for host in ("login.test", "login.test:80", "LOGIN.test"):
            r = requests.get(s.issuer + "/authorize?client_id=x", headers={"Host": host},
                             allow_redirects=False, timeout=TIMEOUT)
            assert r.status_code != 308, (host, r.headers.get("Location"))
        # from the issuer's host, one redirect to the browser host
        r = requests.get(s.issuer + "/authorize?client_id=x", allow_redirects=False,
                         timeout=TIMEOUT)
        assert r.status_code == 308 and r.headers["Location"] == \
            "http://login.test/authorize?client_id=x", r.headers
    finally:
        assert s.stop() == 0, s.log_tail()


@pytest.mark.parametrize("url,env,why", [
    ("http://localhost:1/login", "test", "an origin"),
    ("login.example.no", "test", "an origin"),
    ("https://", "test", "an origin"),
    ("ISSUER", "test", "the issuer's own host"),
    ("http://login.example.no", "prod", "https in prod"),
])
def test_bad_browser_url_stops_start(tmp_path, url, env, why):
    s = Server(tmp_path)
    env_vars = dict(s.env, PORTEN_BROWSER_URL=url.replace("ISSUER", s.issuer), PORTEN_ENV=env)
    if env == "prod":
        env_vars["PORTEN_ISSUER"] = "https://idporten.example.no"
    p = subprocess.run([PORTEND, "--check-config"], env=env_vars, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0, p.stdout
    assert "browser_url" in p.stderr and why in p.stderr, p.stderr


@pytest.mark.parametrize("issuer,form", [
    ("https://idporten.example.no:443", "https://idporten.example.no,"),
    ("http://127.0.0.1:80/idp", "http://127.0.0.1/idp,"),
])
def test_issuer_with_the_default_port_stops_start(tmp_path, issuer, form):
    """The issuer is taken as written (tokens and discovery carry it), so :443 or :80 is refused."""
    s = Server(tmp_path)
    p = subprocess.run([PORTEND, "--check-config"], env=dict(s.env, PORTEN_ISSUER=issuer),
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0, p.stdout
    assert "default port" in p.stderr and form in p.stderr, p.stderr
