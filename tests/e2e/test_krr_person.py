"""
KRR, the person's own record (spec/krr.md §4): GET and PATCH /rest/v1/person
with the person's ID-porten access token from a real TestID login; the person
is the token's pid.
"""

import json

import pytest
from jwcrypto import jwt as jjwt

from conftest import PID, PID2, TIMEOUT, http, login

USER_CONTACT = "krr:user/kontaktinformasjon.read"
USER_POST = "krr:user/digitalpost.read"
USER_LANG = "krr:user/spraak.write"


@pytest.fixture(scope="module")
def persons(server):
    # the §7 test persons; PID (21879498012) is among them, PID2 is not registered
    assert server.ctl("krr", "testdata")["persons"] >= 7
    return server


def token(server, new_client, new_browser, scopes, pid=PID):
    c = new_client(integration_type="api_klient", scopes=["openid", "profile", *scopes])
    res = login(server, c, new_browser(), pid=pid, scope=" ".join(["openid", "profile", *scopes]))
    return c.tokens(res)["access_token"]


def call(server, tok, method="GET", body=None, headers=None):
    h = {"Authorization": f"Bearer {tok}"} if tok else {}
    if body is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    return http().request(method, server.url("/rest/v1/person"), data=body, headers=h, timeout=TIMEOUT)


def test_own_record(persons, new_client, new_browser):
    tok = token(persons, new_client, new_browser, [USER_CONTACT, USER_POST])
    r = call(persons, tok)
    assert r.status_code == 200, r.text
    p = r.json()
    assert p["personidentifikator"] == PID and p["status"] == "AKTIV"
    assert p["kontaktinformasjon"]["epostadresse"] == "demo@example.no"
    assert p["varslingsstatus"] == "KAN_VARSLES" and p["spraak"] == "nb"
    assert r.headers.get("Cache-Control") == "no-store"


def test_scopes_decide_the_fields(persons, new_client, new_browser):
    tok = token(persons, new_client, new_browser, [USER_POST])
    p = call(persons, tok).json()
    assert "kontaktinformasjon" not in p and "varslingsstatus" not in p


def test_as_jws(persons, new_client, new_browser):
    tok = token(persons, new_client, new_browser, [USER_CONTACT])
    r = call(persons, tok, headers={"Accept": "application/jose"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/jose")
    t = jjwt.JWT(jwt=r.text, key=persons.keyset(), algs=["RS256"], check_claims=False)
    assert json.loads(t.claims)["personidentifikator"] == PID


def test_unregistered_person(persons, new_client, new_browser):
    tok = token(persons, new_client, new_browser, [USER_CONTACT, USER_LANG], pid=PID2)
    assert call(persons, tok).json() == {"personidentifikator": PID2, "status": "IKKE_REGISTRERT",
                                          "varslingsstatus": "KAN_IKKE_VARSLES"}
    assert call(persons, tok, "PATCH", '{"spraak": "en"}').status_code == 404


def test_change_language(persons, new_client, new_browser):
    tok = token(persons, new_client, new_browser, [USER_LANG])
    r = call(persons, tok, "PATCH", json.dumps({"spraak": "nn"}))
    assert r.status_code == 200, r.text
    assert r.json()["spraak"] == "nn" and r.json()["personidentifikator"] == PID
    assert persons.ctl("krr", "show", PID)["spraak"] == "nn"
    hist = persons.ctl("krr", "history", PID)
    assert hist[-1]["entry"]["who"] == "person" and hist[-1]["entry"]["what"] == "spraak"
    for bad in ['{"spraak": "sv"}', '{"spraak": 1}', "{", "[]", '{"spraak": "en", "epostadresse": "x@y.no"}', ""]:
        r = call(persons, tok, "PATCH", bad)
        assert r.status_code == 400, (bad, r.text)
    r = call(persons, tok, "PATCH", '{"spraak": "en"}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert persons.ctl("krr", "show", PID)["spraak"] == "nn"


def test_patch_answers_only_what_the_token_reads(persons, new_client, new_browser):
    """spec §4: spraak.write changes the language; reading needs the read scopes."""
    tok = token(persons, new_client, new_browser, [USER_LANG])
    assert call(persons, tok).status_code == 403
    r = call(persons, tok, "PATCH", json.dumps({"spraak": "nn"}))
    assert r.status_code == 200, r.text
    p = r.json()
    assert sorted(p) == ["personidentifikator", "spraak", "spraak_oppdatert"], p
    assert p["personidentifikator"] == PID and p["spraak"] == "nn"
    tok = token(persons, new_client, new_browser, [USER_LANG, USER_POST])
    p = call(persons, tok, "PATCH", json.dumps({"spraak": "en"})).json()
    assert "kontaktinformasjon" not in p and "varslingsstatus" not in p, p
    assert p["spraak"] == "en" and p["status"] == "AKTIV"
    tok = token(persons, new_client, new_browser, [USER_LANG, USER_CONTACT])
    p = call(persons, tok, "PATCH", json.dumps({"spraak": "nb"})).json()
    assert p["kontaktinformasjon"]["epostadresse"] == "demo@example.no" and p["spraak"] == "nb"
    assert p == call(persons, tok).json()


def test_scope_needed(persons, new_client, new_browser):
    tok = token(persons, new_client, new_browser, [])
    r = call(persons, tok)
    assert r.status_code == 403 and 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    tok = token(persons, new_client, new_browser, [USER_CONTACT])
    r = call(persons, tok, "PATCH", '{"spraak": "en"}')
    assert r.status_code == 403


def test_without_or_bad_token(persons):
    assert call(persons, None).status_code == 401
    r = call(persons, "not-a-token")
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
