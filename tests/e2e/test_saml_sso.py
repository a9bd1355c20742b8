"""
SAML proxy, spec/saml-proxy.md §3-§5 and §7: single sign-on from a SAML
service provider (python3-lasso, signing its requests and resolving
artifacts over SOAP) through the OIDC core and TestID, the SSO session it
shares with OIDC clients, and the hostile half: unsigned, wrongly signed,
replayed, expired, oversized and malformed requests, unknown SPs, foreign
ACS URLs, artifacts replayed or resolved by another SP.
"""

import base64
import re
import uuid
import zlib
from urllib.parse import quote, urlencode, urlsplit, parse_qs

import pytest

from conftest import (HIGH, PID, PID2, follow, http, login, open_testid, submit_testid)
from samlkit import (ARTIFACT, POST, SOAP_HEADERS, SP, keypair, lasso, sanitizer_env,
                     sp_list, store_sql, stored_docs)

pytestmark = pytest.mark.skipif(lasso is None, reason="python3-lasso not installed")

NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
      "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
      "ds": "http://www.w3.org/2000/09/xmldsig#"}
STATUS = "urn:oasis:names:tc:SAML:2.0:status:"
AC = "urn:oasis:names:tc:SAML:2.0:ac:classes:"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("saml-keys"))
    return {n: keypair(d, n) for n in ("idp", "sp", "sp2", "rogue")}


@pytest.fixture(scope="module")
def server_env(keys):
    key, crt = keys["idp"]
    return {"PORTEN_SAML_KEY_FILE": key, "PORTEN_SAML_CERT_FILE": crt, **sanitizer_env()}


@pytest.fixture(scope="module")
def sp(server, keys, tmp_path_factory):
    s = SP(server, "https://sp.example.no/saml", *keys["sp"])
    s.register(tmp_path_factory.mktemp("sp"))
    return s


@pytest.fixture(scope="module")
def sp2(server, keys, tmp_path_factory):
    s = SP(server, "https://other.example.no/saml", *keys["sp2"])
    s.register(tmp_path_factory.mktemp("sp2"))
    return s


def to_acs(server, browser, sso_url, pid=PID, acr=None, expect_eid=True):
    """Browser: the SSO URL, the login at ID-porten (TestID if asked), back to the SP's ACS."""
    r = browser.get(sso_url, allow_redirects=False)
    assert r.status_code == 302, (r.status_code, r.text[:400])
    r = follow(server, browser, r)
    if r.status_code == 200:
        assert expect_eid, f"the eID page was shown: {r.text[:300]}"
        t = open_testid(server, browser, r)
        r = submit_testid(server, browser, t, pid, *([acr] if acr else []))
    else:
        assert not expect_eid, "no eID page although no SSO session"
    assert r.status_code == 302, (r.status_code, r.text[:400])
    return r.headers["Location"]


def acs_params(url):
    q = parse_qs(urlsplit(url).query)
    return {k: v[0] for k, v in q.items()}


def resolved(sp, acs_url):
    """Resolve and let lasso check everything; the SP's login object and the raw answer."""
    login, r = sp.resolve(acs_url)
    assert r.status_code == 200, r.text[:500]
    login.processResponseMsg(r.text)
    return login, r.text


def attributes(assertion):
    out = {}
    for st in assertion.attributeStatement:
        for a in st.attribute:
            out[a.name] = [v.any[0].content for v in a.attributeValue]
    return out


def status_of(sp, acs_url):
    """(top, second, message) of a Response the proxy sent without an assertion."""
    login, r = sp.resolve(acs_url)
    assert r.status_code == 200, r.text
    try:
        login.processResponseMsg(r.text)
    except lasso.Error:
        pass
    st = login.response.status
    code = st.statusCode
    second = code.statusCode.value if code.statusCode else None
    assert "EncryptedAssertion" not in r.text and "<saml:Assertion" not in r.text
    return code.value, second, st.statusMessage


# ---- the happy path ----

