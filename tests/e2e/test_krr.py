"""
KRR, the contact and reservation register (spec/krr.md), end to end: person
records loaded with `portenctl krr import` and `krr testdata`, the lookup API
(/rest/v1/personer, /rest/v2/personer) and the change feed
(/rest/v2/krr/hentEndringer) called with real Maskinporten access tokens from
JWT-bearer grants signed with python3-jwcrypto, by clients of organisations on
the krr scopes' access lists (portenctl scope grant), and the hostile half.
"""

import json
import os
import subprocess
import time
import uuid

import pytest
from jwcrypto import jwk
from jwcrypto import jwt as jjwt

from conftest import ServerStartError, http, TIMEOUT

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CONTACT = "krr:global/kontaktinformasjon.read"
POST = "krr:global/digitalpost.read"
FEED = "krr:global/hentendring.read"

# the synthetic test persons of `portenctl krr testdata` (spec §7)
FULL = "12838540056"        # mobile, e-mail and mailbox
BOTH = "04879140078"        # mobile and e-mail
MOBILE = "23917840059"      # mobile only
EMAIL = "30816640004"       # e-mail only
DELETED = "15858240090"     # SLETTET
EXPIRED = "09899940080"     # details older than 18 months
RESERVED = "17828840185"    # reservasjon JA


def orgno(first8):
    w = [3, 2, 7, 6, 5, 4, 3, 2]
    c = 11 - sum(int(d) * k for d, k in zip(first8, w)) % 11
    c = 0 if c == 11 else c
    return None if c == 10 else first8 + str(c)


def _orgnos(n, start):
    out = []
    while len(out) < n:
        o = orgno(str(start))
        if o:
            out.append(o)
        start += 1
    return out


ORG_ALL, ORG_CONTACT, ORG_POST, ORG_NONE = _orgnos(4, 92000000)


def synthetic(day, month, yy, ind):
    """A synthetic national identity number (month + 80), or None when no check digit fits."""
    base = f"{day:02d}{month + 80:02d}{yy:02d}{ind:03d}"
    k1 = [3, 7, 6, 1, 8, 9, 4, 5, 2]
    k2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    c1 = 11 - sum(int(a) * b for a, b in zip(base, k1)) % 11
    c1 = 0 if c1 == 11 else c1
    if c1 == 10:
        return None
    b = base + str(c1)
    c2 = 11 - sum(int(a) * k for a, k in zip(b, k2)) % 11
    c2 = 0 if c2 == 11 else c2
    return None if c2 == 10 else b + str(c2)


def many_ids(n, yy=70):
    """n distinct valid synthetic numbers born in 19yy (individual numbers 000-499)."""
    out = []
    for ind in range(0, 500):
        for month in range(1, 13):
            for day in range(1, 29):
                p = synthetic(day, month, yy, ind)
                if p:
                    out.append(p)
                    if len(out) == n:
                        return out
    raise AssertionError("not enough numbers")


def bad_check(pid):
    return pid[:10] + str((int(pid[10]) + 1) % 10)


class KRR:
    def __init__(self, server, tmp):
        self.server = server
        self.tmp = str(tmp)
        self.mp_issuer = server.issuer + "/maskinporten/"
        self.http = http()

    def ctl(self, *args, check=True):
        return self.server.ctl(*args, check=check)

    def client(self, owner, scopes):
        n = uuid.uuid4().hex[:10]
        key = jwk.JWK.generate(kty="RSA", size=2048)
        kid = f"krr-{n}"
        pub = json.loads(key.export_public())
        pub.update({"kid": kid, "use": "sig", "alg": "RS256"})
        path = os.path.join(self.tmp, f"jwks-{n}.json")
        with open(path, "w") as f:
            json.dump({"keys": [pub]}, f)
        args = ["client", "create", "--client-name", f"krr {n}", "--description", "KRR lookups",
                "--integration-type", "maskinporten", "--token-endpoint-auth-method", "private_key_jwt",
                "--grant-type", GRANT, "--client-orgno", owner, "--jwks-file", path]
        for s in scopes:
            args += ["--scope", s]
        info = self.ctl(*args)
        return {"id": info["client_id"], "key": key, "kid": kid}

    def token_response(self, client, scope):
        now = int(time.time())
        claims = {"aud": self.mp_issuer, "iss": client["id"], "scope": scope, "iat": now, "exp": now + 60,
                  "jti": str(uuid.uuid4())}
        t = jjwt.JWT(header={"alg": "RS256", "kid": client["kid"]}, claims=claims)
        t.make_signed_token(client["key"])
        return self.http.post(self.mp_issuer.rstrip("/") + "/token",
                              data={"grant_type": GRANT, "assertion": t.serialize()}, timeout=TIMEOUT)

    def token(self, client, scope):
        r = self.token_response(client, scope)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def post(self, path, token, body=None, data=None, headers=None):
        h = {"Content-Type": "application/json"}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        h.update(headers or {})
        if data is None:
            data = json.dumps(body)
        return self.http.post(self.server.url(path), data=data, headers=h, timeout=TIMEOUT)

    def lookup(self, token, ids, version="v2"):
        r = self.post(f"/rest/{version}/personer", token, {"personidentifikatorer": ids})
        assert r.status_code == 200, r.text
        assert r.headers.get("Cache-Control") == "no-store"
        return r.json()["personer"]

    def one(self, token, pid, version="v2"):
        (p,) = self.lookup(token, [pid], version)
        assert p["personidentifikator"] == pid
        return p

    def write(self, name, text, mode="w"):
        path = os.path.join(self.tmp, name)
        with open(path, mode) as f:
            f.write(text)
        return path

    def imp(self, path, *opts):
        return self.ctl("krr", "import", *opts, path, check=False)


