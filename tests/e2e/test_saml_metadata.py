"""
SAML proxy, spec/saml-proxy.md §2: the IdP's metadata (plain and signed)
and the operator's registration of service providers with `portenctl saml
sp import|list|show|remove`, old metadata reduced to the supported profile.
"""

import os
import shutil
import subprocess

import pytest

from conftest import Server
from samlkit import (ARTIFACT, DS, MD, PERSISTENT, POST, REDIRECT, SOAP, TRANSIENT, keypair,
                     parse, sanitizer_env, sp_import, sp_list, sp_metadata, write)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("saml-keys"))
    return d, keypair(d, "idp"), keypair(d, "sp"), keypair(d, "sp-enc"), keypair(d, "sp-new")


@pytest.fixture(scope="module")
def server_env(keys):
    _, (key, crt), *_ = keys
    return {"PORTEN_SAML_KEY_FILE": key, "PORTEN_SAML_CERT_FILE": crt, **sanitizer_env()}


def md_find(root, path):
    return root.findall(path, {"md": MD, "ds": DS})


# ---- the IdP's metadata ----

def test_metadata_plain(server, keys):
    r = server.get("/saml/metadata")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/samlmetadata+xml")
    root = parse(r.content)
    assert root.tag == f"{{{MD}}}EntityDescriptor"
    assert root.get("entityID") == server.url("/saml/metadata")
    (idp,) = md_find(root, "md:IDPSSODescriptor")
    assert idp.get("WantAuthnRequestsSigned") == "true"
    (kd,) = md_find(idp, "md:KeyDescriptor")
    assert kd.get("use") == "signing"
    with open(keys[1][1]) as f:
        pem = "".join(l.strip() for l in f if "CERTIFICATE" not in l)
    assert md_find(kd, "ds:KeyInfo/ds:X509Data/ds:X509Certificate")[0].text == pem
    sso = md_find(idp, "md:SingleSignOnService")
    assert [(e.get("Binding"), e.get("Location")) for e in sso] == \
        [(REDIRECT, server.url("/saml/sso"))]
    (ars,) = md_find(idp, "md:ArtifactResolutionService")
    assert (ars.get("Binding"), ars.get("index")) == (SOAP, "0")
    (slo,) = md_find(idp, "md:SingleLogoutService")
    assert slo.get("Binding") == REDIRECT
    assert [e.text for e in md_find(idp, "md:NameIDFormat")] == [PERSISTENT]
    # plain metadata carries no signature
    assert not md_find(root, "ds:Signature")


def verify_signed(path, crt):
    return subprocess.run(
        ["xmlsec1", "--verify", "--pubkey-cert-pem", crt, "--id-attr:ID",
         f"{MD}:EntityDescriptor", path], capture_output=True, timeout=30)


@pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="xmlsec1 not installed")
def test_metadata_signed(server, keys, tmp_path):
    d, (_, crt), (_, other), *_ = keys
    r = server.get("/saml/metadata", params={"sign": "true"})
    assert r.status_code == 200, r.text
    root = parse(r.content)
    assert root.get("validUntil") and root.get("cacheDuration") and root.get("ID")
    # the signature is the EntityDescriptor's first child (saml-schema-metadata)
    assert root[0].tag == f"{{{DS}}}Signature"
    p = write(str(tmp_path), "signed.xml", r.text)
    ok = verify_signed(p, crt)
    assert ok.returncode == 0, ok.stderr
    # another key does not verify it, and a changed endpoint breaks it
    assert verify_signed(p, other).returncode != 0
    bad = write(str(tmp_path), "tampered.xml", r.text.replace("/saml/sso", "/saml/evil"))
    assert verify_signed(bad, crt).returncode != 0


def test_metadata_bad_query(server):
    assert server.get("/saml/metadata", params={"sign": "maybe"}).status_code == 400
    assert server.get("/saml/metadata?sign=true&sign=false").status_code == 400


def test_metadata_off_without_key(start_server):
    s = start_server()
    assert s.get("/saml/metadata").status_code == 404


