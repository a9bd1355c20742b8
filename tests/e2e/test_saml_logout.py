"""
SAML proxy, spec/saml-proxy.md §6: single logout started by a SAML SP,
chained with the OIDC front-channel logout and the other SAML SPs of the
session (HTTP-Redirect, every message signed), PartialLogout when the
chain breaks; and the hostile cases (unsigned, wrong SP, no session).
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import PID, Page, follow, http, login, logout
from samlkit import (SP, keypair, lasso, sanitizer_env, sp_answer_logout, sp_logout_url,
                     sp_read_logout_response, sp_session, stored_docs)
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


def test_chain_start_visited_again_passes_no_sp_over(server, spa, spb):
    """
    /saml/logout/done starts the chain once: visited again while spb has
    been asked, it is refused and the chain still waits for spb's answer,
    instead of going past spb and answering spa Success.
    """
    b = http()
    sess_a = saml_login(server, spa, b)
    sess_b = saml_login(server, spb, b, expect_eid=False)
    r = b.get(sp_logout_url(spa, sess_a), allow_redirects=False)
    assert r.status_code == 302
    done = parse_qs(urlsplit(r.headers["Location"]).query)["post_logout_redirect_uri"][0]
    state = parse_qs(urlsplit(r.headers["Location"]).query)["state"][0]
    _, r = through_issuer_logout(server, b, r)
    asked = r.headers["Location"]
    assert r.status_code == 302 and asked.startswith(spb.entity_id + "/slo?")
    before = stored_docs(server)
    r = b.get(done, params={"state": state}, allow_redirects=False)
    assert r.status_code == 400 and "waits for the answer" in r.text, (r.status_code, r.text[:300])
    assert stored_docs(server) == before
    r = b.get(sp_answer_logout(spb, asked, sess_b), allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(spa.entity_id + "/slo-return?")
    assert sp_read_logout_response(spa, r.headers["Location"]) == (STATUS + "Success", None)


def test_logout_without_session_is_answered(server, spa):
    b = http()
    sess_a = saml_login(server, spa, b)
    # another browser (no session here) sends the same SP's LogoutRequest
    r = http().get(sp_logout_url(spa, sess_a), allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(spa.entity_id + "/slo-return?")
    assert sp_read_logout_response(spa, r.headers["Location"]) == \
        (STATUS + "Requester", STATUS + "UnknownPrincipal")


def test_hostile_logout_requests(server, spa, keys):
    b = http()
    sess_a = saml_login(server, spa, b)
    url = sp_logout_url(spa, sess_a)
    before = stored_docs(server)
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
    assert stored_docs(server) <= before
    # the session survived all of that: SSO still works
    saml_login(server, spa, b, expect_eid=False)


def test_front_channel_logout_only_from_the_sessions_browser(server, spa, spb):
    """
    Every OIDC client of the session learns its sid (the ID token's sid
    claim): /saml/fclogout with that sid from anywhere but the session's
    own browser leaves the SAML side of the session, so its single logout
    still reaches every SAML SP.
    """
    b = http()
    sess_a = saml_login(server, spa, b)
    sess_b = saml_login(server, spb, b, expect_eid=False)
    sid = b.cookies.get("porten_saml_sid")
    assert sid
    for who in (http(), b):
        if who is b:
            # the browser's cookie, but another session's sid
            r = who.get(server.url("/saml/fclogout"), params={"sid": sid[:-1] + "x"})
        else:
            r = who.get(server.url("/saml/fclogout"), params={"sid": sid})
        assert r.status_code == 200
    r = b.get(sp_logout_url(spa, sess_a), allow_redirects=False)
    _, r = through_issuer_logout(server, b, r)
    assert r.status_code == 302 and r.headers["Location"].startswith(spb.entity_id + "/slo?"), \
        (r.status_code, r.headers.get("Location"), r.text[:300])
    r = b.get(sp_answer_logout(spb, r.headers["Location"], sess_b), allow_redirects=False)
    assert sp_read_logout_response(spa, r.headers["Location"]) == (STATUS + "Success", None)
    # the session's own browser still makes the proxy forget it
    b = http()
    sess_a = saml_login(server, spa, b)
    r = b.get(server.url("/saml/fclogout"), params={"sid": b.cookies.get("porten_saml_sid")})
    assert r.status_code == 200
    r = b.get(sp_logout_url(spa, sess_a), allow_redirects=False)
    assert sp_read_logout_response(spa, r.headers["Location"]) == \
        (STATUS + "Requester", STATUS + "UnknownPrincipal")


def test_logout_queries_read_one_way(server, spa, spb):
    """
    A ';' or a repeated parameter would let lasso verify one message and
    the proxy act on another (the peeked issuer, the chain RelayState
    names): refused with an error page and nothing changed, for the SP's
    LogoutRequest and for an answer in the chain alike.
    """
    b = http()
    sess_a = saml_login(server, spa, b)
    sess_b = saml_login(server, spb, b, expect_eid=False)
    url = sp_logout_url(spa, sess_a)
    req = re.search(r"SAMLRequest=[^&]*", url).group(0)
    before = stored_docs(server)
    for bad, why in ((url + ";locale=en", "raw semicolon"),
                     (url.replace("&SigAlg=", ";SigAlg="), "raw semicolon"),
                     (url + "&" + req, "SAMLRequest given more than once"),
                     (url + "&RelayState=a&RelayState=b", "RelayState given more than once"),
                     (url + "&SAMLResponse=x", "SAMLRequest and SAMLResponse together")):
        r = b.get(bad, allow_redirects=False)
        assert r.status_code == 400 and why in r.text, (why, r.status_code, r.text[-600:])
        assert "Location" not in r.headers
    assert stored_docs(server) <= before
    # the real request goes on; spb's answer, doubled up, is refused and the
    # chain waits for the answer as it was signed
    r = b.get(url, allow_redirects=False)
    _, r = through_issuer_logout(server, b, r)
    back = sp_answer_logout(spb, r.headers["Location"], sess_b)
    relay = re.search(r"RelayState=[^&]*", back).group(0)
    for bad, why in ((back + "&" + relay, "RelayState given more than once"),
                     (back.replace("&" + relay, ";" + relay), "raw semicolon"),
                     (back + "&Signature=x", "Signature given more than once")):
        r = b.get(bad, allow_redirects=False)
        assert r.status_code == 400 and why in r.text, (why, r.status_code, r.text[-600:])
    r = b.get(back, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(spa.entity_id + "/slo-return?")
    assert sp_read_logout_response(spa, r.headers["Location"]) == (STATUS + "Success", None)


# ---- logout started at the OIDC side (§6, IdP-initiated) ----------------------

def oidc_logout_into_chain(server, spa, spb, new_client, b):
    """
    An SSO session shared by two SAML SPs and an OIDC client, ended at the
    issuer's /logout by the client: (client, state, SP sessions, the
    answer to following the logout page's continue link).
    """
    sess_a = saml_login(server, spa, b)
    sess_b = saml_login(server, spb, b, expect_eid=False)
    client = new_client(fc=True)
    tokens = client.tokens(login(server, client, b, expect_eid=False))
    state = "bye-" + re.sub(r"\W", "", str(id(b)))
    r = logout(server, b, id_token_hint=tokens["id_token"],
               post_logout_redirect_uri=client.post_logout_redirect_uri, state=state)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    page = Page(r.text)
    frames = [s for s in page.iframes if s]
    # the OIDC clients first (the proxy is one), by front-channel
    assert any(client.frontchannel_logout_uri in f for f in frames), frames
    assert any("/saml/fclogout" in f for f in frames), frames
    cont = [l["href"] for l in page.links if l["id"] == "continue"]
    assert len(cont) == 1 and "/saml/logout/done?state=" in cont[0], page.links
    for f in frames:
        http().get(f.replace("&amp;", "&"), timeout=10)
    r = b.get(cont[0].replace("&amp;", "&"), allow_redirects=False)
    return client, state, sess_a, sess_b, r


def test_oidc_logout_chains_the_saml_sps(server, spa, spb, new_client):
    b = http()
    client, state, sess_a, sess_b, r = oidc_logout_into_chain(server, spa, spb, new_client, b)
    # each SAML SP in turn: a signed LogoutRequest (HTTP-Redirect) to its SingleLogoutService
    for sp, sess in ((spa, sess_a), (spb, sess_b)):
        loc = r.headers.get("Location", "")
        assert r.status_code == 302 and loc.startswith(sp.entity_id + "/slo?"), (r.status_code, loc)
        q = parse_qs(urlsplit(loc).query)
        assert set(q) >= {"SAMLRequest", "SigAlg", "Signature", "RelayState"}, q.keys()
        back = sp_answer_logout(sp, loc, sess)
        r = b.get(back, allow_redirects=False)
    # ... and the chain ends at the client's post_logout_redirect_uri with its state
    loc = r.headers.get("Location", "")
    assert r.status_code == 302 and loc.startswith(client.post_logout_redirect_uri), (r.status_code, loc)
    assert parse_qs(urlsplit(loc).query) == {"state": [state]}
    # the chain is spent (an answer replayed is refused), and the SSO session is gone
    r = b.get(back, allow_redirects=False)
    assert r.status_code == 400
    saml_login(server, spa, b, expect_eid=True)


def test_oidc_logout_with_an_sp_that_refuses(server, spa, spb, new_client):
    b = http()
    client, state, sess_a, sess_b, r = oidc_logout_into_chain(server, spa, spb, new_client, b)
    # the first SP answers with an error: the chain goes on to the next ...
    r = b.get(sp_answer_logout(spa, r.headers["Location"], sess_a, ok=False), allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(spb.entity_id + "/slo?")
    back = sp_answer_logout(spb, r.headers["Location"], sess_b)
    r = b.get(back, allow_redirects=False)
    # ... and ends on a page saying the logout is not complete, on to the client
    assert r.status_code == 200 and "Utloggingen er ikke fullført" in r.text, r.text[:300]
    cont = [l["href"] for l in Page(r.text).links if l["id"] == "continue"]
    assert len(cont) == 1 and cont[0].replace("&amp;", "&").startswith(
        client.post_logout_redirect_uri + "?state=" + state), cont
    # an answer to a chain that is over is refused
    assert b.get(back, allow_redirects=False).status_code == 400


def test_oidc_logout_without_saml_sps_goes_straight_back(server, new_client):
    b = http()
    client = new_client()
    tokens = client.tokens(login(server, client, b))
    r = logout(server, b, id_token_hint=tokens["id_token"],
               post_logout_redirect_uri=client.post_logout_redirect_uri)
    assert r.status_code == 302 and r.headers["Location"].startswith(client.post_logout_redirect_uri)
