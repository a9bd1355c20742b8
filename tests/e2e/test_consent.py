"""The consent step of a login and prompt=none (spec/idporten-oidc.md §7 step 6, §4, §13)."""

import uuid
from urllib.parse import urljoin

from conftest import (PID, PID2, SUBSTANTIAL, TIMEOUT, Page, auth_params, authorize, classify, follow, login,
                      open_testid, post_form_at_once, start, submit_form, submit_testid, url_base)

LONG = "Reads <b>your</b> **data** & more"


def consent_scope(server, desc="Read your e2e data"):
    name = f"e2etest:consent.{uuid.uuid4().hex[:8]}"
    server.ctl("scope", "create", "--name", name, "--description", desc, "--long-description", LONG,
               "--requires-user-consent", "--allowed-integration-type", "api_klient")
    return name


def consent_client(server, new_client, name):
    return new_client(integration_type="api_klient", scopes=["openid", "profile", name])


def to_consent(server, client, br, scope, pid=PID, **overrides):
    """Authorize, log in with TestID if asked; return (params, verifier, last response)."""
    params, verifier = auth_params(client, scope=scope, **overrides)
    r = authorize(server, br, params)
    res = classify(server, r, client.redirect_uri, params, verifier)
    if res.kind == "page" and Page(r.text).form("consent-accept") is None:
        r = submit_testid(server, br, open_testid(server, br, r), pid)
    return params, verifier, r


def answer(server, client, br, r, params, verifier, form_id):
    r = follow(server, br, submit_form(br, r, form_id))
    res = classify(server, r, client.redirect_uri, params, verifier)
    return res


def scopes_of(tok):
    return set(tok.get("scope", "").split())


def assert_consent_page(r, name):
    assert r.status_code == 200, r.text[:600]
    page = Page(r.text)
    assert page.form("consent-accept") is not None, r.text[:1200]
    assert page.form("consent-decline") is not None
    assert page.form("cancel-form") is not None
    assert "Read your e2e data" in r.text
    # long_description is plain text: escaped, never markup
    assert "&lt;b&gt;your&lt;/b&gt;" in r.text and "<b>your</b>" not in r.text
    assert 'id="consent-duration"' in r.text
    assert name in r.text


def at_consent(server, new_client, new_browser, scope_extra="openid profile", **overrides):
    """A consent scope, a client with it and a browser on its consent page.

    Returns (name, client, browser, params, verifier, consent page response).
    """
    name = consent_scope(server)
    c = consent_client(server, new_client, name)
    br = new_browser()
    scope = f"{scope_extra} {name}".strip()
    params, verifier, r = to_consent(server, c, br, scope, **overrides)
    assert_consent_page(r, name)
    return name, c, br, params, verifier, r


def test_accept_gives_scope_and_is_remembered(server, new_client, new_browser):
    name, c, br, params, verifier, r = at_consent(server, new_client, new_browser)
    scope = f"openid profile {name}"
    res = answer(server, c, br, r, params, verifier, "consent-accept")
    assert res.kind == "redirect" and res.code, res
    assert res.state == params["state"] and res.iss == server.issuer
    tok = c.tokens(res)
    assert name in scopes_of(tok), tok.get("scope")

    # second login over SSO: no consent page, the scope is granted again
    res = login(server, c, br, scope=scope, expect_eid=False)
    assert name in scopes_of(c.tokens(res))
    # remembered per person, not per browser
    res = login(server, c, new_browser(), scope=scope, expect_eid=True)
    assert name in scopes_of(c.tokens(res))
    # ...and per person: someone else is asked
    params, verifier, r = to_consent(server, c, new_browser(), scope, pid=PID2)
    assert Page(r.text).form("consent-accept") is not None, r.text[:600]


def test_decline_leaves_scope_out(server, new_client, new_browser):
    name, c, br, params, verifier, r = at_consent(server, new_client, new_browser)
    scope = f"openid profile {name}"
    res = answer(server, c, br, r, params, verifier, "consent-decline")
    assert res.kind == "redirect" and res.code, res
    tok = c.tokens(res)
    got = scopes_of(tok)
    assert name not in got and "openid" in got, tok.get("scope")
    assert tok.get("id_token")
    # a decline is not remembered: the next login asks again
    params, verifier, r = to_consent(server, c, br, scope)
    assert Page(r.text).form("consent-accept") is not None, r.text[:600]


def test_decline_of_every_scope_is_access_denied(server, new_client, new_browser):
    name, c, br, params, verifier, r = at_consent(server, new_client, new_browser, "", nonce=None)
    res = answer(server, c, br, r, params, verifier, "consent-decline")
    assert res.kind == "redirect" and res.error == "access_denied", res
    assert "code" not in res.params
    # the login paused for consent still started the person's session: SSO without the scope
    res = login(server, c, br, prompt="none", scope="openid profile", expect_eid=False)
    assert res.code, res


