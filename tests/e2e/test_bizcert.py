"""
Business certificates at ID-porten and Ansattporten (spec/idporten-oidc.md
§9): private_key_jwt client assertions with an x5c header at the token
endpoint and at PAR, checked as Maskinporten checks its grants
(spec/maskinporten.md §10: the trust store, validity, the CRL, the
organisation number); and keys locked to a certificate
(spec/selfservice-api.md §7), registered with portenctl and used only
while their certificate is good, at every issuer.  The certificates come
from pkikit (the openssl command line).
"""

import json
import os
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from jwcrypto import jwk
from jwcrypto import jwt as jjwt

from conftest import (Ansattporten, auth_params, authorize, create_client, finish_login,
                      http, login, TIMEOUT)
from pkikit import PKI, orgno

ORG_A, ORG_B = orgno("93000000"), orgno("93000001")
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CONSUMER_A = {"authority": "iso6523-actorid-upis", "ID": f"0192:{ORG_A}"}


def when(dt):
    return dt.strftime("%Y%m%d%H%M%SZ")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = PKI(tmp_path_factory.mktemp("pki"))
    p.certs = {
        "valid": p.leaf("valid", f"/C=NO/O=Org A AS/serialNumber={ORG_A}/CN=Org A AS"),
        "seal": p.leaf("seal", f"/C=NO/O=Org A AS/organizationIdentifier=NTRNO-{ORG_A}/CN=Org A seal"),
        "locked": p.leaf("locked", f"/C=NO/O=Org A AS/serialNumber={ORG_A}/CN=Org A locked"),
        "expired": p.leaf("expired", f"/C=NO/O=Org A AS/serialNumber={ORG_A}/CN=Old",
                          start="20200101000000Z", end="20210101000000Z"),
        "revoked": p.leaf("revoked", f"/C=NO/O=Org A AS/serialNumber={ORG_A}/CN=Revoked"),
        "untrusted": p.leaf("untrusted", f"/C=NO/O=Org A AS/serialNumber={ORG_A}/CN=Forged", issuer="evil"),
        "other_org": p.leaf("other_org", f"/C=NO/O=Org B AS/serialNumber={ORG_B}/CN=Org B AS"),
        "no_org": p.leaf("no_org", "/C=NO/O=Nobody/CN=No organisation number"),
    }
    p.certs["untrusted"].x5c = [p.der_b64("untrusted"), p.der_b64("evil")]
    p.revoke(p.certs["revoked"])
    p.crl = p.gencrl()
    return p


@pytest.fixture(scope="module")
def server_env(pki):
    return {"PORTEN_MASKINPORTEN_CA": pki.p("root.pem"), "PORTEN_MASKINPORTEN_CRL": pki.crl}


@pytest.fixture
def cert_client(server, listener, tmp_path):
    """Factory: a private_key_jwt client of ORG_A with no registered keys."""
    def _new(issuer=None, **kw):
        kw.setdefault("orgno", ORG_A)
        return create_client(issuer or server, listener, tmp_path, auth="private_key_jwt", key=False, **kw)
    return _new


def with_cert(client, cert, x5c=None, **kw):
    """A client assertion signed by cert's key with its chain in x5c."""
    kw.setdefault("key", cert.key)
    return client.assertion(header_extra={"x5c": cert.x5c if x5c is None else x5c}, **kw)


def refused(r):
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "invalid_client", r.text
    return r.json().get("error_description", "")


def access_claims(server, body):
    _, c = server.verify(body["access_token"])
    return c


def lock_key(server, client, cert, tmp_path, kid=None, jwk_override=None):
    """Register cert's key, locked to it (x5c), as the client's only key; portenctl's answer."""
    pub = json.loads(cert.key.export_public())
    pub.update({"kid": kid or f"locked-{uuid.uuid4().hex[:8]}", "use": "sig", "alg": "RS256",
                "x5c": cert.x5c})
    pub.update(jwk_override or {})
    path = os.path.join(str(tmp_path), f"jwks-{pub['kid']}.json")
    with open(path, "w") as f:
        json.dump({"keys": [pub]}, f)
    p = server.ctl("client", "set-keys", client.client_id, "--jwks-file", path, check=False)
    if p.returncode == 0:
        client.key, client.kid = cert.key, pub["kid"]
    return p


# ---- x5c at ID-porten --------------------------------------------------------

