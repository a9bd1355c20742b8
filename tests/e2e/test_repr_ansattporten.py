"""The organisation chooser at Ansattporten (spec/ansattporten-eidas-testid.md §1.2-§1.3)."""

import json
import re

from conftest import (PID, PID2, SUBSTANTIAL, Ansattporten, Page, finish_login, auth_params,
                      authorize, classify, submit_form, start)

import pytest

RES = "urn:altinn:resource:repr-test"


def orgno(base8):
    """A valid organisation number from 8 digits (mod-11 check digit)."""
    w = [3, 2, 7, 6, 5, 4, 3, 2]
    r = 11 - sum(int(d) * x for d, x in zip(base8, w)) % 11
    return base8 + str(0 if r == 11 else r) if r != 10 else None


def orgnos(prefix, n):
    return [o for o in (orgno(prefix + "%02d" % i) for i in range(40)) if o][:n]


MAIN = next(o for o in (orgno("9100000%d" % i) for i in range(10)) if o)
SUB = next(o for o in (orgno("9200000%d" % i) for i in range(10)) if o)
# a second main unit, a deleted one, one where the person holds no rights
MAIN2, DELETED, FOREIGN = orgnos("930000", 3)
# the refresh test's own resource, so taking its right away touches no other test
RES_R = "urn:altinn:resource:repr-refresh"


@pytest.fixture(scope="module")
def ap(server):
    ap = Ansattporten(server)
    server.ctl("repr", "person", PID, "Kari Nordmann")
    server.ctl("repr", "org", MAIN, "Hovud AS", "AS")
    server.ctl("repr", "org", SUB, "Filial", "BEDR", MAIN)
    server.ctl("repr", "resource", RES, "Testtjenesten")
    server.ctl("repr", "right", PID, MAIN, RES, "read,write")
    server.ctl("repr", "right", PID, SUB, RES, "read")
    server.ctl("repr", "org", MAIN2, "Andre AS", "AS")
    server.ctl("repr", "org", DELETED, "Nedlagt AS", "AS", "deleted")
    server.ctl("repr", "org", FOREIGN, "Framand AS", "AS")
    server.ctl("repr", "right", PID, MAIN2, RES, "read")
    server.ctl("repr", "right", PID, DELETED, RES, "read")
    server.ctl("repr", "right", PID2, FOREIGN, RES, "read")
    server.ctl("repr", "right", PID, MAIN, RES_R, "read")
    return ap


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


# ---- several organisations, sub-units, deleted units ------------------------

def org_values(resp):
    """The organisation numbers the chooser offers."""
    return set(re.findall(r'name="org" id="org-[0-9]+" value="([0-9]{9})"', resp.text))


def token_orgs(rar):
    return [p["orgno"]["ID"][5:] for p in rar[0]["authorized_parties"]]


def test_several_organisations_choose_one(ap, ap_client, new_browser):
    c = ap_client()
    b = new_browser()
    res = to_chooser(ap, c, b, [{"type": "ansattporten:altinn:resource", "resource": RES}])
    assert res.kind == "page", res
    # main units and sub-units, never the deleted one nor one held by someone else
    assert org_values(res.resp) == {MAIN, MAIN2, SUB}
    assert 'type="radio" name="org"' in res.resp.text and 'value="none"' in res.resp.text
    # two where one is allowed: the form again is not offered, the choice is refused
    r = b.post(ap.url("/representation"), data=[(k, v) for k, v in Page(res.resp.text).form("repr-form")["fields"]
                                                 if k != "org"] + [("org", MAIN), ("org", MAIN2)],
               allow_redirects=False)
    assert r.status_code == 400
    # nothing chosen: the page again with an alert
    r = submit_form(b, res.resp, "repr-form", {})
    assert r.status_code == 400 and 'role="alert"' in r.text and Page(r.text).form("repr-form")
    done = classify(ap, submit_form(b, res.resp, "repr-form", {"org": MAIN2}), c.redirect_uri,
                    res.sent, res.verifier)
    assert done.code, done
    tok = c.tokens(done)
    assert tok["authorization_details"][0]["authorized_parties"][0]["name"] == "Andre AS"
    _, at = ap.verify(tok["access_token"])
    assert token_orgs(at["authorization_details"]) == [MAIN2]
    # the choice is an event: who (a tag), for whom, which rights, which client
    ev = ap.ctl("repr", "events", c.client_id)
    assert len(ev) == 1 and ev[0]["kind"] == "organisation" and ev[0]["for"] == [MAIN2]
    assert ev[0]["client_id"] == c.client_id and ev[0]["issuer"] == ap.issuer
    assert ev[0]["person"] != PID and PID not in json.dumps(ev)
    assert ev[0]["rights"][0]["authorized_parties"][0]["orgno"]["ID"] == "0192:" + MAIN2


