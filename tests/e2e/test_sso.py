"""SSO sessions, prompt, step-up, max_age and logout (spec/idporten-oidc.md §7, §8, §15)."""

import time
import uuid
from urllib.parse import urlsplit

from conftest import (HIGH, PID, PID2, SUBSTANTIAL, Page, auth_params, authorize, check_id_token, classify,
                      follow, http, login, logout, open_testid, start, submit_form, submit_testid, url_base,
                      url_params)


def err(r):
    try:
        return r.json().get("error")
    except ValueError:
        return None


def assert_login_required(server, res, client):
    assert res.kind == "redirect", res
    assert url_base(res.location) == client.redirect_uri
    assert res.error == "login_required", res
    assert res.state == res.sent["state"] and res.iss == server.issuer
    assert "code" not in res.params


def id_claims(server, client, res, **kw):
    tok = client.tokens(res)
    return check_id_token(server, client, tok["id_token"], res, **kw), tok


# ---- SSO ---------------------------------------------------------------------

def test_sso_across_clients(server, new_client, new_browser):
    a, b = new_client(), new_client()
    br = new_browser()
    ca, _ = id_claims(server, a, login(server, a, br, expect_eid=True))
    time.sleep(1.1)
    res = login(server, b, br, expect_eid=False)
    cb, _ = id_claims(server, b, res)
    assert cb["auth_time"] == ca["auth_time"], "SSO must carry the original auth_time"
    assert cb["iat"] > cb["auth_time"]
    assert cb["acr"] == ca["acr"] and cb["pid"] == ca["pid"]
    assert cb["sub"] != ca["sub"]


def test_sso_does_not_leak_to_other_browser(server, new_client, new_browser):
    a = new_client()
    login(server, a, new_browser())
    res = start(server, a, new_browser(), prompt="none")
    assert_login_required(server, res, a)


def test_prompt_none_with_session(server, new_client, new_browser):
    a, b = new_client(), new_client()
    br = new_browser()
    login(server, a, br)
    res = login(server, b, br, prompt="none", expect_eid=False)
    assert res.iss == server.issuer and res.state == res.sent["state"]
    id_claims(server, b, res)


def test_prompt_none_without_session(server, new_client, new_browser):
    a = new_client()
    assert_login_required(server, start(server, a, new_browser(), prompt="none"), a)


def test_prompt_login_forces_eid_and_becomes_the_session(server, new_client, new_browser):
    a, b, d = new_client(), new_client(), new_client()
    br = new_browser()
    login(server, a, br)
    res = login(server, b, br, prompt="login", acr=HIGH, expect_eid=True)
    id_claims(server, b, res, acr=HIGH)
    # the re-authentication became the shared session (§8)
    res = login(server, d, br, expect_eid=False)
    id_claims(server, d, res, acr=HIGH)


def test_step_up(server, new_client, new_browser):
    a, b, d = new_client(), new_client(), new_client()
    br = new_browser()
    ca, _ = id_claims(server, a, login(server, a, br, acr=SUBSTANTIAL))
    res = login(server, b, br, acr=HIGH, acr_values=HIGH, expect_eid=True)
    cb, _ = id_claims(server, b, res, acr=HIGH)
    assert cb["auth_time"] >= ca["auth_time"]
    # the session was raised: a substantial request now gets high without a page
    res = login(server, d, br, expect_eid=False)
    id_claims(server, d, res, acr=HIGH)
    res = login(server, a, br, acr_values=HIGH, expect_eid=False)
    id_claims(server, a, res, acr=HIGH)


def test_step_up_alias(server, new_client, new_browser):
    """The founding working name no:idporten:high is accepted as an alias (§6)."""
    a, b = new_client(), new_client()
    br = new_browser()
    login(server, a, br)
    res = login(server, b, br, acr=HIGH, acr_values="no:idporten:high", expect_eid=True)
    id_claims(server, b, res, acr=HIGH)


def test_step_up_cannot_be_satisfied_lower(server, new_client, new_browser):
    """acr_values is a minimum: a high request never yields a substantial code."""
    c = new_client()
    br = new_browser()
    params, verifier = auth_params(c, acr_values=HIGH)
    t = open_testid(server, br, authorize(server, br, params))
    r = submit_testid(server, br, t, acr=SUBSTANTIAL)
    res = classify(server, r, c.redirect_uri, params, verifier)
    if res.code:
        claims = server.verify(c.tokens(res)["id_token"])[1]
        assert claims["acr"] == HIGH, f"high requested, got {claims['acr']}"


