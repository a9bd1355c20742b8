"""The organisation chooser at Ansattporten (spec/ansattporten-eidas-testid.md §1.2-§1.3)."""

import json

from conftest import PID, SUBSTANTIAL, Ansattporten, Page, create_client, finish_login, auth_params, authorize, classify, submit_form, start

import pytest

RES = "urn:altinn:resource:repr-test"


def orgno(base8):
    """A valid organisation number from 8 digits (mod-11 check digit)."""
    w = [3, 2, 7, 6, 5, 4, 3, 2]
    r = 11 - sum(int(d) * x for d, x in zip(base8, w)) % 11
    return base8 + str(0 if r == 11 else r) if r != 10 else None


MAIN = next(o for o in (orgno("9100000%d" % i) for i in range(10)) if o)
SUB = next(o for o in (orgno("9200000%d" % i) for i in range(10)) if o)


@pytest.fixture(scope="module")
def ap(server):
    ap = Ansattporten(server)
    server.ctl("repr", "person", PID, "Kari Nordmann")
    server.ctl("repr", "org", MAIN, "Hovud AS", "AS")
    server.ctl("repr", "org", SUB, "Filial", "BEDR", MAIN)
    server.ctl("repr", "resource", RES, "Testtjenesten")
    server.ctl("repr", "right", PID, MAIN, RES, "read,write")
    server.ctl("repr", "right", PID, SUB, RES, "read")
    return ap


@pytest.fixture
def ap_client(ap, listener, tmp_path):
    def _new(**kw):
        kw.setdefault("scopes", ["openid"])
        return create_client(ap, listener, tmp_path, integration_type="ansattporten", **kw)
    return _new


def to_chooser(ap, c, browser, rar):
    params, verifier = auth_params(c, authorization_details=json.dumps(rar))
    r = authorize(ap, browser, params)
    return finish_login(ap, browser, r, params["redirect_uri"], PID, SUBSTANTIAL, params, verifier)


def test_discovery_lists_altinn_types(ap):
    d = ap.get("/.well-known/openid-configuration").json()
    assert d["authorization_details_types_supported"] == ["ansattporten:altinn:service",
                                                          "ansattporten:altinn:resource"]


@pytest.mark.parametrize("rar", [
    [{"type": "ansattporten:altinn:resource", "ressurs": RES}],
    [{"type": "ansattporten:altinn:resource", "resource": RES, "representation_is_requierd": True}],
    [{"type": "ansattporten:altinn:resource", "resource": RES},
     {"type": "ansattporten:altinn:service", "resource": "urn:altinn:resource:2480:40"}],
    [{"type": "idporten:fullmakt", "permission_roles": ["arbeid"]}],
    [{"type": "ansattporten:altinn:service", "resource": "urn:altinn:resource:abc"}],
])
def test_bad_rar_refused(ap, ap_client, new_browser, rar):
    c = ap_client()
    res = start(ap, c, new_browser(), authorization_details=json.dumps(rar))
    assert res.kind == "redirect", res
    assert res.params["error"] == "invalid_authorization_details"


def test_choose_one_organisation(ap, ap_client, new_browser):
    c = ap_client()
    b = new_browser()
    res = to_chooser(ap, c, b, [{"type": "ansattporten:altinn:resource", "resource": RES}])
    assert res.kind == "page", res
    page = Page(res.resp.text)
    assert page.form("repr-form") is not None, res.resp.text[:500]
    assert MAIN in res.resp.text and SUB in res.resp.text
    r = submit_form(b, res.resp, "repr-form", {"org": MAIN})
    done = classify(ap, r, c.redirect_uri, res.sent, res.verifier)
    assert done.kind == "redirect" and done.code, done
    tok = c.tokens(done)
    _, idt = ap.verify(tok["id_token"])
    _, at = ap.verify(tok["access_token"])
    assert idt["name"] == "Kari Nordmann"
    rar = idt["authorization_details"]
    assert rar == at["authorization_details"]
    assert rar[0]["type"] == "ansattporten:altinn:resource"
    assert rar[0]["resource_name"] == "Testtjenesten"
    party = rar[0]["authorized_parties"][0]
    assert party["orgno"] == {"authority": "iso6523-actorid-upis", "ID": "0192:" + MAIN}
    assert party["resource"] == "repr-test" and party["unit_type"] == "AS"


def test_forged_choice_refused(ap, ap_client, new_browser):
    c = ap_client()
    b = new_browser()
    res = to_chooser(ap, c, b, [{"type": "ansattporten:altinn:resource", "resource": RES,
                                 "organizationform": "enterprise"}])
    assert res.kind == "page"
    assert SUB not in res.resp.text
    r = submit_form(b, res.resp, "repr-form", {"org": SUB})
    assert r.status_code == 403
