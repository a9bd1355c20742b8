"""
Maskinporten (spec/maskinporten.md) end to end: the second issuer of the
same portend, JWT-bearer grants signed with python3-jwcrypto, business
certificates made here with the openssl command line (a test root CA, an
intermediate that issues and revokes, a CRL, an untrusted CA), registered
keys, scopes with access lists and delegations managed by portenctl, and
every issued token verified against the Maskinporten JWKS.

The server is started with PORTEN_MASKINPORTEN_CA (the test root) and
PORTEN_MASKINPORTEN_CRL (the intermediate's CRL) through conftest's
start_server factory, after the certificates exist.
"""

import base64
import json
import os
import time
import uuid

import pytest
from jwcrypto import jwk
from jwcrypto import jwt as jjwt

from conftest import ServerStartError, b64u, http, jwt_parts, rand, TIMEOUT
from pkikit import PKI, orgno

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUTHORITY = "iso6523-actorid-upis"
DELEGATION_SOURCE = "https://tt02.altinn.no/"
SYNTHETIC_PID = "21879498012"


def _orgnos():
    out, n = [], 91000000
    while len(out) < 6:
        try:
            out.append(orgno(str(n)))
        except AssertionError:
            pass
        n += 1
    return out


ORG_A, ORG_B, ORG_P, ORG_S, ORG_C, ORG_X = _orgnos()   # client owner, other, provider, supplier, customer, spare


def org(o):
    return {"authority": AUTHORITY, "ID": f"0192:{o}"}


# --------------------------------------------------------------------------
# the server and the grants
# --------------------------------------------------------------------------

