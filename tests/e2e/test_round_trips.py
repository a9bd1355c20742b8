"""The requests a browser makes for one login (docs/login-flow.md "Requests of a login").

Each case records every request the browser sends to Porten from the
client's redirect to /authorize until the code leaves for the client, and
checks the list: /authorize answers with the eID selector itself (no
redirect to /login), an eID's last form answers with the redirect to the
client when nothing else is to be asked, an SSO login is answered by
/authorize.  Then the hostile side of the selector answered by /authorize:
its CSRF token, the browser binding, reload, Back, the language switch and
cancel.
"""

import re
import uuid
from urllib.parse import urljoin, urlsplit

import pytest

from conftest import (PID, TIMEOUT, Page, auth_params, classify, follow, submit_form, url_params)
import test_minid as minid

SERVER_ENV = dict(minid.SERVER_ENV)


class Trace:
    """Every request a browser (requests.Session) makes: (method, path, status)."""

    def __init__(self, server, browser):
        self.server = server
        self.seen = []
        browser.hooks["response"].append(self._record)

    def _record(self, resp, *args, **kwargs):
        if self.server.owns(resp.url):
            self.seen.append((resp.request.method, urlsplit(resp.url).path, resp.status_code))

    def __repr__(self):
        return repr(self.seen)


def go(server, browser, url, **kw):
    """GET url and follow Porten's own redirects, as a browser does (each hop is traced)."""
    return follow(server, browser, browser.get(url, allow_redirects=False, timeout=TIMEOUT, **kw))


def selector_ar(r):
    """The pending authorization's ar from the links of a selector page."""
    m = re.search(r"/testid\?ar=([\w-]+)", r.text)
    assert m, r.text[:800]
    return m.group(1)


def via_testid(server, browser, selector, pid=PID):
    """Selector → TestID page → its form posted; the answer to the post (not followed)."""
    page = Page(selector.text)
    href = [l["href"] for l in page.links if l["id"] == "eid-testid"][0]
    t = go(server, browser, urljoin(selector.url, href))
    assert t.status_code == 200 and Page(t.text).form("testid-form"), t.text[:600]
    return submit_form(browser, t, "testid-form", {"pid": pid, "acr": "idporten-loa-substantial"})


def at_client(server, client, resp, params, verifier=None):
    res = classify(server, resp, client.redirect_uri, params, verifier)
    assert res.kind == "redirect" and res.code and res.state == params["state"], res
    assert res.iss == server.issuer
    return res


# --------------------------------------------------------------------------
# the requests of each kind of login
# --------------------------------------------------------------------------