@pytest.mark.parametrize("name, amr", [("valid", "virksomhetssertifikat"), ("seal", "CForESeal")])
def test_login_with_certificate(server, cert_client, new_browser, pki, name, amr):
    c = cert_client()
    res = login(server, c, new_browser())
    r = c.redeem(res, assertion=with_cert(c, pki.certs[name]))
    assert r.status_code == 200, r.text
    claims = access_claims(server, r.json())
    assert claims["client_amr"] == amr
    assert claims["consumer"] == CONSUMER_A
    assert claims["client_id"] == c.client_id
    # the token endpoint URL as aud works as well as the issuer
    res = login(server, c, new_browser())
    r = c.redeem(res, assertion=with_cert(c, pki.certs[name], aud=server.url("/token")))
    assert r.status_code == 200, r.text


def test_par_with_certificate(server, cert_client, new_browser, pki):
    c = cert_client()
    params, verifier = auth_params(c)
    r = c.par(assertion=with_cert(c, pki.certs["valid"], aud=server.url("/par")), **params)
    assert r.status_code == 201, r.text
    b = new_browser()
    r = authorize(server, b, {"client_id": c.client_id, "request_uri": r.json()["request_uri"]})
    res = finish_login(server, b, r, c.redirect_uri, sent=params, verifier=verifier)
    assert res.code, res
    r = c.redeem(res, assertion=with_cert(c, pki.certs["valid"]))
    assert r.status_code == 200, r.text
    # a refused certificate at PAR: invalid_client, no request_uri
    params, _ = auth_params(c)
    why = refused(c.par(assertion=with_cert(c, pki.certs["revoked"]), **params))
    assert "revoked" in why.lower(), why


@pytest.mark.parametrize("name, why", [
    ("expired", "expired"),
    ("revoked", "revoked"),
    ("other_org", ORG_B),
    ("untrusted", "certificate"),
    ("no_org", "organisation number"),
])
def test_refused_certificates(server, cert_client, new_browser, pki, name, why):
    c = cert_client()
    res = login(server, c, new_browser())
    desc = refused(c.redeem(res, assertion=with_cert(c, pki.certs[name])))
    assert why.lower() in desc.lower(), desc
    # the refusal spent nothing: the code still redeems with a good certificate
    r = c.redeem(res, assertion=with_cert(c, pki.certs["valid"]))
    assert r.status_code == 200, r.text


def test_malformed_chains(server, cert_client, new_browser, pki):
    c = cert_client()
    res = login(server, c, new_browser())
    cert = pki.certs["valid"]
    for x5c in ([cert.x5c[0]],                  # no intermediate: no path to the root
                [],                             # empty
                "not-an-array",
                ["!!!not base64!!!"],
                [cert.x5c[1], cert.x5c[0]],     # the CA first
                ["MIIB"] * 11):                 # over the chain bound
        refused(c.redeem(res, assertion=with_cert(c, cert, x5c=x5c)))
    # signed by another key than the certificate's
    refused(c.redeem(res, assertion=with_cert(c, cert, key=pki.certs["seal"].key)))
    r = c.redeem(res, assertion=with_cert(c, cert))
    assert r.status_code == 200, r.text


def test_keyed_client_cannot_use_x5c(server, new_client, new_browser, pki):
    c = new_client(auth="private_key_jwt", orgno=ORG_A)
    res = login(server, c, new_browser())
    why = refused(c.redeem(res, assertion=with_cert(c, pki.certs["valid"])))
    assert "kid" in why, why
    assert c.redeem(res).status_code == 200


def test_certificate_at_ansattporten(server, listener, tmp_path, new_browser, pki):
    ap = Ansattporten(server)
    c = create_client(ap, listener, tmp_path, auth="private_key_jwt", key=False, orgno=ORG_A,
                      integration_type="ansattporten", scopes=["openid"])
    res = login(ap, c, new_browser())
    refused(c.redeem(res, assertion=with_cert(c, pki.certs["other_org"], aud=ap.issuer)))
    r = c.redeem(res, assertion=with_cert(c, pki.certs["valid"], aud=ap.issuer))
    assert r.status_code == 200, r.text
    assert access_claims(ap, r.json())["client_amr"] == "virksomhetssertifikat"


# ---- keys locked to a certificate --------------------------------------------

def test_locked_key_registered_and_used(server, cert_client, new_browser, pki, tmp_path):
    c = cert_client()
    p = lock_key(server, c, pki.certs["locked"], tmp_path)
    assert p.returncode == 0, p.stderr
    stored = server.ctl("client", "keys", c.client_id)["keys"]
    assert stored[0]["x5c"] == pki.certs["locked"].x5c
    res = login(server, c, new_browser())
    r = c.redeem(res)                      # kid, signed by the certificate's key
    assert r.status_code == 200, r.text
    assert access_claims(server, r.json())["client_amr"] == "virksomhetssertifikat"
    # with keys, x5c is no longer the way in
    res = login(server, c, new_browser())
    refused(c.redeem(res, assertion=with_cert(c, pki.certs["valid"])))


