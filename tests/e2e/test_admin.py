"""
The self-service API (spec/selfservice-api.md §2-§7) end to end: the
operator gives organisations' admin clients the idporten:dcr.* scopes with
portenctl; each organisation then gets a real Maskinporten access token
with a JWT grant signed by python3-jwcrypto with its business certificate
(made with openssl by test_maskinporten's PKI) and manages its own clients and
key sets over HTTP with python3-requests.  Every refusal is checked for its
status and error body, and for leaving the stored clients as they were.
"""

import calendar
import json
import os
import sqlite3
import time
import uuid

import pytest
from jwcrypto import jwk
from jwcrypto import jwt as jjwt

from conftest import (PID, PID2, Client, Page, ServerStartError, auth_params, authorize, finish_login,
                      http, login, remember_secret, TIMEOUT)
from pkikit import PKI

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DIGDIR = "991825827"
BASE = "/selfservice"
READ, MODIFY, WRITE, SUPPLIER = ("idporten:dcr.read", "idporten:dcr.modify", "idporten:dcr.write",
                                 "idporten:dcr.supplier")
SCOPES_WRITE = "idporten:scopes.write"
OBO_WRITE = "idporten:dcr/onbehalfof:write"
ADMIN_SCOPES = (READ, MODIFY, WRITE, SUPPLIER, SCOPES_WRITE, OBO_WRITE)


def orgno(first8):
    """A valid organisation number (mod 11, spec/national-id-numbers.md §7) from 8 digits."""
    w = [3, 2, 7, 6, 5, 4, 3, 2]
    s = sum(int(d) * k for d, k in zip(first8, w))
    c = 11 - s % 11
    c = 0 if c == 11 else c
    return None if c == 10 else first8 + str(c)


def _orgnos(n):
    out, k = [], 92000000
    while len(out) < n:
        o = orgno(str(k))
        if o:
            out.append(o)
        k += 1
    return out


ORG_A, ORG_B, ORG_S, ORG_C, ORG_P = _orgnos(5)   # owner, other owner, supplier, customer, API provider


def rsa_pub(kid, size=2048, key=None):
    k = key or jwk.JWK.generate(kty="RSA", size=size)
    pub = json.loads(k.export_public())
    pub.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return k, pub