def test_testid_login_requests(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    t = Trace(server, b)
    params, verifier = auth_params(c)
    sel = go(server, b, server.url("/authorize"), params=params)
    assert sel.status_code == 200 and Page(sel.text).links, sel.text[:600]
    res = at_client(server, c, via_testid(server, b, sel), params, verifier)
    assert t.seen == [("GET", "/authorize", 200), ("GET", "/testid", 200),
                      ("POST", "/testid", 302)], t
    assert c.tokens(res)["id_token"]


def test_minid_login_requests(server, new_client, new_browser):
    pid, mobile = minid.create_account(server)
    c = new_client()
    b = new_browser()
    t = Trace(server, b)
    params, _ = auth_params(c)
    sel = go(server, b, server.url("/authorize"), params=params)
    page = minid.open_minid(server, b, sel)
    r = follow(server, b, submit_form(b, page, "minid-login-form",
                                      {"pid": pid, "password": minid.PASSWORD}))
    assert Page(r.text).form("minid-code-form"), r.text[:600]
    r = submit_form(b, r, "minid-code-form", {"code": minid.last_code(server, mobile)})
    at_client(server, c, r, params)
    # The password's answer stays a redirect to the code page (post, redirect, get):
    # a reload of the code page must not send the password again.
    assert t.seen == [("GET", "/authorize", 200), ("GET", "/minid", 200), ("POST", "/minid", 302),
                      ("GET", "/minid/code", 200), ("POST", "/minid/code", 302)], t


def consent_scope(server):
    name = f"e2etest:trips.{uuid.uuid4().hex[:8]}"
    server.ctl("scope", "create", "--name", name, "--description", "Read your trip data",
               "--requires-user-consent", "--allowed-integration-type", "api_klient")
    return name


def test_consent_login_requests(server, new_client, new_browser):
    name = consent_scope(server)
    c = new_client(integration_type="api_klient", scopes=["openid", name])
    b = new_browser()
    t = Trace(server, b)
    params, _ = auth_params(c, scope=f"openid {name}")
    sel = go(server, b, server.url("/authorize"), params=params)
    r = via_testid(server, b, sel)
    # A step follows: the eID's post answers with the redirect to the consent page.
    assert r.status_code in (302, 303) and "/consent?ar=" in r.headers["Location"], r.headers
    r = follow(server, b, r)
    r = submit_form(b, r, "consent-accept")
    at_client(server, c, r, params)
    assert t.seen == [("GET", "/authorize", 200), ("GET", "/testid", 200), ("POST", "/testid", 302),
                      ("GET", "/consent", 200), ("POST", "/consent", 302)], t


def test_sso_login_requests(server, new_client, new_browser):
    c1, c2 = new_client(), new_client()
    b = new_browser()
    params, _ = auth_params(c1)
    at_client(server, c1, via_testid(server, b, go(server, b, server.url("/authorize"), params=params)), params)
    t = Trace(server, b)
    params, _ = auth_params(c2)
    at_client(server, c2, go(server, b, server.url("/authorize"), params=params), params)
    assert t.seen == [("GET", "/authorize", 302)], t


def test_par_login_requests(server, new_client, new_browser):
    c = new_client()
    params, _ = auth_params(c)
    j = c.par(**params).json()
    b = new_browser()
    t = Trace(server, b)
    sel = go(server, b, server.url("/authorize"), params={"client_id": c.client_id,
                                                  "request_uri": j["request_uri"]})
    assert sel.status_code == 200, sel.text[:600]
    at_client(server, c, via_testid(server, b, sel), params)
    assert t.seen == [("GET", "/authorize", 200), ("GET", "/testid", 200),
                      ("POST", "/testid", 302)], t


def test_post_authorize_answers_with_the_selector(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    params, _ = auth_params(c)
    sel = b.post(server.url("/authorize"), data=params, allow_redirects=False, timeout=TIMEOUT)
    assert sel.status_code == 200
    at_client(server, c, via_testid(server, b, sel), params)


# --------------------------------------------------------------------------
# the selector answered by /authorize: its address, and hostile input
# --------------------------------------------------------------------------

def selector_url(server, ar):
    """The selector's own address as its pages write it (the issuer's path, then /login)."""
    return urlsplit(server.issuer).path + f"/login?ar={ar}"


def start_login(server, c, b, **overrides):
    params, _ = auth_params(c, **overrides)
    sel = go(server, b, server.url("/authorize"), params=params)
    assert sel.status_code == 200, sel.text[:600]
    return params, sel, selector_ar(sel)


def test_selector_names_its_own_address(server, new_client, new_browser):
    """The page's script puts /login?ar= in the address bar; its policy allows that script only."""
    c = new_client()
    b = new_browser()
    _, sel, ar = start_login(server, c, b)
    m = re.search(r'<script nonce="([\w-]+)" data-url="([^"]+)">history\.replaceState\(', sel.text)
    assert m, sel.text[-800:]
    assert m.group(2) == selector_url(server, ar)
    csp = sel.headers["Content-Security-Policy"]
    assert f"script-src 'nonce-{m.group(1)}'" in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert sel.headers["Cache-Control"] == "no-store"
    # the selector at /login?ar= itself has no script and the default policy
    r = go(server, b, urljoin(sel.url, m.group(2)))
    assert r.status_code == 200 and "<script" not in r.text
    assert "script-src" not in r.headers["Content-Security-Policy"]
    # a second /authorize makes another nonce
    _, sel2, _ = start_login(server, c, b)
    assert re.search(r'<script nonce="([\w-]+)"', sel2.text).group(1) != m.group(1)


def test_reload_and_back_show_the_selector_again(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    params, sel, ar = start_login(server, c, b)
    # the reload (of the address the page named) and Back from the eID page
    for _ in range(2):
        r = go(server, b, server.url(f"/login?ar={ar}"))
        assert r.status_code == 200 and selector_ar(r) == ar
    t = go(server, b, server.url(f"/testid?ar={ar}"))
    assert t.status_code == 200
    r = go(server, b, server.url(f"/login?ar={ar}"))
    assert r.status_code == 200 and selector_ar(r) == ar
    # a reload of /authorize itself (a browser without scripts) starts the login again
    again = go(server, b, server.url("/authorize"), params=params)
    assert again.status_code == 200 and selector_ar(again) != ar
    # the first pending authorization is still good: finish it
    at_client(server, c, via_testid(server, b, r), params)
    # Back after the login: the finished login's pages are an error page, never a 500
    for path in ("/login", "/testid"):
        r = go(server, b, server.url(f"{path}?ar={ar}"))
        assert r.status_code == 400 and "expired or was finished" in r.text, (path, r.status_code)
    # and /authorize again is answered from the session
    params, _ = auth_params(c)
    at_client(server, c, go(server, b, server.url("/authorize"), params=params), params)


def test_par_reload_shows_the_selector(server, new_client, new_browser):
    c = new_client()
    params, _ = auth_params(c)
    j = c.par(**params).json()
    b = new_browser()
    sel = go(server, b, server.url("/authorize"), params={"client_id": c.client_id,
                                                  "request_uri": j["request_uri"]})
    ar = selector_ar(sel)
    assert f'data-url="{selector_url(server, ar)}"' in sel.text
    r = go(server, b, server.url(f"/login?ar={ar}"))
    assert r.status_code == 200 and selector_ar(r) == ar
    at_client(server, c, via_testid(server, b, r), params)


def test_wrong_csrf_on_the_eid_form(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    params, sel, ar = start_login(server, c, b)
    t = go(server, b, server.url(f"/testid?ar={ar}"))
    for bad in ("", "x" * 43, None):
        values = {"pid": PID, "acr": "idporten-loa-substantial", "csrf": bad}
        form = Page(t.text).form("testid-form")
        fields = [(k, v) for k, v in form["fields"] if k not in values]
        fields += [(k, v) for k, v in values.items() if v is not None]
        r = b.post(urljoin(t.url, form["action"]), data=fields, allow_redirects=False,
                   timeout=TIMEOUT)
        assert r.status_code == 403, (bad, r.status_code, r.headers.get("Location"))
    # the pending authorization survived the forged posts
    at_client(server, c, via_testid(server, b, go(server, b, server.url(f"/login?ar={ar}"))), params)


def test_other_browser_gets_nothing(server, new_client, new_browser):
    c = new_client()
    b, other = new_browser(), new_browser()
    params, sel, ar = start_login(server, c, b)
    t = go(server, b, server.url(f"/testid?ar={ar}"))
    csrf = dict(Page(t.text).form("testid-form")["fields"])["csrf"]
    # a browser without the binding cookie, and one with a login of its own
    for path in ("/login", "/testid"):
        r = go(server, other, server.url(f"{path}?ar={ar}"))
        assert r.status_code == 400 and "Location" not in r.headers, (path, r.status_code)
    start_login(server, c, other)
    for path in ("/login", "/testid"):
        r = go(server, other, server.url(f"{path}?ar={ar}"))
        assert r.status_code == 400 and "another browser" in r.text, (path, r.status_code)
    r = other.post(server.url("/testid"), data={"ar": ar, "csrf": csrf, "pid": PID,
                                                "acr": "idporten-loa-substantial"},
                   allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400 and "Location" not in r.headers
    r = other.post(server.url("/cancel"), data={"ar": ar, "csrf": csrf},
                   allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400 and "Location" not in r.headers
    at_client(server, c, via_testid(server, b, sel), params)


def test_language_switch_and_cancel_from_the_selector(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    params, sel, ar = start_login(server, c, b)
    hrefs = [l["href"] for l in Page(sel.text).links if l["href"] and "lang=en" in l["href"]]
    assert hrefs and hrefs[0].startswith(selector_url(server, ar)), hrefs
    r = go(server, b, urljoin(sel.url, hrefs[0]))
    assert r.status_code == 200 and "Choose electronic ID" in r.text
    assert b.cookies.get("IDPORTEN_SELECTED_LANGUAGE") == "en"
    # cancel from the page /authorize answered: access_denied at the client
    r = submit_form(b, sel, "cancel-form")
    res = classify(server, r, c.redirect_uri, params)
    assert res.kind == "redirect" and res.error == "access_denied" and res.state == params["state"]
    # cancelled: the selector is gone, not a 500
    r = go(server, b, server.url(f"/login?ar={ar}"))
    assert r.status_code == 400


def test_prompt_none_and_errors_stay_redirects(server, new_client, new_browser):
    """/authorize answers with a page only for a login to show; errors go to the client as before."""
    c = new_client()
    b = new_browser()
    params, _ = auth_params(c, prompt="none")
    r = go(server, b, server.url("/authorize"), params=params)
    res = classify(server, r, c.redirect_uri, params)
    assert res.kind == "redirect" and res.error == "login_required"
    params, _ = auth_params(c, scope="openid nosuchscope")
    res = classify(server, go(server, b, server.url("/authorize"), params=params), c.redirect_uri, params)
    assert res.kind == "redirect" and res.error == "invalid_scope"
    assert url_params(r.headers["Location"])["iss"] == server.issuer