@pytest.mark.parametrize("name, override, why", [
    ("other_org", None, ORG_B),
    ("expired", None, "expired"),
    ("revoked", None, "revoked"),
    ("untrusted", None, "certificate"),
    ("locked", {"n": None}, "public key"),        # n of another key: not the certificate's key
    ("locked", {"x5c": ["!!!"]}, "x5c"),
    ("locked", {"x5c": "nope"}, "x5c"),
])
def test_locked_key_refused(server, cert_client, pki, tmp_path, name, override, why):
    c = cert_client()
    before = server.ctl("client", "show", c.client_id)
    if override and "n" in override:
        override = {"n": json.loads(pki.certs["valid"].key.export_public())["n"]}
    p = lock_key(server, c, pki.certs[name], tmp_path, jwk_override=override)
    assert p.returncode != 0
    err = (p.stderr + p.stdout).decode(errors="replace")
    assert why.lower() in err.lower(), err
    assert server.ctl("client", "show", c.client_id) == before, "a refused key set changed the client"


def test_locked_key_dies_with_its_certificate(server, cert_client, new_browser, pki, tmp_path):
    c = cert_client()
    # valid for a few seconds more: the key locked to it dies with it
    now = datetime.now(timezone.utc)
    ends = now + timedelta(seconds=8)
    brief = pki.leaf("brief", f"/C=NO/O=Org A AS/serialNumber={ORG_A}/CN=Brief",
                     start=when(now - timedelta(hours=1)), end=when(ends))
    p = lock_key(server, c, brief, tmp_path)
    assert p.returncode == 0, p.stderr
    res = login(server, c, new_browser())
    assert c.redeem(res).status_code == 200
    wait = (ends - datetime.now(timezone.utc)).total_seconds() + 1
    if wait > 0:
        time.sleep(wait)
    res = login(server, c, new_browser())
    why = refused(c.redeem(res))
    assert "expired" in why.lower() or "certificate" in why.lower(), why


def test_locked_key_at_maskinporten(server, pki, tmp_path):
    """
    A Maskinporten grant signed by a locked key counts as made with the
    certificate: it may ask for an admin scope (spec/maskinporten.md §10,
    MP-201 otherwise), and its token says virksomhetssertifikat.
    """
    server.ctl("scope", "create", "--name", "idporten:dcr.read", "--description", "self-service read",
               "--allowed-integration-type", "maskinporten", "--owner-orgno", "991825827")
    server.ctl("scope", "grant", "idporten:dcr.read", ORG_A)
    info = server.ctl("client", "create", "--client-name", "bizcert admin", "--description", "bizcert",
                      "--integration-type", "maskinporten", "--grant-type", GRANT, "--client-orgno", ORG_A,
                      "--scope", "idporten:dcr.read")

    class MPClient:
        client_id = info["client_id"]

    c = MPClient()
    p = lock_key(server, c, pki.certs["locked"], tmp_path)
    assert p.returncode == 0, p.stderr

    def grant(kid, key):
        now = int(time.time())
        t = jjwt.JWT(header={"alg": "RS256", "kid": kid},
                     claims={"aud": server.issuer + "/maskinporten/", "iss": c.client_id, "iat": now,
                             "exp": now + 60, "jti": uuid.uuid4().hex, "scope": "idporten:dcr.read"})
        t.make_signed_token(key)
        return http().post(server.url("/maskinporten/token"),
                           data={"grant_type": GRANT, "assertion": t.serialize()}, timeout=TIMEOUT)

    r = grant(c.kid, c.key)
    assert r.status_code == 200, r.text
    ks = jwk.JWKSet.from_json(http().get(server.url("/maskinporten/jwks.json"), timeout=TIMEOUT).text)
    claims = json.loads(jjwt.JWT(jwt=r.json()["access_token"], key=ks, algs=["RS256"],
                                 check_claims=False).claims)
    assert claims["client_amr"] == "virksomhetssertifikat"
    assert claims["consumer"] == CONSUMER_A
    # the same client with a plain key: no admin scope (MP-201)
    p = lock_key(server, c, pki.certs["locked"], tmp_path, jwk_override={"x5c": None})
    assert p.returncode != 0        # x5c: null is not a certificate
    plain = json.loads(pki.certs["seal"].key.export_public())
    plain.update({"kid": "plain", "use": "sig", "alg": "RS256"})
    path = os.path.join(str(tmp_path), "plain.json")
    with open(path, "w") as f:
        json.dump({"keys": [plain]}, f)
    server.ctl("client", "set-keys", c.client_id, "--jwks-file", path)
    r = grant("plain", pki.certs["seal"].key)
    assert r.status_code == 400 and "MP-201" in r.text, r.text
