"""
SAML proxy with a real service provider: Apache httpd with Debian's
mod_auth_mellon, unmodified, configured for HTTP-Artifact.  Its own
metadata (as mellon publishes it) is imported with portenctl; a browser
opens the protected page, logs in at TestID through the proxy and sees the
attributes mellon received; logout started at mellon ends the SSO session,
and logout started by an OIDC client reaches mellon.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from conftest import (PID, PID2, Page, follow, free_port, http, login, logout, loopback_tls_cert,
                      open_testid, submit_testid)
from samlkit import (ARTIFACT, POST, REDIRECT, SOAP, TRANSIENT, keypair, lasso, parse,
                     sanitizer_env, sp_import, sp_metadata, write)

APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
MELLON = os.path.join(MODULES, "mod_auth_mellon.so")
MD = {"md": "urn:oasis:names:tc:SAML:2.0:metadata"}

pytestmark = pytest.mark.skipif(
    lasso is None or not (os.access(APACHE, os.X_OK) and os.path.exists(MELLON)),
    reason="apache2 and libapache2-mod-auth-mellon are not installed")

CONF = """
ServerRoot {d}
LoadModule mpm_prefork_module {m}/mod_mpm_prefork.so
LoadModule authn_core_module {m}/mod_authn_core.so
LoadModule authz_core_module {m}/mod_authz_core.so
LoadModule authz_user_module {m}/mod_authz_user.so
LoadModule mime_module {m}/mod_mime.so
LoadModule include_module {m}/mod_include.so
LoadModule ssl_module {m}/mod_ssl.so
LoadModule auth_mellon_module {m}/mod_auth_mellon.so
{user}
Listen 127.0.0.1:{port}
ServerName https://127.0.0.1:{port}
UseCanonicalName On
PidFile {d}/httpd.pid
DefaultRuntimeDir {d}
Mutex file:{d} default
ErrorLog {d}/error.log
LogLevel warn auth_mellon:info
StartServers 2
MaxRequestWorkers 8
DocumentRoot {d}/htdocs
TypesConfig /dev/null
SSLEngine on
SSLCertificateFile {d}/tls.crt
SSLCertificateKeyFile {d}/tls.key
<Location />
    MellonEnable info
    MellonSPMetadataFile {d}/sp.xml
    MellonSPPrivateKeyFile {d}/sp.key
    MellonSPCertFile {d}/sp.crt
    MellonIdPMetadataFile {d}/idp.xml
    MellonEndpointPath /mellon
    MellonSecureCookie On
    MellonSignatureMethod rsa-sha256
</Location>
<Location /secure>
    AuthType Mellon
    MellonEnable auth
    Require valid-user
    Options +Includes
    AddOutputFilter INCLUDES .html
