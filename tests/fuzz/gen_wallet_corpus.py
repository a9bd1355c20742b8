"""
Make the corpus of fuzz_wallet.c: a PID presentation and an encrypted
response that verify, with the anchor, the response key and the time they
were made at, written into tests/fuzz/wallet_fixture.h.
usage: /usr/bin/python3 tests/fuzz/gen_wallet_corpus.py   (from the repository)
"""

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from jwcrypto import jwe, jwk  # noqa: E402
from walletkit import Pki, presentation  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus", "wallet")
AUD = "x509_hash:fuzz-verifier"
NONCE = "fuzz-nonce-0123456789"


def c_string(text):
    return "\n".join('\t"' + line.replace("\\", "\\\\").replace('"', '\\"') + '\\n"'
                     for line in text.strip().split("\n"))


def main():
    pki = Pki(tempfile.mkdtemp())
    holder = jwk.JWK.generate(kty="EC", crv="P-256")
    enc_key = jwk.JWK.generate(kty="EC", crv="P-256", kid="fuzz-tx")
    now = int(time.time())
    pres = presentation(pki, holder, AUD, NONCE)
    payload = json.dumps({"vp_token": {"pid": [pres]}, "state": "fuzz-tx"})
    e = jwe.JWE(payload.encode(), protected=json.dumps(
        {"alg": "ECDH-ES", "enc": "A128GCM", "kid": "fuzz-tx"}))
    e.add_recipient(enc_key)
    os.makedirs(CORPUS, exist_ok=True)
    # first byte: 0 a presentation, 1 a response JWE
    for name, data in [("pres_valid", b"\0" + pres.encode()),
                       ("pres_expired_kb", b"\0" + presentation(pki, holder, AUD, NONCE,
                                                                 ("iat_past",)).encode()),
                       ("pres_extra", b"\0" + presentation(pki, holder, AUD, NONCE,
                                                            ("extra_disclosure",)).encode()),
                       ("jwe_valid", b"\1" + e.serialize(compact=True).encode()),
                       ("garbage", b"\0a~b~~c")]:
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(data)
    with open(os.path.join(HERE, "wallet_fixture.h"), "w") as f:
        f.write("/* Made by gen_wallet_corpus.py with the corpus in corpus/wallet. */\n")
        f.write(f"#define FZW_NOW {now}\n#define FZW_AUD \"{AUD}\"\n#define FZW_NONCE \"{NONCE}\"\n")
        f.write("static const char fzw_anchor[] =\n" + c_string(pki.pid_ca.pem().decode()) + ";\n")
        f.write("static const char fzw_key[] =\n" +
                c_string(enc_key.export_to_pem(private_key=True, password=None).decode()) + ";\n")


if __name__ == "__main__":
    main()
