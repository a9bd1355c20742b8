"""DPoP proofs (RFC 9449 §4) made with python3-jwcrypto, for the e2e and cluster tests."""

import base64
import hashlib
import json
import time
import uuid

from jwcrypto import jwk, jws


def proof(key, url, htm="POST", alg="ES256", typ="dpop+jwt", iat=None, drop=(), extra_hdr=None,
          jwk_pub=None, **claims):
    hdr = {"alg": alg, "jwk": jwk_pub if jwk_pub is not None else key.export_public(as_dict=True)}
    if typ is not None:
        hdr["typ"] = typ
    hdr.update(extra_hdr or {})
    body = {"jti": str(uuid.uuid4()), "htm": htm, "htu": url,
            "iat": int(time.time()) if iat is None else iat}
    body.update(claims)
    for k in drop:
        body.pop(k, None)
    s = jws.JWS(json.dumps(body))
    s.add_signature(key, alg=alg, protected=json.dumps(hdr))
    return s.serialize(compact=True)


def ec():
    return jwk.JWK.generate(kty="EC", crv="P-256")


def ath(token):
    """RFC 9449 §4.2: BASE64URL(SHA-256(ASCII(access token)))."""
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()