def test_prompt_none_needs_high(server, new_client, new_browser):
    a, b = new_client(), new_client()
    br = new_browser()
    login(server, a, br, acr=SUBSTANTIAL)
    res = start(server, b, br, prompt="none", acr_values=HIGH)
    assert_login_required(server, res, b)


def test_max_age(server, new_client, new_browser):
    a, b = new_client(), new_client()
    br = new_browser()
    ca, _ = id_claims(server, a, login(server, a, br))
    res = login(server, b, br, max_age="3600", expect_eid=False)
    id_claims(server, b, res)
    time.sleep(1.1)
    # the session is older than max_age: no code without a page
    res = start(server, a, br, max_age="0", prompt="none")
    assert_login_required(server, res, a)
    res = login(server, b, br, max_age="0", expect_eid=True)
    cb, _ = id_claims(server, b, res)
    assert cb["auth_time"] > ca["auth_time"]


# ---- SSO-free clients (§8) -----------------------------------------------

def test_sso_disabled_first_login_authenticates(server, new_client, new_browser):
    a, b = new_client(), new_client()
    free = new_client(sso_disabled=True)
    br = new_browser()
    ca, _ = id_claims(server, a, login(server, a, br, pid=PID))
    # prompt=none cannot use the shared session
    assert_login_required(server, start(server, free, br, prompt="none"), free)
    # its first login shows the eID page despite the live shared session
    res = login(server, free, br, pid=PID2, expect_eid=True)
    cf, _ = id_claims(server, free, res, pid=PID2)
    # the shared session is unchanged: same person, same auth_time
    res = login(server, b, br, expect_eid=False)
    cb, _ = id_claims(server, b, res, pid=PID)
    assert cb["auth_time"] == ca["auth_time"]
    # a later login to the SSO-free client may reuse its own session, never the shared one
    res = login(server, free, br, pid=PID2)
    id_claims(server, free, res, pid=PID2)


def test_sso_disabled_does_not_create_shared_session(server, new_client, new_browser):
    a = new_client()
    free = new_client(sso_disabled=True)
    br = new_browser()
    login(server, free, br, expect_eid=True)
    assert_login_required(server, start(server, a, br, prompt="none"), a)


# ---- logout (§15) --------------------------------------------------------------

def test_logout_with_front_channel(server, listener, new_client, new_browser):
    a = new_client(fc=True, fc_session=True, refresh=True, introspect=True)
    b = new_client(fc=True, fc_session=False)
    c = new_client()
    br = new_browser()
    ta = a.tokens(login(server, a, br))
    ca = check_id_token(server, a, ta["id_token"])
    login(server, b, br, expect_eid=False)
    login(server, c, br, expect_eid=False)
    state = "bye-" + uuid.uuid4().hex

    r = logout(server, br, id_token_hint=ta["id_token"], post_logout_redirect_uri=a.post_logout_redirect_uri,
               state=state)
    assert r.status_code == 200, f"{r.status_code} {r.headers} {r.text[:500]}"
    page = Page(r.text)
    srcs = [s for s in page.iframes if s]
    assert len(srcs) == 2, f"want one iframe per front-channel client (a, b), got {srcs}"
    by_base = {url_base(s): s for s in srcs}
    assert set(by_base) == {a.frontchannel_logout_uri, b.frontchannel_logout_uri}, by_base
    pa = url_params(by_base[a.frontchannel_logout_uri])
    assert pa.get("iss") == server.issuer
    assert pa.get("sid") == ca["sid"], "front-channel sid differs from the ID token's sid"
    assert "sid" not in url_params(by_base[b.frontchannel_logout_uri])
    # act as the browser: load the iframes; the clients' listener records the calls
    for s in srcs:
        assert http().get(s, timeout=10).status_code == 200
    calls_a = listener.calls_to(urlsplit(a.frontchannel_logout_uri).path)
    calls_b = listener.calls_to(urlsplit(b.frontchannel_logout_uri).path)
    assert len(calls_a) == 1 and calls_a[0]["params"] == {"iss": server.issuer, "sid": ca["sid"]}
    assert len(calls_b) == 1 and "sid" not in calls_b[0]["params"]
    # the continue link goes to the registered post_logout_redirect_uri with state
    cont = [l["href"] for l in page.links if l["id"] == "continue"]
    assert len(cont) == 1, page.links
    assert url_base(cont[0]) == a.post_logout_redirect_uri
    assert url_params(cont[0]).get("state") == state

    # the session is gone
    assert_login_required(server, start(server, b, br, prompt="none"), b)
    assert_login_required(server, start(server, a, br, prompt="none"), a)
    # tokens of the login-only grants issued in it are invalid (§15 step 3)
    r = a.refresh(ta["refresh_token"])
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    ui = server.get("/userinfo", headers={"Authorization": "Bearer " + ta["access_token"]})
    intro = a.introspect(ta["access_token"]).json()
    assert ui.status_code == 401 or intro == {"active": False}, \
        f"access token still usable after logout: userinfo {ui.status_code}, introspection {intro}"