class Admin:
    """An organisation's admin client, registered by the operator, and its tokens."""

    def __init__(self, env, owner, scopes, lifetime=None):
        self.env = env
        self.owner = owner
        self.scopes = scopes
        # spec §2: an admin client authenticates with its business certificate
        self.cert = env.cert(owner)
        args = ["client", "create", "--client-name", "admin " + owner, "--description", "self-service",
                "--integration-type", "maskinporten", "--grant-type", GRANT, "--client-orgno", owner]
        for s in scopes:
            args += ["--scope", s]
        if lifetime:
            args += ["--access-token-lifetime", str(lifetime)]
        self.client_id = env.server.ctl(*args)["client_id"]
        self._token = None

    def token(self, scope=None, fresh=False, extra=None):
        if scope is None and self._token and not fresh and not extra:
            return self._token
        now = int(time.time())
        t = jjwt.JWT(header={"alg": "RS256", "x5c": self.cert.x5c},
                     claims=dict({"aud": self.env.mp_issuer, "iss": self.client_id,
                                  "scope": scope or " ".join(self.scopes), "iat": now, "exp": now + 60,
                                  "jti": str(uuid.uuid4())}, **(extra or {})))
        t.make_signed_token(self.cert.key)
        r = self.env.http.post(self.env.server.url("/maskinporten/token"),
                               data={"grant_type": GRANT, "assertion": t.serialize()}, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        tok = r.json()["access_token"]
        if scope is None and not extra:
            self._token = tok
        return tok

    def call(self, method, path, token=None, **kw):
        h = kw.pop("headers", {})
        h.setdefault("Authorization", "Bearer " + (token or self.token()))
        return self.env.http.request(method, self.env.server.url(BASE + path), headers=h,
                                     timeout=TIMEOUT, **kw)


# every answer of the API this module sees, for the OpenAPI check at its end
SEEN = []


def _record(r, *args, **kwargs):
    path, _, query = r.request.path_url.partition("?")
    if "/selfservice/" in path:
        body = r.request.body
        SEEN.append({"method": r.request.method, "path": path[path.index("/selfservice/") + len(BASE):],
                     "query": query, "status": r.status_code,
                     "request_type": r.request.headers.get("Content-Type", ""),
                     "request_body": body.decode(errors="replace") if isinstance(body, bytes) else body,
                     "response_body": r.text})


class Env:
    def __init__(self, server, d, pki):
        self.server = server
        self.dir = str(d)
        self.http = http()
        self.http.hooks["response"].append(_record)
        self.mp_issuer = server.issuer + "/maskinporten/"
        self.pki = pki
        self.certs = {}

    def cert(self, owner):
        if owner not in self.certs:
            self.certs[owner] = self.pki.leaf("org" + owner, f"/C=NO/O=Org {owner}/serialNumber={owner}/CN=Org")
        return self.certs[owner]

    def stored(self):
        """Every client and scope as the operator sees them: what must not change after a refusal."""
        return ({c["client_id"]: c for c in self.server.ctl("client", "list")},
                {s["name"]: s for s in self.server.ctl("scope", "list")})


@pytest.fixture(scope="module")
def env(tmp_path_factory, start_server):
    pki = PKI(tmp_path_factory.mktemp("adminpki"))
    try:
        server = start_server({"PORTEN_MASKINPORTEN_CA": pki.p("root.pem"),
                               "PORTEN_MASKINPORTEN_CRL": pki.gencrl()})
    except ServerStartError as e:
        if "not built" in str(e):
            pytest.skip(str(e))
        raise
    e = Env(server, tmp_path_factory.mktemp("admin"), pki)
    # the operator: the admin scopes, and who may have them (spec §2)
    for s in ADMIN_SCOPES:
        server.ctl("scope", "create", "--name", s, "--description", "self-service " + s,
                   "--allowed-integration-type", "maskinporten", "--owner-orgno", DIGDIR)
        for o in (ORG_A, ORG_B, ORG_S, ORG_P):
            server.ctl("scope", "grant", s, o)
    # Digdir's self-service scope for the login history (spec §11)
    server.ctl("scope", "create", "--name", "idporten:user.log.read", "--description", "login history",
               "--allowed-integration-type", "api_klient", "--owner-orgno", DIGDIR)
    # spec §10: the authorizations scope, and an API scope of the provider's
    server.ctl("scope", "create", "--name", "idporten:authorizations", "--description", "authorizations",
               "--allowed-integration-type", "api_klient", "--allowed-integration-type", "maskinporten",
               "--owner-orgno", DIGDIR)
    for o in (ORG_P, ORG_B):
        server.ctl("scope", "grant", "idporten:authorizations", o)
    server.ctl("scope", "create", "--name", "e2eauth:data", "--description", "data", "--accessible-for-all",
               "--allowed-integration-type", "api_klient", "--owner-orgno", ORG_P)
    # spec §9: the operator gives the API provider its prefix
    server.ctl("scope", "prefix", "assign", "e2eprov", ORG_P)
    # an API provider's scopes: one open to A, one closed, one for everyone
    for name, extra in (("e2eadm:api", []), ("e2eadm:closed", []), ("e2eadm:open", ["--accessible-for-all"])):
        server.ctl("scope", "create", "--name", name, "--description", "e2e " + name,
                   "--owner-orgno", ORG_P, *extra)
    server.ctl("scope", "grant", "e2eadm:api", ORG_A)
    e.a = Admin(e, ORG_A, [READ, MODIFY, WRITE])
    e.a_read = Admin(e, ORG_A, [READ])
    e.a_write = Admin(e, ORG_A, [WRITE])
    e.a_modify = Admin(e, ORG_A, [MODIFY])
    e.b = Admin(e, ORG_B, [READ, MODIFY, WRITE])
    e.s = Admin(e, ORG_S, [SUPPLIER])
    e.p = Admin(e, ORG_P, [SCOPES_WRITE])
    e.b_scopes = Admin(e, ORG_B, [SCOPES_WRITE])
    e.s_own = Admin(e, ORG_S, [READ, WRITE, MODIFY])
    e.s_obo = Admin(e, ORG_S, [OBO_WRITE])
    e.p_authz = Admin(e, ORG_P, ["idporten:authorizations"])
    e.b_authz = Admin(e, ORG_B, ["idporten:authorizations"])
    return e


def login_client(**over):
    c = {
        "client_name": "Org web " + uuid.uuid4().hex[:6],
        "description": "created through the self-service API",
        "integration_type": "idporten",
        "application_type": "web",
        "token_endpoint_auth_method": "client_secret_basic",
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["openid", "profile"],
        "redirect_uris": ["https://app.example.no/callback"],
        "post_logout_redirect_uris": ["https://app.example.no/"],
    }
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def machine_client(**over):
    c = {
        "client_name": "Org machine " + uuid.uuid4().hex[:6],
        "description": "machine client",
        "integration_type": "maskinporten",
        "scopes": ["e2eadm:api"],
    }
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def error(r, status, error=None):
    assert r.status_code == status, f"expected {status}, got {r.status_code} {r.text}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    if error is not None:
        assert body.get("error") == error, r.text
    assert isinstance(body.get("error_description", ""), str)
    return body


def create(admin, body):
    r = admin.call("POST", "/clients", json=body)
    assert r.status_code == 201, r.text
    c = r.json()
    if "client_secret" in c:
        remember_secret(c["client_secret"])
    return c


# --------------------------------------------------------------------------
# clients: the happy paths, scope by scope
# --------------------------------------------------------------------------

def test_create_read_list(env):
    c = create(env.a_write, login_client())
    assert len(c["client_id"]) == 36 and c["client_id"].count("-") == 4
    assert c["client_orgno"] == ORG_A and "supplier_orgno" not in c
    assert c["active"] is True and c["client_secret"] and "client_secret_sha256" not in c
    assert c["client_secret_expires_at"] > time.time() + 350 * 86400
    r = env.a_write.call("GET", "/clients/" + c["client_id"])
    error(r, 403, "insufficient_scope")
    assert "insufficient_scope" in r.headers["WWW-Authenticate"]
    got = env.a_read.call("GET", "/clients/" + c["client_id"])
    assert got.status_code == 200 and got.headers.get("Cache-Control") == "no-store"
    got = got.json()
    assert "client_secret" not in got and got["client_name"] == c["client_name"]
    ids = [x["client_id"] for x in env.a_read.call("GET", "/clients").json()]
    assert c["client_id"] in ids
    assert c["client_id"] not in [x["client_id"] for x in env.b.call("GET", "/clients").json()]
    # the operator sees the same registration
    assert env.server.ctl("client", "show", c["client_id"])["client_orgno"] == ORG_A


def test_update_delete_secret(env):
    c = create(env.a, login_client())
    cid = c["client_id"]
    got = env.a.call("GET", "/clients/" + cid).json()
    got["client_name"] = "renamed"
    got["redirect_uris"] = ["https://app.example.no/cb2"]
    r = env.a_modify.call("PUT", "/clients/" + cid, json=got)
    assert r.status_code == 200, r.text
    assert r.json()["client_name"] == "renamed" and "client_secret" not in r.json()
    assert env.server.ctl("client", "show", cid)["redirect_uris"] == ["https://app.example.no/cb2"]
    # a new secret, shown once
    r = env.a_modify.call("POST", f"/clients/{cid}/secret")
    assert r.status_code == 200, r.text
    s = remember_secret(r.json()["client_secret"])
    assert s and s != c["client_secret"] and r.json()["client_id"] == cid
    assert r.json()["client_secret_expires_at"] > time.time()
    # and portenctl's, from the same answer
    o = env.server.ctl("client", "rotate-secret", cid)
    assert o["client_id"] == cid and remember_secret(o["client_secret"]) not in ("", s)
    assert o["client_secret_expires_at"] >= r.json()["client_secret_expires_at"]
    # write alone cannot change a client
    error(env.a_write.call("PUT", "/clients/" + cid, json=got), 403, "insufficient_scope")
    # delete deactivates; the record stays, hidden from the list unless asked
    r = env.a_modify.call("DELETE", "/clients/" + cid)
    assert r.status_code == 200 and r.json()["active"] is False
    assert cid not in [x["client_id"] for x in env.a.call("GET", "/clients").json()]
    listed = env.a.call("GET", "/clients", params={"inactive": "true"}).json()
    assert cid in [x["client_id"] for x in listed]
    assert env.server.ctl("client", "show", cid)["active"] is False
    # no revival: a POST naming it is a conflict, a PUT finds nothing
    before = env.stored()
    error(env.a.call("POST", "/clients", json=login_client(client_id=cid)), 409, "conflict")
    error(env.a.call("PUT", "/clients/" + cid, json=got), 404, "not_found")
    error(env.a.call("POST", f"/clients/{cid}/secret"), 404, "not_found")
    assert env.stored() == before


def test_maskinporten_client_and_keys(env):
    k1, pub1 = rsa_pub("k1")
    c = create(env.a, machine_client(jwks={"keys": [pub1]}))
    cid = c["client_id"]
    assert "client_secret" not in c and c["token_endpoint_auth_method"] == "private_key_jwt"
    assert c["scopes"] == ["e2eadm:api"]
    r = env.a_read.call("GET", f"/clients/{cid}/jwks")
    assert r.status_code == 200 and [k["kid"] for k in r.json()["keys"]] == ["k1"]
    # the new client gets Maskinporten tokens with its key
    now = int(time.time())
    t = jjwt.JWT(header={"alg": "RS256", "kid": "k1"},
                 claims={"aud": env.mp_issuer, "iss": cid, "scope": "e2eadm:api", "iat": now,
                         "exp": now + 60, "jti": str(uuid.uuid4())})
    t.make_signed_token(k1)
    r = env.http.post(env.server.url("/maskinporten/token"),
                      data={"grant_type": GRANT, "assertion": t.serialize()}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    # POST and PUT replace the whole set; a bare array is accepted
    _, pub2 = rsa_pub("k2")
    _, pub3 = rsa_pub("k3")
    r = env.a_write.call("POST", f"/clients/{cid}/jwks", json={"keys": [pub2, pub3]})
    assert r.status_code == 200, r.text
    assert [k["kid"] for k in r.json()["keys"]] == ["k2", "k3"]
    r = env.a_modify.call("PUT", f"/clients/{cid}/jwks", json=[pub1])
    assert r.status_code == 200 and [k["kid"] for k in r.json()["keys"]] == ["k1"]
    posted = env.server.ctl("client", "show", cid)["jwks_posted"]
    assert set(posted) == {"k1"} and abs(posted["k1"] - time.time()) < 60
    r = env.a_modify.call("DELETE", f"/clients/{cid}/jwks")
    assert r.status_code == 200 and r.json() == {"keys": []}
    assert "jwks" not in env.server.ctl("client", "show", cid)


def test_supplier_mode(env):
    c = create(env.s, login_client(client_orgno=ORG_C))
    cid = c["client_id"]
    assert c["client_orgno"] == ORG_C and c["supplier_orgno"] == ORG_S
    r = env.s.call("GET", "/clients/" + cid)
    assert r.status_code == 200
    assert cid in [x["client_id"] for x in env.s.call("GET", "/clients").json()]
    got = r.json()
    got["description"] = "supplied"
    assert env.s.call("PUT", "/clients/" + cid, json=got).status_code == 200
    # the supplier cannot move the client, nor a normal caller name another owner
    before = env.stored()
    got["client_orgno"] = ORG_S
    error(env.s.call("PUT", "/clients/" + cid, json=got), 400, "invalid_client_metadata")
    error(env.a.call("POST", "/clients", json=login_client(client_orgno=ORG_C)), 400,
          "invalid_client_metadata")
    error(env.a.call("POST", "/clients", json=login_client(supplier_orgno=ORG_A)), 400,
          "invalid_client_metadata")
    # the customer without the supplier does not see it by supplier rights
    error(env.b.call("GET", "/clients/" + cid), 404, "not_found")
    assert env.stored() == before
    assert env.s.call("DELETE", "/clients/" + cid).status_code == 200


# --------------------------------------------------------------------------
# the hostile half: each refusal leaves the store as it was
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def victim(env):
    return create(env.a, machine_client(jwks={"keys": [rsa_pub("v1")[1]]}))


def test_tokens_refused(env, victim):
    path = "/clients/" + victim["client_id"]
    short = Admin(env, ORG_A, [READ, MODIFY], lifetime=1)
    web = api_client(env, env.a, ["openid", "profile"])
    idp = web.tokens(login(env.server, web, http(), pid=PID2, scope="openid profile"))["access_token"]
    before = env.stored()
    r = env.http.get(env.server.url(BASE + path), timeout=TIMEOUT)
    error(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = env.a.call("GET", path, headers={"Authorization": "Basic Zm9vOmJhcg=="})
    error(r, 401)
    error(env.a.call("PUT", path, token="not.a.token", json={}), 401, "invalid_token")
    # a token signed by someone else's key, with every claim right
    forged = jjwt.JWT(header={"alg": "RS256", "kid": "x"},
                      claims={"iss": env.mp_issuer, "exp": int(time.time()) + 60, "scope": READ,
                              "consumer": {"authority": "iso6523-actorid-upis", "ID": "0192:" + ORG_A}})
    forged.make_signed_token(jwk.JWK.generate(kty="RSA", size=2048))
    error(env.a.call("GET", path, token=forged.serialize()), 401, "invalid_token")
    # an expired token
    tok = short.token()
    time.sleep(2.1)
    error(short.call("GET", path, token=tok), 401, "invalid_token")
    error(short.call("DELETE", path, token=tok), 401, "invalid_token")
    # a Maskinporten token for another audience; this API's own is fine (spec §2)
    other = env.a.token(extra={"resource": "https://other.example.no/api"})
    error(env.a.call("GET", path, token=other), 401, "invalid_token")
    error(env.a.call("DELETE", path, token=other), 401, "invalid_token")
    ours = env.a.token(extra={"resource": env.server.issuer + BASE})
    assert env.a.call("GET", path, token=ours).status_code == 200
    # a Porten ID-porten access token where a Maskinporten token is needed
    error(env.a.call("GET", path, token=idp), 401, "invalid_token")
    error(env.a.call("DELETE", path, token=idp), 401, "invalid_token")
    # a token without an admin scope
    tok = env.a.token(scope=READ)
    error(env.a.call("DELETE", path, token=tok), 403, "insufficient_scope")
    error(env.a.call("POST", "/clients", token=tok, json=login_client()), 403, "insufficient_scope")
    assert env.stored() == before


def test_other_org_is_404(env, victim):
    cid = victim["client_id"]
    before = env.stored()
    for method, path, body in (("GET", "/clients/" + cid, None),
                               ("PUT", "/clients/" + cid, dict(victim, client_name="taken")),
                               ("DELETE", "/clients/" + cid, None),
                               ("POST", f"/clients/{cid}/secret", None),
                               ("GET", f"/clients/{cid}/jwks", None),
                               ("PUT", f"/clients/{cid}/jwks", {"keys": [rsa_pub("evil")[1]]}),
                               ("DELETE", f"/clients/{cid}/jwks", None)):
        r = env.b.call(method, path, json=body)
        body = error(r, 404, "not_found")
        assert ORG_A not in json.dumps(body)
        # the same answer as a client that does not exist
        error(env.b.call(method, path.replace(cid, str(uuid.uuid4())), json=body), 404, "not_found")
    error(env.s.call("GET", "/clients/" + cid), 404, "not_found")
    assert env.stored() == before


def test_bad_bodies(env, victim):
    cid = victim["client_id"]
    before = env.stored()
    raw = {"Content-Type": "application/json"}
    error(env.a.call("POST", "/clients", data=b'{"client_name": ', headers=raw), 400, "invalid_request")
    error(env.a.call("POST", "/clients", data=b'{"a":1,"a":2}', headers=raw), 400, "invalid_request")
    error(env.a.call("PUT", "/clients/" + cid, data=b"[1,2", headers=raw), 400, "invalid_request")
    error(env.a.call("POST", "/clients", data=json.dumps(login_client()),
                     headers={"Content-Type": "text/plain"}), 415)
    error(env.a.call("POST", "/clients", data=json.dumps(login_client())), 415)
    error(env.a.call("POST", "/clients", data=b'{"x": "' + b"a" * 60000 + b'"}', headers=raw), 413)
    r = env.a.call("POST", "/clients", data=b"[" + b"1," * 70000 + b"1]", headers=raw)
    assert r.status_code == 413
    error(env.a.call("POST", "/clients", json=login_client(colour="blue")), 400, "invalid_client_metadata")
    error(env.a.call("PUT", "/clients/" + cid, json=dict(victim, colour="blue")), 400,
          "invalid_client_metadata")
    error(env.a.call("POST", "/clients", json=login_client(client_secret="chosen")), 400,
          "invalid_client_metadata")
    error(env.a.call("POST", "/clients", json=[login_client()]), 400, "invalid_client_metadata")
    # rules of §5 and §6
    error(env.a.call("POST", "/clients", json=login_client(redirect_uris=["https://a.example.no/cb#x"])),
          400, "invalid_client_metadata")
    error(env.a.call("POST", "/clients", json=login_client(grant_types=["implicit"])), 400,
          "invalid_client_metadata")
    error(env.a.call("PUT", "/clients/" + cid, json=dict(victim, integration_type="idporten")), 400,
          "invalid_client_metadata")
    error(env.a.call("POST", "/clients", json=login_client(client_id="chosen-id")), 400,
          "invalid_client_metadata")
    # §6.4: a scope closed to the owner looks unknown; admin scopes come from the operator only
    error(env.a.call("POST", "/clients", json=machine_client(scopes=["e2eadm:closed"])), 400,
          "invalid_client_metadata")
    error(env.a.call("POST", "/clients", json=machine_client(scopes=[READ])), 400, "invalid_client_metadata")
    error(env.a.call("PUT", "/clients/" + cid, json=dict(victim, scopes=["e2eadm:api", WRITE])), 400,
          "invalid_client_metadata")
    # paths and methods that do not exist
    error(env.a.call("GET", f"/clients/{cid}/nothing"), 404)
    error(env.a.call("PATCH", "/clients/" + cid, json={}), 405)
    error(env.a.call("DELETE", "/clients"), 405)
    assert env.stored() == before
    # an open scope is fine for anyone
    c = create(env.b, machine_client(scopes=["e2eadm:open"]))
    assert c["client_orgno"] == ORG_B


def test_key_sets_refused(env, victim):
    cid = victim["client_id"]
    before = env.stored()
    six = [rsa_pub(f"k{i}", key=jwk.JWK.generate(kty="RSA", size=2048))[1] for i in range(6)]
    error(env.a.call("PUT", f"/clients/{cid}/jwks", json={"keys": six}), 400, "invalid_client_metadata")
    error(env.a.call("PUT", f"/clients/{cid}/jwks", json={"keys": []}), 400, "invalid_client_metadata")
    error(env.a.call("PUT", f"/clients/{cid}/jwks", json={"keys": [rsa_pub("small", size=1024)[1]]}), 400,
          "invalid_client_metadata")
    dup = [rsa_pub("same")[1], rsa_pub("same")[1]]
    error(env.a.call("PUT", f"/clients/{cid}/jwks", json={"keys": dup}), 400, "invalid_client_metadata")
    k, priv = rsa_pub("priv")
    priv = json.loads(k.export_private())
    priv.update({"kid": "priv", "use": "sig", "alg": "RS256"})
    error(env.a.call("PUT", f"/clients/{cid}/jwks", json={"keys": [priv]}), 400, "invalid_client_metadata")
    error(env.a.call("PUT", f"/clients/{cid}/jwks", json={"keys": [dict(six[0], kid="bad kid")]}), 400,
          "invalid_client_metadata")
    error(env.a.call("PUT", f"/clients/{cid}/jwks", json={"keys": [six[0]], "extra": 1}), 400,
          "invalid_client_metadata")
    error(env.a.call("PUT", f"/clients/{cid}/jwks", json={"keys": [dict(six[0], kty="EC")]}), 400,
          "invalid_client_metadata")
    assert env.stored() == before


def test_portenctl_key_set(env, victim):
    """portenctl's twin of the key set sub-resource calls the same rules."""
    cid = victim["client_id"]
    _, pub = rsa_pub("ctl1")
    path = os.path.join(env.dir, "ctl.json")
    with open(path, "w") as f:
        json.dump({"keys": [pub]}, f)
    assert [k["kid"] for k in env.server.ctl("client", "set-keys", cid, "--jwks-file", path)["keys"]] == ["ctl1"]
    assert env.a.call("GET", f"/clients/{cid}/jwks").json()["keys"][0]["kid"] == "ctl1"
    with open(path, "w") as f:
        json.dump({"keys": [dict(pub, kid="x y")]}, f)
    assert env.server.ctl("client", "set-keys", cid, "--jwks-file", path, check=False).returncode != 0
    assert env.server.ctl("client", "keys", cid)["keys"][0]["kid"] == "ctl1"


def test_portenctl_add_key_all_or_none(env, victim):
    """client add-key with a JWKS file adds every key or, when one is refused, none; each add is
    in the audit trail."""
    cid = victim["client_id"]
    path = os.path.join(env.dir, "add.json")
    before = [k["kid"] for k in env.server.ctl("client", "keys", cid)["keys"]]
    good, other = rsa_pub("add-good")[1], rsa_pub("add-other")[1]
    with open(path, "w") as f:
        json.dump({"keys": [good, dict(rsa_pub("add-bad")[1], alg="HS256")]}, f)
    p = env.server.ctl("client", "add-key", cid, "--jwk-file", path, check=False)
    assert p.returncode == 1, p.stderr
    assert [k["kid"] for k in env.server.ctl("client", "keys", cid)["keys"]] == before
    assert not [t for t in env.server.ctl("audit", "id", cid) if t["action"] == "add"]
    with open(path, "w") as f:
        json.dump({"keys": [good, other]}, f)
    env.server.ctl("client", "add-key", cid, "--jwk-file", path)
    assert [k["kid"] for k in env.server.ctl("client", "keys", cid)["keys"]] == before + ["add-good",
                                                                                        "add-other"]
    added = [t for t in env.server.ctl("audit", "id", cid) if t["action"] == "add"]
    assert len(added) == 1 and added[0]["kind"] == "keys" and added[0]["actor"] == "operator", added
    assert [k["kid"] for k in added[0]["after"]["keys"]] == ["add-good", "add-other"]


# --------------------------------------------------------------------------
# the scope-owner API (§9) and the open lists
# --------------------------------------------------------------------------

def mp_token(env, cid, key, kid, scope):
    now = int(time.time())
    t = jjwt.JWT(header={"alg": "RS256", "kid": kid},
                 claims={"aud": env.mp_issuer, "iss": cid, "scope": scope, "iat": now,
                         "exp": now + 60, "jti": str(uuid.uuid4())})
    t.make_signed_token(key)
    return env.http.post(env.server.url("/maskinporten/token"),
                         data={"grant_type": GRANT, "assertion": t.serialize()}, timeout=TIMEOUT)


def test_scope_life_cycle(env):
    name = "e2eprov:data"
    body = {"prefix": "e2eprov", "subscope": "data", "description": "Data for partners",
            "allowed_integration_types": ["maskinporten"], "visibility": "PUBLIC",
            "translations": {"en": {"description": "Partner data", "long_description": "Data for partners"},
                             "nn": {"description": "Data for partnarar"}}}
    r = env.p.call("POST", "/scopes", json=body)
    assert r.status_code == 201, r.text
    sc = r.json()
    assert sc["name"] == name and sc["owner_orgno"] == ORG_P and sc["active"] is True
    assert sc["translations"]["en"]["description"] == "Partner data"
    assert name in [x["name"] for x in env.p.call("GET", "/scopes").json()]
    assert env.p.call("GET", "/scopes", params={"scope": name}).json()["description"] == "Data for partners"
    r = env.p.call("PUT", "/scopes", params={"scope": name}, json=dict(sc, description="Partner data"))
    assert r.status_code == 200 and r.json()["description"] == "Partner data"
    # the open list shows it to anyone, without its access list
    pub = env.http.get(env.server.url(BASE + "/scopes/all"), params={"prefix": "e2eprov"}, timeout=TIMEOUT)
    assert pub.status_code == 200 and [x["name"] for x in pub.json()] == [name]
    assert "access" not in pub.json()[0]
    assert pub.json()[0]["translations"]["nn"] == {"description": "Data for partnarar"}
    assert {"prefix": "e2eprov", "owner_orgno": ORG_P} in \
        env.http.get(env.server.url(BASE + "/prefix/all"), timeout=TIMEOUT).json()
    src = env.http.get(env.server.url(BASE + "/delegationsources"), timeout=TIMEOUT).json()
    assert all(x["issuer"].startswith("https://") for x in src) and src

    # access: A may now register the scope on its client and get tokens
    error(env.a.call("POST", "/clients", json=machine_client(scopes=[name])), 400, "invalid_client_metadata")
    r = env.p.call("PUT", "/scopes/access/" + ORG_A, params={"scope": name})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "APPROVED" and r.json()["consumer_orgno"] == ORG_A
    assert env.p.call("PUT", "/scopes/access/" + ORG_A, params={"scope": name}).status_code == 200
    listed = env.p.call("GET", "/scopes/access", params={"scope": name}).json()
    assert [x["consumer_orgno"] for x in listed] == [ORG_A]
    key, pub1 = rsa_pub("d1")
    c = create(env.a, machine_client(scopes=[name], jwks={"keys": [pub1]}))
    assert mp_token(env, c["client_id"], key, "d1", name).status_code == 200
    # revoked: the record stays, the tokens stop
    r = env.p.call("DELETE", "/scopes/access/" + ORG_A, params={"scope": name})
    assert r.status_code == 200, r.text
    assert r.json()["consumer_orgno"] == ORG_A and r.json()["active"] is False
    assert mp_token(env, c["client_id"], key, "d1", name).status_code == 400
    # a revoked record is listed only when asked for (spec §9), as portenctl shows it
    assert env.p.call("GET", "/scopes/access", params={"scope": name}).json() == []
    assert env.p.call("GET", "/scopes/access", params={"scope": name, "inactive": "false"}).json() == []
    listed = env.p.call("GET", "/scopes/access", params={"scope": name, "inactive": "true"}).json()
    assert [(x["consumer_orgno"], x["active"]) for x in listed] == [(ORG_A, False)]
    error(env.p.call("GET", "/scopes/access", params={"scope": name, "inactive": "yes"}), 400,
          "invalid_request")
    assert env.p.call("PUT", "/scopes/access/" + ORG_A, params={"scope": name}).status_code == 200
    assert mp_token(env, c["client_id"], key, "d1", name).status_code == 200
    # deactivated: no tokens, no longer public, registrations and grants kept
    r = env.p.call("DELETE", "/scopes", params={"scope": name})
    assert r.status_code == 200 and r.json()["active"] is False
    assert mp_token(env, c["client_id"], key, "d1", name).status_code == 400
    assert env.http.get(env.server.url(BASE + "/scopes/all"), params={"prefix": "e2eprov"},
                        timeout=TIMEOUT).json() == []
    assert env.server.ctl("client", "show", c["client_id"])["scopes"] == [name]
    assert [x["consumer_orgno"] for x in env.p.call("GET", "/scopes/access", params={"scope": name}).json()] \
        == [ORG_A]
    assert name not in [x["name"] for x in env.p.call("GET", "/scopes").json()]
    assert name in [x["name"] for x in env.p.call("GET", "/scopes", params={"inactive": "true"}).json()]
    # an update keeps it deactivated; a POST does not revive it
    r = env.p.call("PUT", "/scopes", params={"scope": name}, json=dict(sc, active=True))
    assert r.status_code == 200 and r.json()["active"] is False
    error(env.p.call("POST", "/scopes", json=body), 409, "conflict")


def test_scope_for_any_integration_type(env):
    """An empty allowed_integration_types allows every type (maskinporten.md §9),
    so the open list's filter on a type shows it."""
    name = "e2eprov:anytype"
    r = env.p.call("POST", "/scopes", json={"name": name, "description": "For any integration"})
    assert r.status_code == 201, r.text
    for itype in ("maskinporten", "api_klient"):
        pub = env.http.get(env.server.url(BASE + "/scopes/all"),
                           params={"prefix": "e2eprov", "integration_type": itype}, timeout=TIMEOUT)
        assert pub.status_code == 200 and name in [x["name"] for x in pub.json()], pub.text
    r = env.p.call("PUT", "/scopes", params={"scope": name},
                   json={"name": name, "description": "x", "allowed_integration_types": ["krr"]})
    assert r.status_code == 200, r.text
    pub = env.http.get(env.server.url(BASE + "/scopes/all"),
                       params={"prefix": "e2eprov", "integration_type": "maskinporten"}, timeout=TIMEOUT)
    assert name not in [x["name"] for x in pub.json()]


def test_scopes_refused(env):
    name = "e2eprov:refusals"
    r = env.p.call("POST", "/scopes", json={"name": name, "description": "x"})
    assert r.status_code == 201, r.text
    sc = r.json()
    before = env.stored()
    # INTERNAL is the operator's alone (maskinporten.md §9)
    error(env.p.call("POST", "/scopes", json={"name": "e2eprov:internal", "description": "x",
                                             "visibility": "INTERNAL"}), 400, "invalid_scope")
    error(env.p.call("PUT", "/scopes", params={"scope": name}, json=dict(sc, visibility="INTERNAL")), 400,
          "invalid_scope")
    # no token, a token without scopes.write, another organisation
    error(env.http.get(env.server.url(BASE + "/scopes"), timeout=TIMEOUT), 401)
    error(env.a.call("GET", "/scopes"), 403, "insufficient_scope")
    error(env.s.call("POST", "/scopes", json={"name": "e2eprov:x", "description": "x"}), 403,
          "insufficient_scope")
    error(env.b_scopes.call("POST", "/scopes", json={"name": "e2eprov:x", "description": "x"}), 403,
          "access_denied")
    error(env.b_scopes.call("POST", "/scopes", json={"name": "unassigned:x", "description": "x"}), 403,
          "access_denied")
    error(env.b_scopes.call("POST", "/scopes", json={"name": "idporten:dcr.evil", "description": "x"}), 403,
          "access_denied")
    for m, kw in (("GET", {}), ("PUT", {"json": sc}), ("DELETE", {})):
        error(env.b_scopes.call(m, "/scopes", params={"scope": name}, **kw), 404, "not_found")
    error(env.b_scopes.call("PUT", "/scopes/access/" + ORG_B, params={"scope": name}), 404, "not_found")
    error(env.b_scopes.call("GET", "/scopes/access", params={"scope": name}), 404, "not_found")
    error(env.b_scopes.call("PUT", "/scopes", params={"scope": "idporten:dcr.read"}, json={}), 404, "not_found")
    error(env.p.call("GET", "/scopes", params={"scope": "openid"}), 404, "not_found")
    # bad bodies and parameters
    raw = {"Content-Type": "application/json"}
    error(env.p.call("POST", "/scopes", data=b"{", headers=raw), 400, "invalid_request")
    error(env.p.call("POST", "/scopes", data=b'{"name": "e2eprov:y"}', headers={"Content-Type": "text/plain"}),
          415)
    error(env.p.call("POST", "/scopes", json={"name": "e2eprov:y", "description": "x", "colour": 1}), 400)
    error(env.p.call("POST", "/scopes", json={"name": "e2eprov:y", "description": "x", "owner_orgno": ORG_B}),
          400)
    error(env.p.call("POST", "/scopes", json={"name": "e2eprov:y", "description": "x",
                                               "delegation_source": "https://evil.example/"}), 400)
    error(env.p.call("POST", "/scopes", json={"name": "e2eprov:Y!", "description": "x"}), 400)
    for tr in ({"de": {"description": "x"}}, {"en": "x"}, {"en": {"title": "x"}}, ["en"],
               {"en": {"description": "\u0001"}}):
        error(env.p.call("POST", "/scopes", json={"name": "e2eprov:tr", "description": "x", "translations": tr}),
              400, "invalid_scope")
    error(env.p.call("PUT", "/scopes", params={"scope": name}, json=dict(sc, name="e2eprov:other")), 400)
    error(env.p.call("PUT", "/scopes", params={"scope": name}, json=dict(sc, subscope="other")), 400)
    error(env.p.call("PUT", "/scopes/access/12345", params={"scope": name}), 400)
    error(env.p.call("PUT", "/scopes/access/" + ORG_A), 400, "invalid_request")
    error(env.p.call("GET", "/scopes", params=[("scope", name), ("scope", name)]), 400, "invalid_request")
    error(env.p.call("DELETE", "/scopes/access/" + ORG_C, params={"scope": name}), 404, "not_found")
    error(env.p.call("POST", "/scopes", data=b'{"x": "' + b"a" * 60000 + b'"}', headers=raw), 413)
    assert env.stored() == before


def test_portenctl_prefix(env):
    assert env.server.ctl("scope", "prefix", "assign", "Bad Prefix", ORG_B, check=False).returncode != 0
    assert env.server.ctl("scope", "prefix", "assign", "e2eprov", ORG_B, check=False).returncode != 0
    r = env.server.ctl("scope", "create", "--name", "e2eprov:op", "--owner-orgno", ORG_B, check=False)
    assert r.returncode != 0
    listed = env.server.ctl("scope", "prefix", "list")
    assert {"prefix": "e2eprov", "owner_orgno": ORG_P} in listed
    assert "e2eprov:" not in [s["name"] for s in env.server.ctl("scope", "list")]


# --------------------------------------------------------------------------
# onbehalfof (§8), through the login (idporten-oidc §16)
# --------------------------------------------------------------------------

def test_onbehalfof_end_to_end(env):
    c = create(env.s_own, login_client(redirect_uris=["https://supplier.example.no/cb"]))
    cid = c["client_id"]
    entry = {"onbehalfof": "kunde1", "display_name": "Kunde kommune", "orgno": ORG_C,
             "url": "https://kunde.example.no/"}
    r = env.s_obo.call("POST", f"/clients/{cid}/onbehalfof", json=entry)
    assert r.status_code == 201, r.text
    assert r.json()["orgno"] == ORG_C and r.json()["display_name"] == "Kunde kommune"
    r = env.s_own.call("GET", f"/clients/{cid}/onbehalfof")
    assert r.status_code == 200 and [x["onbehalfof"] for x in r.json()] == ["kunde1"]
    r = env.s_obo.call("PUT", f"/clients/{cid}/onbehalof/kunde1", json=dict(entry, display_name="Kunde by"))
    assert r.status_code == 200 and r.json()["display_name"] == "Kunde by"
    assert env.s_obo.call("GET", f"/clients/{cid}/onbehalfof/kunde1").json()["display_name"] == "Kunde by"
    # an update of the client keeps the entries; portenctl sees the same
    got = env.s_own.call("GET", "/clients/" + cid).json()
    assert env.s_own.call("PUT", "/clients/" + cid, json=dict(got, description="again")).status_code == 200
    assert [x["onbehalfof"] for x in env.server.ctl("client", "onbehalfof", cid, "list")] == ["kunde1"]

    # a person logs in to the client made through the API, on behalf of the customer
    client = Client(env.server, c, "client_secret_basic", "web", c["redirect_uris"],
                    c["post_logout_redirect_uris"][0], ["openid", "profile"], False, None, False, False,
                    None, None)
    browser = http()
    params, verifier = auth_params(client, onbehalfof="kunde1")
    r = authorize(env.server, browser, params)
    assert r.status_code == 200 and Page(r.text).forms is not None
    assert "Kunde by" in r.text and c["client_name"] not in r.text
    res = finish_login(env.server, browser, r, params["redirect_uri"], sent=params, verifier=verifier)
    assert res.code, res
    toks = client.tokens(res)
    _, claims = env.server.verify(toks["id_token"])
    assert claims["aud"] == cid
    assert claims["client_onbehalfof"] == "kunde1" and claims["aud_onbehalfof"] == "kunde1"
    # the authentication counts for the customer (read from the SQLite store's event table)
    if not env.server.env.get("PORTEN_STORE", "").startswith(("postgresql://", "postgres://")):
        db = sqlite3.connect(os.path.join(env.server.data, "porten.db"))
        rows = [json.loads(d) for (d,) in db.execute(
            "SELECT doc FROM events WHERE type = 'authentication' ORDER BY id DESC LIMIT 1")]
        db.close()
        assert rows[0]["client_id"] == cid and rows[0]["customer"] == ORG_C and rows[0]["onbehalfof"] == "kunde1"
    # an id the client has not registered is refused at /authorize
    params, _ = auth_params(client, onbehalfof="kunde2")
    r = authorize(env.server, http(), params)
    assert r.status_code in (302, 400) and ("invalid_request" in r.text or
                                            "invalid_request" in r.headers.get("Location", ""))
    # DELETE answers 200 with an empty body
    r = env.s_obo.call("DELETE", f"/clients/{cid}/onbehalfof/kunde1")
    assert r.status_code == 200 and r.text == ""
    assert env.s_own.call("GET", f"/clients/{cid}/onbehalfof").json() == []


def test_onbehalfof_at_maskinporten(env):
    """maskinporten.md §8.4: a KRR client registered through the API asks on behalf of its customer."""
    kontakt = "krr:global/kontaktinformasjon.read"
    for s in (kontakt, "krr:global/digitalpost.read"):
        if env.server.ctl("scope", "show", s, check=False).returncode != 0:
            env.server.ctl("scope", "create", "--name", s, "--description", "KRR",
                           "--allowed-integration-type", "krr", "--owner-orgno", DIGDIR)
    env.server.ctl("scope", "grant", kontakt, ORG_C)
    env.server.ctl("scope", "grant", kontakt, ORG_S)
    key, pub = rsa_pub("krr1")
    body = {"client_name": "KRR supplier", "description": "KRR for customers", "integration_type": "krr",
            "token_endpoint_auth_method": "private_key_jwt", "grant_types": [GRANT], "jwks": {"keys": [pub]}}
    # spec §5: KRR's two scopes by default, no others; no login fields, no secrets
    before = env.stored()
    for bad in (dict(body, scopes=["e2eadm:open"]), dict(body, redirect_uris=["https://k.example.no/cb"]),
                dict(body, token_endpoint_auth_method="client_secret_basic"),
                dict(body, grant_types=["authorization_code"]), dict(body, application_type="native")):
        error(env.s_own.call("POST", "/clients", json=bad), 400, "invalid_client_metadata")
    assert env.stored() == before
    krr = create(env.s_own, body)
    assert sorted(krr["scopes"]) == sorted([kontakt, "krr:global/digitalpost.read"])
    krr = env.s_own.call("PUT", "/clients/" + krr["client_id"], json=dict(krr, scopes=[kontakt])).json()
    assert krr["scopes"] == [kontakt] and krr["integration_type"] == "krr"
    cid = krr["client_id"]
    entry = {"onbehalfof": "kunde1", "display_name": "Kunde by", "orgno": ORG_C}
    assert env.s_obo.call("POST", f"/clients/{cid}/onbehalfof", json=entry).status_code == 201

    def grant(**extra):
        now = int(time.time())
        t = jjwt.JWT(header={"alg": "RS256", "kid": "krr1"},
                     claims=dict({"aud": env.mp_issuer, "iss": cid, "scope": "krr:global/kontaktinformasjon.read",
                                  "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())}, **extra))
        t.make_signed_token(key)
        return env.http.post(env.server.url("/maskinporten/token"),
                             data={"grant_type": GRANT, "assertion": t.serialize()}, timeout=TIMEOUT)

    r = grant(iss_onbehalfof="kunde1")
    assert r.status_code == 200, r.text
    claims = _jti(r.json()["access_token"])
    assert claims["consumer"]["ID"] == "0192:" + ORG_C and claims["supplier"]["ID"] == "0192:" + ORG_S, claims
    # without it the supplier asks for itself; an id it has not registered is refused
    r = grant()
    assert r.status_code == 200 and _jti(r.json()["access_token"])["consumer"]["ID"] == "0192:" + ORG_S
    r = grant(iss_onbehalfof="kunde2")
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    # the entry removed through the API, the customer's token ends with it
    assert env.s_obo.call("DELETE", f"/clients/{cid}/onbehalfof/kunde1").status_code == 200
    r = grant(iss_onbehalfof="kunde1")
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text


def test_onbehalfof_refused(env):
    c = create(env.s_own, login_client())
    cid = c["client_id"]
    entry = {"onbehalfof": "kunde9", "display_name": "K", "orgno": ORG_C}
    assert env.s_obo.call("POST", f"/clients/{cid}/onbehalfof", json=entry).status_code == 201
    before = env.stored()
    error(env.s_obo.call("POST", f"/clients/{cid}/onbehalfof", json=entry), 409, "conflict")
    error(env.s_own.call("POST", f"/clients/{cid}/onbehalfof", json=dict(entry, onbehalfof="x")), 403,
          "insufficient_scope")
    error(env.s.call("GET", f"/clients/{cid}/onbehalfof"), 403, "insufficient_scope")
    error(env.b.call("GET", f"/clients/{cid}/onbehalfof"), 404, "not_found")
    error(env.s_obo.call("PUT", f"/clients/{cid}/onbehalfof/nobody", json=entry), 404, "not_found")
    for bad in (dict(entry, onbehalfof="a-b"), dict(entry, orgno="123"), dict(entry, colour=1),
                {"onbehalfof": "k2", "orgno": ORG_C}, dict(entry, onbehalfof="k3", url="https://x.no/#f"),
                dict(entry, onbehalfof="k" * 65)):
        error(env.s_obo.call("POST", f"/clients/{cid}/onbehalfof", json=bad), 400, "invalid_client_metadata")
    error(env.s_obo.call("PUT", f"/clients/{cid}/onbehalfof/kunde9", json=dict(entry, onbehalfof="other")),
          400, "invalid_client_metadata")
    error(env.s_obo.call("POST", f"/clients/{cid}/onbehalfof", data=b"{", headers={"Content-Type":
                                                                                   "application/json"}), 400)
    error(env.s_obo.call("POST", f"/clients/{cid}/onbehalfof/kunde9", json=entry), 405)
    assert env.stored() == before


# --------------------------------------------------------------------------
# the login history (§11)
# --------------------------------------------------------------------------

def api_client(env, admin, scopes):
    info = create(admin, login_client(integration_type="api_klient", scopes=scopes))
    return Client(env.server, info, "client_secret_basic", "web", info["redirect_uris"],
                  info["post_logout_redirect_uris"][0], scopes, False, None, False, False, None, None)


def test_login_history(env):
    hist = api_client(env, env.a, ["openid", "profile", "idporten:user.log.read"])
    other = api_client(env, env.b, ["openid", "profile", "idporten:user.log.read"])
    # the person logs in to A's service and to B's; another person to A's
    tok = hist.tokens(login(env.server, hist, http(), pid=PID, scope="openid idporten:user.log.read"))
    login(env.server, other, http(), pid=PID)
    login(env.server, hist, http(), pid=PID2)
    url = env.server.url("/innlogginger/logg/idporten")
    r = env.http.get(url, headers={"Authorization": "Bearer " + tok["access_token"]}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.headers.get("Cache-Control") == "no-store", r.text
    got = r.json()
    assert len(got) == 1, got
    h = got[0]
    assert h["integrasjon_id"] == hist.client_id and h["orgno"] == ORG_A and h["eid"] == "TestID"
    assert h["tjeneste"] == hist.info["client_name"] and len(h["tidspunkt"]) == 19
    assert abs(calendar.timegm(time.strptime(h["tidspunkt"], "%Y-%m-%dT%H:%M:%S")) - time.time()) < 120
    # a second login, newest first, maxhits
    tok2 = hist.tokens(login(env.server, hist, http(), pid=PID, scope="openid idporten:user.log.read"))
    r = env.http.get(url, params={"maxhits": "5"}, headers={"Authorization": "Bearer " + tok2["access_token"]},
                     timeout=TIMEOUT)
    assert len(r.json()) == 2
    r = env.http.get(url, params={"maxhits": "1"}, headers={"Authorization": "Bearer " + tok2["access_token"]},
                     timeout=TIMEOUT)
    assert len(r.json()) == 1
    # refusals: no token, a token without the scope, a Maskinporten token, bad maxhits
    error(env.http.get(url, timeout=TIMEOUT), 401)
    plain = hist.tokens(login(env.server, hist, http(), pid=PID, scope="openid"))
    error(env.http.get(url, headers={"Authorization": "Bearer " + plain["access_token"]}, timeout=TIMEOUT),
          403, "insufficient_scope")
    error(env.http.get(url, headers={"Authorization": "Bearer " + env.a.token()}, timeout=TIMEOUT), 401,
          "invalid_token")
    for bad in ("0", "1001", "x", ""):
        error(env.http.get(url, params={"maxhits": bad},
                           headers={"Authorization": "Bearer " + tok2["access_token"]}, timeout=TIMEOUT), 400)
    # no national identity number in the event log
    if not env.server.env.get("PORTEN_STORE", "").startswith(("postgresql://", "postgres://")):
        db = sqlite3.connect(os.path.join(env.server.data, "porten.db"))
        assert not [d for (d,) in db.execute("SELECT doc FROM events") if PID in d]
        db.close()


# --------------------------------------------------------------------------
# the authorizations API (§10)
# --------------------------------------------------------------------------

def test_authorizations(env):
    app = api_client(env, env.a, ["openid", "profile", "idporten:authorizations", "e2eauth:data"])
    res = login(env.server, app, http(), pid=PID, scope="openid e2eauth:data idporten:authorizations")
    tok = app.tokens(res)
    assert tok.get("refresh_token"), tok
    mine = {"Authorization": "Bearer " + tok["access_token"]}
    url = env.server.url("/authorizations/clients/authorizations")
    # by default only authorizations with a scope that needs consent
    r = env.http.get(url, headers=mine, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json() == [], r.text
    r = env.http.get(url, params={"require_user_consent": "false"}, headers=mine, timeout=TIMEOUT)
    assert r.json() and all(x["consumer"]["ID"] == "0192:" + ORG_A for x in r.json())
    got = [x for x in r.json() if x["client_id"] == app.client_id]
    assert len(got) == 1, got
    a = got[0]
    assert a["client_id"] == app.client_id and a["client_name"] == app.info["client_name"]
    assert a["consumer"] == {"authority": "iso6523-actorid-upis", "ID": "0192:" + ORG_A}
    assert "e2eauth:data" in [x["name"] for x in a["scopes"]]
    assert a["expires"] > a["authorized_at"] > (time.time() - 300) * 1000
    assert env.http.get(url, params={"requires_user_consent": "false", "visibility": "PRIVATE"}, headers=mine,
                        timeout=TIMEOUT).json() == []
    # the API provider finds it by its scope, with a Maskinporten token and the pid
    purl = env.server.url("/authorizations/api-provider/authorizations")
    r = env.http.post(purl, params={"require_user_consent": "false"}, json={"pid": PID},
                      headers={"Authorization": "Bearer " + env.p_authz.token()}, timeout=TIMEOUT)
    assert r.status_code == 200 and [x["authorization_id"] for x in r.json()] == [a["authorization_id"]], r.text
    # another organisation finds nothing and cannot revoke it
    b = {"Authorization": "Bearer " + env.b_authz.token()}
    r = env.http.post(url, params={"require_user_consent": "false"}, json={"pid": PID}, headers=b,
                      timeout=TIMEOUT)
    assert r.status_code == 200 and r.json() == []
    durl = env.server.url("/authorizations/authorizations/" + a["authorization_id"])
    error(env.http.delete(durl, headers=b, timeout=TIMEOUT), 404, "not_found")
    # refusals
    error(env.http.get(url, timeout=TIMEOUT), 401)
    error(env.http.post(url, json={"pid": "12345678901"}, headers=b, timeout=TIMEOUT), 400, "invalid_request")
    error(env.http.post(url, data="pid=" + PID, headers=dict(b, **{"Content-Type": "application/x-www-form-urlencoded"}),
                        timeout=TIMEOUT), 415)
    error(env.http.post(url, json={"pid": PID}, headers={"Authorization": "Bearer " + env.a.token()},
                        timeout=TIMEOUT), 403, "insufficient_scope")
    error(env.http.get(url, params={"require_user_consent": "maybe"}, headers=mine, timeout=TIMEOUT), 400)
    error(env.http.delete(env.server.url("/authorizations/authorizations/nope"), headers=mine, timeout=TIMEOUT),
          404)
    assert a["authorization_id"] in [x["authorization_id"] for x in env.http.get(
        url, params={"require_user_consent": "false"}, headers=mine, timeout=TIMEOUT).json()]
    # the provider revokes it: the refresh token and the stored access token end at once
    r = env.http.delete(durl, headers={"Authorization": "Bearer " + env.p_authz.token()}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.text == "", r.text
    assert app.refresh(tok["refresh_token"]).status_code == 400
    error(env.http.get(url, headers=mine, timeout=TIMEOUT), 401, "invalid_token")
    # the person revokes another one with their own token
    tok2 = app.tokens(login(env.server, app, http(), pid=PID, scope="openid idporten:authorizations"))
    mine2 = {"Authorization": "Bearer " + tok2["access_token"]}
    got = env.http.get(url, params={"require_user_consent": "false"}, headers=mine2, timeout=TIMEOUT).json()
    got = [x for x in got if x["client_id"] == app.client_id]
    assert len(got) == 1
    r = env.http.delete(env.server.url("/authorizations/authorizations/" + got[0]["authorization_id"]),
                        headers=mine2, timeout=TIMEOUT)
    assert r.status_code == 200
    assert app.refresh(tok2["refresh_token"]).status_code == 400


def _jti(access_token):
    import base64
    part = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_revokelist(env):
    """§10: the open revocation list of a client's revoked, unexpired access tokens."""
    app = api_client(env, env.a, ["openid", "profile", "idporten:authorizations", "e2eauth:data"])
    url = env.server.url("/revokelist")

    def listed(cid=app.client_id):
        r = env.http.get(url, params={"client_id": cid}, timeout=TIMEOUT)
        assert r.status_code == 200 and r.headers.get("Cache-Control") == "no-store", r.text
        body = r.json()
        assert set(body) == {"created", "revoked_access_tokens"}
        assert abs(body["created"] - time.time() * 1000) < 120000
        return {x["access_token_id"]: x for x in body["revoked_access_tokens"]}

    tok = app.tokens(login(env.server, app, http(), pid=PID, scope="openid e2eauth:data"))
    keep = app.tokens(login(env.server, app, http(), pid=PID2, scope="openid e2eauth:data"))
    assert listed() == {}
    # the client revokes its grant (RFC 7009): the access token is listed with its times
    before = time.time()
    assert app.revoke(tok["refresh_token"], "refresh_token").status_code == 200
    claims = _jti(tok["access_token"])
    got = listed()
    assert set(got) == {claims["jti"]}, got
    x = got[claims["jti"]]
    assert x["expires"] == claims["exp"] * 1000
    assert (int(before) - 1) * 1000 <= x["revoked"] <= (time.time() + 1) * 1000
    # the person revokes an authorization through the authorizations API: listed too
    tok2 = app.tokens(login(env.server, app, http(), pid=PID, scope="openid idporten:authorizations"))
    mine = {"Authorization": "Bearer " + tok2["access_token"]}
    auths = env.http.get(env.server.url("/authorizations/clients/authorizations"),
                         params={"require_user_consent": "false"}, headers=mine, timeout=TIMEOUT).json()
    aid = [a["authorization_id"] for a in auths if a["client_id"] == app.client_id][0]
    assert env.http.delete(env.server.url("/authorizations/authorizations/" + aid), headers=mine,
                           timeout=TIMEOUT).status_code == 200
    got = listed()
    assert set(got) == {claims["jti"], _jti(tok2["access_token"])["jti"]}, got
    # the grant in force is not listed; another client's list is its own
    assert _jti(keep["access_token"])["jti"] not in got
    other = api_client(env, env.a, ["openid", "profile"])
    assert listed(other.client_id) == {}
    # refusals: no client_id, twice, empty, unknown, another method; nothing revoked by asking
    for params in ({}, {"client_id": [app.client_id, app.client_id]}, {"client_id": ""}):
        error(env.http.get(url, params=params, timeout=TIMEOUT), 400, "invalid_request")
    error(env.http.get(url, params={"client_id": "no-such-client"}, timeout=TIMEOUT), 404, "not_found")
    r = env.http.post(url, params={"client_id": app.client_id}, timeout=TIMEOUT)
    assert r.status_code in (404, 405), r.text
    assert set(listed()) == set(got)
    assert app.refresh(keep["refresh_token"]).status_code == 200


def test_portenctl_authorizations(env):
    """§10's portenctl twins: the same authorizations and revocation list as the API's."""
    app = api_client(env, env.a, ["openid", "profile", "idporten:authorizations", "e2eauth:data"])
    tok = app.tokens(login(env.server, app, http(), pid=PID, scope="openid e2eauth:data idporten:authorizations"))
    mine = {"Authorization": "Bearer " + tok["access_token"]}
    api = env.http.get(env.server.url("/authorizations/clients/authorizations"),
                       params={"require_user_consent": "false"}, headers=mine, timeout=TIMEOUT).json()
    ctl = env.server.ctl("authorization", "list", PID, "--orgno", ORG_A, "--all")
    assert sorted(ctl, key=lambda x: x["authorization_id"]) == sorted(api, key=lambda x: x["authorization_id"])
    aid = [x["authorization_id"] for x in api if x["client_id"] == app.client_id][0]
    ids = lambda *a: [x["authorization_id"] for x in env.server.ctl("authorization", "list", PID, *a)]
    assert aid not in ids("--orgno", ORG_A)                  # no scope needs consent
    assert aid not in ids("--orgno", ORG_B, "--all")
    assert aid in ids("--orgno", ORG_P, "--provider", "--all")
    assert aid in ids("--all") and aid not in ids("--all", "--visibility", "PRIVATE")
    # refusals change nothing
    for bad in (("list", "12345678901", "--all"), ("list", PID, "--provider"), ("list", PID, "--orgno", "123"),
                ("list", PID, "--visibility", "SECRET"), ("revoke", "--orgno", ORG_B, "--", aid),
                ("revoke", "--pid", PID2, "--", aid), ("revoke", "--all", "--", aid), ("revoke", "no-such-grant"),
                ("revokelist", "no-such-client"), ("revokelist", app.client_id, "--orgno", ORG_A),
                ("list",), ("forget", PID)):
        assert env.server.ctl("authorization", *bad, check=False).returncode != 0, bad
    assert aid in ids("--all")
    assert env.server.ctl("authorization", "revokelist", app.client_id)["revoked_access_tokens"] == []
    # the operator revokes for the organisation: the tokens end, the list shows the access token
    # "--" ends the options: an ID may begin with "-" (base64url)
    env.server.ctl("authorization", "revoke", "--orgno", ORG_A, "--pid", PID, "--", aid)
    assert aid not in ids("--all")
    assert app.refresh(tok["refresh_token"]).status_code == 400
    listed = env.server.ctl("authorization", "revokelist", app.client_id)["revoked_access_tokens"]
    assert [x["access_token_id"] for x in listed] == [_jti(tok["access_token"])["jti"]]
    r = env.http.get(env.server.url("/revokelist"), params={"client_id": app.client_id}, timeout=TIMEOUT)
    assert r.json()["revoked_access_tokens"] == listed


# --------------------------------------------------------------------------
# the audit trail
# --------------------------------------------------------------------------

def test_audit_trail(env):
    c = create(env.a, login_client())
    cid = c["client_id"]
    got = env.a.call("GET", "/clients/" + cid).json()
    assert env.a.call("PUT", "/clients/" + cid, json=dict(got, client_name="audited")).status_code == 200
    error(env.a.call("PUT", "/clients/" + cid, json=dict(got, colour=1)), 400)
    env.server.ctl("client", "delete", cid)
    trail = env.server.ctl("audit", "id", cid)
    assert [(t["action"], t["actor"]) for t in trail] == [
        ("deactivate", "operator"), ("update", ORG_A), ("create", ORG_A)]
    upd = trail[1]
    assert upd["kind"] == "client" and upd["orgno"] == ORG_A
    assert upd["before"]["client_name"] == c["client_name"] and upd["after"]["client_name"] == "audited"
    assert "client_secret_sha256" not in json.dumps(trail)
    assert trail[2]["before"] is None
    assert cid in [t["id"] for t in env.server.ctl("audit", "org", ORG_A, "1000")]
    assert "prefix" in [t["kind"] for t in env.server.ctl("audit", "actor", "operator", "1000")]
    assert env.server.ctl("audit", "bogus", "x", check=False).returncode != 0
    assert env.server.ctl("audit", "id", cid, "0", check=False).returncode != 0


def test_portenctl_global_options_anywhere(env):
    """portenctl client create --json ... as people type it."""
    import subprocess
    from conftest import PORTENCTL
    args = [PORTENCTL, "client", "create", "--json", "--client-name", "typed", "--description", "d",
            "--redirect-uri", "https://t.example.no/cb", "--post-logout-redirect-uri", "https://t.example.no/"]
    p = subprocess.run(args, env=env.server.env, capture_output=True, timeout=30, cwd=env.server.workdir)
    assert p.returncode == 0, p.stderr
    info = json.loads(p.stdout)
    remember_secret(info.get("client_secret"))
    p = subprocess.run([PORTENCTL, "client", "show", info["client_id"], "--json"], env=env.server.env,
                       capture_output=True, timeout=30, cwd=env.server.workdir)
    assert p.returncode == 0 and json.loads(p.stdout)["client_name"] == "typed"
    p = subprocess.run([PORTENCTL, "client", "list", "-c"], env=env.server.env, capture_output=True, timeout=30,
                       cwd=env.server.workdir)
    assert p.returncode == 1 and b"needs a file" in p.stderr



# --------------------------------------------------------------------------
# the OpenAPI document: valid, and true to every answer seen above
# --------------------------------------------------------------------------

OPENAPI_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "openapi")


def _template(doc, path):
    """The document's path template that path falls under, or None."""
    import re
    path = path.replace("/onbehalof", "/onbehalfof")   # the documented alias
    for t in doc["paths"]:
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", t), path):
            return t
    return None


def test_zz_openapi(env, tmp_path):
    import subprocess
    r = env.http.get(env.server.url(BASE + "/openapi.json"), timeout=TIMEOUT)
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    f = tmp_path / "openapi.json"
    f.write_text(r.text)
    if not os.path.isdir(os.path.join(OPENAPI_DIR, "node_modules")):
        p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=OPENAPI_DIR, capture_output=True,
                           timeout=600)
        assert p.returncode == 0, p.stderr.decode(errors="replace")
    p = subprocess.run(["node", "validate.mjs", str(f)], cwd=OPENAPI_DIR, capture_output=True, timeout=120)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()

    ops = {(t, m.upper()): op for t, item in doc["paths"].items() for m, op in item.items() if m != "parameters"}
    answered = set()
    assert len(SEEN) > 100, len(SEEN)
    for x in SEEN:
        method, status = x["method"], x["status"]
        t = _template(doc, x["path"])
        x["template"] = t
        op = ops.get((t, "GET" if method == "HEAD" else method))
        if op is None:
            # only an unknown resource or method may be missing from the document
            assert status in (404, 405), (method, x["path"], status)
            continue
        assert str(status) in op["responses"], f"{method} {t}: {status} is not documented"
        if 200 <= status < 300:
            answered.add((t, method))
    missing = set(ops) - answered
    assert not missing, f"documented but never answered: {sorted(missing)}"
    # every request the API accepted is one the document allows, every answer is as documented
    f = tmp_path / "exchanges.json"
    f.write_text(json.dumps(SEEN))
    p = subprocess.run(["node", "exchanges.mjs", str(tmp_path / "openapi.json"), str(f)], cwd=OPENAPI_DIR,
                       capture_output=True, timeout=120)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()[:20000]
    stats = json.loads(p.stdout)
    assert stats["requests_checked"] > 50 and stats["answers_checked"] > 100, stats
    # and the schemas bite: many of the hostile requests above break them too
    assert stats["refused_and_invalid"] > 10, stats


def test_backchannel_logout_uri(env):
    """spec/selfservice-api.md §4: backchannel_logout_uri (W) and its session flag (S)."""
    c = create(env.a, login_client(backchannel_logout_uri="https://logout.example.no/bcl",
                                   backchannel_logout_session_required=False))
    assert c["backchannel_logout_uri"] == "https://logout.example.no/bcl"
    assert c["backchannel_logout_session_required"] is True, "set by the server whenever the URI is"
    got = env.a_read.call("GET", "/clients/" + c["client_id"]).json()
    assert got["backchannel_logout_session_required"] is True
    ids = {x["client_id"] for x in env.a_read.call("GET", "/clients").json()}
    for uri in ("http://logout.example.no/bcl", "https://logout.example.org/bcl",
                "https://127.0.0.1/bcl", "https://localhost/bcl", "https://10.1.2.3/bcl",
                "https://logout.example.no/bcl#x", "logout.example.no/bcl", 7):
        body = error(env.a.call("POST", "/clients", json=login_client(backchannel_logout_uri=uri)),
                     400, "invalid_client_metadata")
        assert "backchannel_logout_uri" in body.get("error_description", ""), body
    # an update that breaks the rule changes nothing
    upd = dict(got, backchannel_logout_uri="https://evil.example.com/bcl")
    error(env.a.call("PUT", "/clients/" + c["client_id"], json=upd), 400, "invalid_client_metadata")
    assert env.a_read.call("GET", "/clients/" + c["client_id"]).json()["backchannel_logout_uri"] == \
        "https://logout.example.no/bcl"
    assert {x["client_id"] for x in env.a_read.call("GET", "/clients").json()} == ids


def test_dpop_bound_token(env):
    """idporten-oidc.md §19: a DPoP-bound Maskinporten token works at the API only as
    Authorization: DPoP with a proof for the request (htm, htu, ath) by the bound key."""
    from dpopkit import ath, ec, proof
    key = ec()
    a = env.a_read
    now = int(time.time())
    t = jjwt.JWT(header={"alg": "RS256", "x5c": a.cert.x5c},
                 claims={"aud": env.mp_issuer, "iss": a.client_id, "scope": READ, "iat": now,
                         "exp": now + 60, "jti": str(uuid.uuid4())})
    t.make_signed_token(a.cert.key)
    turl = env.server.url("/maskinporten/token")
    r = env.http.post(turl, data={"grant_type": GRANT, "assertion": t.serialize()},
                      headers={"DPoP": proof(key, turl)}, timeout=TIMEOUT)
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    tok = r.json()["access_token"]
    url = env.server.url(BASE + "/clients")
    r = a.call("GET", "/clients", token=tok)
    error(r, 401, "invalid_token")
    assert r.headers["WWW-Authenticate"].startswith("DPoP "), r.headers
    h = {"Authorization": "DPoP " + tok}
    r = a.call("GET", "/clients", headers=dict(h, DPoP=proof(key, url, htm="GET")))
    error(r, 401, "invalid_dpop_proof")
    r = a.call("GET", "/clients", headers=dict(h, DPoP=proof(ec(), url, htm="GET", ath=ath(tok))))
    error(r, 401, "invalid_dpop_proof")
    r = a.call("GET", "/clients", headers=dict(h, DPoP=proof(key, url, htm="GET", ath=ath(tok))))
    assert r.status_code == 200 and isinstance(r.json(), list), r.text
