"""
Back-channel logout (spec/idporten-oidc.md §20; OpenID Connect Back-Channel
Logout 1.0): registration of backchannel_logout_uri, the logout token, its
delivery from the outbox with retries, and sessions that time out.

The receiver is an HTTPS listener on 127.0.0.1 with a certificate made here
(portend trusts it through backchannel_ca_file; backchannel_allow_private
lets a receiver on this machine be registered, test environment only).
"""

import json
import os
import tempfile
import time
import uuid

import pytest
from jwcrypto import jwk, jws

from conftest import (PID2, Ansattporten, LogoutReceiver, check_id_token, create_client, http, jwt_parts,
                      login, logout, loopback_tls_cert)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TLS_DIR = tempfile.mkdtemp(prefix="porten-bcl-")
CERT = os.path.join(TLS_DIR, "cert.pem")
KEY = os.path.join(TLS_DIR, "key.pem")
loopback_tls_cert(CERT, KEY)

SERVER_ENV = {
    "PORTEN_BACKCHANNEL_CA_FILE": CERT,
    "PORTEN_BACKCHANNEL_ALLOW_PRIVATE": "true",
    "PORTEN_BACKCHANNEL_RETRY_BASE": "1",
    "PORTEN_SESSION_IDLE": "4",
    "PORTEN_SESSION_MAX": "3600",
}


@pytest.fixture(scope="module")
def receiver():
    r = LogoutReceiver(CERT, KEY, refuse=3)
    yield r
    r.close()


def bcl_client(server, listener, receiver, tmp_path, **kw):
    path = "/bcl/" + uuid.uuid4().hex[:8]
    c = create_client(server, listener, tmp_path,
                      extra_args=("--backchannel-logout-uri", receiver.base + path), **kw)
    c.bcl_path = path
    c.fc_session = True  # backchannel_logout_session_required: sid in the ID token
    return c


def check_logout_token(server, client, call, sid, sub):
    """Every rule of OIDC Back-Channel Logout 1.0 §2.4 and spec §20; returns the claims."""
    assert call["ctype"] == "application/x-www-form-urlencoded"
    assert [k for k, _ in call["form"]] == ["logout_token"], call["form"]
    token = call["form"][0][1]
    header, _ = jwt_parts(token)
    assert header["typ"] == "logout+jwt" and header["alg"] == "RS256" and header.get("kid"), header
    keys = jwk.JWKSet.from_json(json.dumps(server.jwks(refresh=True)))
    t = jws.JWS()
    t.deserialize(token)
    t.verify(keys.get_key(header["kid"]))
    c = json.loads(t.payload)
    assert c["iss"] == server.issuer
    assert c["aud"] == client.client_id
    now = time.time()
    assert now - 60 <= c["iat"] <= now + 5
    assert c["exp"] == c["iat"] + 300
    assert isinstance(c["jti"], str) and len(c["jti"]) >= 16
    assert c["events"] == {EVENT: {}}
    assert c["sid"] == sid and c["sub"] == sub
    assert "nonce" not in c
    return c


def test_discovery_says_supported(server):
    d = http().get(server.url("/.well-known/openid-configuration"), timeout=10).json()
    assert d["backchannel_logout_supported"] is True
    assert d["backchannel_logout_session_supported"] is True


def test_registration(server, listener, receiver, tmp_path):
    c = bcl_client(server, listener, receiver, tmp_path)
    got = server.ctl("client", "show", c.client_id)
    assert got["backchannel_logout_uri"] == receiver.base + c.bcl_path
    assert got["backchannel_logout_session_required"] is True


@pytest.mark.parametrize("uri, why", [
    ("http://127.0.0.1:1/bcl", "https"),
    ("https://rp.example.org/bcl", "domain"),
    ("https://127.0.0.2/bcl", "domain"),
    ("not a uri", "URI"),
    ("https:///bcl", ""),
    ("https://127.0.0.1/bcl#frag", ""),
])
def test_registration_refused(server, listener, tmp_path, uri, why):
    before = server.ctl("client", "list")
    with pytest.raises(Exception) as ei:
        create_client(server, listener, tmp_path, extra_args=("--backchannel-logout-uri", uri))
    assert why in str(ei.value)
    assert server.ctl("client", "list") == before, "a refused registration stored a client"


