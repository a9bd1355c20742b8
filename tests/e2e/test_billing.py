"""Billing and statistics (spec/billing.md): what is counted, the commands and the run."""

import calendar
import csv
import io
import json
import os
import subprocess
import uuid

import pytest

from conftest import (PID2, Page, auth_params, authorize, classify, create_client, follow, login,
                      open_testid, submit_form, submit_testid)
from test_consent import at_consent, answer

SERVER_ENV = {
    "PORTEN_BILLING_SELLER_NAME": "Digitaliseringsdirektoratet",
    "PORTEN_BILLING_SELLER_ORGNO": "991825827",
    "PORTEN_BILLING_SELLER_STREET": "Postboks 1382 Vika",
    "PORTEN_BILLING_SELLER_CITY": "Oslo",
    "PORTEN_BILLING_SELLER_POSTCODE": "0114",
    "PORTEN_BILLING_SELLER_ACCOUNT": "76940512057",
}


def orgno(seed):
    """A valid organisation number (mod 11) from 8 digits of seed."""
    w = [3, 2, 7, 6, 5, 4, 3, 2]
    for n in range(seed, seed + 50):
        d = [int(c) for c in f"{8 * 10**7 + n % 10**7:08d}"]
        r = 11 - sum(a * b for a, b in zip(d, w)) % 11
        if r == 11:
            r = 0
        if r != 10:
            return "".join(map(str, d)) + str(r)
    raise AssertionError("no orgno")


def stats(server, kind, *args):
    p = server.ctl("stats", kind, *args, check=False)
    assert p.returncode == 0, p.stderr
    return list(csv.DictReader(io.StringIO(p.stdout.decode())))


def totals(server):
    """{customer: [authentications, sso_logins, billable]} from stats auth."""
    out = {}
    for row in stats(server, "auth"):
        t = out.setdefault(row["customer"], [0, 0, 0])
        t[0] += int(row["authentications"])
        t[1] += int(row["sso_logins"])
        t[2] += int(row["billable"])
    return out


def client_of(server, listener, tmp_path, org, **kw):
    c = create_client(server, listener, tmp_path, **kw)
    server.ctl("client", "update", c.client_id, "--client-orgno", org)
    return c


def test_counts_match_what_happened(server, listener, tmp_path, new_client, new_browser):
    a, b = orgno(1000 + uuid.uuid4().int % 10**6), orgno(3000 + uuid.uuid4().int % 10**6)
    ca = client_of(server, listener, tmp_path, a)
    cb = client_of(server, listener, tmp_path, b)
    before = totals(server)

    br = new_browser()
    login(server, ca, br, expect_eid=True)             # an eID login for a
    login(server, cb, br, expect_eid=False)            # SSO for b
    login(server, ca, br, expect_eid=False)            # SSO again for a
    login(server, ca, new_browser(), pid=PID2, expect_eid=True)  # another person, a
    login(server, ca, br, prompt="login", expect_eid=True)       # forced: a new eID login

    # cancelled at the selector and at TestID: nothing counted
    for where in ("selector", "testid"):
        b2 = new_browser()
        params, _ = auth_params(cb)
        page = authorize(server, b2, params)
        if where == "testid":
            page = open_testid(server, b2, page)
        res = classify(server, submit_form(b2, page, "cancel-form"), cb.redirect_uri, params)
        assert res.error == "access_denied", res

    after = totals(server)
    assert after.get(a, [0, 0, 0])[0] - before.get(a, [0, 0, 0])[0] == 3
    assert after.get(a, [0, 0, 0])[1] - before.get(a, [0, 0, 0])[1] == 1
    assert after.get(b, [0, 0, 0])[0] - before.get(b, [0, 0, 0])[0] == 0
    assert after.get(b, [0, 0, 0])[1] - before.get(b, [0, 0, 0])[1] == 1
    # TestID in the test environment: counted, never billed
    assert after[a][2] == 0 and after[b][2] == 0
    rows = [r for r in stats(server, "auth") if r["customer"] == a]
    assert {r["eid"] for r in rows} == {"testid"}
    assert {r["client_id"] for r in rows} == {ca.client_id}