def make_cert(tmp):
    """A self-signed certificate as base64 DER (a person's encryption certificate)."""
    key, pem = os.path.join(tmp, "p.key"), os.path.join(tmp, "p.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", pem,
                    "-subj", "/CN=KRR test person", "-days", "365"], check=True, capture_output=True, timeout=60)
    der = subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"], check=True, capture_output=True,
                         timeout=60).stdout
    import base64
    return base64.b64encode(der).decode()


CERT_PID = "02909540081"


@pytest.fixture(scope="module")
def krr(tmp_path_factory, start_server):
    try:
        server = start_server()
    except ServerStartError as e:
        if "not built" in str(e):
            pytest.skip(str(e))
        raise
    k = KRR(server, tmp_path_factory.mktemp("krr"))
    # the service made its scopes at start-up; the access lists are the operator's
    for s in (CONTACT, POST, FEED):
        k.ctl("scope", "grant", s, ORG_ALL)
    k.ctl("scope", "grant", CONTACT, ORG_CONTACT)
    k.ctl("scope", "grant", FEED, ORG_CONTACT)
    k.ctl("scope", "grant", POST, ORG_POST)
    k.ctl("scope", "create", "--name", "e2ekrr:other", "--description", "another API",
          "--allowed-integration-type", "maskinporten", "--owner-orgno", ORG_NONE)
    k.all = k.client(ORG_ALL, [CONTACT, POST, FEED])
    k.contact = k.client(ORG_CONTACT, [CONTACT, FEED])
    k.postonly = k.client(ORG_POST, [POST])
    k.none = k.client(ORG_NONE, [CONTACT, "e2ekrr:other"])
    assert k.ctl("krr", "testdata")["persons"] >= 7
    k.cert = make_cert(k.tmp)
    path = k.write("cert.csv", "personidentifikator,epostadresse,postkasseadresse,postkasseleverandoeradresse,"
                   f"sertifikat,spraak\n{CERT_PID},cert@example.no,cert#AB12,922020175,{k.cert},en\n")
    p = k.imp(path)
    assert p.returncode == 0, p.stderr
    k.tok_all = k.token(k.all, f"{CONTACT} {POST}")
    k.tok_contact = k.token(k.contact, CONTACT)
    k.tok_post = k.token(k.postonly, POST)
    return k


# --------------------------------------------------------------------------
# the lookup API
# --------------------------------------------------------------------------

def test_v2_every_field(krr):
    p = krr.one(krr.tok_all, FULL)
    assert p["status"] == "AKTIV" and p["reservasjon"] == "NEI" and p["varslingsstatus"] == "KAN_VARSLES"
    k = p["kontaktinformasjon"]
    assert k["epostadresse"] == "ola.nordmann@example.no" and k["mobiltelefonnummer"] == "+4799000001"
    for f in ("epostadresse_oppdatert", "epostadresse_sist_verifisert", "mobiltelefonnummer_oppdatert",
              "mobiltelefonnummer_sist_verifisert"):
        assert k[f].endswith("Z") and "T" in k[f], f
    assert p["digital_post"] == {"postkasseadresse": "testperson#9YDT", "postkasseleverandoeradresse": "984661185"}
    assert p["spraak"] == "nb" and "spraak_oppdatert" in p
    assert "reservasjonstidspunkt" not in p and "sertifikat" not in p