class MP:
    def __init__(self, server, pki, certs):
        self.server = server
        self.pki = pki
        self.certs = certs
        self.issuer = server.issuer + "/maskinporten/"
        self.http = http()

    def url(self, path):
        return self.issuer.rstrip("/") + path

    def ctl(self, *args, check=True):
        return self.server.ctl(*args, check=check)

    def token(self, assertion, **extra):
        data = {"grant_type": GRANT, "assertion": assertion}
        data.update(extra)
        data = {k: v for k, v in data.items() if v is not None}
        return self.http.post(self.url("/token"), data=data, timeout=TIMEOUT)

    def jwks(self):
        meta = self.http.get(self.url("/.well-known/oauth-authorization-server"), timeout=TIMEOUT).json()
        r = self.http.get(meta["jwks_uri"], timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        return jwk.JWKSet.from_json(r.text)

    def verify(self, token):
        """Verify an access token against the Maskinporten JWKS; (header, claims)."""
        header, _ = jwt_parts(token)
        t = jjwt.JWT(jwt=token, key=self.jwks(), algs=["RS256"], check_claims=False)
        return header, json.loads(t.claims)

    def scope(self, name, *opts, grant=(), owner=None):
        args = ["scope", "create", "--name", name, "--description", f"e2e {name}",
                "--allowed-integration-type", "maskinporten", "--owner-orgno", owner or ORG_P, *opts]
        self.ctl(*args)
        for o in grant:
            self.ctl("scope", "grant", name, o)
        return name

    def client(self, owner, scopes, key=True, tmp=None):
        n = uuid.uuid4().hex[:10]
        args = ["client", "create", "--client-name", f"mp {n}", "--description", "machine client",
                "--integration-type", "maskinporten", "--token-endpoint-auth-method", "private_key_jwt",
                "--grant-type", GRANT, "--client-orgno", owner]
        for s in scopes:
            args += ["--scope", s]
        k = kid = None
        if key:
            k = jwk.JWK.generate(kty="RSA", size=2048)
            kid = f"mp-{n}"
            pub = json.loads(k.export_public())
            pub.update({"kid": kid, "use": "sig", "alg": "RS256"})
            path = os.path.join(self.pki.d, f"jwks-{n}.json")
            with open(path, "w") as f:
                json.dump({"keys": [pub]}, f)
            args += ["--jwks-file", path]
        info = self.ctl(*args)
        return MPClient(self, info, owner, scopes, k, kid)


class MPClient:
    def __init__(self, mp, info, owner, scopes, key, kid):
        self.mp = mp
        self.info = info
        self.client_id = info["client_id"]
        self.owner = owner
        self.scopes = scopes
        self.key = key
        self.kid = kid

    def grant(self, scope=None, aud=None, iat=None, exp=None, lifetime=60, jti="new", iss=None, kid=None,
              key=None, alg="RS256", x5c=None, cert=None, extra=None, drop=(), header=None):
        """A signed grant: kid (registered key) by default, or cert= (x5c of that business certificate)."""
        now = int(time.time())
        iat = now if iat is None else iat
        claims = {
            "aud": self.mp.issuer if aud is None else aud,
            "iss": self.client_id if iss is None else iss,
            "scope": scope if scope is not None else self.scopes[0],
            "iat": iat,
            "exp": iat + lifetime if exp is None else exp,
        }
        if jti is not None:
            claims["jti"] = str(uuid.uuid4()) if jti == "new" else jti
        claims.update(extra or {})
        for d in drop:
            claims.pop(d, None)
        if cert is not None:
            h = {"alg": alg, "x5c": cert.x5c if x5c is None else x5c}
            key = key or cert.key
        else:
            h = {"alg": alg, "kid": self.kid if kid is None else kid}
            if x5c is not None:
                h["x5c"] = x5c
        h.update(header or {})
        h = {k: v for k, v in h.items() if v is not None}
        t = jjwt.JWT(header=h, claims=claims)
        t.make_signed_token(key or self.key)
        return t.serialize()

    def token(self, **kw):
        return self.mp.token(self.grant(**kw))


def err(r):
    try:
        return r.json().get("error")
    except ValueError:
        return None


def desc(r):
    try:
        return r.json().get("error_description") or ""
    except ValueError:
        return ""


def refused(r, error, code=None):
    assert r.status_code == 400, f"expected 400 {error} {code}, got {r.status_code} {r.text}"
    assert err(r) == error, f"expected {error}, got {r.text}"
    if code is not None:
        assert desc(r).startswith(code), f"expected {code} in {r.text}"
    assert r.headers.get("Content-Type", "").startswith("application/json")


def unsecured(header, claims, sig=""):
    return ".".join([b64u(json.dumps(header).encode()), b64u(json.dumps(claims).encode()), sig])


@pytest.fixture(scope="module")
def mp(tmp_path_factory, start_server):
    pki = PKI(tmp_path_factory.mktemp("pki"))
    certs = {
        "valid": pki.leaf("valid", f"/C=NO/O=Org A AS/serialNumber={ORG_A}/CN=Org A AS"),
        "seal": pki.leaf("seal", f"/C=NO/O=Org A AS/organizationIdentifier=NTRNO-{ORG_A}/CN=Org A seal"),
        "qseal": pki.leaf("qseal", f"/C=NO/O=Org A AS/organizationIdentifier=NTRNO-{ORG_A}/CN=Org A QSeal",
                          ext="qualified"),
        "expired": pki.leaf("expired", f"/C=NO/O=Org A AS/serialNumber={ORG_A}/CN=Old",
                            start="20200101000000Z", end="20210101000000Z"),
        "revoked": pki.leaf("revoked", f"/C=NO/O=Org A AS/serialNumber={ORG_A}/CN=Revoked"),
        "untrusted": pki.leaf("untrusted", f"/C=NO/O=Org A AS/serialNumber={ORG_A}/CN=Forged",
                              issuer="evil"),
        "wrong_org": pki.leaf("wrong_org", f"/C=NO/O=Org B AS/serialNumber={ORG_B}/CN=Org B AS"),
        "foreign": pki.leaf("foreign", "/C=SE/O=Svensk AB/organizationIdentifier=VATSE-556000000001/CN=AB"),
        "no_org": pki.leaf("no_org", "/C=NO/O=Nobody/CN=No organisation number"),
    }
    certs["untrusted"].x5c = [pki.der_b64("untrusted"), pki.der_b64("evil")]
    pki.revoke(certs["revoked"])
    crl = pki.gencrl()
    try:
        server = start_server({"PORTEN_MASKINPORTEN_CA": pki.p("root.pem"), "PORTEN_MASKINPORTEN_CRL": crl})
    except ServerStartError as e:
        if "not built" in str(e):
            pytest.skip(str(e))
        raise
    m = MP(server, pki, certs)
    m.api = m.scope("e2e:api", grant=[ORG_A])
    m.short = m.scope("e2e:short", "--at-max-age", "30", grant=[ORG_A])
    m.closed = m.scope("e2e:closed")
    m.aud = m.scope("e2e:aud", grant=[ORG_A])
    m.deleg = m.scope("e2e:deleg", "--delegation-source", DELEGATION_SOURCE, grant=[ORG_C])
    m.ctl("delegation", "add", "--scope", m.deleg, "--consumer", ORG_C, "--supplier", ORG_S)
    m.keyed = m.client(ORG_A, [m.api, m.short, m.closed, m.aud])
    m.certified = m.client(ORG_A, [m.api], key=False)
    m.supplier = m.client(ORG_S, [m.deleg])
    m.stranger = m.client(ORG_B, [m.deleg])
    return m


def issued(mp, r, client, scope, lifetime=120, consumer=None, amr="private_key_jwt"):
    """A 200 token response whose access token verifies against the Maskinporten JWKS; its claims."""
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers.get("Cache-Control") == "no-store"
    assert body["token_type"] == "Bearer" and body["expires_in"] == lifetime
    assert body["scope"] == scope and "refresh_token" not in body and "id_token" not in body
    header, c = mp.verify(body["access_token"])
    assert header["alg"] == "RS256" and header.get("kid")
    assert c["iss"] == mp.issuer
    assert c["client_id"] == client.client_id
    assert c["client_amr"] == amr
    assert c["consumer"] == org(consumer or client.owner)
    assert c["scope"] == scope and c["token_type"] == "Bearer"
    assert isinstance(c["jti"], str) and c["jti"]
    assert c["exp"] - c["iat"] == lifetime and abs(c["iat"] - time.time()) < 60
    assert "client_orgno" not in c, "client_orgno was removed from Maskinporten tokens"
    return c


# --------------------------------------------------------------------------
# the issuer
# --------------------------------------------------------------------------

def test_discovery(mp):
    r = mp.http.get(mp.url("/.well-known/oauth-authorization-server"), timeout=TIMEOUT)
    assert r.status_code == 200
    d = r.json()
    assert d["issuer"] == mp.issuer and d["issuer"].endswith("/")
    assert d["token_endpoint"] == mp.issuer + "token"
    assert d["jwks_uri"] == mp.issuer + "jwk"
    assert d["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert d["grant_types_supported"] == [GRANT]
    assert d["token_endpoint_auth_signing_alg_values_supported"] == ["RS256", "RS384", "RS512"]
    assert d["authorization_details_types_supported"] == ["urn:altinn:systemuser"]
    assert mp.http.get(mp.url("/.well-known/openid-configuration"), timeout=TIMEOUT).json() == d


def test_own_keys_and_routes(mp):
    mine = {k["kid"] for k in json.loads(mp.jwks().export(private_keys=False))["keys"]}
    theirs = {k["kid"] for k in mp.server.jwks()["keys"]}
    assert mine and not mine & theirs, "Maskinporten must sign with keys of its own"
    # each issuer answers only its own routes
    for path in ("/authorize", "/userinfo", "/par", "/login", "/revoke", "/token/introspect"):
        assert mp.http.get(mp.url(path), timeout=TIMEOUT).status_code in (404, 405), path
    assert mp.server.get("/.well-known/oauth-authorization-server").status_code == 404
    assert mp.server.get("/jwk").status_code == 404


def test_registered_key(mp):
    c = mp.keyed
    claims = issued(mp, c.token(scope=mp.api), c, mp.api)
    assert "aud" not in claims and "supplier" not in claims and "pid" not in claims
    # the ID-porten keys do not verify it
    with pytest.raises(Exception):
        jjwt.JWT(jwt=c.token(scope=mp.api).json()["access_token"], key=mp.server.keyset(), algs=["RS256"])


def test_grant_without_jti_once(mp):
    c = mp.keyed
    a = c.grant(scope=mp.api, jti=None)
    issued(mp, mp.token(a), c, mp.api)
    refused(mp.token(a), "invalid_grant", "MP-012")


def test_grant_other_spelling_of_signature(mp):
    """Without jti the assertion's text is the replay key: a signature spelt
    with the unused bits of its last character set decodes to the same bytes,
    so it must be refused, before and after the grant is used."""
    alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    c = mp.keyed
    # RS256 is deterministic: a lifetime of its own keeps this grant's text apart from other tests'.
    a = c.grant(scope=mp.api, jti=None, lifetime=57)
    h, p, s = a.split(".")
    spare = {2: 15, 3: 3}[len(s) % 4]
    last = alpha.index(s[-1])
    others = [".".join([h, p, s[:-1] + alpha[last ^ k]]) for k in range(1, spare + 1)]
    refused(mp.token(others[0]), "invalid_grant")
    issued(mp, mp.token(a), c, mp.api)
    for o in others:
        refused(mp.token(o), "invalid_grant")


def test_aud_without_trailing_slash(mp):
    issued(mp, mp.keyed.token(scope=mp.api, aud=mp.issuer.rstrip("/")), mp.keyed, mp.api)


def test_at_max_age_caps_lifetime(mp):
    c = mp.keyed
    issued(mp, c.token(scope=f"{mp.api} {mp.short}"), c, f"{mp.api} {mp.short}", lifetime=30)


def test_resource_and_scope_audience(mp):
    c = mp.keyed
    claims = issued(mp, c.token(scope=mp.api, extra={"resource": ["https://a.example.no/api"]}), c, mp.api)
    assert claims["aud"] == "https://a.example.no/api"
    claims = issued(mp, c.token(scope=mp.api, extra={"resource": ["https://a.example.no/", "urn:x:y"]}),
                    c, mp.api)
    assert claims["aud"] == ["https://a.example.no/", "urn:x:y"]
    claims = issued(mp, c.token(scope=mp.api, extra={"resource": "https://b.example.no/"}), c, mp.api)
    assert claims["aud"] == "https://b.example.no/"
    # spec §7: no resource, no aud; a scope has no audience of its own (§9)
    claims = issued(mp, c.token(scope=mp.aud), c, mp.aud)
    assert "aud" not in claims
    p = mp.ctl("scope", "update", mp.aud, "--audience", "https://api.example.no/", check=False)
    assert p.returncode != 0
    assert "aud" not in issued(mp, c.token(scope=mp.aud), c, mp.aud)
    for bad in ([], ["no-scheme"], ["https://x/#frag"], [1], {"a": 1}):
        refused(c.token(scope=mp.api, extra={"resource": bad}), "invalid_request", "MP-011")


def test_pid(mp):
    c = mp.keyed
    claims = issued(mp, c.token(scope=mp.api, extra={"pid": SYNTHETIC_PID}), c, mp.api)
    assert claims["pid"] == SYNTHETIC_PID
    for bad in ("21879498013", "123", 21879498012):
        refused(c.token(scope=mp.api, extra={"pid": bad}), "invalid_request", "MP-011")


@pytest.mark.parametrize("name,amr", [("valid", "virksomhetssertifikat"), ("seal", "CForESeal"),
                                      ("qseal", "QCForESeal")])
def test_business_certificate(mp, name, amr):
    c = mp.certified
    issued(mp, c.token(scope=mp.api, cert=mp.certs[name]), c, mp.api, amr=amr)


def test_certificate_needs_its_chain(mp):
    # the intermediate is not a trust anchor: a leaf without it does not chain
    cert = mp.certs["valid"]
    refused(mp.certified.token(scope=mp.api, cert=cert, x5c=cert.x5c[:1]), "invalid_grant", "MP-120")


def test_delegation(mp):
    c = mp.supplier
    claims = issued(mp, c.token(scope=mp.deleg, extra={"consumer_org": ORG_C}), c, mp.deleg, consumer=ORG_C)
    assert claims["supplier"] == org(ORG_S)
    assert claims["delegation_source"] == DELEGATION_SOURCE
    listed = mp.ctl("delegation", "list", "--scope", mp.deleg)
    assert {(d["consumer_orgno"], d["supplier_orgno"]) for d in listed} == {(ORG_C, ORG_S)}


def test_delegation_never_given(mp):
    refused(mp.stranger.token(scope=mp.deleg, extra={"consumer_org": ORG_C}), "invalid_scope", "MP-251")


def test_delegation_removed_and_restored(mp):
    c = mp.supplier
    mp.ctl("delegation", "remove", "--scope", mp.deleg, "--consumer", ORG_C, "--supplier", ORG_S)
    try:
        refused(c.token(scope=mp.deleg, extra={"consumer_org": ORG_C}), "invalid_scope", "MP-251")
    finally:
        mp.ctl("delegation", "add", "--scope", mp.deleg, "--consumer", ORG_C, "--supplier", ORG_S)
    issued(mp, c.token(scope=mp.deleg, extra={"consumer_org": ORG_C}), c, mp.deleg, consumer=ORG_C)


def test_delegation_needs_consumer_access(mp):
    # ORG_X delegated to the supplier, but was never granted the scope itself
    mp.ctl("delegation", "add", "--scope", mp.deleg, "--consumer", ORG_X, "--supplier", ORG_S)
    refused(mp.supplier.token(scope=mp.deleg, extra={"consumer_org": ORG_X}), "invalid_scope", "MP-250")


def test_consumer_org_own(mp):
    refused(mp.supplier.token(scope=mp.deleg, extra={"consumer_org": ORG_S}), "invalid_request")
    refused(mp.supplier.token(scope=mp.deleg, extra={"consumer_org": "123456789"}), "invalid_request",
            "MP-011")


def test_delegation_needs_delegation_source(mp):
    p = mp.ctl("delegation", "add", "--scope", mp.api, "--consumer", ORG_C, "--supplier", ORG_S, check=False)
    assert p.returncode == 1 and b"delegation_source" in p.stderr


def test_access_revoked_and_granted(mp):
    c = mp.keyed
    mp.ctl("scope", "revoke", mp.api, ORG_A)
    try:
        refused(c.token(scope=mp.api), "invalid_scope", "MP-250")
        recs = mp.ctl("scope", "access", mp.api, "--all")
        assert [r["active"] for r in recs if r["consumer_orgno"] == ORG_A] == [False]
        assert mp.ctl("scope", "access", mp.api) == []
    finally:
        rec = mp.ctl("scope", "grant", mp.api, ORG_A)
    assert rec["active"] is True and rec["state"] == "APPROVED" and rec["consumer_orgno"] == ORG_A
    assert rec["owner_orgno"] == ORG_P and rec["scope"] == mp.api
    issued(mp, c.token(scope=mp.api), c, mp.api)


def test_scope_owner_has_access(mp):
    own = mp.scope("e2eowner:api", owner=ORG_B)
    c = mp.client(ORG_B, [own])
    issued(mp, c.token(scope=own), c, own)


def test_prefix_has_one_owner(mp):
    p = mp.ctl("scope", "create", "--name", "e2e:other", "--description", "x", "--owner-orgno", ORG_B,
               check=False)
    assert p.returncode == 1 and b"belongs to" in p.stderr


def test_scope_deactivated_and_type_changed(mp):
    s = mp.scope("e2e:temp", grant=[ORG_A])
    c = mp.client(ORG_A, [s])
    issued(mp, c.token(scope=s), c, s)
    mp.ctl("scope", "update", s, "--inactive")
    refused(c.token(scope=s), "invalid_scope", "MP-200")
    mp.ctl("scope", "update", s, "--inactive=false", "--allowed-integration-type", "api_klient")
    refused(c.token(scope=s), "invalid_scope", "MP-201")
    mp.ctl("scope", "update", s, "--allowed-integration-type", "maskinporten")
    issued(mp, c.token(scope=s), c, s)


# --------------------------------------------------------------------------
# the hostile half
# --------------------------------------------------------------------------

def test_wrong_aud(mp):
    for aud in (mp.server.issuer, mp.issuer + "token", "https://maskinporten.no/", [mp.issuer, "x"]):
        refused(mp.keyed.token(scope=mp.api, aud=aud), "invalid_grant", "MP-110")


def test_expired_grant(mp):
    now = int(time.time())
    refused(mp.keyed.token(scope=mp.api, iat=now - 200, exp=now - 80), "invalid_grant", "MP-130")
    # No leeway after exp (spec §4): a grant that expired 3 s ago is refused too.
    refused(mp.keyed.token(scope=mp.api, iat=now - 60, exp=now - 3), "invalid_grant", "MP-130")


def test_future_iat(mp):
    r = mp.keyed.token(scope=mp.api, iat=int(time.time()) + 60)
    refused(r, "invalid_grant")
    assert "Issue time is after now" in desc(r)


def test_lifetime_over_maximum(mp):
    refused(mp.keyed.token(scope=mp.api, lifetime=121), "invalid_grant", "MP-130")
    refused(mp.keyed.token(scope=mp.api, lifetime=3600), "invalid_grant", "MP-130")


def test_missing_times(mp):
    for d in ("iat", "exp"):
        refused(mp.keyed.token(scope=mp.api, drop=(d,)), "invalid_grant", "MP-130")


def test_replayed_jti(mp):
    a = mp.keyed.grant(scope=mp.api)
    assert mp.token(a).status_code == 200
    refused(mp.token(a), "invalid_grant", "MP-012")
    # the same jti in a fresh grant is a replay too
    jti = rand()
    assert mp.keyed.token(scope=mp.api, jti=jti).status_code == 200
    refused(mp.keyed.token(scope=mp.api, jti=jti), "invalid_grant", "MP-012")


def test_unknown_kid(mp):
    refused(mp.keyed.token(scope=mp.api, kid="nosuchkey"), "invalid_grant", "MP-124")


def test_wrong_key(mp):
    other = jwk.JWK.generate(kty="RSA", size=2048)
    refused(mp.keyed.token(scope=mp.api, key=other), "invalid_grant", "MP-124")


def test_alg_none(mp):
    c = mp.keyed
    now = int(time.time())
    claims = {"aud": mp.issuer, "iss": c.client_id, "scope": mp.api, "iat": now, "exp": now + 60, "jti": rand()}
    for sig in ("", "AAAA"):
        refused(mp.token(unsecured({"alg": "none", "kid": c.kid}, claims, sig)), "invalid_grant")
        refused(mp.token(unsecured({"alg": "none"}, claims, sig)), "invalid_grant")


def test_hmac_with_public_key(mp):
    c = mp.keyed
    pem = c.key.export_to_pem()          # the public key, which anyone may have
    hkey = jwk.JWK(kty="oct", k=b64u(pem))
    for alg in ("HS256", "HS512"):
        refused(c.token(scope=mp.api, key=hkey, alg=alg), "invalid_grant")
    refused(c.token(scope=mp.api, key=hkey, alg="HS256", kid=None, header={"kid": None},
                    cert=None, x5c=mp.certs["valid"].x5c), "invalid_grant")


def test_other_algs(mp):
    c = mp.keyed
    refused(c.token(scope=mp.api, alg="PS256"), "invalid_grant")
    ec = jwk.JWK.generate(kty="EC", crv="P-256")
    refused(c.token(scope=mp.api, alg="ES256", key=ec), "invalid_grant")


def test_scope_not_granted(mp):
    refused(mp.keyed.token(scope=mp.closed), "invalid_scope", "MP-250")
    # no partial grant: one bad scope refuses all
    refused(mp.keyed.token(scope=f"{mp.api} {mp.closed}"), "invalid_scope", "MP-250")


def test_scope_not_registered(mp):
    refused(mp.keyed.token(scope=mp.deleg), "invalid_scope", "MP-200")
    refused(mp.keyed.token(scope="nosuch:scope"), "invalid_scope", "MP-200")
    refused(mp.keyed.token(scope="   "), "invalid_request", "MP-011")
    refused(mp.keyed.token(scope=None, drop=("scope",)), "invalid_request", "MP-011")


def test_unknown_client(mp):
    refused(mp.keyed.token(scope=mp.api, iss="no-such-client"), "invalid_grant", "MP-100")
    refused(mp.keyed.token(scope=mp.api, drop=("iss",)), "invalid_grant", "MP-100")


def test_kid_and_x5c_together_or_neither(mp):
    c = mp.keyed
    refused(c.token(scope=mp.api, x5c=mp.certs["valid"].x5c), "invalid_grant")
    refused(c.token(scope=mp.api, header={"kid": None}), "invalid_grant")


@pytest.mark.parametrize("name,code", [("expired", "MP-120"), ("revoked", "MP-120"),
                                       ("untrusted", "MP-120"), ("wrong_org", "MP-122"),
                                       ("foreign", "MP-120"), ("no_org", "MP-120")])
def test_bad_certificate(mp, name, code):
    refused(mp.certified.token(scope=mp.api, cert=mp.certs[name]), "invalid_grant", code)


def test_certificate_key_mismatch(mp):
    # x5c of a valid certificate, signed with another certificate's key
    r = mp.certified.token(scope=mp.api, cert=mp.certs["valid"], key=mp.certs["wrong_org"].key)
    refused(r, "invalid_grant", "MP-124")


def test_malformed_x5c(mp):
    c, cert = mp.certified, mp.certs["valid"]
    for bad in (cert.x5c[0], [], ["not base64!"], ["QUJD"], [cert.x5c[0][:-8]], [1],
                [base64.urlsafe_b64encode(base64.b64decode(cert.x5c[0])).decode().rstrip("=")],
                [cert.x5c[0] + "AAAA"], [cert.x5c[0]] + ["QUJD"] * 10):
        r = c.token(scope=mp.api, cert=cert, x5c=bad)
        refused(r, "invalid_grant", "MP-123")


def test_x5c_from_client_with_keys(mp):
    # spec §3 (design): a client with registered keys must use kid
    refused(mp.keyed.token(scope=mp.api, cert=mp.certs["valid"]), "invalid_grant", "MP-120")


def test_admin_scope_needs_certificate(mp):
    p = mp.ctl("scope", "create", "--name", "idporten:dcr.read", "--description", "admin",
               "--allowed-integration-type", "maskinporten", check=False)
    assert p.returncode == 0, p.stderr
    mp.ctl("scope", "grant", "idporten:dcr.read", ORG_A)
    keyed = mp.client(ORG_A, ["idporten:dcr.read"])
    refused(keyed.token(scope="idporten:dcr.read"), "invalid_scope", "MP-201")
    cert = mp.client(ORG_A, ["idporten:dcr.read"], key=False)
    issued(mp, cert.token(scope="idporten:dcr.read", cert=mp.certs["valid"]), cert, "idporten:dcr.read",
           amr="virksomhetssertifikat")


def test_authorization_details(mp):
    c = mp.keyed
    ok_org = {"authority": AUTHORITY, "ID": f"0192:{ORG_C}"}
    cases = [
        ([{"type": "urn:other"}], "MP-301"),
        ([{"type": "urn:altinn:systemuser", "systemuser_org": ok_org, "colour": "red"}], "MP-302"),
        ([{"type": "urn:altinn:systemuser", "systemuser_org": {"authority": "x", "ID": "1"}}], "MP-303"),
        ([{"type": "urn:altinn:systemuser", "systemuser_org": ok_org}] * 2, "MP-303"),
        ({"type": "urn:altinn:systemuser"}, "MP-303"),
    ]
    for rar, code in cases:
        refused(c.token(scope=mp.api, extra={"authorization_details": rar}), "invalid_authorization_details",
                code)
    # well-formed, but no system register knows a system user for it
    refused(c.token(scope=mp.api, extra={"authorization_details": [
        {"type": "urn:altinn:systemuser", "systemuser_org": ok_org}]}), "invalid_grant")


def test_onbehalfof_refused_for_maskinporten_clients(mp):
    refused(mp.keyed.token(scope=mp.api, extra={"iss_onbehalfof": "x"}), "invalid_request", "MP-011")


def test_request_shape(mp):
    a = mp.keyed.grant(scope=mp.api)
    refused(mp.token(a, grant_type="client_credentials"), "unsupported_grant_type")
    refused(mp.token(a, grant_type=None), "invalid_request")
    refused(mp.token(None), "invalid_request", "MP-011")
    refused(mp.token(a, client_assertion="x.y.z"), "invalid_request", "MP-011")
    refused(mp.token(a, client_secret="s"), "invalid_request", "MP-011")
    for junk in ("a.b", "a.b.c.d", "!!!.???.***", "W10.e30.", "e30.W10.", a.replace(".", "", 1),
                 "x" * 20000):
        refused(mp.token(junk), "invalid_request", "MP-011")
    refused(mp.token("e30.e30."), "invalid_grant")      # a header without alg
    r = mp.http.post(mp.url("/token"), data=[("grant_type", GRANT), ("assertion", a), ("assertion", a)],
                     timeout=TIMEOUT)
    refused(r, "invalid_request")
    r = mp.http.post(mp.url("/token"), json={"grant_type": GRANT, "assertion": a}, timeout=TIMEOUT)
    refused(r, "invalid_request")
    # none of these consumed the grant
    issued(mp, mp.token(a), mp.keyed, mp.api)


def test_idporten_token_endpoint_refuses_the_grant(mp):
    a = mp.keyed.grant(scope=mp.api)
    r = mp.server.post("/token", data={"grant_type": GRANT, "assertion": a})
    assert r.status_code in (400, 401) and err(r) in ("unsupported_grant_type", "invalid_client"), r.text


def test_client_registration_rules(mp):
    base = ["client", "create", "--client-name", "x", "--description", "x", "--integration-type",
            "maskinporten", "--client-orgno", ORG_A]
    for extra, word in ((["--token-endpoint-auth-method", "client_secret_basic"], b"private_key_jwt"),
                        (["--grant-type", "authorization_code"], b"not allowed"),
                        (["--redirect-uri", "https://x.example.no/cb"], b"does not apply"),
                        (["--application-type", "native"], b"web")):
        p = mp.ctl(*base, *extra, check=False)
        assert p.returncode == 1 and word in p.stderr, p.stderr
    p = mp.ctl("client", "create", "--client-name", "x", "--description", "x", "--integration-type",
               "maskinporten", check=False)
    assert p.returncode == 1 and b"client_orgno" in p.stderr
    info = mp.ctl(*base, "--grant-type", "jwt_bearer_token")
    assert info["grant_types"] == [GRANT] and info["token_endpoint_auth_method"] == "private_key_jwt"
    assert "redirect_uris" not in info


def test_dpop_binds_the_token(mp):
    """idporten-oidc.md §19: a valid DPoP proof binds the token; a bad one is refused."""
    from dpopkit import proof
    c = mp.keyed
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    url = mp.url("/token")
    r = mp.http.post(url, data={"grant_type": GRANT, "assertion": c.grant(scope=mp.api)},
                     headers={"DPoP": proof(key, url)}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "DPoP"
    _, claims = mp.verify(r.json()["access_token"])
    assert claims["token_type"] == "DPoP" and claims["cnf"]["jkt"] == key.thumbprint()
    r = mp.http.post(url, data={"grant_type": GRANT, "assertion": c.grant(scope=mp.api)},
                     headers={"DPoP": proof(key, url, typ="JWT")}, timeout=TIMEOUT)
    assert r.status_code == 400 and err(r) == "invalid_dpop_proof", r.text
