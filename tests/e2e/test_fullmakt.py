"""authorization_details of type idporten:fullmakt at ID-porten (spec/idporten-oidc.md §21)."""

import json
import re
import time

import pytest

from conftest import (PID, PID2, SUBSTANTIAL, Page, auth_params, authorize, classify, finish_login, login,
                      start, submit_form)


def test_discovery_lists_fullmakt(server):
    d = server.get("/.well-known/openid-configuration").json()
    assert d["authorization_details_types_supported"] == ["idporten:fullmakt"]


@pytest.mark.parametrize("rar", [
    "not json",
    "{}",
    "[]",
    json.dumps([{"type": "idporten:unknown"}]),
    json.dumps([{"type": "idporten:fullmakt", "permission_roles": ["arbeid"], "extra": 1}]),
    json.dumps([{"type": "idporten:fullmakt"}]),
    json.dumps([{"type": "idporten:fullmakt", "permission_roles": []}]),
    json.dumps([{"type": "idporten:fullmakt", "permission_roles": ["arbeid"]}] * 2),
    json.dumps([{"type": "ansattporten:altinn:resource", "resource": "urn:altinn:resource:x"}]),
])
def test_bad_authorization_details_refused(server, new_client, new_browser, rar):
    c = new_client()
    res = start(server, c, new_browser(), authorization_details=rar)
    assert res.kind == "redirect", res
    assert res.params["error"] == "invalid_authorization_details", res.params


def test_fullmakt_request_accepted(server, new_client, new_browser):
    c = new_client()
    rar = json.dumps([{"type": "idporten:fullmakt", "permission_roles": "arbeid"}])
    res = start(server, c, new_browser(), authorization_details=rar)
    assert res.kind == "page", res


ROLES = [{"type": "idporten:fullmakt", "permission_roles": ["arbeid"]}]


def to_fm_chooser(server, c, b, sso=False):
    params, verifier = auth_params(c, authorization_details=json.dumps(ROLES))
    r = authorize(server, b, params)
    if sso:  # the SSO session: straight to the chooser, no eID
        return classify(server, r, c.redirect_uri, params, verifier)
    return finish_login(server, b, r, params["redirect_uri"], PID, SUBSTANTIAL, params, verifier)


def test_fullmakt_login_and_myself(server, new_client, new_browser):
    server.ctl("repr", "person", PID, "Rep Resentant")
    server.ctl("repr", "person", PID2, "Full Makt")
    server.ctl("repr", "fullmakt", PID, PID2, "nav:arbeid,skatt:post")
    c = new_client()
    b = new_browser()
    res = to_fm_chooser(server, c, b)
    assert res.kind == "page" and Page(res.resp.text).form("repr-form") is not None
    assert "Full Makt" in res.resp.text
    done = classify(server, submit_form(b, res.resp, "repr-form", {"whom": PID2}), c.redirect_uri,
                    res.sent, res.verifier)
    assert done.code, done
    tok = c.tokens(done)
    want = [{"type": "idporten:fullmakt", "authorizer": {"name": "Full Makt", "pid": PID2},
             "authorized_representative": {"name": "Rep Resentant", "pid": PID},
             "permissions": [{"owner": "nav", "role": "arbeid"}]}]
    assert tok["authorization_details"] == want
    _, idt = server.verify(tok["id_token"])
    assert idt["authorization_details"] == want and idt["pid"] == PID
    # myself: an empty list; a forged authorizer: refused
    res = to_fm_chooser(server, c, b, sso=True)
    assert res.kind == "page" and "Full Makt" in res.resp.text
    r = submit_form(b, res.resp, "repr-form", {"whom": "05895894984"})
    assert r.status_code == 403
    done = classify(server, submit_form(b, res.resp, "repr-form", {"whom": "myself"}),
                    c.redirect_uri, res.sent, res.verifier)
    assert c.tokens(done)["authorization_details"] == []
    # the SSO session stayed the person's own: another client, no representation
    other = new_client()
    res = login(server, other, b, expect_eid=False)
    tok = other.tokens(res)
    _, idt = server.verify(tok["id_token"])
    assert idt["pid"] == PID and "authorization_details" not in idt and "authorization_details" not in tok


