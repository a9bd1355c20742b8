"""
Helpers for the SAML proxy's tests (test_saml*.py): key pairs made with
openssl, SP metadata in the shapes old SAML services carry, and the
portenctl commands.
"""

import os
import subprocess
import xml.etree.ElementTree as ET

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
ARTIFACT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
SOAP = "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"


def keypair(d, name, days=30, bits=2048):
    """A self-signed RSA key pair in d: (key path, cert path)."""
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    if not os.path.exists(key):
        subprocess.run(["openssl", "req", "-x509", "-newkey", f"rsa:{bits}", "-nodes",
                        "-keyout", key, "-out", crt, "-days", str(days), "-subj", "/CN=" + name],
                       check=True, capture_output=True, timeout=60)
    return key, crt


def cert_b64(crt):
    with open(crt) as f:
        return "".join(l.strip() for l in f if "CERTIFICATE" not in l)


def key_descriptor(crt, use=None):
    u = f' use="{use}"' if use else ""
    return (f'<md:KeyDescriptor{u}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>'
            f'{cert_b64(crt)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>')


def sp_metadata(entity_id, sign_crt, enc_crt=None, acs=None, slo=None, nameid=(PERSISTENT,),
                extra="", outer=""):
    """
    SP metadata.  acs: list of (binding, url, index, default); slo: list of
    (binding, location, response_location).  Defaults: one Artifact ACS and
    one Redirect SLO under entity_id's host.
    """
    base = entity_id.rstrip("/")
    if acs is None:
        acs = [(ARTIFACT, base + "/acs", 0, True)]
    if slo is None:
        slo = [(REDIRECT, base + "/slo", base + "/slo-return")]
    keys = key_descriptor(sign_crt, "signing")
    if enc_crt:
        keys += key_descriptor(enc_crt, "encryption")
    slos = "".join(
        f'<md:SingleLogoutService Binding="{b}" Location="{l}"'
        + (f' ResponseLocation="{r}"' if r else "") + "/>" for b, l, r in slo)
    fmts = "".join(f"<md:NameIDFormat>{f}</md:NameIDFormat>" for f in nameid)
    acss = "".join(
        f'<md:AssertionConsumerService Binding="{b}" Location="{u}" index="{i}"'
        + (' isDefault="true"' if d else "") + "/>" for b, u, i, d in acs)
    return (f'<?xml version="1.0"?>{outer}<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" '
            f'entityID="{entity_id}"><md:SPSSODescriptor AuthnRequestsSigned="true" '
            f'WantAssertionsSigned="true" '
            f'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'{keys}{slos}{fmts}{acss}</md:SPSSODescriptor>{extra}</md:EntityDescriptor>')


def write(d, name, text):
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def sp_import(server, path, *args, check=True):
    """portenctl saml sp import; the registration (JSON) or, unchecked, the process."""
    return server.ctl("saml", "sp", "import", path, *args, check=check)


def sp_list(server):
    return server.ctl("saml", "sp", "list") or []


def parse(xml_text):
    return ET.fromstring(xml_text.encode() if isinstance(xml_text, str) else xml_text)