def test_consent_declined_and_cancelled(server, new_client, new_browser):
    from conftest import ORGNO
    before = totals(server).get(ORGNO, [0, 0, 0])
    # declined: the login goes on without the scope, and is counted once
    name, c, br, params, verifier, r = at_consent(server, new_client, new_browser)
    res = answer(server, c, br, r, params, verifier, "consent-decline")
    assert res.code, res
    mid = totals(server).get(ORGNO, [0, 0, 0])
    assert mid[0] - before[0] == 1 and mid[1] == before[1]
    # cancelled on the consent page after the eID: no code, nothing counted
    name, c, br, params, verifier, r = at_consent(server, new_client, new_browser)
    res = answer(server, c, br, r, params, verifier, "cancel-form")
    assert res.error == "access_denied", res
    assert totals(server).get(ORGNO, [0, 0, 0]) == mid


def test_daily_totals_add_up(server):
    per_customer = totals(server)
    days = stats(server, "daily")
    assert days, "no day counted"
    assert sum(int(d["authentications"]) for d in days) == sum(v[0] for v in per_customer.values())
    assert sum(int(d["sso_logins"]) for d in days) == sum(v[1] for v in per_customer.values())


@pytest.mark.parametrize("args", [
    ("--year", "20x4"), ("--year", "2023-2025"), ("--year", "1999"), ("--from", "2024-01-01"),
    ("--from", "2024-02-30", "--to", "2024-03-01"), ("--from", "2024-03-01", "--to", "2024-02-01"),
    ("--year", "2024", "--from", "2024-01-01", "--to", "2024-01-02"), ("--bogus",), ("extra",),
])
def test_stats_hostile(server, args):
    p = server.ctl("stats", "auth", *args, check=False)
    assert p.returncode == 1, (args, p.stdout, p.stderr)
    assert server.ctl("stats", "nonsense", check=False).returncode == 1


# --------------------------------------------------------------------------
# Maskinporten tokens per consumer and supplier
# --------------------------------------------------------------------------

from test_maskinporten import ORG_A as MP_A, ORG_C as MP_C, ORG_S as MP_S, mp  # noqa: E402,F401


def token_counts(server):
    return {(r["consumer"], r["supplier"]): int(r["tokens"]) for r in stats(server, "tokens")}


def test_machine_tokens_counted_per_consumer_and_supplier(mp):
    before = token_counts(mp.server)
    for _ in range(2):
        r = mp.keyed.token(scope=mp.api)
        assert r.status_code == 200, r.text
    r = mp.supplier.token(scope=mp.deleg, extra={"consumer_org": MP_C})
    assert r.status_code == 200, r.text
    # refused: not counted
    assert mp.stranger.token(scope=mp.deleg, extra={"consumer_org": MP_C}).status_code == 400
    after = token_counts(mp.server)
    grown = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    assert sorted(grown.values()) == [1, 2], grown
    own = [k for k, v in grown.items() if v == 2][0]
    deleg = [k for k, v in grown.items() if v == 1][0]
    assert MP_A in own[0] and own[1] == ""  # its own token: no supplier
    assert MP_C in deleg[0] and MP_S in deleg[1]
    # no authentication is billed for machine tokens
    assert not any(r["billable"] != "0" for r in stats(mp.server, "auth"))


# --------------------------------------------------------------------------
# portenctl billing
# --------------------------------------------------------------------------

def ctl_rc(server, *args, env=None):
    import conftest
    e = dict(server.env)
    e.update(env or {})
    return subprocess.run([conftest.PORTENCTL, "--json", *args], env=e, capture_output=True,
                          timeout=60, cwd=server.workdir)


