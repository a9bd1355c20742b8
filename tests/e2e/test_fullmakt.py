"""authorization_details of type idporten:fullmakt at ID-porten (spec/idporten-oidc.md §21)."""

import json

import pytest

from conftest import start


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


from conftest import PID, PID2, SUBSTANTIAL, Page, auth_params, authorize, classify, finish_login, submit_form  # noqa: E402

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