def test_choose_several_where_allowed(ap, ap_client, new_browser):
    c = ap_client()
    b = new_browser()
    rar = [{"type": "ansattporten:altinn:resource", "resource": RES, "allow_multiple_organizations": True}]
    res = to_chooser(ap, c, b, rar)
    assert 'type="checkbox" name="org"' in res.resp.text and 'value="none"' not in res.resp.text
    assert org_values(res.resp) == {MAIN, MAIN2, SUB}
    form = Page(res.resp.text).form("repr-form")
    fields = [(k, v) for k, v in form["fields"] if k != "org"] + [("org", MAIN), ("org", SUB)]
    # the same organisation twice is refused
    r = b.post(ap.url("/representation"), data=fields + [("org", MAIN)], allow_redirects=False)
    assert r.status_code == 400
    done = classify(ap, b.post(ap.url("/representation"), data=fields, allow_redirects=False),
                    c.redirect_uri, res.sent, res.verifier)
    assert done.code, done
    tok = c.tokens(done)
    _, idt = ap.verify(tok["id_token"])
    rar = idt["authorization_details"]
    assert sorted(token_orgs(rar)) == sorted([MAIN, SUB])
    assert rar[0]["allow_multiple_organizations"] is True
    sub = [p for p in rar[0]["authorized_parties"] if p["orgno"]["ID"] == "0192:" + SUB][0]
    assert sub["unit_type"] == "BEDR" and sub["name"] == "Filial"


def test_service_type_reportees_form(ap, ap_client, new_browser):
    svc = "urn:altinn:resource:4711:1"
    ap.ctl("repr", "right", PID, MAIN, svc, "Read,Write")
    c = ap_client()
    b = new_browser()
    res = to_chooser(ap, c, b, [{"type": "ansattporten:altinn:service", "resource": svc}])
    assert org_values(res.resp) == {MAIN}
    done = classify(ap, submit_form(b, res.resp, "repr-form", {"org": MAIN}), c.redirect_uri,
                    res.sent, res.verifier)
    _, idt = ap.verify(c.tokens(done)["id_token"])
    assert idt["authorization_details"] == [{
        "type": "ansattporten:altinn:service", "resource": svc,
        "reportees": [{"Rights": ["Read", "Write"], "Authority": "iso6523-actorid-upis",
                       "ID": "0192:" + MAIN, "Name": "Hovud AS"}]}]
    # named in the register: resource_name
    ap.ctl("repr", "resource", svc, "Lenketjenesten")
    b = new_browser()
    res = to_chooser(ap, c, b, [{"type": "ansattporten:altinn:service", "resource": svc}])
    done = classify(ap, submit_form(b, res.resp, "repr-form", {"org": MAIN}), c.redirect_uri,
                    res.sent, res.verifier)
    assert c.tokens(done)["authorization_details"][0]["resource_name"] == "Lenketjenesten"


@pytest.mark.parametrize("form, want", [
    ("business", {SUB}),
    ("enterprise", {MAIN, MAIN2}),
])
def test_organizationform_filter(ap, ap_client, new_browser, form, want):
    c = ap_client()
    res = to_chooser(ap, c, new_browser(), [{"type": "ansattporten:altinn:resource", "resource": RES,
                                             "organizationform": form}])
    assert org_values(res.resp) == want
    if form == "business":
        assert "sub-unit of" in res.resp.text or "underenhet" in res.resp.text


def test_deleted_offered_only_when_allowed(ap, ap_client, new_browser):
    c = ap_client()
    b = new_browser()
    res = to_chooser(ap, c, b, [{"type": "ansattporten:altinn:resource", "resource": RES}])
    assert DELETED not in org_values(res.resp)
    r = submit_form(b, res.resp, "repr-form", {"org": DELETED})
    assert r.status_code == 403
    res = to_chooser(ap, c, new_browser(), [{"type": "ansattporten:altinn:resource", "resource": RES,
                                             "allow_deleted_organizations": "true"}])
    assert DELETED in org_values(res.resp)


