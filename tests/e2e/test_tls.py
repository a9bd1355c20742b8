"""
TLS in portend itself (docs/operations.md "TLS without a proxy"):
tls_cert_file and tls_key_file make the listener speak TLS 1.2/1.3 with
an https issuer; a whole login runs over it with Secure cookies.  A key
file others can read, a key that is not the certificate's, a certificate
that has expired, half a configuration: each stops start-up (and
--check-config) with a message that names it.
"""

import datetime
import ipaddress
import os
import socket
import ssl
import subprocess
import warnings

import pytest
import conftest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conftest import (PORTEND, Server, ServerStartError, TIMEOUT, create_client, http, login)


def make_cert(d, name, days=(-1, 2), key=None):
    """A self-signed server certificate for 127.0.0.1; (cert path, key path)."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days[0]))
            .not_valid_after(now + datetime.timedelta(days=days[1]))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cpath, kpath = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
    with open(cpath, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kpath, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(kpath, 0o600)
    return cpath, kpath


def tls_server(workdir, cert, key, extra=None):
    s = Server(workdir)
    s.issuer = f"https://127.0.0.1:{s.port}"
    s.env["PORTEN_ISSUER"] = s.issuer
    if cert:
        s.env["PORTEN_TLS_CERT_FILE"] = cert
    if key:
        s.env["PORTEN_TLS_KEY_FILE"] = key
    s.env.update(extra or {})
    return s


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls(certs, tmp_path_factory, monkeypatch):
    cert, key = make_cert(certs, "good")
    # The sessions trust the test's certificate, as a client would trust a real CA.
    monkeypatch.setattr(conftest, "TLS_CA", cert)
    monkeypatch.setattr(conftest._HTTP, "verify", cert)
    s = tls_server(tmp_path_factory.mktemp("porten"), cert, key)
    s.start()
    yield s, cert
    s.stop()


def test_login_over_tls(tls, listener, tmp_path, new_browser):
    s, cert = tls
    c = create_client(s, listener, str(tmp_path))
    b = new_browser()
    tok = c.tokens(login(s, c, b))
    s.verify(tok["id_token"])
    # Every cookie the login set is Secure (the issuer is https).
    assert b.cookies and all(k.secure for k in b.cookies), [(k.name, k.secure) for k in b.cookies]
    r = http().get(s.url("/.well-known/openid-configuration"), timeout=TIMEOUT)
    assert r.json()["token_endpoint"].startswith("https://127.0.0.1:")
    # TLS 1.2 or 1.3 only; the certificate is the configured one.
    ctx = ssl.create_default_context(cafile=cert)
    with socket.create_connection(("127.0.0.1", s.port), timeout=TIMEOUT) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as t:
            assert t.version() in ("TLSv1.2", "TLSv1.3")
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(cert)
    old.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("ALL:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", s.port), timeout=TIMEOUT) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            with old.wrap_socket(raw, server_hostname="127.0.0.1"):
                pass


def test_plain_http_gets_no_answer(tls):
    s, _ = tls
    with socket.create_connection(("127.0.0.1", s.port), timeout=TIMEOUT) as raw:
        raw.sendall(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            data = raw.recv(200)
        except (ConnectionError, socket.timeout):
            data = b""
    assert not data.startswith(b"HTTP/1.1 200"), data


def check_config(s):
    return subprocess.run([PORTEND, "--check-config"], env=s.env, capture_output=True,
                          timeout=60, cwd=s.workdir)


def test_bad_tls_settings_stop_startup(certs, tmp_path_factory):
    good_cert, good_key = make_cert(certs, "pair")
    other_cert, other_key = make_cert(certs, "other")
    old_cert, old_key = make_cert(certs, "expired", days=(-10, -1))
    open_key = os.path.join(certs, "open.key")
    with open(good_key, "rb") as f, open(open_key, "wb") as g:
        g.write(f.read())
    os.chmod(open_key, 0o644)
    for cert, key, why in (
            (good_cert, other_key, "not the private key of the certificate"),
            (old_cert, old_key, "not valid now"),
            (good_cert, open_key, open_key),
            (good_cert, None, "both tls_cert_file and tls_key_file"),
            (good_key, good_key, "no PEM certificate"),
            (os.path.join(certs, "missing.crt"), good_key, "missing.crt")):
        s = tls_server(tmp_path_factory.mktemp("porten"), cert, key)
        p = check_config(s)
        assert p.returncode == 2 and why.encode() in p.stderr, (why, p.stderr)
        with pytest.raises(ServerStartError) as e:
            s.start()
        assert why in str(e.value), (why, str(e.value))
    s = tls_server(tmp_path_factory.mktemp("porten"), good_cert, good_key)
    assert check_config(s).returncode == 0
