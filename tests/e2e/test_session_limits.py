"""
The SSO session's absolute limit (spec/idporten-oidc.md §8: 120 minutes from
the first authentication, here a few seconds): a step-up or prompt=login
raises the session's level but does not move its end.
"""

import time

from conftest import HIGH, login, start

SERVER_ENV = {"PORTEN_SESSION_IDLE": "4", "PORTEN_SESSION_MAX": "4"}


def test_reauthentication_keeps_the_absolute_end(server, new_client, new_browser):
    a = new_client()
    br = new_browser()
    t0 = time.time()
    login(server, a, br)
    time.sleep(2.5)
    login(server, a, br, prompt="login", acr=HIGH, expect_eid=True)
    assert time.time() - t0 < 4, "the machine was too slow for this test's timing"
    # within the idle limit of the re-authentication, past the first one's absolute end
    time.sleep(max(0.0, 4.6 - (time.time() - t0)))
    res = start(server, a, br, prompt="none")
    assert res.kind == "redirect" and res.error == "login_required" and not res.code, res