def test_logout_without_front_channel_redirects(server, new_client, new_browser):
    a = new_client()
    br = new_browser()
    ta = a.tokens(login(server, a, br))
    r = logout(server, br, method="POST", id_token_hint=ta["id_token"],
               post_logout_redirect_uri=a.post_logout_redirect_uri, state="s1 2")
    assert r.status_code in (302, 303), f"{r.status_code} {r.text[:400]}"
    loc = r.headers["Location"]
    assert url_base(loc) == a.post_logout_redirect_uri
    assert url_params(loc) == {"state": "s1 2"}
    assert_login_required(server, start(server, a, br, prompt="none"), a)


def test_logout_with_client_id_only(server, new_client, new_browser):
    a = new_client()
    br = new_browser()
    login(server, a, br)
    r = logout(server, br, client_id=a.client_id, post_logout_redirect_uri=a.post_logout_redirect_uri,
               state="x")
    # without an id_token_hint the user confirms first (logout CSRF)
    assert r.status_code == 200 and Page(r.text).form("logout-confirm-form"), r.text[:400]
    assert_login_required(server, start(server, a, new_browser(), prompt="none"), a)
    r = follow(server, br, submit_form(br, r, "logout-confirm-form"))
    assert r.status_code in (302, 303), r.text[:400]
    assert url_base(r.headers["Location"]) == a.post_logout_redirect_uri
    assert_login_required(server, start(server, a, br, prompt="none"), a)


def test_logout_unregistered_redirect_stays_home(server, new_client, new_browser):
    a = new_client()
    br = new_browser()
    ta = a.tokens(login(server, a, br))
    evil = "http://127.0.0.1:9/evil"
    r = logout(server, br, id_token_hint=ta["id_token"], post_logout_redirect_uri=evil, state="x")
    assert not (r.status_code in (301, 302, 303, 307) and not server.owns(r.headers.get("Location", ""))), \
        f"redirected off-site: {r.headers.get('Location')}"
    assert evil not in [l["href"] for l in Page(r.text).links]
    assert not Page(r.text).meta_refresh


def test_logout_needs_the_session_cookie(server, new_client, new_browser):
    """An id_token_hint alone (another browser, no cookie) neither redirects nor ends the session."""
    a = new_client()
    victim = new_browser()
    ta = a.tokens(login(server, a, victim))
    r = logout(server, new_browser(), id_token_hint=ta["id_token"],
               post_logout_redirect_uri=a.post_logout_redirect_uri, state="x")
    assert a.post_logout_redirect_uri not in [url_base(l["href"] or "") for l in Page(r.text).links]
    assert not (r.status_code in (301, 302, 303, 307) and not server.owns(r.headers.get("Location", ""))), \
        f"redirected without a session: {r.headers.get('Location')}"
    login(server, a, victim, prompt="none", expect_eid=False)