# ---- validity, roles, refresh, hostile posts ------------------------------------

# synthetic numbers (month + 80): a representative and the authorizers of their fullmakts
REP2, A_OK, A_EXPIRED, A_FUTURE, A_OTHER_ROLE, REP3 = (
    "02819010040", "02819010121", "02819010202", "02819010393", "02819010474", "03819010160")


def fnr_ok(n):
    d = [int(x) for x in n]
    k1 = (11 - sum(a * b for a, b in zip(d, [3, 7, 6, 1, 8, 9, 4, 5, 2])) % 11) % 11
    k2 = (11 - sum(a * b for a, b in zip(d, [5, 4, 3, 2, 7, 6, 5, 4, 3, 2])) % 11) % 11
    return d[9] == k1 and d[10] == k2


def offered_whom(resp):
    return set(re.findall(r'name="whom" id="whom-[0-9a-z]+" value="([0-9a-z]+)"', resp.text))


def login_as(server, c, b, pid, rar=ROLES):
    params, verifier = auth_params(c, authorization_details=json.dumps(rar))
    r = authorize(server, b, params)
    return finish_login(server, b, r, params["redirect_uri"], pid, SUBSTANTIAL, params, verifier)


def seed(server):
    now = int(time.time())
    for n, name in ((REP2, "Re Presentant"), (A_OK, "Gyldig Fullmakt"), (A_EXPIRED, "Utlopt Fullmakt"),
                    (A_FUTURE, "Framtidig Fullmakt"), (A_OTHER_ROLE, "Annan Rolle")):
        server.ctl("repr", "person", n, name)
    server.ctl("repr", "fullmakt", REP2, A_OK, "nav:arbeid")
    server.ctl("repr", "fullmakt", REP2, A_EXPIRED, "nav:arbeid", "1", str(now - 60))
    server.ctl("repr", "fullmakt", REP2, A_FUTURE, "nav:arbeid", str(now + 86400))
    server.ctl("repr", "fullmakt", REP2, A_OTHER_ROLE, "helfo:helse")
    server.ctl("repr", "fullmakt", REP3, A_OK, "nav:arbeid", "1", str(now - 60))


def test_only_valid_fullmakts_for_the_roles_offered(server, new_client, new_browser):
    assert all(fnr_ok(n) for n in (REP2, A_OK, A_EXPIRED, A_FUTURE, A_OTHER_ROLE, REP3))
    seed(server)
    c = new_client()
    b = new_browser()
    res = login_as(server, c, b, REP2)
    assert res.kind == "page", res
    # expired, not yet valid, or for a role not asked: not offered
    assert offered_whom(res.resp) == {A_OK, "myself"}
    assert "Gyldig Fullmakt" in res.resp.text and "Utlopt" not in res.resp.text
    assert "Framtidig" not in res.resp.text and "Annan Rolle" not in res.resp.text
    # posting one of them anyway: refused, nothing chosen
    for whom in (A_EXPIRED, A_FUTURE, A_OTHER_ROLE, REP2):
        r = submit_form(b, res.resp, "repr-form", {"whom": whom})
        assert r.status_code == 403 and "Location" not in r.headers, whom
    # the role asked for the other one: that one alone
    res = login_as(server, c, new_browser(), REP2,
                   [{"type": "idporten:fullmakt", "permission_roles": ["helse"]}])
    assert offered_whom(res.resp) == {A_OTHER_ROLE, "myself"}
    # roles read as OR
    res = login_as(server, c, new_browser(), REP2,
                   [{"type": "idporten:fullmakt", "permission_roles": ["helse", "arbeid"]}])
    assert offered_whom(res.resp) == {A_OK, A_OTHER_ROLE, "myself"}


def test_only_an_expired_fullmakt_gives_the_page(server, new_client, new_browser):
    seed(server)
    c = new_client()
    b = new_browser()
    res = login_as(server, c, b, REP3)
    assert res.kind == "page" and res.resp.status_code == 403
    assert Page(res.resp.text).form("repr-form") is None
    done = classify(server, submit_form(b, res.resp, "cancel-form"), c.redirect_uri, res.sent, res.verifier)
    assert done.error == "access_denied", done