def test_start_refuses_bad_key(tmp_path, keys):
    d, (key, crt), (spkey, _), *_ = keys
    for env, why in (({"PORTEN_SAML_KEY_FILE": key}, "saml_cert_file"),
                     ({"PORTEN_SAML_KEY_FILE": spkey, "PORTEN_SAML_CERT_FILE": crt},
                      "does not match"),
                     ({"PORTEN_SAML_KEY_FILE": os.path.join(d, "none.key"),
                       "PORTEN_SAML_CERT_FILE": crt}, "cannot open")):
        s = Server(tmp_path / why.replace(" ", "_"), env)
        with pytest.raises(Exception) as ei:
            s.start()
        s.stop()
        assert why in str(ei.value), ei.value


# ---- service providers ----

def test_sp_import_reduces_old_metadata(server, keys, tmp_path):
    d, _, (_, sp_crt), (_, enc_crt), _ = keys
    eid = "https://old.example.no/sp"
    xml = sp_metadata(
        eid, sp_crt, enc_crt,
        acs=[(POST, "https://old.example.no/post", 0, True),
             (ARTIFACT, "https://old.example.no/art2", 2, False),
             (ARTIFACT, "https://old.example.no/art", 1, False)],
        slo=[(REDIRECT, "https://old.example.no/slo", "https://old.example.no/slo-ret"),
             (SOAP, "https://old.example.no/slo-soap", None)],
        nameid=(TRANSIENT, PERSISTENT),
        extra='<md:Organization><md:OrganizationName xml:lang="nb">Kommune'
              '</md:OrganizationName></md:Organization>')
    reg = sp_import(server, write(str(tmp_path), "old.xml", xml))
    assert reg["entity_id"] == eid
    assert reg["acs"] == "https://old.example.no/art"          # the lowest index
    assert reg["slo"] == "https://old.example.no/slo"
    assert reg["slo_response"] == "https://old.example.no/slo-ret"
    assert reg["sig_alg"] == "rsa-sha256" and reg["enc_alg"] == "aes128-cbc"
    with open(sp_crt) as f:
        assert reg["cert"].strip() == f.read().strip()
    dropped = "\n".join(reg["dropped"])
    for what in ("https://old.example.no/post", "https://old.example.no/art2",
                 "slo-soap", TRANSIENT, "encryption certificate", "Organization",
                 "WantAssertionsSigned"):
        assert what in dropped, (what, reg["dropped"])
    assert "metadata" not in reg
    shown = server.ctl("saml", "sp", "show", eid)
    assert shown["acs"] == reg["acs"] and shown["dropped"] == reg["dropped"]
    assert eid in [s["entity_id"] for s in sp_list(server)]
    # the text form names what was dropped too
    p = server.ctl("saml", "sp", "show", eid, check=False)
    assert p.returncode == 0


def test_sp_post_only_refused(server, keys, tmp_path):
    _, _, (_, sp_crt), *_ = keys
    xml = sp_metadata("https://post.example.no/sp", sp_crt,
                      acs=[(POST, "https://post.example.no/acs", 0, True)])
    before = sp_list(server)
    p = sp_import(server, write(str(tmp_path), "post.xml", xml), check=False)
    assert p.returncode == 1
    assert b"can only be served by HTTP-POST" in p.stderr, p.stderr
    assert sp_list(server) == before