</Location>
"""

PAGE = """<html><body>
<p id="uid"><!--#echo var="MELLON_uid" --></p>
<p id="level"><!--#echo var="MELLON_SecurityLevel" --></p>
<p id="culture"><!--#echo var="MELLON_Culture" --></p>
<p id="method"><!--#echo var="MELLON_AuthMethod" --></p>
<p id="nameid"><!--#echo var="MELLON_NAME_ID" --></p>
<p id="user"><!--#echo var="REMOTE_USER" --></p>
</body></html>
"""


class Mellon:
    """An Apache httpd with mod_auth_mellon on a free port of 127.0.0.1 (https)."""

    def __init__(self, idp_metadata):
        # a directory the unprivileged worker can read when the test runs as root
        self.dir = tempfile.mkdtemp(prefix="porten-mellon-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.base = f"https://127.0.0.1:{self.port}"
        self.entity_id = self.base + "/mellon/metadata"
        d = self.dir
        self.browser_verify = os.path.join(d, "tls.crt")
        os.makedirs(os.path.join(d, "htdocs", "secure"))
        loopback_tls_cert(os.path.join(d, "tls.crt"), os.path.join(d, "tls.key"))
        key, crt = keypair(d, "sp")
        write(d, "idp.xml", idp_metadata)
        write(os.path.join(d, "htdocs", "secure"), "index.html", PAGE)
        user = "User nobody\nGroup nogroup" if os.geteuid() == 0 else ""
        write(d, "sp.xml", self.metadata(crt))
        write(d, "httpd.conf", CONF.format(d=d, m=MODULES, port=self.port, user=user))
        for root, dirs, files in os.walk(d):
            for f in files:
                # the keys only for the parent, which reads them as it starts
                os.chmod(os.path.join(root, f), 0o600 if f.endswith(".key") else 0o644)
            for x in dirs:
                os.chmod(os.path.join(root, x), 0o755)

    def start(self):
        d = self.dir
        p = subprocess.run([APACHE, "-f", os.path.join(d, "httpd.conf"), "-k", "start"],
                           capture_output=True, timeout=30, env=self._env())
        assert p.returncode == 0, (p.stdout + p.stderr).decode(errors="replace") + self.log()
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(self.base + "/mellon/metadata", verify=self.browser_verify,
                             timeout=2)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "apache did not come up: " + self.log()
                time.sleep(0.1)

    def metadata(self, crt):
        """
        mellon's metadata as its mellon_create_metadata.sh writes it, with
        HTTP-Artifact as the default ACS: mellon names its default ACS in
        every AuthnRequest (AssertionConsumerServiceURL).
        """
        m = self.base + "/mellon/"
        return sp_metadata(self.entity_id, crt, enc_crt=crt,
                           acs=[(ARTIFACT, m + "artifactResponse", 0, True),
                                (POST, m + "postResponse", 1, False)],
                           slo=[(SOAP, m + "logout", None), (REDIRECT, m + "logout", None)],
                           nameid=(TRANSIENT,))

    @staticmethod
    def _env():
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}

    def log(self):
        try:
            with open(os.path.join(self.dir, "error.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        try:
            with open(os.path.join(self.dir, "httpd.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.1)
        except (OSError, ValueError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def server_env(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("saml-keys"))
    key, crt = keypair(d, "idp")
    return {"PORTEN_SAML_KEY_FILE": key, "PORTEN_SAML_CERT_FILE": crt, **sanitizer_env()}


@pytest.fixture(scope="module")
def mellon(server, tmp_path_factory):
    m = Mellon(server.get("/saml/metadata").text)
    try:
        m.start()
        yield m
    finally:
        m.stop()


@pytest.fixture(scope="module")
def registered(server, mellon, tmp_path_factory):
    """mellon's own metadata, imported as it is: the proxy reduces it to its one profile."""
    r = requests.get(mellon.base + "/mellon/metadata", verify=mellon.browser_verify, timeout=10)
    assert r.status_code == 200, r.text
    md = parse(r.text)
    assert md.get("entityID") == mellon.entity_id
    bindings = {a.get("Binding") for a in md.iter("{%s}AssertionConsumerService" % MD["md"])}
    assert ARTIFACT in bindings and len(bindings) > 1, bindings
    path = write(str(tmp_path_factory.mktemp("mellon-md")), "mellon.xml", r.text)
    return sp_import(server, path)


def browser(mellon):
    b = http()
    b.verify = mellon.browser_verify
    return b


def protected(mellon, b):
    """The protected page, following mellon's own redirects (to /mellon/login)."""
    r = b.get(mellon.base + "/secure/index.html", allow_redirects=False, timeout=10)
    while r.status_code in (302, 303) and r.headers["Location"].startswith(mellon.base):
        r = b.get(r.headers["Location"], allow_redirects=False, timeout=10)
    return r


def open_protected(server, mellon, b, expect_eid=True, pid=PID):
    """The protected page through mellon, the proxy and (without SSO) TestID."""
    r = protected(mellon, b)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300], mellon.log())
    sso = r.headers["Location"]
    assert sso.startswith(server.url("/saml/sso?")), sso
    r = follow(server, b, b.get(sso, allow_redirects=False, timeout=10))
    if expect_eid:
        assert r.status_code == 200, (r.status_code, r.text[:300])
        r = submit_testid(server, b, open_testid(server, b, r), pid)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    acs = r.headers["Location"]
    assert acs.startswith(mellon.base + "/mellon/artifactResponse?SAMLart="), acs
    # mellon resolves the artifact over SOAP at the proxy, then back to the page
    r = b.get(acs, allow_redirects=False, timeout=20)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300], mellon.log())
    r = b.get(urljoin(acs, r.headers["Location"]), allow_redirects=False, timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:300], mellon.log())
    return {i: (v or "").strip() for i, v in fields(r.text).items()}


