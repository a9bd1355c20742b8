"""
A test EU wallet for the end-to-end tests (spec/eudi-wallet.md): its own
PID issuers and CAs, real SD-JWT VCs (RFC 9901) and key-binding JWTs made
with jwcrypto, the request object checked against the verifier's
certificate, and the response encrypted with ECDH-ES as OpenID4VP
direct_post.jwt wants.  Each `bad` knob breaks one thing on purpose.
"""

import base64
import datetime
import hashlib
import json
import os
import secrets
import time
import zlib
from urllib.parse import parse_qs, urlsplit

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto import jwe, jwk, jws


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


# --------------------------------------------------------------------------
# certificates
# --------------------------------------------------------------------------

class CA:
    """A P-256 CA that issues P-256 leaves (and itself, self-signed)."""

    def __init__(self, name):
        self.key = ec.generate_private_key(ec.SECP256R1())
        subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        self.cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=365))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                  False, False), critical=True)
                     .add_extension(ski, critical=False)
                     .sign(self.key, hashes.SHA256()))

    def leaf(self, name, days=30):
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                             False, False), critical=True)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.key.public_key()), critical=False)
                .sign(self.key, hashes.SHA256()))
        return key, cert

    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)


def der_b64(cert):
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def jwk_of(key):
    return jwk.JWK.from_pem(key_pem(key))


class Pki:
    """The verifier's certificate, the Norwegian, German and Swedish PID issuers, and an
    untrusted one.  The foreign anchors are labelled with their country (spec §10); the
    Norwegian ones are left unlabelled, as they may be."""

    def __init__(self, workdir):
        self.verifier_ca = CA("Test relying-party CA")
        self.verifier_key, self.verifier_cert = self.verifier_ca.leaf("Porten verifier")
        self.pid_ca = CA("Test PID provider CA NO")
        self.issuer_key, self.issuer_cert = self.pid_ca.leaf("Test PID issuer NO")
        self.foreign_ca = CA("Test PID provider CA DE")
        self.foreign_key, self.foreign_cert = self.foreign_ca.leaf("Test PID issuer DE")
        self.se_ca = CA("Test PID provider CA SE")
        self.se_key, self.se_cert = self.se_ca.leaf("Test PID issuer SE")
        self.rogue_ca = CA("Rogue PID CA")
        self.rogue_key, self.rogue_cert = self.rogue_ca.leaf("Rogue PID issuer")
        d = workdir
        self.files = {}
        for name, data in [("verifier.key", key_pem(self.verifier_key)),
                           ("verifier.pem", self.verifier_cert.public_bytes(serialization.Encoding.PEM)),
                           ("anchors-no.pem", self.pid_ca.pem()),
                           ("anchors.pem", self.foreign_ca.pem()),
                           ("anchors-se.pem", self.se_ca.pem())]:
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(data)
            os.chmod(p, 0o600)
            self.files[name] = p

    def env(self):
        return {"PORTEN_WALLET_KEY_FILE": self.files["verifier.key"],
                "PORTEN_WALLET_CERT_FILE": self.files["verifier.pem"],
                "PORTEN_WALLET_ANCHORS_NO": self.files["anchors-no.pem"],
                "PORTEN_WALLET_ANCHORS": "DE:{}, SE:{}".format(self.files["anchors.pem"],
                                                               self.files["anchors-se.pem"])}

    def client_id(self):
        der = self.verifier_cert.public_bytes(serialization.Encoding.DER)
        return "x509_hash:" + b64u(hashlib.sha256(der).digest())


# --------------------------------------------------------------------------
# SD-JWT VC
# --------------------------------------------------------------------------

def disclosure(*parts):
    return b64u(json.dumps([b64u(secrets.token_bytes(16)), *parts]).encode())


def digest(d):
    return b64u(hashlib.sha256(d.encode("ascii")).digest())


def sign_jwt(key, header, payload):
    t = jws.JWS(json.dumps(payload).encode())
    t.add_signature(key, None, protected=json.dumps(header))
    return t.serialize(compact=True)


PERSON = {"given_name": "Kari", "family_name": "Nordmann", "birthdate": "1994-07-21",
          "issuing_country": "NO", "nationalities": ["NO"],
          "personal_administrative_number": "21879498012"}