HOSTILE = [
    ("not xml", lambda c: "this is not xml <", b"not well-formed"),
    ("doctype", lambda c: sp_metadata("https://x.example.no/sp", c).replace(
        '<?xml version="1.0"?>',
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'),
     b"DOCTYPE"),
    ("external entity", lambda c: sp_metadata(
        "https://x.example.no/sp", c, extra="<md:Organization><md:OrganizationName>&xxe;"
        "</md:OrganizationName></md:Organization>").replace(
        '<?xml version="1.0"?>',
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'),
     b"DOCTYPE"),
    ("no entity id", lambda c: sp_metadata("", c), b"entityID"),
    ("idp only", lambda c: sp_metadata("https://x.example.no/sp", c).replace(
        "SPSSODescriptor", "IDPSSODescriptor"), b"no SPSSODescriptor"),
    ("plain http acs", lambda c: sp_metadata("http://x.example.no/sp", c),
     b"no https AssertionConsumerService"),
    ("no slo", lambda c: sp_metadata("https://x.example.no/sp", c, slo=[]),
     b"SingleLogoutService"),
    ("no certificate", lambda c: sp_metadata("https://x.example.no/sp", c).replace(
        "X509Certificate>M", "X509Certificate>!"), b"certificate"),
    ("two entities", lambda c: '<md:EntitiesDescriptor xmlns:md="%s">%s%s</md:EntitiesDescriptor>' % (
        MD, sp_metadata("https://x.example.no/a", c).split("?>", 1)[1],
        sp_metadata("https://x.example.no/b", c).split("?>", 1)[1]), b"more than one entity"),
    ("oversized", lambda c: sp_metadata("https://x.example.no/sp", c,
                                        extra="<!--" + "x" * 300000 + "-->"), b"larger than"),
]


@pytest.mark.parametrize("name,make,why", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_sp_import_hostile(server, keys, tmp_path, name, make, why):
    _, _, (_, sp_crt), *_ = keys
    before = sp_list(server)
    p = sp_import(server, write(str(tmp_path), "bad.xml", make(sp_crt)), check=False)
    assert p.returncode != 0
    assert why in p.stderr, p.stderr
    assert b"root:" not in p.stderr + p.stdout
    assert sp_list(server) == before


def test_sp_expired_certificate_refused(server, keys, tmp_path):
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(k.public_key()).serial_number(1)
            .not_valid_before(datetime.datetime(2020, 1, 1))
            .not_valid_after(datetime.datetime(2021, 1, 1)).sign(k, hashes.SHA256()))
    d = str(tmp_path)
    crt = write(d, "old.crt", cert.public_bytes(serialization.Encoding.PEM).decode())
    p = sp_import(server, write(d, "exp.xml", sp_metadata("https://exp.example.no/sp", crt)),
                  check=False)
    assert p.returncode == 1 and b"expired" in p.stderr, p.stderr


def test_sp_replace_is_a_certificate_renewal(server, keys, tmp_path):
    _, _, (_, sp_crt), _, (_, new_crt) = keys
    eid = "https://renew.example.no/sp"
    d = str(tmp_path)
    sp_import(server, write(d, "a.xml", sp_metadata(eid, sp_crt)))
    again = sp_import(server, write(d, "b.xml", sp_metadata(eid, new_crt)), check=False)
    assert again.returncode == 1 and b"--replace" in again.stderr
    reg = sp_import(server, write(d, "c.xml", sp_metadata(eid, new_crt)), "--replace",
                    "--sig-alg", "rsa-sha1", "--enc", "aes256-cbc")
    with open(new_crt) as f:
        assert reg["cert"].strip() == f.read().strip()
    assert reg["sig_alg"] == "rsa-sha1" and reg["enc_alg"] == "aes256-cbc"
    moved = sp_metadata(eid, new_crt, acs=[(ARTIFACT, "https://elsewhere.example.no/acs", 0, True)])
    p = sp_import(server, write(d, "d.xml", moved), "--replace", check=False)
    assert p.returncode == 1 and b"acs changed" in p.stderr, p.stderr
    assert server.ctl("saml", "sp", "show", eid)["acs"] == eid + "/acs"
    p = sp_import(server, write(d, "e.xml", sp_metadata(eid, new_crt)), "--sig-alg", "md5",
                  "--replace", check=False)
    assert p.returncode == 1 and b"rsa-sha256 or rsa-sha1" in p.stderr
    # spec §8: AES-256-GCM per SP; an unknown mode is refused and changes nothing
    p = sp_import(server, write(d, "f.xml", sp_metadata(eid, new_crt)), "--enc", "aes128-gcm",
                  "--replace", check=False)
    assert p.returncode == 1 and b"aes256-gcm" in p.stderr, p.stderr
    assert server.ctl("saml", "sp", "show", eid)["enc_alg"] == "aes256-cbc"
    reg = sp_import(server, write(d, "g.xml", sp_metadata(eid, new_crt)), "--replace",
                    "--enc", "aes256-gcm")
    assert reg["enc_alg"] == "aes256-gcm"


def test_sp_renewal_keeps_the_settings(server, keys, tmp_path):
    """
    spec §2 (design): a renewal changes the certificate, nothing else.  A
    legacy SP's algorithms and organisation survive a plain --replace; an
    option named again still applies, and only that one.
    """
    _, _, (_, sp_crt), _, (_, new_crt) = keys
    eid = "https://legacy-renew.example.no/sp"
    d = str(tmp_path)
    reg = sp_import(server, write(d, "a.xml", sp_metadata(eid, sp_crt)), "--orgno", "991825827",
                    "--sig-alg", "rsa-sha1", "--enc", "aes256-gcm")
    assert (reg["sig_alg"], reg["enc_alg"], reg["orgno"]) == ("rsa-sha1", "aes256-gcm",
                                                              "991825827")
    reg = sp_import(server, write(d, "b.xml", sp_metadata(eid, new_crt)), "--replace")
    with open(new_crt) as f:
        assert reg["cert"].strip() == f.read().strip()
    shown = server.ctl("saml", "sp", "show", eid)
    for r in (reg, shown):
        assert (r["sig_alg"], r["enc_alg"], r["orgno"]) == ("rsa-sha1", "aes256-gcm",
                                                            "991825827"), r
    reg = sp_import(server, write(d, "c.xml", sp_metadata(eid, new_crt)), "--replace",
                    "--enc", "aes128-cbc")
    assert (reg["sig_alg"], reg["enc_alg"], reg["orgno"]) == ("rsa-sha1", "aes128-cbc",
                                                              "991825827")


def test_sp_import_needs_the_organisation(server, keys, tmp_path):
    _, _, (_, sp_crt), *_ = keys
    eid = "https://org.example.no/sp"
    path = write(str(tmp_path), "o.xml", sp_metadata(eid, sp_crt))
    p = sp_import(server, path, check=False, orgno=None)
    assert p.returncode == 1 and b"--orgno" in p.stderr, p.stderr
    for bad in ("974760674", "97476067", "9747606730", "97476067a", ""):
        p = sp_import(server, path, "--orgno", bad, check=False)
        assert p.returncode != 0 and b"mod 11" in p.stderr, (bad, p.stderr)
    assert eid not in [s["entity_id"] for s in sp_list(server)]
    reg = sp_import(server, path, "--orgno", "991825827")
    assert reg["orgno"] == "991825827"
    # a renewal keeps the organisation unless it names another
    reg = sp_import(server, path, "--replace")
    assert reg["orgno"] == "991825827"
    assert server.ctl("saml", "sp", "show", eid)["orgno"] == "991825827"


def test_sp_cert_option_replaces_metadata_keys(server, keys, tmp_path):
    _, _, (_, sp_crt), (_, enc_crt), _ = keys
    eid = "https://certopt.example.no/sp"
    reg = sp_import(server, write(str(tmp_path), "m.xml", sp_metadata(eid, sp_crt)),
                    "--cert", enc_crt)
    with open(enc_crt) as f:
        assert reg["cert"].strip() == f.read().strip()
    assert any("--cert" in line for line in reg["dropped"])


def test_sp_remove(server, keys, tmp_path):
    _, _, (_, sp_crt), *_ = keys
    eid = "https://gone.example.no/sp"
    sp_import(server, write(str(tmp_path), "g.xml", sp_metadata(eid, sp_crt)))
    server.ctl("saml", "sp", "remove", eid)
    assert eid not in [s["entity_id"] for s in sp_list(server)]
    p = server.ctl("saml", "sp", "remove", eid, check=False)
    assert p.returncode != 0 and b"no service provider" in p.stderr
    p = server.ctl("saml", "sp", "show", eid, check=False)
    assert p.returncode != 0 and b"no service provider" in p.stderr


def test_sp_usage_errors(server):
    for args in (("saml",), ("saml", "sp"), ("saml", "sp", "import"),
                 ("saml", "sp", "show"), ("saml", "sp", "frobnicate"),
                 ("saml", "sp", "import", "a.xml", "--bogus")):
        p = server.ctl(*args, check=False)
        assert p.returncode != 0, args