def test_certificate_and_language(krr):
    p = krr.one(krr.tok_all, CERT_PID)
    assert p["sertifikat"] == krr.cert
    assert p["digital_post"]["postkasseleverandoeradresse"] == "922020175"
    assert p["spraak"] == "en"


def test_v1_omits_the_newer_fields(krr):
    p = krr.one(krr.tok_all, FULL, "v1")
    k = p["kontaktinformasjon"]
    assert "epostadresse_oppdatert" in k and "epostadresse_sist_verifisert" not in k
    assert "mobiltelefonnummer_sist_verifisert" not in k and "spraak_oppdatert" not in p
    r = krr.one(krr.tok_all, RESERVED, "v1")
    assert r["reservasjon"] == "JA" and "reservasjonstidspunkt" not in r
    r = krr.one(krr.tok_all, RESERVED, "v2")
    assert "reservasjonstidspunkt" in r and "reservasjon_oppdatert" in r


def test_contact_scope_only(krr):
    p = krr.one(krr.tok_contact, FULL)
    assert "kontaktinformasjon" in p and "varslingsstatus" in p and "spraak" in p
    assert "digital_post" not in p and "sertifikat" not in p
    p = krr.one(krr.tok_contact, CERT_PID)
    assert "sertifikat" not in p


def test_post_scope_only(krr):
    p = krr.one(krr.tok_post, FULL)
    assert "digital_post" in p
    assert "kontaktinformasjon" not in p and "varslingsstatus" not in p and "spraak" not in p
    assert p["reservasjon"] == "NEI" and p["status"] == "AKTIV"
    assert krr.one(krr.tok_post, CERT_PID)["sertifikat"] == krr.cert


def test_profiles(krr):
    got = {p["personidentifikator"]: p for p in krr.lookup(krr.tok_all, [BOTH, MOBILE, EMAIL, DELETED, EXPIRED,
                                                                        RESERVED])}
    assert got[BOTH]["varslingsstatus"] == "KAN_VARSLES" and "digital_post" not in got[BOTH]
    assert set(got[MOBILE]["kontaktinformasjon"]) == {"mobiltelefonnummer", "mobiltelefonnummer_oppdatert",
                                                     "mobiltelefonnummer_sist_verifisert"}
    assert "mobiltelefonnummer" not in got[EMAIL]["kontaktinformasjon"]
    # SLETTET: id, status, reservation and notification status only
    assert got[DELETED] == {"personidentifikator": DELETED, "status": "SLETTET", "reservasjon": "NEI",
                            "varslingsstatus": "KAN_IKKE_VARSLES"}
    # §2: expired details are still delivered, with their dates, but cannot be used to notify
    assert got[EXPIRED]["varslingsstatus"] == "KAN_IKKE_VARSLES"
    assert got[EXPIRED]["kontaktinformasjon"]["epostadresse"] == "gammel@example.no"
    assert got[RESERVED]["reservasjon"] == "JA" and got[RESERVED]["varslingsstatus"] == "KAN_IKKE_VARSLES"


def test_unknown_persons_are_not_errors(krr):
    pid = many_ids(1, yy=61)[0]
    assert krr.one(krr.tok_all, pid) == {"personidentifikator": pid, "status": "IKKE_REGISTRERT",
                                         "varslingsstatus": "KAN_IKKE_VARSLES"}
    assert krr.one(krr.tok_post, pid) == {"personidentifikator": pid, "status": "IKKE_REGISTRERT"}


def test_duplicates_once_in_request_order(krr):
    ids = [EMAIL, FULL, EMAIL, MOBILE, FULL]
    got = [p["personidentifikator"] for p in krr.lookup(krr.tok_all, ids)]
    assert got == [EMAIL, FULL, MOBILE]


def test_duplicates_at_the_limit(krr):
    # a whole batch of one number, and unregistered numbers repeated among registered ones
    assert [p["personidentifikator"] for p in krr.lookup(krr.tok_all, [FULL] * 1000)] == [FULL]
    u = many_ids(2, yy=63)
    got = krr.lookup(krr.tok_all, [u[1], FULL, u[0], u[1], FULL, u[0]])
    assert [(p["personidentifikator"], p["status"]) for p in got] == [
        (u[1], "IKKE_REGISTRERT"), (FULL, "AKTIV"), (u[0], "IKKE_REGISTRERT")]