def test_sso_through_testid(server, sp):
    b = http()
    url, req_id = sp.authn_request(relay="state-42")
    acs = to_acs(server, b, url)
    assert acs.startswith(sp.acs + "?")
    p = acs_params(acs)
    assert p["RelayState"] == "state-42"
    art = base64.b64decode(p["SAMLart"])
    # SAML Bindings §3.6.4: type 0x0004, index 0, SHA-1 of the entityID, 20-byte handle
    import hashlib
    assert art[:2] == b"\x00\x04" and art[2:4] == b"\x00\x00" and len(art) == 44
    assert art[4:24] == hashlib.sha1(sp.idp_id.encode()).digest()

    login, r = sp.resolve(acs)
    assert r.status_code == 200, r.text[:500]
    resolve_id, raw = login.request.id, r.text
    login.processResponseMsg(raw)
    # the ArtifactResponse answers the ArtifactResolve (spec §3)
    assert re.search(r'<samlp:ArtifactResponse[^>]*\bInResponseTo="%s"' % re.escape(resolve_id),
                     raw), raw[:600]
    # one EncryptedAssertion, no plain one, and the ArtifactResponse signed
    assert raw.count("EncryptedAssertion>") == 2 and "<saml:Assertion" not in raw
    assert re.search(r"<samlp:ArtifactResponse[^>]*>.*?<saml:Issuer>[^<]*</saml:Issuer>"
                     r"<(ds:)?Signature", raw, re.S), raw[:600]
    assert "xmlenc#aes128-cbc" in raw and "rsa-oaep-mgf1p" in raw
    a = login.assertion
    assert a.issuer.content == sp.idp_id
    nid = a.subject.nameID
    assert nid.format == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    assert nid.nameQualifier == sp.idp_id and nid.sPNameQualifier == sp.entity_id
    assert len(nid.content) == 43
    conf = a.subject.subjectConfirmation
    assert conf.method == "urn:oasis:names:tc:SAML:2.0:cm:bearer"
    assert conf.subjectConfirmationData.recipient == sp.acs
    assert conf.subjectConfirmationData.inResponseTo == req_id
    assert login.response.inResponseTo == req_id
    assert a.conditions.audienceRestriction[0].audience == sp.entity_id
    (st,) = a.authnStatement
    assert st.sessionIndex and not st.sessionNotOnOrAfter
    assert st.authnContext.authnContextClassRef == AC + "PasswordProtectedTransport"
    attrs = attributes(a)
    assert attrs == {"uid": [PID], "SecurityLevel": ["3"], "Culture": ["nb"],
                     "AuthMethod": ["TestID"]}


def test_nameid_pairwise_and_stable(server, sp, sp2):
    def nameid(s, pid):
        url, _ = s.authn_request()
        login, _ = resolved(s, to_acs(server, http(), url, pid=pid))
        return login.assertion.subject.nameID.content

    a1, a2 = nameid(sp, PID), nameid(sp, PID)
    assert a1 == a2
    assert nameid(sp2, PID) != a1
    assert nameid(sp, PID2) != a1


def test_sso_shared_with_oidc_both_ways(server, sp, new_client):
    # SAML first: an OIDC client then logs in without the eID page
    b = http()
    url, _ = sp.authn_request()
    resolved(sp, to_acs(server, b, url))
    client = new_client()
    login(server, client, b, expect_eid=False)
    # OIDC first: a SAML SP then gets its assertion without the eID page
    b2 = http()
    login(server, new_client(), b2, pid=PID2, expect_eid=True)
    url, _ = sp.authn_request()
    lg, _ = resolved(sp, to_acs(server, b2, url, expect_eid=False))
    assert attributes(lg.assertion)["uid"] == [PID2]


def test_force_authn_shows_the_eid_again(server, sp):
    b = http()
    url, _ = sp.authn_request()
    resolved(sp, to_acs(server, b, url))
    url, _ = sp.authn_request(force=True)
    resolved(sp, to_acs(server, b, url, expect_eid=True))