@pytest.mark.parametrize("args", [
    ("cost", "--year", "2024", "--item", "bankid", "--amount", "-100"),
    ("cost", "--year", "2024", "--item", "bankid", "--amount", "1e9"),
    ("cost", "--year", "2024", "--item", "bankid", "--amount", "99999999999999"),
    ("cost", "--year", "2024", "--item", "bankid", "--amount", "10.001"),
    ("cost", "--year", "2024", "--item", "bankid", "--amount", "NaN"),
    ("cost", "--year", "2024", "--item", "bankid'; DROP TABLE events; --", "--amount", "1"),
    ("cost", "--year", "1999", "--item", "bankid", "--amount", "1"),
    ("cost", "--year", "2024", "--item", "bankid"),
    ("customer", "--orgno", "991825828", "--name", "Wrong check digit", "--reference", "R"),
    ("customer", "--orgno", "99182582", "--name", "Short", "--reference", "R"),
    ("customer", "--orgno", "991825827", "--name", "", "--reference", "R"),
    ("customer", "--orgno", "991825827", "--name", "x" * 201, "--reference", "R"),
    ("customer", "--orgno", "991825827", "--name", "line\nbreak", "--reference", "R"),
    ("extra", "--year", "2024", "--orgno", "991825827", "--text", "t", "--quantity", "0",
     "--unit-price", "1"),
    ("extra", "--year", "2024", "--orgno", "991825827", "--text", "t", "--quantity", "1000000",
     "--unit-price", "10000000000"),
    ("extra", "--year", "2024", "--orgno", "991825827", "--text", "t", "--quantity", "1",
     "--unit-price", "-5"),
    ("run", "--year", "2024"),
    ("run", "--year", "2024", "--out", "x", "--issue-date", "2024-13-01"),
    ("nonsense",),
])
def test_billing_hostile(server, args):
    p = ctl_rc(server, "billing", *args)
    assert p.returncode == 1, (args, p.stdout, p.stderr)
    costs = ctl_rc(server, "billing", "costs", "--year", "2024")
    assert costs.returncode == 0
    # nothing of the refused entries was stored
    assert "bankid" not in costs.stdout.decode()


def test_billing_run_refuses_a_year_not_ended(server, tmp_path):
    out = tmp_path / "run"
    p = ctl_rc(server, "billing", "run", "--year", "2099", "--out", str(out))
    assert p.returncode != 0 and b"run it after" in p.stderr, p.stderr
    assert not out.exists()


def current_year(server):
    # the settlement year that holds today: ends 30 September this year or the next
    import datetime
    today = datetime.datetime.now(datetime.timezone.utc).date()
    return today.year + (1 if (today.month, today.day) >= (10, 1) else 0)


def test_billing_run_end_to_end(server, listener, tmp_path, new_browser):
    year = current_year(server)
    org = orgno(7000 + uuid.uuid4().int % 10**6)
    c = client_of(server, listener, tmp_path, org)
    for _ in range(3):
        login(server, c, new_browser(), expect_eid=True)
    assert ctl_rc(server, "billing", "cost", "--year", str(year), "--item", "bankid",
                  "--amount", "280000").returncode == 0
    assert ctl_rc(server, "billing", "customer", "--orgno", org, "--name", "Kunde & <AS>",
                  "--reference", "PO-77").returncode == 0
    assert ctl_rc(server, "billing", "extra", "--year", str(year), "--orgno", org, "--text",
                  "Training of first-line support", "--quantity", "3",
                  "--unit-price", "1500.50").returncode == 0
    as_of = f"{year}-10-01"
    # broken halfway: no output, no partial output
    out = tmp_path / "broken"
    p = ctl_rc(server, "billing", "run", "--year", str(year), "--out", str(out), "--as-of", as_of,
               env={"PORTEN_BILLING_FAIL_AFTER": "1"})
    assert p.returncode != 0, p.stdout
    assert not out.exists() and not (tmp_path / "broken.partial").exists()

    outs = []
    for name in ("one", "two"):
        out = tmp_path / name
        p = ctl_rc(server, "billing", "run", "--year", str(year), "--out", str(out),
                   "--as-of", as_of)
        assert p.returncode == 0, p.stderr
        outs.append(out)
    summary = json.loads((outs[0] / "summary.json").read_text())
    assert summary["year"] == year
    assert summary["inputs"]["threshold"] == 200000
    assert summary["inputs"]["costs"] == [{"item": "bankid", "amount": "280000.00"}]
    # TestID logins in the test environment are never billed: nobody pays
    assert summary["paying_customers"] == 0
    assert summary["inputs"]["billable_authentications"] == 0
    # the extra line is invoiced all the same: 3 x 1500.50 = 4501.50, VAT 1125.38
    inv = [i for i in summary["invoices"] if i["orgno"] == org]
    assert inv == [{"orgno": org, "invoice": f"{org}.xml", "authentications": 0,
                    "amount_excl_vat": "4501.50", "vat": "1125.38",
                    "amount_incl_vat": "5626.88"}], summary["invoices"]
    xml = (outs[0] / f"{org}.xml").read_bytes()
    check_ehf(xml, org, "PO-77")
    # reproducible byte for byte
    for f in os.listdir(outs[0]):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    # a run never writes into an existing directory
    assert ctl_rc(server, "billing", "run", "--year", str(year), "--out", str(outs[0]),
                  "--as-of", as_of).returncode != 0


