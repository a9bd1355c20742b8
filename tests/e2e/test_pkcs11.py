"""
Signing keys in a PKCS#11 token (docs/operations.md "Keys in an HSM"):
portend started with PORTEN_SIGNING_KEY_PKCS11_URI and its Maskinporten
counterpart, each naming an RSA key made on a SoftHSM2 token with
pkcs11-tool as the operator would.  A login's ID and access tokens and a
Maskinporten token verify against the issuers' JWKS with python3-jwcrypto,
and the published key is the token's own public key.  --check-config
reports a wrong PIN and a wrong URI; start-up stops on a missing module or
token; a token that goes away while serving gives 503 until it returns,
then signing resumes without a restart.  Skipped only when SoftHSM2 or
pkcs11-tool (Debian softhsm2, opensc) is not installed.
"""

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest
from jwcrypto import jwk
from jwcrypto import jwt as jjwt

from conftest import (ORGNO, PORTEND, Ansattporten, Server, ServerStartError, TIMEOUT,
                      check_access_token, check_id_token, create_client, http, jwt_parts, login)
from samlkit import store_sql

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def uri(label):
    return f"pkcs11:token=porten-e2e;object={label};type=private?module-path={MODULE}"


class Token:
    """A SoftHSM2 token in its own directory with an RSA key per issuer."""

    def __init__(self, d):
        self.d = str(d)
        os.makedirs(os.path.join(self.d, "tokens"))
        self.conf = os.path.join(self.d, "softhsm2.conf")
        with open(self.conf, "w") as f:
            f.write(f"directories.tokendir = {self.d}/tokens\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
        self.env = dict(os.environ, SOFTHSM2_CONF=self.conf)
        self.pin = self.secret("pin", "4711")
        self.run("softhsm2-util", "--init-token", "--free", "--label", "porten-e2e",
                 "--pin", "4711", "--so-pin", "8642")
        for i, label in ((1, "idporten"), (2, "maskinporten"), (3, "ansattporten")):
            self.tool("--login", "--pin", "4711", "--keypairgen", "--key-type", "rsa:2048",
                      "--id", f"{i:02x}", "--label", label, "--usage-sign")

    def secret(self, name, text):
        path = os.path.join(self.d, name)
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o600)
        return path

    def run(self, *args):
        p = subprocess.run(args, env=self.env, capture_output=True, timeout=60)
        assert p.returncode == 0, f"{' '.join(args)}: {p.stderr.decode(errors='replace')}"
        return p.stdout

    def tool(self, *args):
        return self.run("pkcs11-tool", "--module", MODULE, "--token-label", "porten-e2e", *args)

    def public_jwk(self, label):
        """The key's public half as the token holds it (not as portend publishes it)."""
        der = os.path.join(self.d, f"{label}.der")
        self.tool("--read-object", "--type", "pubkey", "--label", label, "-o", der)
        pem = self.run("openssl", "pkey", "-pubin", "-inform", "DER", "-in", der)
        return jwk.JWK.from_pem(pem)

    def server_env(self, pin=None, idp_uri=None):
        return {
            "SOFTHSM2_CONF": self.conf,
            "PORTEN_SIGNING_KEY_PKCS11_URI": idp_uri or uri("idporten"),
            "PORTEN_SIGNING_KEY_PIN_FILE": pin or self.pin,
            "PORTEN_MASKINPORTEN_SIGNING_KEY_PKCS11_URI": uri("maskinporten"),
            "PORTEN_MASKINPORTEN_SIGNING_KEY_PIN_FILE": pin or self.pin,
            "PORTEN_ANSATTPORTEN_SIGNING_KEY_PKCS11_URI": uri("ansattporten"),
            "PORTEN_ANSATTPORTEN_SIGNING_KEY_PIN_FILE": pin or self.pin,
        }


@pytest.fixture(scope="module")
def hsm(tmp_path_factory):
    missing = [t for t in ("softhsm2-util", "pkcs11-tool") if shutil.which(t) is None]
    if missing or not os.access(MODULE, os.R_OK):
        pytest.skip(f"SoftHSM2 not installed ({', '.join(missing) or MODULE}): "
                    "apt-get install softhsm2 opensc")
    return Token(tmp_path_factory.mktemp("hsm"))


@pytest.fixture(scope="module")
def server_env(hsm):
    """This module's portend signs with the token's keys."""
    return hsm.server_env()