def test_hostile_fullmakt_posts(server, new_client, new_browser):
    seed(server)
    c = new_client()
    b = new_browser()
    res = login_as(server, c, b, REP2)
    fields = dict(Page(res.resp.text).form("repr-form")["fields"])
    for bad in ({"csrf": fields["csrf"][:-2] + "AA"}, {"csrf": ""}, {"ar": "A" * 43},
                {"whom": "x" * 5000}, {"whom": "'; --"}):
        r = b.post(server.url("/fullmakt"), data={**fields, "whom": A_OK, **bad}, allow_redirects=False)
        assert r.status_code in (400, 403) and "Location" not in r.headers, (bad, r.status_code)
    # nothing chosen: the page again, with an alert
    r = b.post(server.url("/fullmakt"), data=fields, allow_redirects=False)
    assert r.status_code == 400 and 'role="alert"' in r.text
    # another browser with the whole form
    r = new_browser().post(server.url("/fullmakt"), data={**fields, "whom": A_OK}, allow_redirects=False)
    assert r.status_code in (400, 403)
    done = classify(server, submit_form(b, res.resp, "repr-form", {"whom": A_OK}), c.redirect_uri,
                    res.sent, res.verifier)
    assert done.code, done
    # replayed: the login is spent
    r = submit_form(b, res.resp, "repr-form", {"whom": A_OK})
    assert r.status_code == 400 and "Location" not in r.headers
    ev = server.ctl("repr", "events", c.client_id)
    assert len(ev) == 1 and ev[0]["kind"] == "fullmakt"
    assert ev[0]["rights"] == [{"owner": "nav", "role": "arbeid"}]
    assert REP2 not in json.dumps(ev) and A_OK not in json.dumps(ev)


def test_prompt_none_needs_the_person(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    login(server, c, b)
    res = start(server, c, b, prompt="none", authorization_details=json.dumps(ROLES))
    assert res.error == "interaction_required", res


def test_refresh_rechecks_the_fullmakt(server, new_client, new_browser):
    seed(server)
    c = new_client(refresh=True)
    b = new_browser()
    res = login_as(server, c, b, REP2)
    done = classify(server, submit_form(b, res.resp, "repr-form", {"whom": A_OK}), c.redirect_uri,
                    res.sent, res.verifier)
    tok = c.tokens(done)
    want = tok["authorization_details"]
    assert want[0]["authorizer"]["pid"] == A_OK
    r = c.refresh(tok["refresh_token"])
    assert r.status_code == 200, r.text
    assert r.json()["authorization_details"] == want
    _, at = server.verify(r.json()["access_token"])
    assert at["authorization_details"] == want
    # the fullmakt ends at the source: the refresh fails
    now = int(time.time())
    server.ctl("repr", "fullmakt", REP2, A_OK, "nav:arbeid", "1", str(now - 1))
    r = c.refresh(r.json()["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    # a permission granted is gone (another one left): ended too
    c2 = new_client(refresh=True)
    server.ctl("repr", "fullmakt", REP2, A_OK, "nav:arbeid")
    b = new_browser()
    res = login_as(server, c2, b, REP2)
    done = classify(server, submit_form(b, res.resp, "repr-form", {"whom": A_OK}), c2.redirect_uri,
                    res.sent, res.verifier)
    tok = c2.tokens(done)
    server.ctl("repr", "fullmakt", REP2, A_OK, "skatt:post")
    r = c2.refresh(tok["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    server.ctl("repr", "fullmakt", REP2, A_OK, "nav:arbeid")
    # "myself" grants nothing to check: its refresh goes on
    c3 = new_client(refresh=True)
    b = new_browser()
    res = login_as(server, c3, b, REP2)
    done = classify(server, submit_form(b, res.resp, "repr-form", {"whom": "myself"}),
                    c3.redirect_uri, res.sent, res.verifier)
    tok = c3.tokens(done)
    assert tok["authorization_details"] == []
    r = c3.refresh(tok["refresh_token"])
    assert r.status_code == 200 and r.json()["authorization_details"] == [], r.text
