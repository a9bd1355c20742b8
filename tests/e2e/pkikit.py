"""
Business certificates for the end-to-end tests (spec/maskinporten.md §10),
made with the openssl command line: a test root CA, an intermediate that
issues and revokes and publishes a CRL, an untrusted CA, and leaves with an
organisation number in either profile.  Used by test_maskinporten.py and
test_bizcert.py.
"""

import base64
import os
import subprocess
import time

from jwcrypto import jwk


def orgno(first8):
    """A valid organisation number (mod 11, spec/national-id-numbers.md §7) from 8 digits."""
    w = [3, 2, 7, 6, 5, 4, 3, 2]
    s = sum(int(d) * k for d, k in zip(first8, w))
    c = 11 - s % 11
    c = 0 if c == 11 else c
    assert c != 10, first8
    return first8 + str(c)



# --------------------------------------------------------------------------
# certificates with the openssl command line
# --------------------------------------------------------------------------

def ossl(*args, cwd):
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=60)
    assert p.returncode == 0, f"openssl {' '.join(args)}: {p.stderr.decode(errors='replace')}"
    return p.stdout


QC_STATEMENTS = "DER:30:0A:30:08:06:06:04:00:8E:46:01:01"   # SEQUENCE { SEQUENCE { QcCompliance } }

CA_CNF = """
[ ca ]
default_ca = inter
[ inter ]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/newcerts
serial = {d}/serial
crlnumber = {d}/crlnumber
certificate = {d}/inter.pem
private_key = {d}/inter.key
default_md = sha256
default_days = 365
default_crl_days = 30
policy = policy_any
unique_subject = no
email_in_dn = no
[ policy_any ]
countryName = optional
organizationName = optional
organizationIdentifier = optional
serialNumber = optional
commonName = optional
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ qualified ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
1.3.6.1.5.5.7.1.3 = {qc}
[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


class PKI:
    """A test root, an issuing intermediate with a CRL, an untrusted CA, and leaves."""

    def __init__(self, d):
        self.d = str(d)
        os.makedirs(os.path.join(self.d, "newcerts"))
        with open(os.path.join(self.d, "index.txt"), "w"):
            pass
        with open(os.path.join(self.d, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(self.d, "crlnumber"), "w") as f:
            f.write("01\n")
        with open(self.p("ca.cnf"), "w") as f:
            f.write(CA_CNF.format(d=self.d, qc=QC_STATEMENTS))
        self.self_signed("root", "/C=NO/O=Porten Test Root/CN=Porten Test Root CA")
        self.self_signed("evil", "/C=NO/O=Untrusted/CN=Untrusted Root CA")
        self.key("inter")
        ossl("req", "-new", "-key", "inter.key", "-subj", "/C=NO/O=Porten Test/CN=Porten Test Issuing CA",
             "-out", "inter.csr", cwd=self.d)
        ossl("x509", "-req", "-in", "inter.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "2",
             "-days", "3650", "-sha256", "-extfile", "ca.cnf", "-extensions", "v3_ca", "-out", "inter.pem", cwd=self.d)

    def p(self, name):
        return os.path.join(self.d, name)

    def key(self, name):
        ossl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", f"{name}.key", cwd=self.d)

    def self_signed(self, name, subj):
        self.key(name)
        ossl("req", "-x509", "-new", "-key", f"{name}.key", "-subj", subj, "-days", "3650", "-sha256",
             "-config", "ca.cnf", "-extensions", "v3_ca", "-out", f"{name}.pem", cwd=self.d)

    def leaf(self, name, subj, ext="leaf", start=None, end=None, issuer="inter"):
        """A business certificate issued by the intermediate (openssl ca) or another CA."""
        self.key(name)
        ossl("req", "-new", "-key", f"{name}.key", "-subj", subj, "-out", f"{name}.csr", cwd=self.d)
        if issuer == "inter":
            args = ["ca", "-batch", "-config", "ca.cnf", "-preserveDN", "-extensions", ext, "-notext",
                    "-in", f"{name}.csr", "-out", f"{name}.pem"]
            if start:
                args += ["-startdate", start, "-enddate", end]
            ossl(*args, cwd=self.d)
        else:
            ossl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.pem", "-CAkey", f"{issuer}.key",
                 "-set_serial", str(int(time.time() * 1000) % 100000000), "-days", "365", "-sha256",
                 "-extfile", "ca.cnf", "-extensions", ext, "-out", f"{name}.pem", cwd=self.d)
        return Cert(self, name)

    def revoke(self, cert):
        ossl("ca", "-config", "ca.cnf", "-revoke", cert.pem_path, cwd=self.d)

    def gencrl(self):
        ossl("ca", "-config", "ca.cnf", "-gencrl", "-out", "crl.pem", cwd=self.d)
        return self.p("crl.pem")

    def der_b64(self, name):
        return base64.b64encode(ossl("x509", "-in", f"{name}.pem", "-outform", "DER", cwd=self.d)).decode()


class Cert:
    def __init__(self, pki, name):
        self.pem_path = pki.p(f"{name}.pem")
        with open(pki.p(f"{name}.key"), "rb") as f:
            self.key = jwk.JWK.from_pem(f.read())
        self.x5c = [pki.der_b64(name), pki.der_b64("inter")]