def fields(html):
    return dict(re.findall(r'<p id="(\w+)">([^<]*)</p>', html))


def test_mellon_metadata_reduced_on_import(registered, mellon):
    m = mellon.base + "/mellon/"
    assert registered["acs"] == m + "artifactResponse", registered
    assert registered["slo"] == m + "logout", registered
    # mellon's HTTP-POST ACS, SOAP logout and transient NameID are reported as dropped
    dropped = "\n".join(registered["dropped"])
    assert f"AssertionConsumerService {m}postResponse" in dropped, dropped
    assert "SingleLogoutService" in dropped and "NameIDFormat" in dropped, dropped


def test_mellon_login_shows_the_attributes(server, mellon, registered):
    b = browser(mellon)
    got = open_protected(server, mellon, b)
    assert got["uid"] == PID, got
    assert got["level"] == "3" and got["culture"] == "nb", got
    assert got["method"], got
    assert len(got["nameid"]) == 43 and got["user"] == got["nameid"], got
    # mellon's session now serves the page without the proxy
    r = b.get(mellon.base + "/secure/index.html", allow_redirects=False, timeout=10)
    assert r.status_code == 200 and fields(r.text)["uid"] == PID


def test_mellon_logout_ends_the_sso_session(server, mellon, registered):
    b = browser(mellon)
    open_protected(server, mellon, b)
    back = mellon.base + "/secure/index.html?bye"
    r = b.get(mellon.base + "/mellon/logout", params={"ReturnTo": back},
              allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300], mellon.log())
    slo = r.headers["Location"]
    assert slo.startswith(server.url("/saml/logout?SAMLRequest=")), slo
    # the proxy ends the session at the issuer, which then hands back to the proxy
    r = follow(server, b, b.get(slo, allow_redirects=False, timeout=10))
    if r.status_code == 200:
        cont = [l["href"] for l in Page(r.text).links if l.get("id") == "continue"]
        assert cont, r.text[:400]
        r = follow(server, b, b.get(cont[0].replace("&amp;", "&"), allow_redirects=False,
                                    timeout=10))
    loc = r.headers.get("Location", "")
    assert r.status_code == 302 and loc.startswith(mellon.base + "/mellon/logout?SAMLResponse="), \
        (r.status_code, loc, r.text[:300])
    r = b.get(loc, allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303) and r.headers["Location"] == back, \
        (r.status_code, r.headers.get("Location"), mellon.log())
    # both sides forgot the user: mellon sends to the proxy, and the proxy asks for an eID
    got = open_protected(server, mellon, b, expect_eid=True)
    assert got["uid"] == PID


def test_oidc_logout_reaches_mellon(server, mellon, registered, new_client):
    b = browser(mellon)
    # another person: mellon finds the session a LogoutRequest ends by its NameID alone,
    # and the earlier tests' sessions of PID are still open there
    assert open_protected(server, mellon, b, pid=PID2)["uid"] == PID2
    client = new_client(fc=True)
    tokens = client.tokens(login(server, client, b, expect_eid=False))
    r = logout(server, b, id_token_hint=tokens["id_token"],
               post_logout_redirect_uri=client.post_logout_redirect_uri, state="s1")
    assert r.status_code == 200, (r.status_code, r.text[:300])
    page = Page(r.text)
    for f in page.iframes:
        if f:
            http().get(f.replace("&amp;", "&"), timeout=10)
    cont = [l["href"] for l in page.links if l["id"] == "continue"]
    r = b.get(cont[0].replace("&amp;", "&"), allow_redirects=False, timeout=10)
    loc = r.headers.get("Location", "")
    assert r.status_code == 302 and loc.startswith(mellon.base + "/mellon/logout?SAMLRequest="), loc
    # mellon ends its session and answers with its signed LogoutResponse
    r = b.get(loc, allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303), (r.status_code, r.text[:300], mellon.log())
    r = b.get(r.headers["Location"], allow_redirects=False, timeout=10)
    loc = r.headers.get("Location", "")
    assert r.status_code == 302 and loc.startswith(client.post_logout_redirect_uri), \
        (r.status_code, loc, r.text[:300])
    assert "state=s1" in urlsplit(loc).query
    # mellon no longer lets the browser in
    r = protected(mellon, b)
    assert r.status_code in (302, 303) and r.headers["Location"].startswith(
        server.url("/saml/sso?"))