def test_no_organisation(ap, ap_client, new_browser):
    """A person with no rights: the login goes on without the claim; when required, a page."""
    c = ap_client()
    rar = [{"type": "ansattporten:altinn:resource", "resource": RES_R}]
    params, verifier = auth_params(c, authorization_details=json.dumps(rar))
    b = new_browser()
    res = finish_login(ap, b, authorize(ap, b, params), c.redirect_uri, PID2, SUBSTANTIAL, params, verifier)
    assert res.code, res
    _, idt = ap.verify(c.tokens(res)["id_token"])
    assert "authorization_details" not in idt and idt["pid"] == PID2
    rar[0]["representation_is_required"] = True
    params, verifier = auth_params(c, authorization_details=json.dumps(rar))
    b = new_browser()
    res = finish_login(ap, b, authorize(ap, b, params), c.redirect_uri, PID2, SUBSTANTIAL, params, verifier)
    assert res.kind == "page" and res.resp.status_code == 403
    assert Page(res.resp.text).form("repr-form") is None
    done = classify(ap, submit_form(b, res.resp, "cancel-form"), c.redirect_uri, params, verifier)
    assert done.error == "access_denied", done


def test_continue_without_organisation(ap, ap_client, new_browser):
    c = ap_client()
    b = new_browser()
    res = to_chooser(ap, c, b, [{"type": "ansattporten:altinn:resource", "resource": RES}])
    done = classify(ap, submit_form(b, res.resp, "repr-form", {"org": "none"}), c.redirect_uri,
                    res.sent, res.verifier)
    tok = c.tokens(done)
    _, idt = ap.verify(tok["id_token"])
    assert "authorization_details" not in idt and "authorization_details" not in tok
    assert idt["name"] == "Kari Nordmann"
    # required: "none" is no longer a choice, and posting it is refused
    b = new_browser()
    res = to_chooser(ap, c, b, [{"type": "ansattporten:altinn:resource", "resource": RES,
                                 "representation_is_required": True}])
    assert 'value="none"' not in res.resp.text
    assert submit_form(b, res.resp, "repr-form", {"org": "none"}).status_code in (400, 403)


# ---- hostile forms ------------------------------------------------------------

def test_hostile_chooser_posts(ap, ap_client, new_browser):
    c = ap_client()
    b = new_browser()
    res = to_chooser(ap, c, b, [{"type": "ansattporten:altinn:resource", "resource": RES}])
    form = Page(res.resp.text).form("repr-form")
    fields = dict(form["fields"])
    # an organisation of someone else, one that does not exist, junk
    for org in (FOREIGN, "999999999", "'; drop table repr_rights; --", "", "x" * 5000):
        r = submit_form(b, res.resp, "repr-form", {"org": org})
        assert r.status_code in (400, 403), (org, r.status_code)
        assert "Location" not in r.headers
    # a tampered or missing CSRF token, a missing or forged login
    for bad in ({"csrf": fields["csrf"][:-2] + "AA"}, {"csrf": ""}, {"ar": "A" * 43}, {"ar": ""}):
        r = b.post(ap.url("/representation"), data={**fields, **bad, "org": MAIN}, allow_redirects=False)
        assert r.status_code in (400, 403), (bad, r.status_code)
        assert "Location" not in r.headers
    # another browser (no cookie) with the whole form, or asking for the page
    other = new_browser()
    r = other.post(ap.url("/representation"), data={**fields, "org": MAIN}, allow_redirects=False)
    assert r.status_code in (400, 403)
    r = other.get(ap.url("/representation"), params={"ar": fields["ar"]}, allow_redirects=False)
    assert r.status_code in (400, 403) and "Hovud AS" not in r.text
    # the paused login taken to the other issuer's chooser
    r = b.post(ap.server.url("/fullmakt"), data={**fields, "whom": "myself"}, allow_redirects=False)
    assert r.status_code in (400, 403) and "Location" not in r.headers
    r = b.get(ap.server.url("/fullmakt"), params={"ar": fields["ar"]}, allow_redirects=False)
    assert r.status_code in (400, 403)
    # nothing of that changed the login: the right choice still works, once
    done = classify(ap, submit_form(b, res.resp, "repr-form", {"org": MAIN}), c.redirect_uri,
                    res.sent, res.verifier)
    assert done.code, done
    assert token_orgs(c.tokens(done)["authorization_details"]) == [MAIN]
    # the form replayed, and the page asked for again: the login is spent
    r = submit_form(b, res.resp, "repr-form", {"org": MAIN})
    assert r.status_code == 400 and "Location" not in r.headers
    r = b.get(ap.url("/representation"), params={"ar": fields["ar"]}, allow_redirects=False)
    assert r.status_code == 400
    # no event for any of the refused posts
    assert len(ap.ctl("repr", "events", c.client_id)) == 1


