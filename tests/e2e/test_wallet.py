"""
The EU Digital Identity Wallet as an eID (spec/eudi-wallet.md): a test
wallet (walletkit.py) answers Porten's OpenID4VP requests, honestly and
not, in the cross-device (QR) and same-device flows.  The browser asks for
no language, so the pages are in bokmål.
"""

import json
import os
import re
import sqlite3
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urljoin

import pytest

from conftest import (HIGH, PID, PID2, PORTEND, TIMEOUT, Page, auth_params, authorize, classify,
                      po_catalogues, start, submit_form, url_params, pending_ar)
from walletkit import Pki, Wallet, dc_answer, dc_request, status_list_token

LISTS = {}
EIDAS_HIGH = "eidas-loa-high"


class StatusLists(BaseHTTPRequestHandler):
    """The PID provider's status lists: LISTS[path] is the token to serve."""

    def log_message(self, *a):
        pass

    def do_GET(self):
        body = LISTS.get(self.path)
        if body is None or self.headers.get("Accept") != "application/statuslist+jwt":
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/statuslist+jwt")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.fixture(scope="module")
def lists():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), StatusLists)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return Pki(str(tmp_path_factory.mktemp("wallet-pki")))


@pytest.fixture(scope="module")
def server_env(pki):
    return pki.env()


class Attempt:
    """A browser at Porten's wallet page, waiting for the wallet."""

    def __init__(self, server, browser, client, mode):
        self.server, self.b, self.c = server, browser, client
        # spec §1: the wallet is offered beside the Norwegian eIDs when eIDAS is asked for
        self.params, self.verifier = auth_params(client, acr_values=f"{HIGH} {EIDAS_HIGH}")
        r = authorize(server, browser, self.params)
        links = [l["href"] for l in Page(r.text).links if l["href"] and "/wallet?" in l["href"]]
        assert links, r.text[:800]
        r = browser.get(urljoin(r.url, links[0]) + "&mode=" + mode, allow_redirects=False,
                        timeout=TIMEOUT)
        assert r.status_code == 200, r.text[:800]
        self.page = r
        p = Page(r.text)
        self.link = [l["href"] for l in p.links if l["id"] == "wallet-link"][0]
        assert p.meta_refresh and "/wallet/status?" in p.meta_refresh[0]
        assert ("<svg" in r.text) == (mode == "qr")

    def poll(self):
        """What the page's reload (or its button) brings: a page or the client's answer."""
        r = submit_form(self.b, self.page, "wallet-poll")
        return classify(self.server, r, self.c.redirect_uri, self.params, self.verifier)


def assert_no_session(server, client, browser):
    res = start(server, client, browser, prompt="none")
    assert res.kind == "redirect" and res.error == "login_required", res


def check_tokens(server, client, res, pid=PID):
    assert res.kind == "redirect" and res.code, res
    _, idc = server.verify(client.tokens(res)["id_token"])
    assert idc.get("pid") == pid and idc["acr"] == EIDAS_HIGH and idc["amr"] == ["eudiw"], idc
    if pid == PID:  # a Norwegian PID: the number as usual, no eidas_* claims (§7)
        assert "eidas_identifier" not in idc and "eidas_firstname" not in idc, idc
        assert "nationalities" not in idc, idc
    return idc


def access_claims(server, client, res):
    """The ID token's and the access token's claims of one login."""
    tokens = client.tokens(res)
    return server.verify(tokens["id_token"])[1], server.verify(tokens["access_token"])[1]


def test_cross_device(server, pki, new_client, new_browser):
    c, b = new_client(), new_browser()
    a = Attempt(server, b, c, "qr")
    assert a.poll().resp.status_code == 200  # still waiting
    w = Wallet(pki)
    req = w.fetch_request(a.link, wallet_nonce="wn-123")
    w.fetch_request(a.link)  # a second fetch works too (conformance suite)
    r = w.answer(req)
    assert r.status_code == 200 and r.json() == {}, r.text
    check_tokens(server, c, a.poll())
    # the transaction is spent: the same answer again is refused
    assert w.answer(req).status_code == 400


