"""
A new MinID password ends every SSO session of the person, whether set by
the forgotten-password reset (spec/minid.md §6 step 4) or on the account
pages (design, as the reset): whoever knew the old password and logged in
with it loses the session, as a logout ends it (its back-channel clients
told, spec/idporten-oidc.md §20; its login grants revoked).  Another
person's session stays, and so does the account pages' own session where
the password was changed.
"""

import time

import pytest

from conftest import LogoutReceiver, Page, start, submit_form
import test_minid as minid
from test_backchannel import CERT, KEY, bcl_client, check_logout_token

PAGE_LANG_COOKIE = "IDPORTEN_SELECTED_LANGUAGE"   # src/ui/i18n.h

SERVER_ENV = {
    **minid.SERVER_ENV,
    "PORTEN_BACKCHANNEL_CA_FILE": CERT,
    "PORTEN_BACKCHANNEL_ALLOW_PRIVATE": "true",
}


def change_on_account_pages(server, browser, pid, mobile, new_password):
    """The password changed on the account pages; the pages stay logged in."""
    r = minid.account_login(server, browser, pid, mobile)
    r = submit_form(browser, r, "minid-password-form", {"password": new_password, "confirm": new_password})
    assert r.status_code == 200 and 'id="notice"' in r.text, r.text[:600]
    # still logged in there: the next form is read, not sent back to the login
    r = submit_form(browser, r, "minid-password-form", {"password": "short1A", "confirm": "short1A"})
    assert r.status_code == 400 and Page(r.text).form("minid-password-form"), r.text[:600]


@pytest.mark.parametrize("change", [minid.do_reset, change_on_account_pages], ids=["reset", "account"])
def test_new_password_ends_the_persons_sessions(server, listener, new_browser, tmp_path, change):
    rcv = LogoutReceiver(CERT, KEY)
    try:
        c = bcl_client(server, listener, rcv, tmp_path, refresh=True)
        pid, mobile = minid.create_account(server)
        other, other_mobile = minid.create_account(server)

        mine = new_browser()
        t = c.tokens(minid.minid_login(server, c, mine, pid, mobile=mobile))
        _, claims = server.verify(t["id_token"])
        theirs = new_browser()
        t_other = c.tokens(minid.minid_login(server, c, theirs, other, mobile=other_mobile))
        _, other_claims = server.verify(t_other["id_token"])
        assert claims["sid"] != other_claims["sid"]
        res = start(server, c, mine, prompt="none")
        assert res.kind == "redirect" and res.code, f"no SSO before the reset: {res}"

        t0 = time.time()
        change(server, new_browser(), pid, mobile, "Vinter-Sol-2031")

        # told at once (the idle sweep would take minutes: the sessions are live)
        calls = rcv.wait(c.bcl_path, 1, timeout=5)
        assert len(calls) == 1 and calls[0]["at"] - t0 < 5, "the ended session was not announced"
        check_logout_token(server, c, calls[0], claims["sid"], claims["sub"])
        # the old cookie gives no SSO: a new login is needed
        res = start(server, c, mine, prompt="none")
        assert res.kind == "redirect" and res.error == "login_required" and not res.code, res
        res = start(server, c, mine)
        assert res.kind == "page" and res.resp.status_code == 200 and "eid-minid" in res.resp.text, res
        # its login grant went with it, as a logout takes it
        assert c.refresh(t["refresh_token"]).json().get("error") == "invalid_grant"

        # the other person keeps the session, the grant, and is told nothing
        res = start(server, c, theirs, prompt="none")
        assert res.kind == "redirect" and res.code, res
        assert "access_token" in c.refresh(t_other["refresh_token"]).json()
        time.sleep(1)
        assert len(rcv.calls_to(c.bcl_path)) == 1

        # the person logs in again with the new password, into a new session
        res = minid.minid_login(server, c, mine, pid, "Vinter-Sol-2031", mobile)
        _, again = server.verify(c.tokens(res)["id_token"])
        assert again["sid"] != claims["sid"]
    finally:
        rcv.close()


LOGGED_OUT = {
    "nb": "Du blir logget ut av alle tjenester du er logget inn på.",
    "en": "You will be logged out of every service you are logged in to.",
}


@pytest.mark.parametrize("lang", sorted(LOGGED_OUT))
@pytest.mark.parametrize("form", [minid.reset_password_form, minid.account_login], ids=["reset", "account"])
def test_the_password_form_says_the_sessions_end(server, new_browser, form, lang):
    """The page with the form for the new password tells the person, in their language."""
    pid, mobile = minid.create_account(server)
    b = new_browser()
    b.cookies.set(PAGE_LANG_COOKIE, lang)
    r = form(server, b, pid, mobile)
    assert f'<html lang="{lang}"' in r.text, r.text[:300]
    assert f"<p>{LOGGED_OUT[lang]}</p>" in r.text, r.text[:2000]