def test_prompt_none_needs_consent(server, new_client, new_browser):
    name = consent_scope(server)
    c = consent_client(server, new_client, name)
    plain = new_client()
    scope = f"openid profile {name}"
    br = new_browser()
    login(server, plain, br)          # a live SSO session
    res = start(server, c, br, prompt="none", scope=scope)
    assert res.kind == "redirect", res
    assert url_base(res.location) == c.redirect_uri
    assert res.error == "consent_required", res
    assert res.state == res.sent["state"] and res.iss == server.issuer
    assert "code" not in res.params
    # without the consent scope, prompt=none still yields a code
    res = login(server, c, br, prompt="none", scope="openid profile", expect_eid=False)
    assert res.code
    # after consent, prompt=none yields a code with the scope
    params, verifier, r = to_consent(server, c, br, scope)
    assert_consent_page(r, name)
    assert answer(server, c, br, r, params, verifier, "consent-accept").code
    res = login(server, c, br, prompt="none", scope=scope, expect_eid=False)
    assert name in scopes_of(c.tokens(res))


def test_consent_form_is_guarded(server, new_client, new_browser):
    name, c, br, params, verifier, r = at_consent(server, new_client, new_browser)
    form = Page(r.text).form("consent-accept")
    target = urljoin(r.url, form["action"])
    fields = dict(form["fields"])
    # forged CSRF token
    bad = br.post(target, data=dict(fields, csrf="x" * 43, decision="accept"),
                  allow_redirects=False, timeout=TIMEOUT)
    assert bad.status_code == 403
    # another browser cannot use the pending consent
    other = new_browser()
    r2 = other.post(target, data=dict(fields, decision="accept"), allow_redirects=False, timeout=TIMEOUT)
    assert r2.status_code == 400
    assert other.get(r.url, allow_redirects=False, timeout=TIMEOUT).status_code == 400
    # a decision that is neither
    r3 = br.post(target, data=dict(fields, decision="maybe"), allow_redirects=False, timeout=TIMEOUT)
    assert r3.status_code == 400
    # a missing or overlong pending id, shown or posted
    for ar in (None, "a" * 4000):
        data = {k: v for k, v in dict(fields, ar=ar, decision="accept").items() if v is not None}
        assert br.post(target, data=data, allow_redirects=False, timeout=TIMEOUT).status_code == 400
        query = {} if ar is None else {"ar": ar}
        shown = br.get(target, params=query, allow_redirects=False, timeout=TIMEOUT)
        assert shown.status_code == 400
    # the genuine form still works once, then the pending consent is spent
    res = answer(server, c, br, r, params, verifier, "consent-accept")
    assert res.code, res
    again = br.post(target, data=dict(fields, decision="accept"), allow_redirects=False, timeout=TIMEOUT)
    assert again.status_code == 400


def test_consent_form_posted_at_once_issues_one_code(server, new_client, new_browser):
    """The same form posted many times at once: exactly one post issues a code."""
    name, c, br, params, verifier, r = at_consent(server, new_client, new_browser)
    answers, codes = post_form_at_once(br, r, "consent-accept", {"decision": "accept"})
    assert len(codes) == 1, [(a.status_code, a.headers.get("Location")) for a in answers]
    assert all(a.status_code == 400 for a in answers if a is not codes[0])


def test_login_form_posted_at_once_before_consent(server, new_client, new_browser):
    """
    The TestID form of a login that needs consent posted eight times at once
    (two tabs, a double click): one post goes on to the consent page, every
    other gets the finished page.  None runs the login's steps a second
    time: no server error at the client, no consent page twice, no code.
    """
    name = consent_scope(server)
    c = consent_client(server, new_client, name)
    br = new_browser()
    params, verifier = auth_params(c, scope=f"openid profile {name}")
    t = open_testid(server, br, authorize(server, br, params))
    answers, codes = post_form_at_once(br, t, "testid-form", {"pid": PID, "acr": SUBSTANTIAL})
    seen = [(a.status_code, a.headers.get("Location")) for a in answers]
    assert not codes, seen
    going = [a for a in answers if a.status_code != 400]
    assert len(going) == 1, seen
    for a in answers:
        if a is not going[0]:
            assert "Location" not in a.headers, seen
            assert "the login has expired or was finished" in a.text, a.text[:600]
    # the post that went on carries the new session; the consent page follows
    br.cookies.update(going[0].cookies)
    r = follow(server, br, going[0])
    assert_consent_page(r, name)
    res = answer(server, c, br, r, params, verifier, "consent-accept")
    assert res.code and res.state == params["state"], res
    assert name in scopes_of(c.tokens(res))


def test_cancel_on_consent_page(server, new_client, new_browser):
    name, c, br, params, verifier, r = at_consent(server, new_client, new_browser)
    res = answer(server, c, br, r, params, verifier, "cancel-form")
    assert res.kind == "redirect" and res.error == "access_denied", res
    assert res.state == params["state"] and res.iss == server.issuer


def test_consent_page_is_translated(server, new_client, new_browser):
    name = consent_scope(server)
    c = consent_client(server, new_client, name)
    br = new_browser()
    params, verifier, r = to_consent(server, c, br, f"openid profile {name}", ui_locales="en")
    assert "Accept" in r.text and "Decline" in r.text
    nb = br.get(r.url + "&lang=nb", allow_redirects=False, timeout=TIMEOUT)
    assert nb.status_code == 200 and "Godta" in nb.text and "Avslå" in nb.text