def test_logout_announced_with_retries(server, listener, receiver, new_browser, tmp_path):
    a = bcl_client(server, listener, receiver, tmp_path)
    b = bcl_client(server, listener, receiver, tmp_path)
    plain = create_client(server, listener, tmp_path)
    br = new_browser()
    ta = a.tokens(login(server, a, br))
    ca = check_id_token(server, a, ta["id_token"])
    assert ca.get("sid"), "a back-channel client's ID token carries sid"
    tb = b.tokens(login(server, b, br, expect_eid=False))
    cb = check_id_token(server, b, tb["id_token"])
    login(server, plain, br, expect_eid=False)

    t0 = time.time()
    r = logout(server, br, id_token_hint=ta["id_token"])
    assert r.status_code in (200, 302, 303)
    assert time.time() - t0 < 3, "the logout page waited for deliveries"
    for cl, claims in ((a, ca), (b, cb)):
        calls = receiver.wait(cl.bcl_path, 4)
        assert len(calls) == 4, f"want 3 refusals then a delivery, got {len(calls)}"
        jtis = set()
        for call in calls:
            lt = check_logout_token(server, cl, call, claims["sid"], claims["sub"])
            jtis.add(lt["jti"])
        assert len(jtis) == 4, "every attempt mints a new token"
        gaps = [calls[i + 1]["at"] - calls[i]["at"] for i in range(3)]
        assert all(g >= 0 for g in gaps)
    # accepted: nothing more is sent
    time.sleep(3)
    assert len(receiver.calls_to(a.bcl_path)) == 4


def test_session_of_another_person_announced(server, listener, new_browser, tmp_path):
    """Another person's login in the same browser ends the session there, as a
    logout does: its clients are told at once (spec §20), its login grants die."""
    rcv = LogoutReceiver(CERT, KEY)
    try:
        c = bcl_client(server, listener, rcv, tmp_path, refresh=True)
        br = new_browser()
        t = c.tokens(login(server, c, br))
        claims = check_id_token(server, c, t["id_token"])
        t0 = time.time()
        login(server, c, br, pid=PID2, prompt="login", expect_eid=True)
        # the idle sweep looks every 10 s: a call this soon is the replacement's
        calls = rcv.wait(c.bcl_path, 1, timeout=3)
        assert len(calls) == 1 and calls[0]["at"] - t0 < 3, "the replaced session was not announced"
        check_logout_token(server, c, calls[0], claims["sid"], claims["sub"])
        assert c.refresh(t["refresh_token"]).json().get("error") == "invalid_grant"
    finally:
        rcv.close()


def test_timed_out_session_announced(server, listener, new_browser, tmp_path):
    rcv = LogoutReceiver(CERT, KEY)
    try:
        c = bcl_client(server, listener, rcv, tmp_path)
        br = new_browser()
        t = c.tokens(login(server, c, br))
        claims = check_id_token(server, c, t["id_token"])
        # idle 4 s; the worker looks every 10 s
        calls = rcv.wait(c.bcl_path, 1, timeout=30)
        assert len(calls) == 1, "the timed-out session was not announced"
        check_logout_token(server, c, calls[0], claims["sid"], claims["sub"])
        # the session is gone: a new login asks for the eID again
        login(server, c, br, expect_eid=True)
    finally:
        rcv.close()


def test_ansattporten_logout_announced(server, listener, new_browser, tmp_path):
    """An Ansattporten client's own session: its logout token names the Ansattporten issuer."""
    ap = Ansattporten(server)
    rcv = LogoutReceiver(CERT, KEY)
    try:
        c = bcl_client(ap, listener, rcv, tmp_path, integration_type="ansattporten", scopes=["openid"])
        other = bcl_client(ap, listener, rcv, tmp_path, integration_type="ansattporten",
                           scopes=["openid"])
        br = new_browser()
        t = c.tokens(login(ap, c, br))
        _, claims = ap.verify(t["id_token"])
        assert claims.get("sid")
        login(ap, other, br)
        r = logout(ap, br, id_token_hint=t["id_token"])
        assert r.status_code in (200, 302, 303)
        calls = rcv.wait(c.bcl_path, 1, timeout=20)
        assert len(calls) == 1
        check_logout_token(ap, c, calls[0], claims["sid"], claims["sub"])
        time.sleep(2)
        assert rcv.calls_to(other.bcl_path) == [], "another client's session was announced"
    finally:
        rcv.close()