def pid_credential(pki, holder, bad=(), person=PERSON, status=None):
    """Issuer JWT and disclosures of a PID: (jwt, [disclosures])."""
    discs, sd = [], []
    if any(b.startswith("foreign") for b in bad):
        person = dict(person, issuing_country="DE", nationalities=["DE"],
                      personal_administrative_number="T22000129")
    if "sweden" in bad or any(b.endswith("claims_se") for b in bad):
        person = dict(person, issuing_country="SE", nationalities=["SE"],
                      personal_administrative_number="199001011234")
    if "foreign_claims_no" in bad:
        person = dict(person, issuing_country="NO")
    if "foreign_jurisdiction_se" in bad:
        person = dict(person, issuing_jurisdiction="SE-AB")
    # the issuer's country names its national PID type; issuing_authority a name or a code
    cc = "de" if any(b.startswith("foreign") for b in bad) else "se" if "sweden" in bad else "no"
    if "authority_own" in bad:
        person = dict(person, issuing_authority=cc.upper())
    if any(b.endswith("authority_se") for b in bad):
        person = dict(person, issuing_authority="SE")
    if any(b.endswith("authority_name") for b in bad):
        person = dict(person, issuing_authority="Bundesdruckerei")
    if "foreign_no_number" in bad:
        person = {k: v for k, v in person.items() if k != "personal_administrative_number"}
    if "two_nationalities" in bad:
        person = dict(person, nationalities=["DE", "FR"])
    if "no_nationalities" in bad:
        person = {k: v for k, v in person.items() if k != "nationalities"}
    if any(b.endswith("bad_nationalities") for b in bad):
        person = dict(person, nationalities=["Germany"])
    if "no_number" in bad:
        person = {k: v for k, v in person.items() if k != "personal_administrative_number"}
    if "bad_number" in bad:
        person = dict(person, personal_administrative_number="21879498013")
    for name, value in person.items():
        if name == "nationalities":
            els = [disclosure(v) for v in value]
            discs.extend(els)
            value = [{"...": digest(el)} for el in els]
        d = disclosure(name, value)
        discs.append(d)
        sd.append(digest(d))
    sd.append(b64u(secrets.token_bytes(32)))  # a decoy
    now = int(time.time())
    payload = {"iss": "https://pid.example.no", "vct": f"urn:eudi:pid:{cc}:1", "iat": now - 10,
               "exp": now + (-3600 if "expired" in bad else 86400), "_sd_alg": "sha-256",
               "_sd": sorted(sd), "cnf": {"jwk": json.loads(holder.export_public())}}
    if status is not None:
        payload["status"] = {"status_list": status}
    if "vct" in bad:
        payload["vct"] = "urn:eudi:other:1"
    for b in bad:
        if b.endswith("vct_base"):
            payload["vct"] = "urn:eudi:pid:1"
        elif "vct_" in b:
            payload["vct"] = f"urn:eudi:pid:{b[-2:]}:1"
    key, cert, chain = pki.issuer_key, pki.issuer_cert, []
    if "untrusted" in bad:
        key, cert = pki.rogue_key, pki.rogue_cert
    if any(b.startswith("foreign") for b in bad):
        key, cert = pki.foreign_key, pki.foreign_cert
    if "sweden" in bad:
        key, cert = pki.se_key, pki.se_cert
    if "anchor_in_x5c" in bad:
        chain = [der_b64(pki.pid_ca.cert)]
    header = {"alg": "ES256", "typ": "dc+sd-jwt", "x5c": [der_b64(cert)] + chain}
    token = sign_jwt(jwk_of(key), header, payload)
    if "issuer_sig" in bad:
        h, p, s = token.split(".")
        token = f"{h}.{p}.{s[:-4]}AAAA"
    return token, discs


def presentation(pki, holder, client_id, nonce, bad=(), status=None):
    token, discs = pid_credential(pki, holder, bad, status=status)
    if "tampered_disclosure" in bad:
        salt, name, value = json.loads(b64u_decode(discs[0]))
        discs[0] = b64u(json.dumps([salt, name, "Mallory"]).encode())
    if "extra_disclosure" in bad:
        discs.append(disclosure("given_name", "Eve"))
    if "missing_claims" in bad:
        discs = [d for d in discs if json.loads(b64u_decode(d))[1:2] != ["birthdate"]]
    sd = token + "~" + "".join(d + "~" for d in discs)
    now = int(time.time())
    kb = {"iat": now - (600 if "iat_past" in bad else 0) + (600 if "iat_future" in bad else 0),
          "aud": "x509_hash:somebody-else" if "wrong_aud" in bad else client_id,
          "nonce": "not-the-nonce" if "wrong_nonce" in bad else nonce,
          "sd_hash": digest(sd + ("x" if "wrong_sd_hash" in bad else ""))}
    signer = jwk.JWK.generate(kty="EC", crv="P-256") if "kb_sig" in bad else holder
    kbjwt = sign_jwt(signer, {"alg": "ES256", "typ": "kb+jwt"}, kb)
    if "alg_none" in bad:
        kbjwt = (b64u(json.dumps({"alg": "none", "typ": "kb+jwt"}).encode()) + "." +
                 b64u(json.dumps(kb).encode()) + ".")
    if "no_kb" in bad:
        return sd
    return sd + kbjwt


# --------------------------------------------------------------------------
# the wallet
# --------------------------------------------------------------------------