def test_thousand_ids(krr):
    ids = many_ids(998, yy=72) + [FULL, RESERVED]
    t0 = time.monotonic()
    got = krr.lookup(krr.tok_all, ids)
    took = time.monotonic() - t0
    assert [p["personidentifikator"] for p in got] == ids
    assert sum(p["status"] == "IKKE_REGISTRERT" for p in got) == 998
    assert took < 5, took


def test_thousand_and_one_refused(krr):
    r = krr.post("/rest/v2/personer", krr.tok_all, {"personidentifikatorer": many_ids(1001, yy=72)})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert "1000" in r.json()["error_description"]


@pytest.mark.parametrize("ids", [[bad_check(FULL)], [FULL, bad_check(BOTH)], ["1234567890"], ["123456789012"],
                                 ["1234567890a"], [12838540056], [None], [], ["01010112345"]])
def test_bad_identifiers(krr, ids):
    r = krr.post("/rest/v2/personer", krr.tok_all, {"personidentifikatorer": ids})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


def test_real_number_refused_in_test(krr):
    # a valid fødselsnummer that is not synthetic (spec/national-id-numbers.md §4)
    r = krr.post("/rest/v2/personer", krr.tok_all, {"personidentifikatorer": ["01019012480"]})
    assert r.status_code == 400 and "synthetic" in r.json()["error_description"]


@pytest.mark.parametrize("body", ["{", "[]", '"x"', "null", '{"personidentifikatorer": "12838540056"}',
                                  '{"other": []}', '{"personidentifikatorer": [], "personidentifikatorer": []}',
                                  "\x00\x01", ""])
def test_malformed_body(krr, body):
    r = krr.post("/rest/v2/personer", krr.tok_all, data=body.encode())
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_request"


