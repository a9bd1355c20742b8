"""
Helpers for the SAML proxy's tests (test_saml*.py): key pairs made with
openssl, SP metadata in the shapes old SAML services carry, and the
portenctl commands.
"""

import os
import sqlite3
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


SP_ORGNO = "974760673"  # the organisation the test SPs' logins are counted for


def sp_import(server, path, *args, check=True, orgno=SP_ORGNO):
    """
    portenctl saml sp import; the registration (JSON) or, unchecked, the
    process.  A new registration names its organisation (--orgno, orgno).
    """
    if orgno and "--orgno" not in args and "--replace" not in args:
        args += ("--orgno", orgno)
    return server.ctl("saml", "sp", "import", path, *args, check=check)


def sp_list(server):
    return server.ctl("saml", "sp", "list") or []


def store_sql(server, sql):
    """Run sql on the server's store (its SQLite file, or PostgreSQL by psql): the rows."""
    store = server.env.get("PORTEN_STORE", "")
    if store.startswith(("postgresql://", "postgres://")):
        out = subprocess.run(["psql", "-At", "-q", store, "-c", sql], check=True,
                             capture_output=True, text=True, timeout=30).stdout
        return [tuple(l.split("|")) for l in out.splitlines() if l]
    db = sqlite3.connect(store or os.path.join(server.data, "porten.db"), timeout=10)
    try:
        with db:
            return db.execute(sql).fetchall()
    finally:
        db.close()


def stored_docs(server):
    """How many short-lived documents (logins, artifacts, request ids, ...) the store holds."""
    return int(store_sql(server, "SELECT count(*) FROM docs")[0][0])


def parse(xml_text):
    return ET.fromstring(xml_text.encode() if isinstance(xml_text, str) else xml_text)


# --------------------------------------------------------------------------
# a scripted service provider on python3-lasso
# --------------------------------------------------------------------------

try:
    import lasso
except ImportError:  # pragma: no cover - python3-lasso is in DEB_PKGS
    lasso = None

SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": "http://www.oasis-open.org/committees/security"}


class SP:
    """
    A SAML service provider run by lasso: it signs its AuthnRequests
    (HTTP-Redirect) and ArtifactResolves (SOAP) with its own key and
    decrypts and checks what the proxy answers.
    """

    def __init__(self, server, entity_id, key, crt, sig=None):
        self.server = server
        self.entity_id = entity_id
        self.acs = entity_id.rstrip("/") + "/acs"
        self.metadata = sp_metadata(entity_id, crt)
        with open(key) as f:
            self.key = f.read()
        with open(crt) as f:
            self.crt = f.read()
        self.idp_metadata = server.get("/saml/metadata").text
        self.idp_id = parse(self.idp_metadata).get("entityID")
        self.sig = sig or lasso.SIGNATURE_METHOD_RSA_SHA256

    def lasso_server(self):
        s = lasso.Server.newFromBuffers(self.metadata, self.key, None, self.crt)
        s.signatureMethod = self.sig
        s.addProviderFromBuffer(lasso.PROVIDER_ROLE_IDP, self.idp_metadata)
        return s

    def register(self, tmpdir, *args):
        return sp_import(self.server, write(str(tmpdir), f"sp-{abs(hash(self.entity_id))}.xml",
                                            self.metadata), *args)

    def authn_request(self, relay=None, force=False, passive=False, acs_url=None,
                      binding=ARTIFACT, classes=None, edit=None):
        """The SSO URL of a signed AuthnRequest, and the request's ID."""
        login = lasso.Login(self.lasso_server())
        login.initAuthnRequest(self.idp_id, lasso.HTTP_METHOD_REDIRECT)
        req = login.request
        req.protocolBinding = binding
        req.nameIdPolicy.format = TRANSIENT
        req.nameIdPolicy.allowCreate = True
        req.forceAuthn = force
        req.isPassive = passive
        if acs_url:
            req.assertionConsumerServiceUrl = acs_url
        if classes:
            rac = lasso.Samlp2RequestedAuthnContext()
            rac.authnContextClassRef = tuple(classes)
            rac.comparison = "minimum"
            req.requestedAuthnContext = rac
        if edit:
            edit(req)
        if relay is not None:
            login.msgRelayState = relay
        login.buildAuthnRequestMsg()
        return login.msgUrl, req.id

    def resolve(self, acs_url, sp_server=None):
        """ArtifactResolve over SOAP for the SAMLart in acs_url: (lasso login, HTTP answer)."""
        login = lasso.Login(sp_server or self.lasso_server())
        query = acs_url.split("?", 1)[1]
        login.initRequest(query, lasso.HTTP_METHOD_ARTIFACT_GET)
        login.buildRequestMsg()
        r = self.server.post("/saml/artifact", data=login.msgBody, headers=SOAP_HEADERS)
        return login, r


def sanitizer_env():
    """
    Under ASan (PORTEN_SANITIZED) the SAML tests' portend and portenctl
    read lsan-saml.supp beside this file: lasso and xmlsec1 leak on their
    own (the file says what).
    """
    if not os.environ.get("PORTEN_SANITIZED"):
        return {}
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lsan-saml.supp")
    lsan = os.environ.get("LSAN_OPTIONS", "")
    return {"LSAN_OPTIONS": (lsan + ":" if lsan else "") + "print_suppressions=0:suppressions="
            + supp}


def sp_session(sp, login):
    """The SP's lasso session after a login (acceptSso), for its logout."""
    login.acceptSso()
    return login.session.dump()


def sp_logout_url(sp, session_dump):
    """A signed LogoutRequest from sp for the session it holds."""
    lo = lasso.Logout(sp.lasso_server())
    lo.setSessionFromDump(session_dump)
    lo.initRequest(sp.idp_id, lasso.HTTP_METHOD_REDIRECT)
    lo.buildRequestMsg()
    return lo.msgUrl


def sp_answer_logout(sp, request_url, session_dump=None, ok=True):
    """sp answers the proxy's LogoutRequest: the URL of its signed LogoutResponse."""
    lo = lasso.Logout(sp.lasso_server())
    # the proxy signs every logout message (spec §6): an unsigned one raises here
    lo.setSignatureVerifyHint(lasso.PROFILE_SIGNATURE_VERIFY_HINT_FORCE)
    if session_dump:
        lo.setSessionFromDump(session_dump)
    lo.processRequestMsg(request_url.split("?", 1)[1])
    assert lo.request.issuer.content == sp.idp_id
    if session_dump:
        assert lo.request.nameId.content == lasso.Session.newFromDump(session_dump) \
            .getAssertions(sp.idp_id)[0].subject.nameID.content
    try:
        lo.validateRequest()
    except lasso.Error:
        pass
    if not ok:
        lo.response.status.statusCode.value = "urn:oasis:names:tc:SAML:2.0:status:Responder"
    lo.buildResponseMsg()
    return lo.msgUrl


def sp_read_logout_response(sp, url):
    """The initiating SP checks the proxy's LogoutResponse: (top, second) status."""
    lo = lasso.Logout(sp.lasso_server())
    try:
        lo.processResponseMsg(url.split("?", 1)[1])
    except lasso.Error:
        pass
    code = lo.response.status.statusCode
    return code.value, code.statusCode.value if code.statusCode else None