def mp_jwks(server):
    r = http().get(server.issuer + "/maskinporten/jwk", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()


def test_jwks_publishes_the_token_key(server, hsm):
    for keys, label in ((server.jwks(refresh=True), "idporten"), (mp_jwks(server), "maskinporten")):
        first = keys["keys"][0]
        assert set(first) == {"kty", "kid", "use", "alg", "n", "e"}, first
        pub = hsm.public_jwk(label)
        assert first["n"] == pub["n"] and first["e"] == pub["e"], f"{label}: not the token's key"
        # the kid is the RFC 7638 thumbprint, the same on every node
        assert first["kid"] == pub.thumbprint()


def test_login_tokens_verify(server, hsm, new_client, new_browser):
    c = new_client()
    res = login(server, c, new_browser())
    tok = c.tokens(res)
    idc = check_id_token(server, c, tok["id_token"], res)
    check_access_token(server, c, tok["access_token"], idc)
    kid = hsm.public_jwk("idporten").thumbprint()
    for t in (tok["id_token"], tok["access_token"]):
        header, _ = jwt_parts(t)
        assert header["kid"] == kid, "not signed by the key in the token"
        # and it verifies with the token's public key alone
        jjwt.JWT(jwt=t, key=hsm.public_jwk("idporten"), algs=["RS256"], check_claims=False)


def test_ansattporten_signs_with_its_own_key(server, hsm, listener, tmp_path, new_browser):
    ap = Ansattporten(server)
    first = ap.jwks(refresh=True)["keys"][0]
    pub = hsm.public_jwk("ansattporten")
    assert first["n"] == pub["n"] and first["kid"] == pub.thumbprint()
    assert first["kid"] != hsm.public_jwk("idporten").thumbprint()
    c = create_client(ap, listener, tmp_path, integration_type="ansattporten", scopes=["openid"])
    tok = c.tokens(login(ap, c, new_browser()))
    for t in (tok["id_token"], tok["access_token"]):
        assert jwt_parts(t)[0]["kid"] == pub.thumbprint(), "not signed by Ansattporten's key"
        jjwt.JWT(jwt=t, key=pub, algs=["RS256"], check_claims=False)


class MpClient:
    """A Maskinporten client with a registered key and a scope of its own."""

    def __init__(self, server, tmp_path):
        self.scope = f"e2e:hsm{uuid.uuid4().hex[:6]}"
        server.ctl("scope", "create", "--name", self.scope, "--description", "hsm",
                   "--allowed-integration-type", "maskinporten", "--owner-orgno", ORGNO)
        self.key = jwk.JWK.generate(kty="RSA", size=2048)
        pub = json.loads(self.key.export_public())
        pub.update({"kid": "hsm-client", "use": "sig", "alg": "RS256"})
        path = os.path.join(str(tmp_path), "jwks.json")
        with open(path, "w") as f:
            json.dump({"keys": [pub]}, f)
        info = server.ctl("client", "create", "--client-name", "hsm", "--description", "machine",
                          "--integration-type", "maskinporten", "--token-endpoint-auth-method",
                          "private_key_jwt", "--grant-type", GRANT, "--client-orgno", ORGNO,
                          "--scope", self.scope, "--jwks-file", path)
        self.client_id = info["client_id"]
        self.issuer = server.issuer + "/maskinporten/"

    def grant(self):
        now = int(time.time())
        grant = jjwt.JWT(header={"alg": "RS256", "kid": "hsm-client"},
                         claims={"aud": self.issuer, "iss": self.client_id, "scope": self.scope,
                                 "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())})
        grant.make_signed_token(self.key)
        return grant.serialize()

    def token(self, grant):
        return http().post(self.issuer.rstrip("/") + "/token",
                           data={"grant_type": GRANT, "assertion": grant}, timeout=TIMEOUT)


def test_maskinporten_token_verifies(server, hsm, tmp_path):
    c = MpClient(server, tmp_path)
    r = c.token(c.grant())
    assert r.status_code == 200, r.text
    at = r.json()["access_token"]
    t = jjwt.JWT(jwt=at, key=jwk.JWKSet.from_json(json.dumps(mp_jwks(server))), algs=["RS256"],
                 check_claims=False)
    assert json.loads(t.claims)["scope"] == c.scope
    assert jwt_parts(at)[0]["kid"] == hsm.public_jwk("maskinporten").thumbprint()


def test_rotation_is_the_tokens_business(server):
    p = server.ctl("keys", "rotate", check=False)
    assert p.returncode != 0
    assert b"PKCS#11" in p.stderr + p.stdout


def check_config(server, env):
    e = dict(server.env)
    e.update(env)
    return subprocess.run([PORTEND, "--check-config"], env=e, capture_output=True, timeout=60)


def test_check_config(server, hsm):
    p = check_config(server, {})
    assert p.returncode == 0, p.stderr
    p = check_config(server, {"PORTEN_SIGNING_KEY_PIN_FILE": hsm.secret("wrong-pin", "0000")})
    assert p.returncode == 2 and b"refused the PIN" in p.stderr, p.stderr
    p = check_config(server, {"PORTEN_SIGNING_KEY_PKCS11_URI": uri("nokey")})
    assert p.returncode == 2 and b"signing_key_pkcs11_uri" in p.stderr, p.stderr
    p = check_config(server, {"PORTEN_MASKINPORTEN_SIGNING_KEY_PKCS11_URI": "pkcs11:object=x"})
    assert p.returncode == 2 and b"module-path" in p.stderr, p.stderr
    p = check_config(server, {"PORTEN_ANSATTPORTEN_SIGNING_KEY_PKCS11_URI": uri("nokey")})
    assert p.returncode == 2 and b"ansattporten_signing_key_pkcs11_uri" in p.stderr, p.stderr


def test_wrong_pin_stops_startup(hsm, tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("porten"),
               hsm.server_env(pin=hsm.secret("wrong-pin2", "1111")))
    with pytest.raises(ServerStartError) as e:
        s.start()
    assert "refused the PIN" in str(e.value)


def test_startup_refuses_a_missing_module_or_token(hsm, tmp_path_factory):
    """A module that is not there, or no token of the URI's label: a clear error, no start."""
    for idp_uri, why in (
            ("pkcs11:token=porten-e2e;object=idporten;type=private"
             "?module-path=/usr/lib/no-such-pkcs11.so", "cannot load the PKCS#11 module"),
            ("pkcs11:token=no-such-token;object=idporten;type=private"
             f"?module-path={MODULE}", "no token matches")):
        s = Server(tmp_path_factory.mktemp("porten"), hsm.server_env(idp_uri=idp_uri))
        with pytest.raises(ServerStartError) as e:
            s.start()
        assert why in str(e.value), str(e.value)


def await_signer(server):
    """After the token's files are back: wait until portend signs again."""
    time.sleep(1.2)
    deadline = time.monotonic() + 10
    while http().get(server.issuer + "/health/ready", timeout=TIMEOUT).status_code != 200:
        assert time.monotonic() < deadline, "the signer did not come back"
        time.sleep(0.3)


def test_token_away_then_back(server, hsm, new_client, new_browser):
    """
    The token goes away while serving (its files moved, as a network HSM
    drops off): token requests and readiness answer 503, while the front
    channel goes on, so a login that reaches its code meanwhile is redeemed
    once the token is back; signing resumes with the same key within the
    retry second, without a restart.
    """
    c = new_client()
    kid = hsm.public_jwk("idporten").thumbprint()
    tokens = os.path.join(hsm.d, "tokens")
    assert c.redeem(login(server, c, new_browser())).status_code == 200
    os.rename(tokens, tokens + ".away")
    try:
        r = c.redeem(login(server, c, new_browser()))
        assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable", r.text
        ready = http().get(server.issuer + "/health/ready", timeout=TIMEOUT)
        assert ready.status_code == 503, ready.text
        waiting = login(server, c, new_browser())
    finally:
        os.rename(tokens + ".away", tokens)
    await_signer(server)
    r = c.redeem(waiting)
    assert r.status_code == 200, r.text
    for t in (r.json()["access_token"], r.json()["id_token"]):
        assert jwt_parts(t)[0]["kid"] == kid
        jjwt.JWT(jwt=t, key=hsm.public_jwk("idporten"), algs=["RS256"], check_claims=False)
    assert "is back" in open(server.log_path).read()


def test_maskinporten_token_away_keeps_the_grant(server, hsm, tmp_path):
    """
    A Maskinporten token that cannot be signed because the token is away:
    503 temporarily_unavailable, the grant is not spent and no token is
    counted, so the same grant gets its token once the token is back.
    """
    c = MpClient(server, tmp_path)
    tokens = os.path.join(hsm.d, "tokens")
    grant = c.grant()
    counted = ("SELECT count(*) FROM events WHERE type = 'maskinporten_token'"
               f" AND doc LIKE '%{c.client_id}%'")
    os.rename(tokens, tokens + ".away")
    try:
        r = c.token(grant)
        assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable", r.text
    finally:
        os.rename(tokens + ".away", tokens)
    assert int(store_sql(server, counted)[0][0]) == 0, "a token never issued was counted"
    await_signer(server)
    r = c.token(grant)
    assert r.status_code == 200, r.text
    assert int(store_sql(server, counted)[0][0]) == 1
    # and once issued, the grant is spent
    r = c.token(grant)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