@pytest.mark.parametrize("ct", ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", None])
def test_wrong_content_type(krr, ct):
    h = {"Content-Type": ct} if ct else {"Content-Type": ""}
    r = krr.post("/rest/v2/personer", krr.tok_all, data=json.dumps({"personidentifikatorer": [FULL]}), headers=h)
    assert r.status_code == 415, r.text


def test_content_type_with_charset(krr):
    r = krr.post("/rest/v2/personer", krr.tok_all, {"personidentifikatorer": [FULL]},
                 headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200


def test_oversized_body(krr):
    body = json.dumps({"personidentifikatorer": [FULL] * 7000})
    assert len(body) > 65536
    r = krr.post("/rest/v2/personer", krr.tok_all, data=body)
    assert r.status_code == 413


def test_without_token(krr):
    r = krr.post("/rest/v2/personer", None, {"personidentifikatorer": [FULL]})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("tok", ["garbage", "a.b.c"])
def test_bad_token(krr, tok):
    r = krr.post("/rest/v1/personer", tok, {"personidentifikatorer": [FULL]})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_forged_token(krr):
    head, body, _ = krr.tok_all.split(".")
    other = krr.tok_post.split(".")[2]
    r = krr.post("/rest/v2/personer", f"{head}.{body}.{other}", {"personidentifikatorer": [FULL]})
    assert r.status_code == 401


def test_id_porten_issuer_token_refused(krr):
    # a token of another issuer is not a Maskinporten token
    claims = jjwt.JWT(jwt=krr.tok_all).token.objects["payload"]
    assert b"maskinporten" in claims
    r = krr.post("/rest/v2/personer", krr.tok_all + "x", {"personidentifikatorer": [FULL]})
    assert r.status_code == 401


def test_client_without_access(krr):
    # Maskinporten gives no token for a krr scope to an organisation not on its access list
    r = krr.token_response(krr.none, CONTACT)
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    r = krr.token_response(krr.postonly, CONTACT)
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    # a token without a krr scope is refused by the register
    tok = krr.token(krr.none, "e2ekrr:other")
    r = krr.post("/rest/v2/personer", tok, {"personidentifikatorer": [FULL]})
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"]
    r = krr.post("/rest/v2/krr/hentEndringer", tok, {"fraEndringsId": 0})
    assert r.status_code == 403


def test_access_revoked(krr):
    krr.ctl("scope", "revoke", POST, ORG_POST)
    try:
        assert krr.token_response(krr.postonly, POST).status_code == 400
    finally:
        krr.ctl("scope", "grant", POST, ORG_POST)
    assert krr.token_response(krr.postonly, POST).status_code == 200


def test_get_not_allowed(krr):
    r = krr.http.get(krr.server.url("/rest/v2/personer"), headers={"Authorization": f"Bearer {krr.tok_all}"},
                     timeout=TIMEOUT)
    assert r.status_code in (404, 405)


# --------------------------------------------------------------------------
# the change feed
# --------------------------------------------------------------------------

def feed(krr, tok, fra):
    r = krr.post("/rest/v2/krr/hentEndringer", tok, {"fraEndringsId": fra})
    assert r.status_code == 200, r.text
    return r.json()


def test_feed_paged_to_its_end(krr):
    ids = many_ids(2100, yy=80)
    rows = "".join(f"{p},p{i}@example.no,+47{40000000 + i}\r\n" for i, p in enumerate(ids))
    path = krr.write("bulk.csv", "personidentifikator,epostadresse,mobiltelefonnummer\r\n" + rows)
    p = krr.imp(path)
    assert p.returncode == 0, p.stderr
    tok = krr.token(krr.all, f"{FEED} {CONTACT} {POST}")
    seen, fra, pages = {}, 0, 0
    while True:
        page = feed(krr, tok, fra)
        pages += 1
        assert page["fraEndringsId"] == fra and len(page["list"]) <= 1000
        for person in page["list"]:
            seen[person["personidentifikator"]] = person
        if page["tilEndringsId"] == page["sisteEndringsId"]:
            break
        assert page["tilEndringsId"] >= fra and len(page["list"]) == 1000
        fra = page["tilEndringsId"] + 1
        assert pages < 20
    assert pages >= 3
    assert all(p in seen for p in ids) and FULL in seen and DELETED in seen
    assert seen[ids[5]]["kontaktinformasjon"]["epostadresse"] == "p5@example.no"
    assert seen[DELETED]["status"] == "SLETTET"
    # up to date: the next page is empty and says so
    last = page["sisteEndringsId"]
    empty = feed(krr, tok, last + 1)
    assert empty["list"] == [] and empty["tilEndringsId"] == last and empty["fraEndringsId"] == last + 1
    # a change shows up after the caller's position, once, as the full record
    path = krr.write("one.csv", f"personidentifikator,epostadresse\n{ids[7]},changed@example.no\n")
    assert krr.imp(path).returncode == 0
    after = feed(krr, tok, last + 1)
    assert [p["personidentifikator"] for p in after["list"]] == [ids[7]]
    assert after["list"][0]["kontaktinformasjon"]["epostadresse"] == "changed@example.no"
    assert after["tilEndringsId"] == after["sisteEndringsId"] == last + 1


def test_feed_fields_follow_scopes(krr):
    tok = krr.token(krr.contact, FEED)
    page = feed(krr, tok, 0)
    assert page["list"] and all(set(p) <= {"personidentifikator", "reservasjon", "status",
                                           "reservasjonstidspunkt", "reservasjon_oppdatert"}
                                for p in page["list"])


def test_feed_needs_its_scope(krr):
    r = krr.post("/rest/v2/krr/hentEndringer", krr.tok_all, {"fraEndringsId": 0})
    assert r.status_code == 403
    assert "hentendring" in r.headers["WWW-Authenticate"]


@pytest.mark.parametrize("body", ['{"fraEndringsId": -1}', '{"fraEndringsId": "1"}', '{"fraEndringsId": 1.5}',
                                  '{}', '{"fraEndringsId": null}', '{"fraEndringsId": 99999999999999999999999}',
                                  "[0]", "{"])
def test_feed_bad_position(krr, body):
    tok = krr.token(krr.all, f"{FEED} {CONTACT}")
    r = krr.post("/rest/v2/krr/hentEndringer", tok, data=body)
    assert r.status_code == 400, r.text


def test_feed_wrong_content_type(krr):
    tok = krr.token(krr.all, FEED)
    r = krr.post("/rest/v2/krr/hentEndringer", tok, data='{"fraEndringsId": 0}', headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


# --------------------------------------------------------------------------
# import and export
# --------------------------------------------------------------------------

def absent(krr, pid):
    p = krr.ctl("krr", "show", pid, check=False)
    return p.returncode != 0


def test_import_refuses_all_or_nothing(krr):
    fresh = many_ids(4, yy=63)
    text = ("personidentifikator,epostadresse,mobiltelefonnummer,spraak\n"
            f"{fresh[0]},ok@example.no,,nb\n"
            f"{bad_check(fresh[1])},x@example.no,,\n"
            f"{fresh[2]},not-an-address,,\n"
            f"{fresh[3]},,12345,\n"
            f"{fresh[0]},again@example.no,,\n"
            f"{fresh[3]},,,xx\n")
    p = krr.imp(krr.write("bad.csv", text))
    err = p.stderr.decode()
    assert p.returncode != 0
    assert "line 3: personidentifikator has wrong check digits" in err
    assert "line 4: epostadresse" in err
    assert "line 5: mobiltelefonnummer" in err
    assert "line 6: personidentifikator repeats" in err
    assert "line 7: spraak" in err
    assert "nothing was imported" in err
    assert absent(krr, fresh[0])


def test_import_partial(krr):
    fresh = many_ids(2, yy=64)
    p = krr.imp(krr.write("partial.csv", f"personidentifikator,epostadresse\n{fresh[0]},a@example.no\n"
                                         f"{fresh[1]},bad\n"), "--partial")
    assert p.returncode != 0 and "line 3" in p.stderr.decode()
    assert not absent(krr, fresh[0]) and absent(krr, fresh[1])


def test_import_partial_repeated_number(krr):
    """--partial: a repeated number is a bad row; the first row of it and the other rows stay."""
    f = many_ids(3, yy=69)
    p = krr.imp(krr.write("dup.csv", "personidentifikator,epostadresse\n"
                          f"{f[0]},a@example.no\n{f[1]},b@example.no\n{f[0]},c@example.no\n"
                          f"{f[2]},d@example.no\n"), "--partial")
    assert p.returncode != 0
    assert "line 4: personidentifikator repeats" in p.stderr.decode(), p.stderr
    assert json.loads(p.stdout) == {"imported": 3, "refused": 1}
    assert [krr.ctl("krr", "show", x)["epostadresse"] for x in f] == \
        ["a@example.no", "b@example.no", "d@example.no"]
    assert len(krr.ctl("krr", "history", f[0])) == 1
    # a repeat of a number already in the register before the import is no repeat
    p = krr.imp(krr.write("again.csv", f"personidentifikator,epostadresse\n{f[0]},e@example.no\n"),
                "--partial")
    assert p.returncode == 0, p.stderr
    assert krr.ctl("krr", "show", f[0])["epostadresse"] == "e@example.no"


def test_import_broken_quoting(krr):
    fresh = many_ids(3, yy=65)
    for i, text in enumerate([f'personidentifikator,epostadresse\n{fresh[0]},"a@example.no\n',
                              f'personidentifikator,epostadresse\n{fresh[0]},"a"@example.no\n',
                              f'personidentifikator,epostadresse\n{fresh[0]},a"b@example.no\n']):
        p = krr.imp(krr.write(f"quote{i}.csv", text))
        assert p.returncode != 0 and "line 2" in p.stderr.decode(), p.stderr
        assert absent(krr, fresh[0])


def test_import_bom_mixed_line_endings_and_quotes(krr):
    fresh = many_ids(4, yy=66)
    text = ("\ufeffpersonidentifikator,epostadresse,postkasseadresse,postkasseleverandoeradresse\r\n"
            f"{fresh[0]},a@example.no,,\n"
            f'{fresh[1]},b@example.no,"x,y#1",984661185\r'
            f'"{fresh[2]}",c@example.no,"say ""hi""",984661185\r\n'
            f"\n{fresh[3]},d@example.no,,")
    p = krr.imp(krr.write("bom.csv", text, "w"))
    assert p.returncode == 0, p.stderr
    assert krr.ctl("krr", "show", fresh[1])["postkasseadresse"] == "x,y#1"
    assert krr.ctl("krr", "show", fresh[2])["postkasseadresse"] == 'say "hi"'
    assert krr.ctl("krr", "show", fresh[3])["epostadresse"] == "d@example.no"


def test_import_header_rules(krr):
    for i, text in enumerate(["", "epostadresse\nx@example.no\n", "personidentifikator,nope\n1,2\n",
                              "personidentifikator,personidentifikator\n"]):
        p = krr.imp(krr.write(f"head{i}.csv", text))
        assert p.returncode != 0 and "line 1" in p.stderr.decode(), p.stderr
    fresh = many_ids(1, yy=67)
    p = krr.imp(krr.write("cells.csv", f"personidentifikator,epostadresse\n{fresh[0]}\n"))
    assert p.returncode != 0 and "line 2: 1 cells, the header has 2" in p.stderr.decode()


def test_import_json_lines_and_rules(krr):
    fresh = many_ids(5, yy=68)
    lines = [json.dumps({"personidentifikator": fresh[0], "mobiltelefonnummer": "98765432",
                         "mobiltelefonnummer_oppdatert": "2023-06-13T13:42:34+02"}),
             "",
             json.dumps({"personidentifikator": fresh[1], "reservasjon": "JA",
                         "reservasjonstidspunkt": "2023-08-05T10:45:15.768Z"})]
    p = krr.imp(krr.write("ok.json", "\n".join(lines) + "\n"))
    assert p.returncode == 0, p.stderr
    rec = krr.ctl("krr", "show", fresh[0])
    assert rec["mobiltelefonnummer"] == "+4798765432"
    assert rec["mobiltelefonnummer_oppdatert"] == "2023-06-13T11:42:34.000Z"
    assert krr.ctl("krr", "show", fresh[1])["reservasjonstidspunkt"] == "2023-08-05T10:45:15.768Z"
    bad = [json.dumps({"personidentifikator": fresh[2], "status": "SLETTET", "epostadresse": "a@example.no"}),
           "{not json",
           json.dumps([fresh[3]]),
           json.dumps({"personidentifikator": fresh[4], "unknown": "x"}),
           json.dumps({"personidentifikator": fresh[4], "epostadresse_oppdatert": "2023-01-01T00:00:00Z"}),
           json.dumps({"personidentifikator": fresh[4], "epostadresse": "a@example.no",
                       "epostadresse_oppdatert": "2023-02-30T00:00:00Z"}),
           json.dumps({"personidentifikator": fresh[4], "postkasseadresse": "x#1"}),
           json.dumps({"personidentifikator": fresh[4], "sertifikat": "bm90IGEgY2VydA=="}),
           json.dumps({"personidentifikator": fresh[4], "epostadresse": "a@example.no",
                       "epostadresse_oppdatert": "2999-01-01T00:00:00Z"})]
    p = krr.imp(krr.write("bad.json", "\n".join(bad) + "\n"))
    err = p.stderr.decode()
    assert p.returncode != 0
    for line in range(1, len(bad) + 1):
        assert f"line {line}:" in err, err
    assert absent(krr, fresh[2]) and absent(krr, fresh[4])


def test_export_round_trip(krr, tmp_path):
    out = tmp_path / "all.csv"
    krr.ctl("krr", "export", str(out))
    text = out.read_text()
    assert text.startswith("personidentifikator,status,reservasjon,")
    assert FULL in text and krr.cert in text
    jout = tmp_path / "all.json"
    krr.ctl("krr", "export", "--format", "json", str(jout))
    rows = [json.loads(line) for line in jout.read_text().splitlines()]
    assert len(rows) == out.read_bytes().count(b"\r\n") - 1
    full = next(r for r in rows if r["personidentifikator"] == FULL)
    assert full["postkasseleverandoeradresse"] == "984661185"
    before = krr.one(krr.tok_all, FULL)
    p = krr.imp(str(jout))
    assert p.returncode == 0, p.stderr
    p = krr.imp(str(out))
    assert p.returncode == 0, p.stderr
    assert krr.one(krr.tok_all, FULL) == before


def test_history(krr):
    hist = krr.ctl("krr", "history", FULL)
    assert hist and hist[0]["entry"]["who"] == "testdata"
    assert all(h["change"] > 0 for h in hist)


def test_daily_reset_of_the_test_persons(start_server):
    # krr_testdata_reset: the service writes the test persons at start (and then every period)
    s = start_server({"PORTEN_KRR_TESTDATA_RESET": "86400"})
    assert s.ctl("krr", "show", EXPIRED)["varslingsstatus"] == "KAN_IKKE_VARSLES"
    assert s.ctl("krr", "show", FULL)["varslingsstatus"] == "KAN_VARSLES"
    assert s.ctl("krr", "history", FULL)[0]["entry"]["who"] == "testdata"
    # off by default
    plain = start_server()
    assert plain.ctl("krr", "show", FULL, check=False).returncode != 0