def test_same_device(server, pki, new_client, new_browser):
    c, b = new_client(), new_browser()
    a = Attempt(server, b, c, "same")
    w = Wallet(pki)
    req = w.fetch_request(a.link)
    r = w.answer(req, enc="A256GCM")
    assert r.status_code == 200, r.text
    ret = r.json()["redirect_uri"]
    # verified, but on this device only the wallet's return completes the login
    assert a.poll().kind == "page"
    # another browser cannot use the code, and spends it
    other = new_browser()
    r2 = other.get(ret, allow_redirects=False, timeout=TIMEOUT)
    assert r2.status_code == 400
    assert b.get(ret, allow_redirects=False, timeout=TIMEOUT).status_code == 400
    assert_no_session(server, c, b)


def test_same_device_return(server, pki, new_client, new_browser):
    c, b = new_client(), new_browser()
    a = Attempt(server, b, c, "same")
    w = Wallet(pki)
    r = w.answer(w.fetch_request(a.link))
    r = b.get(r.json()["redirect_uri"], allow_redirects=False, timeout=TIMEOUT)
    check_tokens(server, c, classify(server, r, c.redirect_uri, a.params, a.verifier))


@pytest.mark.parametrize("bad,page", [
    ("wrong_nonce", "kunne ikke verifiseres"), ("wrong_aud", "kunne ikke verifiseres"),
    ("iat_past", "kunne ikke verifiseres"), ("iat_future", "kunne ikke verifiseres"),
    ("kb_sig", "kunne ikke verifiseres"), ("wrong_sd_hash", "kunne ikke verifiseres"),
    ("tampered_disclosure", "kunne ikke verifiseres"), ("extra_disclosure", "kunne ikke verifiseres"),
    ("issuer_sig", "kunne ikke verifiseres"), ("alg_none", "kunne ikke verifiseres"),
    ("no_kb", "kunne ikke verifiseres"), ("vct", "kunne ikke verifiseres"),
    ("untrusted", "godtas ikke"), ("anchor_in_x5c", "godtas ikke"),
    ("expired", "ikke lenger gyldige"), ("missing_claims", "navn, fødselsdato"),
    # spec §7: a Norwegian PID needs a valid number
    ("no_number", "kunne ikke identifisere"), ("bad_number", "kunne ikke identifisere"),
    # nationalities that are not alpha-2 codes
    ("foreign_bad_nationalities", "kunne ikke verifiseres"),
    # §10: a provider speaks for its anchor's country only, the Norwegian ones for NO only
    ("foreign_claims_se", "godtas ikke"), ("foreign_claims_no", "godtas ikke"),
    ("foreign_jurisdiction_se", "godtas ikke"), ("claims_se", "godtas ikke"),
    # the national PID type and the issuing authority's country code are the anchor's too
    ("foreign_vct_se", "godtas ikke"), ("foreign_vct_no", "godtas ikke"), ("vct_de", "godtas ikke"),
    ("foreign_authority_se", "godtas ikke"), ("authority_se", "godtas ikke"),
])
def test_hostile_presentation(server, pki, new_client, new_browser, bad, page):
    c, b = new_client(), new_browser()
    a = Attempt(server, b, c, "qr")
    w = Wallet(pki)
    req = w.fetch_request(a.link)
    r = w.answer(req, bad=(bad,))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    res = a.poll()
    assert res.kind == "page" and res.resp.status_code in (403, 503), res
    assert page in res.resp.text, res.resp.text[:1500]
    # the honest answer comes too late: the transaction has had its answer
    assert w.answer(req).status_code == 400
    assert_no_session(server, c, b)


@pytest.mark.parametrize("bad", ["unencrypted", "oversized", "wrong_state"])
def test_refused_unread(server, pki, new_client, new_browser, bad):
    """Refused before any transaction is touched: the honest answer still works."""
    c, b = new_client(), new_browser()
    a = Attempt(server, b, c, "qr")
    w = Wallet(pki)
    req = w.fetch_request(a.link)
    r = w.answer(req, bad=(bad,))
    assert r.status_code == 400, r.text
    assert a.poll().kind == "page"
    assert w.answer(req).status_code == 200
    check_tokens(server, c, a.poll())