def test_logout_with_another_sessions_id_token_asks(server, new_client, new_browser):
    """An ID token of ours from another session (here another person's, any
    attacker's own login) does not speak for the session in the cookie: the
    user confirms first, and nothing ends before."""
    a, x = new_client(), new_client()
    victim = new_browser()
    login(server, a, victim)
    tx = x.tokens(login(server, x, new_browser(), pid=PID2))
    r = logout(server, victim, id_token_hint=tx["id_token"],
               post_logout_redirect_uri=x.post_logout_redirect_uri, state="s")
    assert r.status_code == 200 and Page(r.text).form("logout-confirm-form"), r.text[:400]
    login(server, a, victim, prompt="none", expect_eid=False)
    # confirmed, the session ends and the hint's client gets its redirect
    r = logout(server, victim, id_token_hint=tx["id_token"],
               post_logout_redirect_uri=x.post_logout_redirect_uri, state="s")
    r = follow(server, victim, submit_form(victim, r, "logout-confirm-form"))
    assert r.status_code in (302, 303), r.text[:400]
    assert url_base(r.headers["Location"]) == x.post_logout_redirect_uri
    assert_login_required(server, start(server, a, victim, prompt="none"), a)


def test_logout_sso_free_is_independent(server, listener, new_client, new_browser):
    a = new_client(fc=True)
    free = new_client(sso_disabled=True, fc=True)
    br = new_browser()
    login(server, a, br)
    tf = free.tokens(login(server, free, br, pid=PID2, expect_eid=True))
    reuse = login(server, free, br, pid=PID2)
    reuses_own = not reuse.eid_shown
    # logging out of the SSO-free client ends only its own session
    r = logout(server, br, id_token_hint=tf["id_token"], post_logout_redirect_uri=free.post_logout_redirect_uri,
               state="s")
    assert r.status_code == 200, f"{r.status_code} {r.text[:300]}"
    srcs = [url_base(s) for s in Page(r.text).iframes if s]
    assert srcs == [free.frontchannel_logout_uri], f"iframes outside the SSO-free session: {srcs}"
    login(server, a, br, prompt="none", expect_eid=False)
    assert_login_required(server, start(server, free, br, prompt="none"), free)
    # and logging out of the shared session leaves the SSO-free session alone
    tf = free.tokens(login(server, free, br, pid=PID2, expect_eid=True))
    ta = a.tokens(login(server, a, br, expect_eid=False))
    r = logout(server, br, id_token_hint=ta["id_token"], post_logout_redirect_uri=a.post_logout_redirect_uri,
               state="s")
    assert r.status_code == 200, f"{r.status_code} {r.text[:300]}"
    srcs = [url_base(s) for s in Page(r.text).iframes if s]
    assert srcs == [a.frontchannel_logout_uri], f"iframes outside the shared session: {srcs}"
    assert_login_required(server, start(server, a, br, prompt="none"), a)
    if reuses_own:
        res = login(server, free, br, prompt="none", expect_eid=False)
        id_claims(server, free, res, pid=PID2)


def test_logout_keeps_data_sharing_grants(server, new_client, new_browser):
    """Grants with API scopes outlive the session; login-only grants do not (§15 step 3)."""
    name = f"e2etest:data.{uuid.uuid4().hex[:8]}"
    server.ctl("scope", "create", "--name", name, "--description", "e2e", "--allowed-integration-type", "api_klient")
    a = new_client(refresh=True)
    d = new_client(integration_type="api_klient", scopes=["openid", "profile", name], refresh=True)
    br = new_browser()
    ta = a.tokens(login(server, a, br))
    td = d.tokens(login(server, d, br, scope=f"openid profile {name}", expect_eid=False))
    r = logout(server, br, id_token_hint=ta["id_token"], post_logout_redirect_uri=a.post_logout_redirect_uri,
               state="s")
    assert r.status_code in (200, 302, 303)
    assert err(a.refresh(ta["refresh_token"])) == "invalid_grant"
    r = d.refresh(td["refresh_token"])
    assert r.status_code == 200, f"data-sharing grant died with the session: {r.text}"


def test_session_cookie_changes_on_reauthentication(server, new_client, new_browser):
    """Session fixation: a cookie known before a (re-)authentication is worthless after it."""
    a, b = new_client(), new_client()
    br = new_browser()
    login(server, a, br)
    before = br.cookies.get("PORTEN_SSO")
    assert before
    login(server, b, br, prompt="login", acr=HIGH, expect_eid=True)
    after = br.cookies.get("PORTEN_SSO")
    assert after and after != before
    # the old cookie alone no longer names a session
    old = new_browser()
    old.cookies.set("PORTEN_SSO", before)
    assert_login_required(server, start(server, a, old, prompt="none"), a)