class Wallet:
    def __init__(self, pki):
        self.pki = pki
        self.holder = jwk.JWK.generate(kty="EC", crv="P-256")
        self.http = requests.Session()

    def fetch_request(self, link, wallet_nonce=None):
        """Follow an openid4vp:// link: fetch and check the signed request object."""
        q = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
        assert q["request_uri_method"] == "post" and q["client_id"] == self.pki.client_id(), q
        data = {"wallet_nonce": wallet_nonce} if wallet_nonce else {}
        r = self.http.post(q["request_uri"], data=data, timeout=10,
                           headers={"Accept": "application/oauth-authz-req+jwt"})
        assert r.status_code == 200, (r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/oauth-authz-req+jwt")
        return self.check_request(r.text, q["client_id"], wallet_nonce)

    def check_request(self, token, client_id, wallet_nonce, origin=None):
        """The signed request: for the DC API (origin set) dc_api.jwt with expected_origins."""
        header = json.loads(b64u_decode(token.split(".")[0]))
        assert header["typ"] == "oauth-authz-req+jwt" and header["alg"] == "ES256", header
        leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
        # the chain: the leaf is signed by the relying-party CA, which is not sent
        self.pki.verifier_ca.key.public_key().verify(
            leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm))
        assert len(header["x5c"]) == 1
        der = leaf.public_bytes(serialization.Encoding.DER)
        assert client_id == "x509_hash:" + b64u(hashlib.sha256(der).digest())
        v = jws.JWS()
        v.deserialize(token)
        v.verify(jwk.JWK.from_pem(leaf.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)))
        req = json.loads(v.payload)
        assert req["client_id"] == client_id and req["response_type"] == "vp_token"
        assert req["aud"] == "https://self-issued.me/v2", req
        if origin is None:
            assert req["response_mode"] == "direct_post.jwt" and "expected_origins" not in req
        else:  # spec §4.3 step 2
            assert req["response_mode"] == "dc_api.jwt" and req["expected_origins"] == [origin]
            assert "response_uri" not in req and "state" not in req, req
        assert req["exp"] - req["iat"] == 120
        assert req["dcql_query"]["credentials"][0]["format"] == "dc+sd-jwt"
        assert req.get("wallet_nonce") == wallet_nonce
        return req

    def answer(self, req, bad=(), enc="A128GCM", payload=None, status=None):
        """Build and post the encrypted response; returns the HTTP response."""
        if payload is None:
            pres = presentation(self.pki, self.holder, req["client_id"], req["nonce"], bad,
                                status)
            if "oversized" in bad:
                pres += "~" + "A" * 40000
            payload = {"vp_token": {"pid": [pres]}, "state": req["state"]}
            if "wrong_state" in bad:
                payload["state"] = b64u(secrets.token_bytes(32))
        if "unencrypted" in bad:
            return self.http.post(req["response_uri"],
                                  data={"vp_token": json.dumps(payload["vp_token"]),
                                        "state": payload["state"]}, timeout=10)
        key = jwk.JWK(**req["client_metadata"]["jwks"]["keys"][0])
        e = jwe.JWE(json.dumps(payload).encode(),
                    protected=json.dumps({"alg": "ECDH-ES", "enc": enc, "kid": key["kid"]}))
        e.add_recipient(key)
        return self.http.post(req["response_uri"], data={"response": e.serialize(compact=True)},
                              timeout=10)


def dc_request(pki, token, origin):
    """What a wallet checks of a DC API request: the verified request object."""
    return Wallet(pki).check_request(token, pki.client_id(), None, origin)


def dc_answer(pki, holder, req, origin, bad=(), enc="A128GCM"):
    """
    The wallet's answer over the Digital Credentials API (OpenID4VP appendix
    A, dc_api.jwt): the data object the browser hands the page.  The KB-JWT's
    aud is origin:<origin>, the origin the browser reports.
    """
    if "error" in bad:
        return {"error": "access_denied"}
    aud = "origin:" + ("https://evil.example" if "wrong_origin" in bad else origin)
    if "client_id_aud" in bad:
        aud = req["client_id"]
    pres = presentation(pki, holder, aud, req["nonce"],
                        tuple(b for b in bad if b not in ("wrong_origin", "client_id_aud")))
    payload = {"vp_token": {"pid": [pres]}}
    if "unencrypted" in bad:  # the response as an unsecured JWT instead of a JWE
        return {"response": b64u(json.dumps({"alg": "none"}).encode()) + "." +
                b64u(json.dumps(payload).encode()) + "."}
    key = jwk.JWK(**req["client_metadata"]["jwks"]["keys"][0])
    e = jwe.JWE(json.dumps(payload).encode(),
                protected=json.dumps({"alg": "ECDH-ES", "enc": enc, "kid": key["kid"]}))
    e.add_recipient(key)
    return {"response": e.serialize(compact=True)}


def status_list_token(pki, uri, entries, bits=1, key=None, exp_in=600):
    """A Token Status List (JWT) for uri: entries {index: status}, the rest 0 (VALID)."""
    size = max(entries, default=0) + 64
    raw = bytearray((size * bits + 7) // 8)
    for i, v in entries.items():
        raw[i * bits // 8] |= v << (i * bits % 8)
    now = int(time.time())
    payload = {"sub": uri, "iat": now, "exp": now + exp_in, "ttl": 60,
               "status_list": {"bits": bits, "lst": b64u(zlib.compress(bytes(raw)))}}
    k, cert = (pki.issuer_key, pki.issuer_cert) if key is None else key
    return sign_jwt(jwk_of(k), {"alg": "ES256", "typ": "statuslist+jwt", "x5c": [der_b64(cert)]},
                    payload)