def test_wallet_declines(server, pki, new_client, new_browser):
    c, b = new_client(), new_browser()
    a = Attempt(server, b, c, "qr")
    w = Wallet(pki)
    req = w.fetch_request(a.link)
    r = w.http.post(req["response_uri"], data={"error": "access_denied", "state": req["state"]},
                    timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    res = a.poll()
    assert res.kind == "page" and "avbrutt" in res.resp.text
    assert_no_session(server, c, b)


def test_hostile_requests(server, pki, new_client, new_browser):
    c, b = new_client(), new_browser()
    a = Attempt(server, b, c, "qr")
    w = Wallet(pki)
    req = w.fetch_request(a.link)
    base = req["response_uri"]
    # garbage, a JWE to nobody, an unknown request id
    for data in ({"response": "a.b.c.d.e"}, {"response": "x" * 100}, {}):
        assert w.http.post(base, data=data, timeout=TIMEOUT).status_code == 400
    r = w.http.get(server.url("/wallet/request?id=nope"), timeout=TIMEOUT)
    assert r.status_code == 404
    # the status page of another login's transaction is refused in this browser
    r = b.get(server.url("/wallet/status?ar=x&tx=y"), allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code in (400, 403)
    # a transaction that ran out (or never was) in this browser's login
    ar = dict(Page(a.page.text).form("wallet-poll")["fields"])["ar"]
    r = b.get(server.url(f"/wallet/status?ar={ar}&tx=" + "A" * 43), allow_redirects=False,
              timeout=TIMEOUT)
    assert r.status_code == 403 and "tok for lang tid" in r.text, r.text[:1000]
    # a QR code that ran out is re-issued: a new transaction, a new code
    r = b.get(server.url(f"/wallet/status?ar={ar}&qr=1&tx=" + "A" * 43), allow_redirects=False,
              timeout=TIMEOUT)
    again = Page(r.text)
    assert r.status_code == 200 and "<svg" in r.text
    assert [l["href"] for l in again.links if l["id"] == "wallet-link"][0] != a.link
    assert w.answer(req).status_code == 200
    check_tokens(server, c, a.poll())


@pytest.mark.parametrize("case,idx,page", [
    ("good", 3, None), ("revoked", 7, "ikke lenger gyldige"), ("suspended", 9, "ikke lenger gyldige"),
    ("rogue", 3, "midlertidig utilgjengelig"), ("gone", 3, "midlertidig utilgjengelig"),
    ("stale", 3, "midlertidig utilgjengelig"),
])
def test_status_list(server, pki, lists, new_client, new_browser, case, idx, page):
    uri = f"{lists}/sl/{case}"
    if case == "rogue":  # signed outside the anchors
        LISTS["/sl/rogue"] = status_list_token(pki, uri, {}, key=(pki.rogue_key, pki.rogue_cert))
    elif case == "stale":
        LISTS["/sl/stale"] = status_list_token(pki, uri, {}, exp_in=-10)
    elif case == "suspended":  # 2-bit entries, 2 = SUSPENDED
        LISTS["/sl/suspended"] = status_list_token(pki, uri, {9: 2, 3: 1}, bits=2)
    elif case != "gone":
        LISTS[f"/sl/{case}"] = status_list_token(pki, uri, {7: 1})
    c, b = new_client(), new_browser()
    a = Attempt(server, b, c, "qr")
    w = Wallet(pki)
    r = w.answer(w.fetch_request(a.link), status={"idx": idx, "uri": uri})
    if page is None:
        assert r.status_code == 200, r.text
        check_tokens(server, c, a.poll())
        return
    assert r.status_code == 400, r.text
    res = a.poll()
    assert res.kind == "page" and page in res.resp.text, res.resp.text[:1500]
    assert_no_session(server, c, b)


@pytest.mark.parametrize("change,message", [
    (None, None),
    ({"PORTEN_WALLET_KEY_FILE": "anchors-no.pem"}, "wallet_key_file: not an EC P-256 private key"),
    ({"PORTEN_WALLET_CERT_FILE": "anchors-no.pem"}, "wallet_cert_file: the first certificate"),
    ({"PORTEN_WALLET_ANCHORS_NO": "", "PORTEN_WALLET_ANCHORS": ""},
     "needs wallet_anchors_no or wallet_anchors"),
    # §10: every foreign anchor is labelled with its country
    ({"PORTEN_WALLET_ANCHORS": "{d}/anchors.pem"},
     "wallet_anchors: {d}/anchors.pem has no country: write CC:path"),
    ({"PORTEN_WALLET_ANCHORS": "de:{d}/anchors.pem"},
     "wallet_anchors: de:{d}/anchors.pem: the country before ':' is not two upper-case letters"),
    ({"PORTEN_WALLET_ANCHORS": "DEU:{d}/anchors.pem"}, "is not two upper-case letters"),
    ({"PORTEN_WALLET_ANCHORS": "DE:{d}/anchors.pem NO:{d}/anchors-no.pem"},
     "wallet_anchors: NO:{d}/anchors-no.pem: Norwegian anchors belong in wallet_anchors_no"),
    ({"PORTEN_WALLET_ANCHORS_NO": "SE:{d}/anchors-no.pem"},
     "wallet_anchors_no: SE: the Norwegian anchors are labelled NO or not at all"),
    ({"PORTEN_WALLET_ANCHORS": "DE:{d}/missing.pem"}, "wallet_anchors: "),
    ({"PORTEN_WALLET_ANCHORS_NO": "NO:{d}/anchors-no.pem",
      "PORTEN_WALLET_ANCHORS": "DE:{d}/anchors.pem,SE:{d}/anchors-se.pem"}, None),
])
def test_check_config(server, pki, change, message):
    env = dict(server.env)
    d = os.path.dirname(pki.files["verifier.key"])
    message = message and message.format(d=d)
    for k, v in (change or {}).items():
        env[k] = v.format(d=d) if "{d}" in v else os.path.join(d, v) if v else v
    p = subprocess.run([PORTEND, "--check-config"], env=env, capture_output=True, text=True,
                       timeout=60, cwd=server.workdir)
    if message is None:
        assert p.returncode == 0, p.stderr
    else:
        assert p.returncode != 0 and message in p.stderr, p.stderr


def test_offered_with_eidas_only(server, pki, new_client, new_browser):
    c = new_client()
    # not without an eidas-loa-* value, nor by its address then
    b = new_browser()
    r = authorize(server, b, auth_params(c, acr_values=HIGH)[0])
    assert r.status_code == 200 and 'id="eid-wallet"' not in r.text and 'id="eid-testid"' in r.text
    ar = pending_ar(r)
    assert b.get(server.url(f"/wallet?ar={ar}"), timeout=TIMEOUT).status_code == 400
    # eIDAS only, and the wallet the one eIDAS eID: straight to the wallet page
    r = authorize(server, new_browser(), auth_params(c, acr_values=EIDAS_HIGH)[0])
    assert r.status_code == 200 and "/wallet/status?" in Page(r.text).meta_refresh[0]


def test_foreign_pid(server, pki, new_client, new_browser, tmp_path):
    """§7: a foreign PID logs in with its eidas_* claims; a pid only after a register match."""
    c = new_client()
    a = Attempt(server, new_browser(), c, "qr")
    w = Wallet(pki)
    assert w.answer(w.fetch_request(a.link), bad=("foreign",)).status_code == 200
    idc = check_tokens(server, c, a.poll(), pid=None)
    assert idc["eidas_identifier"] == "DE/NO/T22000129" and idc["eidas_firstname"] == "Kari"
    assert idc["eidas_lastname"] == "Nordmann" and idc["eidas_date_of_birth"] == "1994-07-21"
    reg = tmp_path / "people.json"
    reg.write_text(json.dumps([{"pid": PID2, "foreign": [{"country": "DE", "id": "T22000129"}]}]))
    server.ctl("person", "import", str(reg))
    a = Attempt(server, new_browser(), c, "qr")
    assert w.answer(w.fetch_request(a.link), bad=("foreign",)).status_code == 200
    check_tokens(server, c, a.poll(), pid=PID2)


def test_foreign_pid_of_another_country(server, pki, new_client, new_browser, tmp_path):
    """
    §10, §7: the German provider cannot speak for Swedes.  Its PID with
    issuing_country SE and a Swedish number that the register holds is
    refused as untrusted, with no login and nothing stored; the Swedish
    provider's PID of the same person logs in as that person.
    """
    reg = tmp_path / "people.json"
    reg.write_text(json.dumps([{"pid": PID2, "foreign": [{"country": "SE", "id": "199001011234"},
                                                          {"country": "DE", "id": "T22000129"}]}]))
    server.ctl("person", "import", str(reg))
    c, b = new_client(), new_browser()
    a = Attempt(server, b, c, "qr")
    w = Wallet(pki)
    req = w.fetch_request(a.link)
    r = w.answer(req, bad=("foreign_claims_se",))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    res = a.poll()
    assert res.kind == "page" and res.resp.status_code == 403, res
    assert "godtas ikke" in res.resp.text, res.resp.text[:1500]
    pg = server.env.get("PORTEN_STORE", "").startswith(("postgres://", "postgresql://"))
    doc = None if pg else stored_tx(server, tx_of(a))
    assert doc is None or (doc["st"] == "failed" and "pid" not in doc and
                           "eidas_identifier" not in doc), doc
    assert w.answer(req).status_code == 400
    assert_no_session(server, c, b)
    # the anchor's own country: the Swedish provider's PID, and the German one's
    # (the EU-wide type, and an authority by name or by its country's code, are any country's)
    for bad, ident in [(("sweden",), "SE/NO/199001011234"), (("foreign",), "DE/NO/T22000129"),
                       (("sweden", "authority_own"), "SE/NO/199001011234"),
                       (("foreign", "foreign_vct_base", "foreign_authority_name"), "DE/NO/T22000129")]:
        a = Attempt(server, new_browser(), c, "qr")
        assert w.answer(w.fetch_request(a.link), bad=bad).status_code == 200
        idc = check_tokens(server, c, a.poll(), pid=PID2)
        assert idc["eidas_identifier"] == ident, idc


@pytest.mark.parametrize("signer,bad,page", [
    # a Norwegian PID's list signed by the German provider
    ("de", (), "midlertidig utilgjengelig"),
    # a Swedish PID's list signed by the German provider, and by the Swedish one
    ("de", ("sweden",), "midlertidig utilgjengelig"),
    ("se", ("sweden",), None),
])
def test_status_list_country(server, pki, lists, new_client, new_browser, signer, bad, page):
    """§10: a status list counts only under an anchor of the credential's country."""
    uri = f"{lists}/sl/country-{signer}-{'-'.join(bad) or 'no'}"
    key = {"de": (pki.foreign_key, pki.foreign_cert), "se": (pki.se_key, pki.se_cert)}[signer]
    LISTS[uri[len(lists):]] = status_list_token(pki, uri, {}, key=key)
    c, b = new_client(), new_browser()
    a = Attempt(server, b, c, "qr")
    w = Wallet(pki)
    req = w.fetch_request(a.link)
    r = w.answer(req, bad=bad, status={"idx": 3, "uri": uri})
    res = a.poll()
    if page is None:
        assert r.status_code == 200, r.text
        assert res.kind == "redirect" and res.code, res
        return
    assert r.status_code == 400, r.text
    assert res.kind == "page" and page in res.resp.text, res.resp.text[:1500]
    assert_no_session(server, c, b)


def test_every_page_text_is_translated():
    """Each text of the wallet's pages (N_ and page_text literals) has its nb, nn, en and se entry."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    catalogues = po_catalogues()
    with open(os.path.join(root, "src", "eid", "wallet", "pages.c"), encoding="utf-8") as f:
        src = re.sub(r'"\s*\n\s*"', "", f.read())
    texts = set(re.findall(r'(?:N_|page_text|page_put|para)\([^"()\n]*"([^"]+)"', src))
    assert len(texts) > 20, texts
    for mid in texts:
        for lang, cat in catalogues.items():
            assert cat.get(mid), f"{mid!r} has no {lang} translation"


def test_foreign_pid_claims(server, pki, new_client, new_browser):
    """§7: nationalities in the ID token when disclosed, never in the access token."""
    c = new_client()
    for bad, nat in [(("foreign",), ["DE"]), (("foreign_two", "two_nationalities"), ["DE", "FR"]),
                     (("foreign_nn", "no_nationalities"), None)]:
        a = Attempt(server, new_browser(), c, "qr")
        w = Wallet(pki)
        assert w.answer(w.fetch_request(a.link), bad=bad).status_code == 200
        res = a.poll()
        assert res.kind == "redirect" and res.code, res
        idc, atc = access_claims(server, c, res)
        assert idc.get("nationalities") == nat, idc
        assert idc["eidas_identifier"] == "DE/NO/T22000129" and idc["amr"] == ["eudiw"], idc
        assert not any(k.startswith("eidas_") or k == "nationalities" for k in atc), atc


def test_foreign_pid_without_number(server, pki, new_client, new_browser):
    """
    §7: a foreign PID without personal_administrative_number has no stable
    identifier: each login gets a random subject of its own, and no
    eidas_identifier; names, birth date and nationalities still come.
    """
    c = new_client()
    subs = []
    for _ in range(2):
        a = Attempt(server, new_browser(), c, "qr")
        w = Wallet(pki)
        assert w.answer(w.fetch_request(a.link), bad=("foreign_no_number",)).status_code == 200
        res = a.poll()
        assert res.kind == "redirect" and res.code, res
        idc, atc = access_claims(server, c, res)
        assert "pid" not in idc and "eidas_identifier" not in idc, idc
        assert idc["eidas_firstname"] == "Kari" and idc["eidas_lastname"] == "Nordmann"
        assert idc["eidas_date_of_birth"] == "1994-07-21" and idc["nationalities"] == ["DE"]
        assert idc["acr"] == EIDAS_HIGH and idc["sub"] == atc["sub"] and "pid" not in atc
        subs.append(idc["sub"])
    # the same person twice: two unrelated subjects, neither made from the name
    assert subs[0] != subs[1], subs


def stored_tx(server, txid):
    db = sqlite3.connect(os.path.join(server.data, "porten.db"))
    try:
        row = db.execute("SELECT doc FROM docs WHERE kind = 'wallet' AND id = ?", (txid,)).fetchone()
        return json.loads(row[0]) if row else None
    finally:
        db.close()


def put_tx(server, txid, doc):
    db = sqlite3.connect(os.path.join(server.data, "porten.db"))
    try:
        db.execute("UPDATE docs SET doc = ? WHERE kind = 'wallet' AND id = ?", (json.dumps(doc), txid))
        db.commit()
    finally:
        db.close()


def tx_of(attempt):
    return dict(Page(attempt.page.text).form("wallet-poll")["fields"])["tx"]


def test_response_key_sealed(server, pki, new_client, new_browser):
    """§5: the store holds the transaction's key sealed under the KEK, bound to its transaction."""
    if server.env.get("PORTEN_STORE", "").startswith(("postgres://", "postgresql://")):
        pytest.skip("reads the SQLite store")
    c = new_client()
    a, other = Attempt(server, new_browser(), c, "qr"), Attempt(server, new_browser(), c, "qr")
    doc = stored_tx(server, tx_of(a))
    text = json.dumps(doc)
    assert doc["key_sealed"].startswith("t1.") and "key" not in doc, doc.keys()
    assert "PRIVATE KEY" not in text and "MII" not in text and '"d"' not in text, text
    # a sealed key moved to another transaction does not open there
    moved = stored_tx(server, tx_of(other))
    moved["key_sealed"] = doc["key_sealed"]
    put_tx(server, tx_of(other), moved)
    w = Wallet(pki)
    q = dict(p.split("=", 1) for p in other.link.split("?", 1)[1].split("&"))
    from urllib.parse import unquote
    assert w.http.get(unquote(q["request_uri"]), timeout=TIMEOUT).status_code == 404
    # the honest one still works, and its outcome keeps no key
    req = w.fetch_request(a.link)
    assert w.answer(req).status_code == 200
    assert "key_sealed" not in stored_tx(server, tx_of(a))
    check_tokens(server, c, a.poll())


# --------------------------------------------------------------------------
# the W3C Digital Credentials API (§4.3): the page's request and its answer
# --------------------------------------------------------------------------

class DcAttempt:
    """A browser at the DC API page: the signed request, the form the answer goes in."""

    def __init__(self, server, browser, client, pki):
        self.server, self.b, self.c = server, browser, client
        self.params, self.verifier = auth_params(client, acr_values=EIDAS_HIGH)
        r = authorize(server, browser, self.params)
        ar = dict(Page(r.text).form("wallet-poll")["fields"])["ar"]
        # without a chosen flow the page offers the DC API (hidden until the script finds it)
        dc = [l["href"] for l in Page(r.text).links if l["id"] == "wallet-dc"]
        assert dc and dc[0].endswith(f"/wallet?ar={ar}&mode=dc"), dc
        self.page = browser.get(urljoin(r.url, dc[0]), allow_redirects=False, timeout=TIMEOUT)
        assert self.page.status_code == 200, self.page.text[:800]
        csp = self.page.headers["Content-Security-Policy"]
        assert "script-src 'nonce-" in csp and "default-src 'none'" in csp, csp
        m = re.search(r'id="wallet-dc-start" data-request="([^"]+)"', self.page.text)
        assert m, self.page.text[:1500]
        self.origin = server.issuer.rstrip("/")
        self.req = dc_request(pki, m.group(1), self.origin)
        self.form = dict(Page(self.page.text).form("wallet-dc-form")["fields"])
        assert set(self.form) == {"ar", "csrf", "tx", "response", "error"}, self.form

    def post(self, data, origin=None, site="same-origin"):
        """The page's form as a browser posts it: Origin, Sec-Fetch-Site, both fields."""
        fields = dict(self.form, response="", error="")
        fields.update(data)
        r = self.b.post(self.server.url("/wallet/dc-response"), data=fields, allow_redirects=False,
                        headers={"Origin": origin or self.origin, "Sec-Fetch-Site": site},
                        timeout=TIMEOUT)
        return classify(self.server, r, self.c.redirect_uri, self.params, self.verifier)


def test_dc_api(server, pki, new_client, new_browser):
    c, b = new_client(), new_browser()
    a = DcAttempt(server, b, c, pki)
    w = Wallet(pki)
    # the request is the page's only: not by reference, and no response_uri answer counts
    r = w.http.get(server.url(f"/wallet/request?id={a.form['tx']}"), timeout=TIMEOUT)
    assert r.status_code == 404
    data = dc_answer(pki, w.holder, a.req, a.origin)
    r = w.http.post(server.url("/wallet/response"), data=data, timeout=TIMEOUT)
    assert r.status_code == 400
    res = a.post(data)
    check_tokens(server, c, res)
    # one presentation, one login: the login is over, and the answer again is refused
    again = a.post(data)
    assert again.kind == "page" and again.resp.status_code in (400, 403), again


def test_dc_api_foreign(server, pki, new_client, new_browser):
    c = new_client()
    a = DcAttempt(server, new_browser(), c, pki)
    w = Wallet(pki)
    res = a.post(dc_answer(pki, w.holder, a.req, a.origin, bad=("foreign_no_number",),
                           enc="A256GCM"))
    assert res.kind == "redirect" and res.code, res
    idc, atc = access_claims(server, c, res)
    assert "pid" not in idc and "eidas_identifier" not in idc and idc["nationalities"] == ["DE"]
    assert idc["amr"] == ["eudiw"] and "nationalities" not in atc, (idc, atc)


@pytest.mark.parametrize("bad,page", [
    # the KB-JWT's aud: another origin, or the client_id of the redirect flows
    ("wrong_origin", "kunne ikke verifiseres"), ("client_id_aud", "kunne ikke verifiseres"),
    ("wrong_nonce", "kunne ikke verifiseres"), ("kb_sig", "kunne ikke verifiseres"),
    ("untrusted", "godtas ikke"), ("error", "avbrutt"),
])
def test_dc_api_hostile(server, pki, new_client, new_browser, bad, page):
    c, b = new_client(), new_browser()
    a = DcAttempt(server, b, c, pki)
    w = Wallet(pki)
    res = a.post(dc_answer(pki, w.holder, a.req, a.origin, bad=(bad,)))
    assert res.kind == "page" and page in res.resp.text, res.resp.text[:1500]
    # the transaction had its answer: the honest one is refused now
    res = a.post(dc_answer(pki, w.holder, a.req, a.origin))
    assert res.kind == "page" and res.resp.status_code == 403, res
    assert_no_session(server, c, b)


@pytest.mark.parametrize("bad", ["unencrypted", "plain_vp_token", "posted_from", "cross_site",
                                 "other_login", "wrong_kid", "nothing"])
def test_dc_api_refused_unread(server, pki, new_client, new_browser, bad):
    """Refused before the transaction is touched: the honest answer still logs in."""
    c, b = new_client(), new_browser()
    a = DcAttempt(server, b, c, pki)
    w = Wallet(pki)
    honest = dc_answer(pki, w.holder, a.req, a.origin)
    origin, site = None, "same-origin"
    if bad == "nothing":
        data = {}
    elif bad == "unencrypted":
        data = dc_answer(pki, w.holder, a.req, a.origin, bad=("unencrypted",))
    elif bad == "plain_vp_token":
        data = {"vp_token": json.dumps({"pid": ["x"]})}
    elif bad == "posted_from":  # the page's form posted from another origin
        data, origin = honest, "https://evil.example"
    elif bad == "cross_site":  # Origin null (no-referrer), but another site by Sec-Fetch-Site
        data, origin, site = honest, "null", "cross-site"
    elif bad == "wrong_kid":  # a JWE to another transaction's key
        other = DcAttempt(server, new_browser(), new_client(), pki)
        data = dc_answer(pki, w.holder, other.req, other.origin)
    else:  # this browser's answer posted into another login of the same browser
        other = DcAttempt(server, b, c, pki)
        data = dict(honest)
        r = b.post(server.url("/wallet/dc-response"), allow_redirects=False, timeout=TIMEOUT,
                   headers={"Origin": a.origin},
                   data=dict(other.form, tx=a.form["tx"], response=data["response"]))
        assert r.status_code == 403 and "kunne ikke verifiseres" in r.text, r.text[:1000]
        data = None
    if data is not None:
        res = a.post(data, origin=origin, site=site)
        assert res.kind == "page" and res.resp.status_code == 403, res
        assert "kunne ikke verifiseres" in res.resp.text, res.resp.text[:1500]
    check_tokens(server, c, a.post(honest))


@pytest.mark.parametrize("bad,status", [
    ("not_a_jwe", 403), ("five_dots", 403), ("long_garbage", 403), ("no_tx", 403),
    ("odd_tx", 403),
    # a form value over the server's limit (16 KiB): the form is not read at all
    ("over_value_limit", 400),
])
def test_dc_api_malformed(server, pki, new_client, new_browser, bad, status):
    """Malformed answers at /wallet/dc-response: a failure page, the transaction untouched."""
    c, b = new_client(), new_browser()
    a = DcAttempt(server, b, c, pki)
    honest = dc_answer(pki, Wallet(pki).holder, a.req, a.origin)
    data = {"not_a_jwe": {"response": "x" * 100}, "five_dots": {"response": "a.b.c.d.e"},
            "long_garbage": {"response": ".".join(["A" * 3000] * 5)},
            "over_value_limit": {"response": ".".join(["A" * 4000] * 5)},
            "no_tx": dict(honest, tx=""), "odd_tx": dict(honest, tx="../" + a.form["tx"])}[bad]
    res = a.post(data)
    assert res.kind == "page" and res.resp.status_code == status, res
    check_tokens(server, c, a.post(honest))


def test_dc_api_body_limit(server, pki, new_client, new_browser):
    """A form over the server's body limit (64 KiB) is refused before the handler."""
    c, b = new_client(), new_browser()
    a = DcAttempt(server, b, c, pki)
    honest = dc_answer(pki, Wallet(pki).holder, a.req, a.origin)
    r = b.post(server.url("/wallet/dc-response"), allow_redirects=False, timeout=TIMEOUT,
               headers={"Origin": a.origin, "Sec-Fetch-Site": "same-origin"},
               data=dict(a.form, response="A" * 70000, error=""))
    assert r.status_code == 413, (r.status_code, r.text[:500])
    check_tokens(server, c, a.post(honest))