def test_prompt_none_needs_the_person(ap, ap_client, new_browser):
    c = ap_client()
    b = new_browser()
    res = to_chooser(ap, c, b, [{"type": "ansattporten:altinn:resource", "resource": RES}])
    classify(ap, submit_form(b, res.resp, "repr-form", {"org": MAIN}), c.redirect_uri)
    # the same client again, silently: but the chooser needs the person
    r = start(ap, c, b, prompt="none",
              authorization_details=json.dumps([{"type": "ansattporten:altinn:resource", "resource": RES}]))
    assert r.error == "interaction_required", r


# ---- refresh: the representation must still hold ---------------------------------

def test_refresh_rechecks_the_rights(ap, ap_client, new_browser):
    c = ap_client(refresh=True)
    b = new_browser()
    res = to_chooser(ap, c, b, [{"type": "ansattporten:altinn:resource", "resource": RES_R}])
    done = classify(ap, submit_form(b, res.resp, "repr-form", {"org": MAIN}), c.redirect_uri,
                    res.sent, res.verifier)
    tok = c.tokens(done)
    rar = tok["authorization_details"]
    r = c.refresh(tok["refresh_token"])
    assert r.status_code == 200, r.text
    assert r.json()["authorization_details"] == rar
    _, at = ap.verify(r.json()["access_token"])
    assert at["authorization_details"] == rar
    # the right is taken away in the register: the next refresh fails, and keeps failing
    ap.ctl("repr", "right", PID, MAIN, RES_R)
    rt = r.json()["refresh_token"]
    for _ in range(2):
        r = c.refresh(rt)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    # given back: the unspent token works again (the refused refresh spent nothing)
    ap.ctl("repr", "right", PID, MAIN, RES_R, "read")
    assert c.refresh(rt).status_code == 200


def test_sjef_pilot_off_by_default(ap, ap_client, new_browser):
    """spec §1.4: without ansattporten_sjef_pilot the scope opens no chooser."""
    ap.ctl("repr", "right", PID, MAIN, "urn:altinn:rolecode:HADM", "HADM")
    ap.ctl("scope", "create", "--name", "ansattporten:sjef", "--description", "the pilot",
           "--accessible-for-all", "--allowed-integration-type", "ansattporten")
    c = ap_client(scopes=["openid", "ansattporten:sjef"])
    params, verifier = auth_params(c, scope="openid ansattporten:sjef")
    b = new_browser()
    res = finish_login(ap, b, authorize(ap, b, params), c.redirect_uri, PID, SUBSTANTIAL, params, verifier)
    assert res.code, res
    _, idt = ap.verify(c.tokens(res)["id_token"])
    assert "authorization_details" not in idt and idt["name"] == "Kari Nordmann"


def test_union_over_resources(ap, ap_client, new_browser):
    """Two resources: the union of the organisations; a token object per resource the choice covers."""
    res2 = "urn:altinn:resource:repr-union"
    ap.ctl("repr", "resource", res2, "Andre tenesta")
    ap.ctl("repr", "right", PID, MAIN2, res2, "sign")
    ap.ctl("repr", "right", PID, FOREIGN, res2, "sign")
    ap.ctl("repr", "right", PID, FOREIGN, res2)  # given and taken away: not offered
    c = ap_client()
    b = new_browser()
    rar = [{"type": "ansattporten:altinn:resource", "resource": RES, "organizationform": "enterprise"},
           {"type": "ansattporten:altinn:resource", "resource": res2, "allow_multiple_organizations": True}]
    res = to_chooser(ap, c, b, rar)
    assert org_values(res.resp) == {MAIN, MAIN2}
    assert 'type="checkbox"' in res.resp.text  # true if any object says so
    form = Page(res.resp.text).form("repr-form")
    fields = [(k, v) for k, v in form["fields"] if k != "org"] + [("org", MAIN), ("org", MAIN2)]
    done = classify(ap, b.post(ap.url("/representation"), data=fields, allow_redirects=False),
                    c.redirect_uri, res.sent, res.verifier)
    tok = c.tokens(done)
    got = {o["resource"]: o for o in tok["authorization_details"]}
    assert sorted(token_orgs([got[RES]])) == sorted([MAIN, MAIN2])
    assert token_orgs([got[res2]]) == [MAIN2]
    assert got[res2]["resource_name"] == "Andre tenesta"
    assert got[res2]["authorized_parties"][0]["resource"] == "repr-union"
    assert got[RES]["organizationform"] == "enterprise" and "organizationform" not in got[res2]
    # only MAIN: the second resource gives it nothing, so no object for it
    b = new_browser()
    res = to_chooser(ap, c, b, rar)
    done = classify(ap, submit_form(b, res.resp, "repr-form", {"org": MAIN}), c.redirect_uri,
                    res.sent, res.verifier)
    assert [o["resource"] for o in c.tokens(done)["authorization_details"]] == [RES]
