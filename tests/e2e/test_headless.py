"""
The headless test login (spec/idporten-oidc.md §22): in the test
environment, /authorize with login_hint=testid:<pid>_<acr> answers at once
with a code for that synthetic person: no page, no session cookie, every
scope consented; the tokens are whole (refresh, introspection, revocation).
A malformed hint, a number that is not a synthetic one, a level that is not
ID-porten's or is below acr_values: invalid_request at the redirect_uri.
In prod a testid: hint never logs anyone in.
"""

import json

import pytest

from conftest import PID, auth_params, classify, http, url_params

HIGH, SUBST = "idporten-loa-high", "idporten-loa-substantial"


def headless(server, client, hint, **extra):
    b = http()
    params, verifier = auth_params(client, login_hint=hint, **extra)
    r = b.get(server.url("/authorize"), params=params, allow_redirects=False, timeout=10)
    return b, r, classify(server, r, client.redirect_uri, params, verifier)


def test_tokens_with_no_page(server, new_client):
    c = new_client(refresh=True, introspect=True)
    b, r, res = headless(server, c, f"testid:{PID}_{HIGH}")
    # Straight to the client: no page, no cookie.
    assert res.kind == "redirect" and res.code, res
    assert res.params["state"] == res.sent["state"] and res.params["iss"] == server.issuer
    assert "Set-Cookie" not in r.headers and len(b.cookies) == 0
    tok = c.tokens(res)
    _, idc = server.verify(tok["id_token"])
    assert idc["pid"] == PID and idc["acr"] == HIGH and idc["amr"] == ["TestID"]
    assert idc["nonce"] == res.sent["nonce"]
    r2 = c.refresh(tok["refresh_token"])
    assert r2.status_code == 200, r2.text
    info = c.introspect(r2.json()["access_token"])
    assert info.status_code == 200 and info.json()["active"] is True, info.text
    assert c.revoke(r2.json()["access_token"]).status_code == 200
    # The level of the hint, where acr_values allows it.
    _, _, res = headless(server, c, f"testid:{PID}_{SUBST}", acr_values=SUBST)
    _, idc = server.verify(c.tokens(res)["id_token"])
    assert idc["acr"] == SUBST


@pytest.mark.parametrize("hint, why", [
    ("testid:", "11 digits"),
    (f"testid:{PID}", "11 digits"),
    (f"testid:{PID}{HIGH}", "11 digits"),
    (f"testid:{PID[:-1]}_{HIGH}", "11 digits"),
    (f"testid:{PID[:-1]}0_{HIGH}", "synthetic"),         # wrong check digit
    (f"testid:01019012345_{HIGH}", "synthetic"),         # not a synthetic number
    (f"testid:{PID}_eidas-loa-high", "idporten-loa"),
    (f"testid:{PID}_", "idporten-loa"),
    (f"testid:{PID}_{HIGH}x", "idporten-loa"),
])
def test_bad_hints(server, new_client, hint, why):
    c = new_client()
    _, r, res = headless(server, c, hint)
    assert res.kind == "redirect" and not res.code, res
    assert res.params["error"] == "invalid_request" and why in res.params["error_description"], res


@pytest.mark.parametrize("hint, acr_values", [
    (f"testid:{PID}_{SUBST}", HIGH),
    # a Norwegian login never satisfies an eIDAS-only request (ansattporten-eidas-testid.md §2.1)
    (f"testid:{PID}_{HIGH}", "eidas-loa-high"),
])
def test_level_not_satisfying_acr_values(server, new_client, hint, acr_values):
    c = new_client()
    _, _, res = headless(server, c, hint, acr_values=acr_values)
    assert not res.code and res.params.get("error") == "invalid_request", res
    assert "does not satisfy acr_values" in res.params["error_description"]


def test_authorization_details_refused(server, new_client):
    """Nobody sees a page, so nobody could choose whom to act for (spec §22)."""
    c = new_client()
    rar = json.dumps([{"type": "idporten:fullmakt", "permission_roles": ["arbeid"]}])
    _, _, res = headless(server, c, f"testid:{PID}_{HIGH}", authorization_details=rar)
    assert not res.code and res.params.get("error") == "invalid_request", res
    assert "authorization_details" in res.params["error_description"]


def test_through_par(server, new_client):
    """A pushed request keeps its testid: hint: the same answer as on /authorize."""
    c = new_client()
    params, verifier = auth_params(c, login_hint=f"testid:{PID}_{SUBST}")
    r = c.par(**params)
    assert r.status_code == 201, r.text
    b = http()
    r = b.get(server.url("/authorize"), params={"client_id": c.client_id, "request_uri": r.json()["request_uri"]},
              allow_redirects=False, timeout=10)
    res = classify(server, r, c.redirect_uri, params, verifier)
    assert res.kind == "redirect" and res.code and res.params["state"] == params["state"], res
    _, idc = server.verify(c.tokens(res)["id_token"])
    assert idc["pid"] == PID and idc["acr"] == SUBST and idc["amr"] == ["TestID"]



@pytest.mark.parametrize("hint, why", [
    (f"testid:{PID}", "11 digits"),
    (f"testid:{PID[:-1]}0_{HIGH}", "synthetic"),
    (f"testid:{PID}_{HIGH}x", "idporten-loa"),
    (f"testid:{PID}_{SUBST}" + "x" * 10000, "too long"),
    ("testid:" + "1" * 10000, "too long"),
], ids=["short", "not-synthetic", "bad-level", "long-tail", "long-pid"])
def test_bad_hints_refused_at_par(server, new_client, hint, why):
    """PAR checks a testid: hint as /authorize does, and keeps none it would refuse."""
    c = new_client()
    params, _ = auth_params(c, login_hint=hint)
    r = c.par(**params)
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request" and why in r.json()["error_description"], r.text
    assert "request_uri" not in r.json()


def test_other_hints_log_in_as_before(server, new_client):
    """A login_hint that is not testid: is ignored: the login pages as usual."""
    c = new_client()
    _, r, res = headless(server, c, "someone@example.no")
    assert not res.code and r.status_code == 200 and 'id="eid-testid"' in r.text


def test_refused_in_prod(tmp_path_factory, listener, tmp_path, monkeypatch):
    import conftest
    from test_tls import make_cert, tls_server
    d = str(tmp_path_factory.mktemp("tls"))
    cert, key = make_cert(d, "prod")
    monkeypatch.setattr(conftest, "TLS_CA", cert)
    monkeypatch.setattr(conftest._HTTP, "verify", cert)
    s = tls_server(tmp_path_factory.mktemp("porten"), cert, key, {"PORTEN_ENV": "prod"})
    s.start()
    try:
        c = conftest.create_client(s, listener, str(tmp_path), auth="none", app_type="native")
        _, r, res = headless(s, c, f"testid:{PID}_{HIGH}")
        assert not res.code, res
        assert res.params.get("error") == "invalid_request", res
        assert "test environment" in res.params["error_description"]
        # nor through PAR, which refuses to keep it
        params, _ = auth_params(c, login_hint=f"testid:{PID}_{HIGH}")
        r = c.par(**params)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
        assert "test environment" in r.json()["error_description"]
    finally:
        s.stop()
