"""
SAML proxy, spec/saml-proxy.md §6: single logout started by a SAML SP,
chained with the OIDC front-channel logout and the other SAML SPs of the
session (HTTP-Redirect, every message signed), PartialLogout when the
chain breaks; and the hostile cases (unsigned, wrong SP, no session).
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import PID, Page, follow, http, login
from samlkit import (SP, keypair, lasso, sanitizer_env, sp_answer_logout, sp_logout_url,
                     sp_read_logout_response, sp_session)
from test_saml_sso import STATUS, resolved, to_acs

pytestmark = pytest.mark.skipif(lasso is None, reason="python3-lasso not installed")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("saml-keys"))
    return {n: keypair(d, n) for n in ("idp", "a", "b", "rogue")}


@pytest.fixture(scope="module")
def server_env(keys):
    key, crt = keys["idp"]
    return {"PORTEN_SAML_KEY_FILE": key, "PORTEN_SAML_CERT_FILE": crt, **sanitizer_env()}


@pytest.fixture(scope="module")
def spa(server, keys, tmp_path_factory):
    s = SP(server, "https://a.example.no/saml", *keys["a"])
    s.register(tmp_path_factory.mktemp("a"))
    return s


@pytest.fixture(scope="module")
def spb(server, keys, tmp_path_factory):
    s = SP(server, "https://b.example.no/saml", *keys["b"])
    s.register(tmp_path_factory.mktemp("b"))
    return s


def saml_login(server, sp, browser, expect_eid=True):
    lg, _ = resolved(sp, to_acs(server, browser, sp.authn_request()[0], expect_eid=expect_eid))
    return sp_session(sp, lg)


def through_issuer_logout(server, browser, r):
    """Follow the proxy into the issuer's logout page and out of it: (frames, next response)."""
    assert r.status_code == 302 and "/logout?" in r.headers["Location"], r.text[:300]
    r = follow(server, browser, r)
    frames = []
    if r.status_code == 200:
        frames = re.findall(r'<iframe[^>]*src="([^"]+)"', r.text)
        cont = Page(r.text).links
        href = next(l["href"] for l in cont if l.get("id") == "continue" or
                    "/saml/logout/done" in (l["href"] or ""))
        r = browser.get(href.replace("&amp;", "&"), allow_redirects=False)
    return frames, r


def test_sp_initiated_logout_chains_everyone(server, spa, spb, new_client, listener):
    b = http()
    sess_a = saml_login(server, spa, b)
    sess_b = saml_login(server, spb, b, expect_eid=False)
    client = new_client(fc=True)
    login(server, client, b, expect_eid=False)

    r = b.get(sp_logout_url(spa, sess_a), allow_redirects=False)
    frames, r = through_issuer_logout(server, b, r)
    # the OIDC client is told by front-channel
    assert any(client.frontchannel_logout_uri in f for f in frames), frames
    assert any("/saml/fclogout" in f for f in frames), frames
    # the other SAML SP gets a signed LogoutRequest, and answers
    assert r.status_code == 302 and r.headers["Location"].startswith(spb.entity_id + "/slo?")
    back = sp_answer_logout(spb, r.headers["Location"], sess_b)
    r = b.get(back, allow_redirects=False)
    # the initiating SP gets its LogoutResponse at its ResponseLocation
    assert r.status_code == 302 and r.headers["Location"].startswith(spa.entity_id + "/slo-return?")
    assert sp_read_logout_response(spa, r.headers["Location"]) == (STATUS + "Success", None)
    # the SSO session is gone for OIDC and SAML alike
    login(server, client, b, expect_eid=True)


def test_partial_logout_when_an_sp_refuses(server, spa, spb):
    b = http()
    sess_a = saml_login(server, spa, b)
    sess_b = saml_login(server, spb, b, expect_eid=False)
    r = b.get(sp_logout_url(spa, sess_a), allow_redirects=False)
    _, r = through_issuer_logout(server, b, r)
    back = sp_answer_logout(spb, r.headers["Location"], sess_b, ok=False)
    r = b.get(back, allow_redirects=False)
    assert sp_read_logout_response(spa, r.headers["Location"]) == \
        (STATUS + "Success", STATUS + "PartialLogout")


def test_partial_logout_when_the_answer_is_forged(server, spa, spb, keys):
    b = http()
    sess_a = saml_login(server, spa, b)
    sess_b = saml_login(server, spb, b, expect_eid=False)
    r = b.get(sp_logout_url(spa, sess_a), allow_redirects=False)
    _, r = through_issuer_logout(server, b, r)
    rogue = SP(server, spb.entity_id, *keys["rogue"])
    back = sp_answer_logout(rogue, r.headers["Location"], sess_b)
    r = b.get(back, allow_redirects=False)
    assert sp_read_logout_response(spa, r.headers["Location"]) == \
        (STATUS + "Success", STATUS + "PartialLogout")


def test_logout_without_session_is_answered(server, spa):
    b = http()
    sess_a = saml_login(server, spa, b)
    # another browser (no session here) sends the same SP's LogoutRequest
    r = http().get(sp_logout_url(spa, sess_a), allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(spa.entity_id + "/slo-return?")
    top, _ = sp_read_logout_response(spa, r.headers["Location"])
    assert top.startswith(STATUS)


def test_hostile_logout_requests(server, spa, keys):
    b = http()
    sess_a = saml_login(server, spa, b)
    url = sp_logout_url(spa, sess_a)
    unsigned = re.sub(r"&Signature=[^&]*", "", url)
    r = b.get(unsigned, allow_redirects=False)
    assert r.status_code == 400 and "refused" in r.text
    rogue = SP(server, spa.entity_id, *keys["rogue"])
    r = b.get(sp_logout_url(rogue, sess_a), allow_redirects=False)
    assert r.status_code == 400 and "refused" in r.text
    for q in ("", "?SAMLRequest=!!", "?SAMLResponse=AAAA&RelayState=x",
              "?SAMLRequest=" + "A" * 20000):
        r = b.get(server.url("/saml/logout") + q, allow_redirects=False)
        assert r.status_code in (400, 414), (q[:30], r.status_code)
    r = b.get(server.url("/saml/logout/done"), params={"state": "z" * 43}, allow_redirects=False)
    assert r.status_code == 400
    # the session survived all of that: SSO still works
    saml_login(server, spa, b, expect_eid=False)
