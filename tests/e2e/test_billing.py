"""Billing and statistics (spec/billing.md): what is counted, the commands and the run."""

import csv
import io
import json
import os
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