def check_ehf(xml, org, reference, name="Kunde & <AS>"):
    """The mandatory BIS Billing 3.0 elements and the totals, read with the standard library."""
    import xml.etree.ElementTree as ET
    from decimal import ROUND_HALF_UP, Decimal
    ns = {"i": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
          "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
          "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
    root = ET.fromstring(xml)
    assert root.tag == "{%s}Invoice" % ns["i"]

    def t(path):
        el = root.find(path, ns)
        assert el is not None, path
        return el.text

    assert t("cbc:CustomizationID") == \
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
    assert t("cbc:ProfileID") == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
    assert t("cbc:InvoiceTypeCode") == "380" and t("cbc:DocumentCurrencyCode") == "NOK"
    assert t("cbc:BuyerReference") == reference
    for p in ("cbc:ID", "cbc:IssueDate", "cbc:DueDate",
              "cac:AccountingSupplierParty/cac:Party/cbc:EndpointID",
              "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress/cac:Country/cbc:IdentificationCode",
              "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName",
              "cac:PaymentMeans/cbc:PaymentMeansCode"):
        assert t(p)
    buyer = root.find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", ns)
    assert buyer.text == org and buyer.get("schemeID") == "0192"
    assert t("cac:AccountingCustomerParty/cac:Party/cac:PartyName/cbc:Name") == name
    lines = root.findall("cac:InvoiceLine", ns)
    assert lines
    total = sum(Decimal(l.find("cbc:LineExtensionAmount", ns).text) for l in lines)
    for l in lines:
        qty = l.find("cbc:InvoicedQuantity", ns)
        q = Decimal(qty.text)
        amount = l.find("cbc:LineExtensionAmount", ns).text
        price = Decimal(l.find("cac:Price/cbc:PriceAmount", ns).text)
        base = l.find("cac:Price/cbc:BaseQuantity", ns)
        # BR-DEC-23: two decimals; BR-27: no negative price; PEPPOL-EN16931-R121, -R130: a
        # base quantity is above zero and counts the invoiced unit
        assert len(amount.partition(".")[2]) <= 2 and price >= 0, (amount, price)
        if base is not None:
            assert Decimal(base.text) > 0 and base.get("unitCode") == qty.get("unitCode")
        per = price / (Decimal(base.text) if base is not None else 1)
        # PEPPOL-EN16931-R120: amount = quantity x price / base quantity.  The rule allows
        # 0.02; ours must round to the amount.
        assert (q * per).quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal(amount), \
            (q, price, amount, q * per)
        assert l.find("cac:Item/cac:ClassifiedTaxCategory/cbc:ID", ns).text == "S"
    m = "cac:LegalMonetaryTotal/"
    vat = Decimal(t("cac:TaxTotal/cbc:TaxAmount"))
    assert Decimal(t(m + "cbc:LineExtensionAmount")) == total
    assert Decimal(t(m + "cbc:TaxExclusiveAmount")) == total
    assert Decimal(t("cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount")) == total
    assert vat == (total * Decimal("0.25")).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert Decimal(t(m + "cbc:TaxInclusiveAmount")) == total + vat
    assert Decimal(t(m + "cbc:PayableAmount")) == total + vat


def test_billing_run_large_volumes(server, tmp_path):
    """A year of hundreds of thousands of billed logins: every line is quantity x price."""
    from fractions import Fraction
    from samlkit import store_sql
    year = current_year(server) - 1  # ended, and within retention
    t = calendar.timegm((year, 3, 1, 12, 0, 0))
    a, b = orgno(4400001), orgno(4500001)
    volumes = {a: {"bankid": 300001, "minid": 12345, "buypass": 7},
               b: {"bankid": 200003, "commfides": 1}}
    for org, per_eid in volumes.items():
        for eid, n in per_eid.items():
            doc = json.dumps({"customer": org, "eid": eid, "billable": True, "sso": False,
                              "test": False})
            store_sql(server, "INSERT INTO events (type, time, doc, customer, eid, sso, billable)"
                      f" WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k"
                      f" WHERE i < {n}) SELECT 'authentication', {t}, '{doc}', '{org}', '{eid}',"
                      " FALSE, TRUE FROM k")
    for item, amount in (("bankid", "280000"), ("minid", "12345.67")):
        assert ctl_rc(server, "billing", "cost", "--year", str(year), "--item", item,
                      "--amount", amount).returncode == 0
    for org, ref in ((a, "PO-A"), (b, "PO-B")):
        assert ctl_rc(server, "billing", "customer", "--orgno", org, "--name", "Kunde & <AS>",
                      "--reference", ref).returncode == 0
    out = tmp_path / "run"
    p = ctl_rc(server, "billing", "run", "--year", str(year), "--out", str(out))
    assert p.returncode == 0, p.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["paying_customers"] == 2 and summary["paying_authentications"] == 512357
    # the customers' shares by largest remainder, adding up to the pool to the øre
    pool, total = 29234567, sum(sum(v.values()) for v in volumes.values())
    assert summary["price_excl_vat"] == "0.%06d" % ((pool * 10000 * 2 + total) // (2 * total))
    exact = {org: Fraction(pool * sum(v.values()), total) for org, v in volumes.items()}
    share = {org: int(x) for org, x in exact.items()}
    for org in sorted(exact, key=lambda o: -(exact[o] - share[o]))[:pool - sum(share.values())]:
        share[org] += 1
    got = {i["orgno"]: i["amount_excl_vat"] for i in summary["invoices"]}
    assert got == {org: "%d.%02d" % divmod(v, 100) for org, v in share.items()}, got
    for org, ref in ((a, "PO-A"), (b, "PO-B")):
        xml = (out / f"{org}.xml").read_bytes()
        check_ehf(xml, org, ref)
        # one line per eID; its price is p, to within two øre over the line
        import xml.etree.ElementTree as ET
        cac = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
        cbc = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
        lines = ET.fromstring(xml).findall(cac + "InvoiceLine")
        assert sorted(int(l.find(cbc + "InvoicedQuantity").text) for l in lines) == \
            sorted(volumes[org].values())
        for l in lines:
            q = int(l.find(cbc + "InvoicedQuantity").text)
            price = Fraction(l.find(cac + "Price/" + cbc + "PriceAmount").text)
            assert abs(price - Fraction(pool, 100 * total)) * q < Fraction(2, 100), (q, price)


def test_estimate(server):
    p = ctl_rc(server, "billing", "estimate")
    assert p.returncode == 0, p.stderr
    est = json.loads(p.stdout)
    assert set(est) == {"year", "price_excl_vat", "price_incl_vat", "last_year_costs_ore"}
    assert ctl_rc(server, "billing", "estimate", "--year", "2999").returncode == 1


# --------------------------------------------------------------------------
# the statistics API (admin, Maskinporten token with idporten:statistics.read)
# --------------------------------------------------------------------------

STATS_SCOPE = "idporten:statistics.read"


@pytest.fixture(scope="module")
def stats_clients(mp):
    try:
        mp.scope(STATS_SCOPE, grant=[MP_A])
    except AssertionError:
        pass  # made by an earlier test in this module
    reader = mp.client(MP_A, [STATS_SCOPE])
    other = mp.client(MP_A, [mp.api])
    return reader, other


def stats_token(client, scope):
    r = client.token(scope=scope)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def api_get(mp, path, token=None, **params):
    h = {"Authorization": f"Bearer {token}"} if token else {}
    return mp.http.get(mp.server.url(path), params=params, headers=h, timeout=10)


def test_statistics_api(mp, stats_clients):
    reader, _ = stats_clients
    tok = stats_token(reader, STATS_SCOPE)
    r = api_get(mp, "/statistics/tokens", tok)
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    body = r.json()
    assert set(body) == {"from", "to", "rows"}
    # the token just issued is counted; rows match the CSV export
    csv_rows = stats(mp.server, "tokens")
    assert [{k: str(v) if v is not None else "" for k, v in row.items()} for row in body["rows"]] \
        == csv_rows
    daily = api_get(mp, "/statistics/daily", tok).json()["rows"]
    assert sum(d["tokens"] for d in daily) == sum(int(c["tokens"]) for c in csv_rows)
    auth = api_get(mp, "/statistics/auth", tok, year="2024")
    assert auth.status_code == 200 and auth.json()["rows"] == [], auth.text
    assert auth.json()["from"] == "2023-09-30" and auth.json()["to"] == "2024-09-30"
    r = api_get(mp, "/statistics/daily", tok, **{"from": "2024-02-29", "to": "2024-02-29"})
    assert r.status_code == 200 and r.json()["rows"] == []


def test_statistics_api_hostile(mp, stats_clients):
    reader, other = stats_clients
    tok = stats_token(reader, STATS_SCOPE)
    # no token, a token without the scope, a forged or foreign one
    r = api_get(mp, "/statistics/daily")
    assert r.status_code == 401 and "Bearer" in r.headers.get("WWW-Authenticate", "")
    r = api_get(mp, "/statistics/daily", stats_token(other, mp.api))
    assert r.status_code == 403 and r.json()["error"] == "insufficient_scope"
    head, body, sig = tok.split(".")
    for bad in (head + "." + body + "." + sig[::-1], "abc", "a.b.c", tok + "x"):
        r = api_get(mp, "/statistics/daily", bad)
        assert r.status_code == 401, (bad, r.text)
    # an unsigned token (alg none) with the same claims is refused
    import base64
    forged = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).decode().rstrip("=")
    assert api_get(mp, "/statistics/daily", forged + "." + body + ".").status_code == 401
    for q in ({"year": "20x4"}, {"year": "1999"}, {"from": "2024-01-01"},
              {"from": "2024-02-30", "to": "2024-03-01"}, {"year": "2024", "from": "2024-01-01",
                                                          "to": "2024-01-02"},
              {"from": "2024-03-01", "to": "2024-02-01"}, {"year": "%ff"}):
        r = api_get(mp, "/statistics/auth", tok, **q)
        assert r.status_code == 400 and r.json()["error"] == "invalid_request", (q, r.text)


def test_stats_plot(server, tmp_path):
    import struct
    out = tmp_path / "chart.png"
    p = ctl_rc(server, "stats", "plot", "--out", str(out))
    assert p.returncode == 0, p.stderr
    png = out.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (880, 420)
    # never over an existing file or through a link
    assert ctl_rc(server, "stats", "plot", "--out", str(out)).returncode == 1
    assert out.read_bytes() == png
    link = tmp_path / "link.png"
    link.symlink_to(tmp_path / "elsewhere.png")
    assert ctl_rc(server, "stats", "plot", "--out", str(link)).returncode == 1
    assert not (tmp_path / "elsewhere.png").exists()
    for args in (("--from", "2024-01-01", "--to", "2024-02-01", "--out", str(tmp_path / "a.png")),
                 (), ("--out", ""), ("--year", "1999", "--out", str(tmp_path / "b.png"))):
        assert ctl_rc(server, "stats", "plot", *args).returncode == 1, args
    assert ctl_rc(server, "stats", "auth", "--out", str(tmp_path / "c")).returncode == 1
    # libgd and its codecs are opened by the command that draws, never by the server
    with open(f"/proc/{server.proc.pid}/maps") as f:
        assert "libgd" not in f.read()
    # a libgd without the functions the chart needs: a clear error, no file
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "gd.c").write_text("int gdImageCreate;\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(stub / "libgd.so.3"), str(stub / "gd.c")],
                   check=True)
    p = ctl_rc(server, "stats", "plot", "--out", str(tmp_path / "d.png"),
               env={"LD_LIBRARY_PATH": str(stub)})
    assert p.returncode != 0 and b"lacks gdImageDestroy" in p.stdout + p.stderr, p
    assert not (tmp_path / "d.png").exists()