def test_smartcard_asks_for_high(server, sp):
    url, _ = sp.authn_request(classes=[AC + "SmartcardPKI"])
    login_, _ = resolved(sp, to_acs(server, http(), url, acr=HIGH))
    assert attributes(login_.assertion)["SecurityLevel"] == ["4"]
    st = login_.assertion.authnStatement[0]
    assert st.authnContext.authnContextClassRef == AC + "SmartcardPKI"


def test_unknown_class_is_no_authn_context(server, sp):
    url, _ = sp.authn_request(classes=[AC + "Kerberos"])
    r = http().get(url, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(sp.acs)
    top, second, _ = status_of(sp, r.headers["Location"])
    assert (top, second) == (STATUS + "Requester", STATUS + "NoAuthnContext")


def test_is_passive_is_no_passive(server, sp):
    url, _ = sp.authn_request(passive=True, relay="p")
    r = http().get(url, allow_redirects=False)
    assert r.status_code == 302
    assert acs_params(r.headers["Location"])["RelayState"] == "p"
    top, second, _ = status_of(sp, r.headers["Location"])
    assert (top, second) == (STATUS + "Responder", STATUS + "NoPassive")


def test_cancel_is_authn_failed(server, sp):
    b = http()
    url, _ = sp.authn_request()
    r = follow(server, b, b.get(url, allow_redirects=False))
    t = open_testid(server, b, r)
    from conftest import Page, submit_form
    page = Page(t.text)
    form = next(f for f in page.forms if "cancel" in (f.get("action") or ""))
    r = b.post(server.url(urlsplit(form["action"]).path) if form["action"].startswith("http")
               else server.url(form["action"]), data=dict(form["fields"]), allow_redirects=False)
    r = follow(server, b, r)
    assert r.status_code == 302 and r.headers["Location"].startswith(sp.acs), r.text[:300]
    top, second, _ = status_of(sp, r.headers["Location"])
    assert (top, second) == (STATUS + "Responder", STATUS + "AuthnFailed")


def test_locale_becomes_culture(server, sp):
    url, _ = sp.authn_request()
    lg, _ = resolved(sp, to_acs(server, http(), url + "&locale=en"))
    assert attributes(lg.assertion)["Culture"] == ["en"]


# ---- artifacts ----

def test_artifact_resolves_once(server, sp):
    acs = to_acs(server, http(), sp.authn_request()[0])
    resolved(sp, acs)
    login_, r = sp.resolve(acs)
    assert r.status_code == 200
    assert "EncryptedAssertion" not in r.text and "samlp:Response" not in r.text


def test_artifact_of_another_sp(server, sp, sp2):
    acs = to_acs(server, http(), sp.authn_request()[0])
    # sp2 presents sp's artifact: nothing for it, and the artifact stays for sp
    _, r = sp2.resolve(acs.replace(sp.acs, sp2.acs))
    assert r.status_code == 200 and "EncryptedAssertion" not in r.text
    login_, _ = resolved(sp, acs)
    assert attributes(login_.assertion)["uid"] == [PID]


def test_artifact_resolve_unsigned_or_forged(server, sp, keys):
    acs = to_acs(server, http(), sp.authn_request()[0])
    rogue = SP(server, sp.entity_id, *keys["rogue"])  # same entityID, another key
    before = stored_docs(server)
    _, r = rogue.resolve(acs)
    assert r.status_code == 403 and "Fault" in r.text
    for body in ("", "<x/>", "not xml",
                 '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
                 "<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'>"
                 "<s:Body/></s:Envelope>", "x" * 70000):
        r = server.post("/saml/artifact", data=body, headers={"Content-Type": "text/xml"})
        # the HTTP layer's own body limit may answer first
        assert r.status_code == 413 or (r.status_code == 400 and "Fault" in r.text), \
            (body[:40], r.status_code, r.text)
    # nothing stored or taken: the artifact is still there for its SP
    assert stored_docs(server) <= before
    resolved(sp, acs)


def expire_docs(server, kind):
    """Move the store's documents of kind past their expiry."""
    import time
    store_sql(server, f"UPDATE docs SET expires_at = {int(time.time()) - 1} WHERE kind = '{kind}'")


def test_artifact_expired(server, sp):
    acs = to_acs(server, http(), sp.authn_request()[0])
    expire_docs(server, "saml_art")
    _, r = sp.resolve(acs)
    assert r.status_code == 200, r.text
    assert "EncryptedAssertion" not in r.text and "samlp:Response" not in r.text


def test_artifact_resolve_signature_wrapping(server, sp):
    """
    XML signature wrapping: the SP's signed ArtifactResolve for one artifact
    moved inside, or next to, a forged one that names another artifact of
    the same SP.  Refused with a SOAP fault; both artifacts stay for the SP.
    """
    b = http()
    acs1 = to_acs(server, b, sp.authn_request()[0])
    acs2 = to_acs(server, b, sp.authn_request()[0], expect_eid=False)
    art1, art2 = acs_params(acs1)["SAMLart"], acs_params(acs2)["SAMLart"]
    login_ = lasso.Login(sp.lasso_server())
    login_.initRequest(acs1.split("?", 1)[1], lasso.HTTP_METHOD_ARTIFACT_GET)
    login_.buildRequestMsg()
    env = login_.msgBody
    m = re.search(r"<samlp:ArtifactResolve\b.*</samlp:ArtifactResolve>", env, re.S)
    assert m and art1 in m.group(0), env
    signed = m.group(0)
    head = re.match(r"<samlp:ArtifactResolve\b[^>]*>", signed).group(0)
    forged_head = re.sub(r'\bID="[^"]+"', 'ID="_wrapper1"', head)
    issuer = re.search(r"<saml:Issuer\b.*?</saml:Issuer>", signed, re.S).group(0)
    sig = re.search(r"<(ds:)?Signature\b.*?</(ds:)?Signature>", signed, re.S).group(0)
    unsigned = signed.replace(sig, "")
    forged_art = f"<samlp:Artifact>{art2}</samlp:Artifact></samlp:ArtifactResolve>"
    variants = {
        # the signed original inside the forged root's Extensions
        "wrapped": forged_head + issuer + "<samlp:Extensions>" + signed + "</samlp:Extensions>"
        + forged_art,
        # the original's Signature on the forged root, the original beside it
        "moved signature": forged_head + issuer + sig + "<samlp:Extensions>" + unsigned
        + "</samlp:Extensions>" + forged_art,
        # the signed original with its artifact swapped
        "swapped artifact": signed.replace(art1, art2),
        # the original's ID on the forged one
        "same ID": head + issuer + sig + forged_art,
    }
    before = stored_docs(server)
    for name, msg in variants.items():
        r = server.post("/saml/artifact", data=env.replace(signed, msg), headers=SOAP_HEADERS)
        assert r.status_code in (400, 403) and "Fault" in r.text, (name, r.status_code, r.text)
        assert "EncryptedAssertion" not in r.text
    assert stored_docs(server) <= before
    for acs in (acs2, acs1):
        lg, _ = resolved(sp, acs)
        assert attributes(lg.assertion)["uid"] == [PID]


# ---- hostile AuthnRequests: an error page, no SAML response ----

def sign_query(key_path, query):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    with open(key_path, "rb") as f:
        k = serialization.load_pem_private_key(f.read(), None)
    sig = k.sign(query.encode(), padding.PKCS1v15(), hashes.SHA256())
    return query + "&Signature=" + quote(base64.b64encode(sig).decode(), safe="")


def raw_request(server, key_path, xml, relay=None, deflate=True):
    """An HTTP-Redirect URL for hand-made XML, signed with key_path (RSA-SHA256)."""
    data = xml.encode() if isinstance(xml, str) else xml
    if deflate:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        data = c.compress(data) + c.flush()
    q = "SAMLRequest=" + quote(base64.b64encode(data).decode(), safe="")
    if relay is not None:
        q += "&RelayState=" + quote(relay, safe="")
    q += "&SigAlg=" + quote("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", safe="")
    return server.url("/saml/sso?") + sign_query(key_path, q)


def authn_xml(sp, req_id="_a1b2c3", instant=None, extra="", attrs=""):
    import datetime
    instant = instant or datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    return (f'<samlp:AuthnRequest xmlns:samlp="{NS["samlp"]}" xmlns:saml="{NS["saml"]}" '
            f'ID="{req_id}" Version="2.0" IssueInstant="{instant}" {attrs}>'
            f'<saml:Issuer>{sp.entity_id}</saml:Issuer>{extra}</samlp:AuthnRequest>')


def refused_page(server, url, why):
    """An error page at the IdP, no SAML response, and nothing kept in the store."""
    before = stored_docs(server)
    r = http().get(url, allow_redirects=False)
    assert stored_docs(server) <= before
    if why in ("over", "oversized") and r.status_code == 414:
        return r  # the HTTP layer's URL limit came first
    assert r.status_code == 400, (r.status_code, r.headers.get("Location"), r.text[:300])
    assert "Location" not in r.headers
    assert why in r.text, (why, r.text[-1500:])
    return r


def test_hand_made_request_with_on_behalf_of(server, sp, keys):
    ext = ('<samlp:Extensions><idpe:OnBehalfOf xmlns:idpe="https://idporten.difi.no/'
           'idporten-extensions">Kommune123</idpe:OnBehalfOf></samlp:Extensions>')
    url = raw_request(server, keys["sp"][0], authn_xml(sp, "_obo1", extra=ext), relay="r")
    lg, _ = resolved(sp, to_acs(server, http(), url))
    assert attributes(lg.assertion)["OnBehalfOf"] == ["Kommune123"]
    bad = ext.replace("Kommune123", "Kom mune<x/>")
    refused_page(server, raw_request(server, keys["sp"][0], authn_xml(sp, "_obo2", extra=bad)),
                 "OnBehalfOf")


def test_unsigned_request(server, sp):
    url, _ = sp.authn_request()
    unsigned = re.sub(r"&Signature=[^&]*", "", url)
    refused_page(server, unsigned, "not signed")
    no_alg = re.sub(r"&SigAlg=[^&]*", "", url)
    refused_page(server, no_alg, "refused")


def test_wrongly_signed_request(server, sp, keys):
    url, _ = sp.authn_request()
    # the right request with another key's signature
    forged = raw_request(server, keys["rogue"][0], authn_xml(sp, "_forged"))
    refused_page(server, forged, "refused")
    # a valid signature over a request altered afterwards
    q = parse_qs(urlsplit(url).query)
    data = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15).replace(
        b"ForceAuthn", b"ForceAuthX")
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    tampered = re.sub(r"SAMLRequest=[^&]*", "SAMLRequest=" + quote(
        base64.b64encode(c.compress(data) + c.flush()).decode(), safe=""), url)
    refused_page(server, tampered, "refused")


def test_unknown_sp(server, keys):
    class Unknown:
        entity_id = "https://unknown.example.no/saml"
    refused_page(server, raw_request(server, keys["rogue"][0], authn_xml(Unknown)),
                 "unknown service provider")


def test_replayed_request(server, sp):
    url, _ = sp.authn_request()
    b = http()
    r = b.get(url, allow_redirects=False)
    assert r.status_code == 302 and "/authorize" in r.headers["Location"]
    r = http().get(url, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(sp.acs)
    top, second, msg = status_of(sp, r.headers["Location"])
    assert top == STATUS + "Requester" and "replay" in msg


@pytest.mark.parametrize("instant", ["2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "yesterday"])
def test_issue_instant_outside_skew(server, sp, keys, instant):
    url = raw_request(server, keys["sp"][0], authn_xml(sp, "_t" + str(abs(hash(instant))),
                                                       instant=instant))
    r = http().get(url, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(sp.acs)
    top, _, msg = status_of(sp, r.headers["Location"])
    assert top == STATUS + "Requester" and "IssueInstant" in msg


def test_foreign_acs_and_post_binding(server, sp):
    # lasso refuses both against the SP's metadata: an error page, and never
    # a redirect to the foreign address
    url, _ = sp.authn_request(acs_url="https://evil.example.com/acs")
    r = http().get(url, allow_redirects=False)
    assert "evil.example.com" not in r.headers.get("Location", "")
    if r.status_code == 302:
        assert r.headers["Location"].startswith(sp.acs)
        assert "AssertionConsumerServiceURL" in status_of(sp, r.headers["Location"])[2]
    else:
        assert r.status_code == 400 and "refused" in r.text
    # HTTP-POST asked for: the answer comes by the registered Artifact ACS (spec §7)
    url, _ = sp.authn_request(binding=POST)
    r = http().get(url, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(sp.acs), r.text[:300]
    top, second, msg = status_of(sp, r.headers["Location"])
    assert (top, second) == (STATUS + "Requester", STATUS + "UnsupportedBinding")
    assert "ProtocolBinding" in msg


def test_version_mismatch(server, sp, keys):
    url = raw_request(server, keys["sp"][0],
                      authn_xml(sp, "_v1").replace('Version="2.0"', 'Version="3.0"'))
    r = http().get(url, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"].startswith(sp.acs), r.text[:300]
    top, second, _ = status_of(sp, r.headers["Location"])
    assert (top, second) == (STATUS + "VersionMismatch", None)


def test_malformed_requests(server, sp, keys):
    k = keys["sp"][0]
    cases = [
        (server.url("/saml/sso"), "no SAMLRequest"),
        (server.url("/saml/sso?SAMLRequest=%%%"), "not base64"),
        (server.url("/saml/sso?SAMLRequest=!!notbase64!!"), "not base64"),
        (server.url("/saml/sso?SAMLRequest=" + quote(base64.b64encode(b"not deflate").decode())),
         "not DEFLATE"),
        (raw_request(server, k, "<not-closed", deflate=True), "not well-formed"),
        (raw_request(server, k, '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">'
                     '<!ENTITY b "&a;&a;&a;&a;">]>' + authn_xml(sp, "_dtd")), "DOCTYPE"),
        (raw_request(server, k, '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM '
                     '"file:///etc/passwd">]>' + authn_xml(sp, "_xxe")), "DOCTYPE"),
        (raw_request(server, k, authn_xml(sp).replace("AuthnRequest", "LogoutRequest")),
         "not an AuthnRequest"),
        (raw_request(server, k, authn_xml(sp, extra="<!--" + "x" * 70000 + "-->")), "over"),
        (raw_request(server, k, authn_xml(sp, "_relay"), relay="r" * 81), "RelayState"),
        (server.url("/saml/sso?SAMLRequest=" + "A" * 20000), "oversized"),
    ]
    for url, why in cases:
        refused_page(server, url, why)
    # a deflate bomb: small on the wire, far over the limit inflated
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = bomb.compress(authn_xml(sp, extra="<!--" + " " * 5_000_000 + "-->").encode())
    data += bomb.flush()
    url = (server.url("/saml/sso?SAMLRequest=") + quote(base64.b64encode(data).decode(), safe=""))
    refused_page(server, url, "over")


# ---- one query, read one way: the proxy's parser and lasso's must agree ----

SHA256 = quote("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", safe="")


def deflated(xml):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return quote(base64.b64encode(c.compress(xml.encode()) + c.flush()).decode(), safe="")


def signature_of(key_path, query):
    return sign_query(key_path, query).split("&Signature=", 1)[1]


def test_smuggled_on_behalf_of(server, sp, keys):
    """
    A second SAMLRequest after a ';': lasso splits there and verifies the
    last (the SP's, signed), the proxy read the first (unsigned, with an
    OnBehalfOf of the user's choosing).  Refused before anything is kept.
    """
    signed = deflated(authn_xml(sp, "_smuggle_b"))
    ext = ('<samlp:Extensions><idpe:OnBehalfOf xmlns:idpe="https://idporten.difi.no/'
           'idporten-extensions">Evil999</idpe:OnBehalfOf></samlp:Extensions>')
    forged = deflated(authn_xml(sp, "_smuggle_a", extra=ext))
    sig = signature_of(keys["sp"][0], f"SAMLRequest={signed}&RelayState=r&SigAlg={SHA256}")
    url = server.url("/saml/sso?") + (f"SAMLRequest={forged}&RelayState=r&SigAlg={SHA256}"
                                      f";SAMLRequest={signed}&Signature={sig}")
    refused_page(server, url, "raw semicolon")


def test_relay_state_twice(server, sp, keys):
    """The limit read one RelayState, lasso verified and echoed the other."""
    req = deflated(authn_xml(sp, "_relay_twice"))
    long = "L" * 300
    sig = signature_of(keys["sp"][0], f"SAMLRequest={req}&RelayState={long}&SigAlg={SHA256}")
    url = server.url("/saml/sso?") + (f"SAMLRequest={req}&RelayState=x&RelayState={long}"
                                      f"&SigAlg={SHA256}&Signature={sig}")
    r = refused_page(server, url, "RelayState given more than once")
    assert long not in r.text


@pytest.mark.parametrize("name, why", [
    ("SAMLRequest", "SAMLRequest given more than once"),
    ("RelayState", "RelayState given more than once"),
    ("SigAlg", "SigAlg given more than once"),
    ("Signature", "Signature given more than once"),
    ("Relay%53tate", "RelayState given more than once"),   # a percent-encoded twin
    ("SAMLResponse", "SAMLRequest and SAMLResponse together"),
])
def test_repeated_parameter(server, sp, name, why):
    url, _ = sp.authn_request(relay="rs")
    value = re.search(name.replace("%53", "S") + r"=([^&]*)", url)
    refused_page(server, url + f"&{name}=" + (value.group(1) if value else "x"), why)


def test_semicolon_anywhere(server, sp):
    url, _ = sp.authn_request(relay="rs")
    for bad in (url + ";locale=en", url.replace("&RelayState=", ";RelayState=")):
        refused_page(server, bad, "raw semicolon")
    # encoded, it is just a character of a value
    lg, _ = resolved(sp, to_acs(server, http(), sp.authn_request(relay="a;b")[0]))
    assert lg.assertion is not None


def test_hostile_left_nothing_broken(server, sp):
    # after all of the above the SP is registered as before and logs in
    assert sp.entity_id in [s["entity_id"] for s in sp_list(server)]
    lg, _ = resolved(sp, to_acs(server, http(), sp.authn_request()[0]))
    assert attributes(lg.assertion)["uid"] == [PID]


def test_callback_without_flow(server):
    r = http().get(server.url("/saml/callback"), params={"state": "x" * 43, "code": "c"},
                   allow_redirects=False)
    assert r.status_code == 400 and "another browser" in r.text
    b = http()
    b.cookies.set("porten_saml", "y" * 43, path="/saml/")
    r = b.get(server.url("/saml/callback"), params={"state": "y" * 43, "code": "c"},
              allow_redirects=False)
    assert r.status_code == 400 and "expired" in r.text


# ---- per-SP algorithms (spec §8) and more than one node ----

def test_assertion_is_signed(server, sp):
    lg, _ = resolved(sp, to_acs(server, http(), sp.authn_request()[0]))
    xml = lg.assertion.exportToXml()
    assert "rsa-sha256" in xml and "SignatureValue" in xml


def test_sha1_and_aes256_per_sp(server, keys, tmp_path):
    legacy = SP(server, "https://legacy.example.no/saml", *keys["sp2"],
                sig=lasso.SIGNATURE_METHOD_RSA_SHA1)
    legacy.register(tmp_path, "--sig-alg", "rsa-sha1", "--enc", "aes256-cbc")
    lg, raw = resolved(legacy, to_acs(server, http(), legacy.authn_request()[0]))
    assert "xmldsig#rsa-sha1" in raw and "xmlenc#aes256-cbc" in raw
    assert "xmldsig#rsa-sha1" in lg.assertion.exportToXml()


def test_aes256_gcm_per_sp(server, sp, keys, tmp_path):
    """spec §8: an SP registered for GCM gets it (by xmlsec); the others keep CBC."""
    gcm = SP(server, "https://gcm.example.no/saml", *keys["sp2"])
    gcm.register(tmp_path, "--enc", "aes256-gcm")
    url, req_id = gcm.authn_request()
    lg, raw = resolved(gcm, to_acs(server, http(), url))
    assert raw.count("EncryptedAssertion>") == 2 and "<saml:Assertion" not in raw
    methods = re.findall(r'EncryptionMethod Algorithm="([^"]+)"', raw)
    assert methods == ["http://www.w3.org/2009/xmlenc11#aes256-gcm",
                       "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"], methods
    assert "aes128-cbc" not in raw and "aes256-cbc" not in raw
    # decrypted by the SP's key, signed by the IdP, and the right person
    a = lg.assertion
    assert a.issuer.content == gcm.idp_id and "SignatureValue" in a.exportToXml()
    assert a.subject.subjectConfirmation.subjectConfirmationData.inResponseTo == req_id
    assert a.conditions.audienceRestriction[0].audience == gcm.entity_id
    assert attributes(a) == {"uid": [PID], "SecurityLevel": ["3"], "Culture": ["nb"],
                             "AuthMethod": ["TestID"]}
    # the answer read with another key: no assertion comes out of it
    login, r = gcm.resolve(to_acs(server, http(), gcm.authn_request()[0]))
    other = SP(server, gcm.entity_id, *keys["sp"])
    other.metadata = gcm.metadata
    wrong = lasso.Login(other.lasso_server())
    try:
        wrong.processResponseMsg(r.text)
    except lasso.Error:
        pass
    assert wrong.assertion is None
    # a CBC SP is unchanged
    _, raw = resolved(sp, to_acs(server, http(), sp.authn_request()[0]))
    assert "xmlenc#aes128-cbc" in raw and "aes256-gcm" not in raw


def test_another_node_resolves_the_artifact(server, sp, keys, tmp_path):
    """Two portend on one store: the artifact issued by one resolves at the other."""
    from conftest import Server
    env = {k: v for k, v in server.env.items() if k.startswith("PORTEN_")}
    env.update(sanitizer_env())
    env.pop("PORTEN_LISTEN", None)
    env.pop("PORTEN_ISSUER", None)
    env.setdefault("PORTEN_STORE", f"{server.data}/porten.db")
    other = Server(tmp_path, env)
    other.env["PORTEN_ISSUER"] = server.issuer  # the same issuer, as behind a load balancer
    other.start()
    try:
        acs = to_acs(server, http(), sp.authn_request()[0])
        node_b = SP(other, sp.entity_id, *keys["sp"])
        node_b.idp_metadata, node_b.idp_id = sp.idp_metadata, sp.idp_id
        lg, _ = resolved(node_b, acs)
        assert attributes(lg.assertion)["uid"] == [PID]
        # and it is spent for the first node as well
        _, r = sp.resolve(acs)
        assert "EncryptedAssertion" not in r.text
    finally:
        other.stop()


# ---- billing (spec/billing.md §2) ------------------------------------------------

def test_a_saml_login_is_counted_for_the_sps_organisation(server, keys, tmp_path):
    from test_billing import orgno, stats, totals
    org = orgno(7000 + uuid.uuid4().int % 10**6)
    billed = SP(server, "https://billed.example.no/saml", *keys["sp2"])
    reg = billed.register(tmp_path, "--orgno", org)
    assert reg["orgno"] == org
    before = totals(server)
    b = http()
    resolved(billed, to_acs(server, b, billed.authn_request()[0]))            # an eID login
    resolved(billed, to_acs(server, b, billed.authn_request()[0], expect_eid=False))  # SSO
    after = totals(server)
    # both counted for the SP's organisation (one eID login, one SSO login; TestID
    # is never billed), nothing for the proxy's client's
    assert after[org] == [1, 1, 0], after.get(org)
    grown = {k: [x - y for x, y in zip(v, before.get(k, [0, 0, 0]))] for k, v in after.items()}
    assert {k: v for k, v in grown.items() if any(v)} == {org: [1, 1, 0]}, grown
    rows = [r for r in stats(server, "auth") if r["customer"] == org]
    assert {r["client_id"] for r in rows} == {"porten-saml-proxy"}
