"""MinID end to end (spec/minid.md; spec/idporten-oidc.md §6-§7).

A full OIDC login with MinID (number + password, then the code read from
the SMS file sink), the app code (TOTP enrolled on the account pages),
lockout and unlock, the forgotten-password reset, registration and
activation, the static test code, cancel, CSRF and browser binding, the
languages and the security headers of the pages.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import struct
import subprocess
import time
from urllib.parse import urljoin

import pytest

from conftest import (PORTENCTL, SUBSTANTIAL, HIGH, Ansattporten, Page, auth_params, authorize,
                      classify, create_client, follow, http, submit_form, url_params, pending_ar)

# Cheap Argon2id for the test run (the parameters themselves are tested in the unit
# tests and the rehash test below); short temporary locks so a test can wait them out;
# no per-address limit here (every request comes from 127.0.0.1): that limit has its
# own server below.
SERVER_ENV = {
    "PORTEN_MINID_ARGON_MEM_KIB": "9216",
    "PORTEN_MINID_ARGON_OPS": "1",
    "PORTEN_MINID_LOCK_SECONDS": "3",
    "PORTEN_MINID_RATE_PER_MIN": "0",
}

PASSWORD = "Fjellvann2024Blå"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def synthetic_pids():
    """Valid synthetic national identity numbers (month + 80), born 1990 (spec natid §3)."""
    w1 = [3, 7, 6, 1, 8, 9, 4, 5, 2]
    w2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    for day in range(1, 29):
        for month in range(1, 13):
            for ind in range(100, 499):
                d = [int(c) for c in f"{day:02d}{month + 80:02d}90{ind:03d}"]
                k1 = 11 - sum(a * b for a, b in zip(w1, d)) % 11
                k1 = 0 if k1 == 11 else k1
                if k1 == 10:
                    continue
                k2 = 11 - sum(a * b for a, b in zip(w2, d + [k1])) % 11
                k2 = 0 if k2 == 11 else k2
                if k2 == 10:
                    continue
                yield "".join(map(str, d + [k1, k2]))


_PIDS = synthetic_pids()
_MOBILE = [90000000]


def new_pid():
    return next(_PIDS)


def new_mobile():
    _MOBILE[0] += 1
    return f"+47{_MOBILE[0]}"


def create_account(server, pid=None, password=PASSWORD, mobile=None):
    pid = pid or new_pid()
    mobile = mobile or new_mobile()
    info = server.ctl("minid", "create", pid, "--password", password, "--mobile", mobile)
    assert info["pid"] == pid and info["status"] == "ACTIVE", info
    assert "pwhash" not in json.dumps(info) and "$argon2id$" not in json.dumps(info)
    return pid, mobile


def sms_messages(server, mobile=None):
    path = os.path.join(server.data, "sms.jsonl")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        msgs = [json.loads(line) for line in f if line.strip()]
    return [m for m in msgs if mobile is None or m["to"] == mobile]


def last_code(server, mobile):
    msgs = sms_messages(server, mobile)
    assert msgs, f"no SMS to {mobile}"
    m = re.search(r"\b(\d{5})\b", msgs[-1]["text"])
    assert m, f"no code in {msgs[-1]['text']!r}"
    return m.group(1)


def totp(secret_b32, t=None, step=30, digits=6):
    """RFC 6238 with HMAC-SHA-1 (the MinID app's kind)."""
    key = base64.b32decode(secret_b32.replace(" ", "").upper() + "=" * (-len(secret_b32.replace(" ", "")) % 8))
    counter = int((time.time() if t is None else t) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 15
    n = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % (10 ** digits)
    return f"{n:0{digits}d}"


def open_minid(server, browser, resp):
    """From the selector to the MinID login page."""
    page = Page(resp.text)
    hrefs = [l["href"] for l in page.links if l["id"] == "eid-minid"]
    assert hrefs, f"no MinID on the selector: {resp.text[:600]!r}"
    r = browser.get(urljoin(resp.url, hrefs[0]), allow_redirects=False, timeout=10)
    assert r.status_code == 200 and Page(r.text).form("minid-login-form"), r.text[:600]
    return r


def start_minid(server, client, browser, **overrides):
    params, verifier = auth_params(client, **overrides)
    sel = authorize(server, browser, params)
    assert sel.status_code == 200, sel.text[:400]
    return open_minid(server, browser, sel), params, verifier


def post_password(server, browser, login_page, pid, password):
    r = submit_form(browser, login_page, "minid-login-form", {"pid": pid, "password": password})
    return follow(server, browser, r)


def wrong_passwords(server, browser, page, pid, n):
    """n wrong passwords for pid; the statuses."""
    return [post_password(server, browser, page, pid, f"Wrong-{i}-Passw0rd").status_code
            for i in range(n)]


def minid_login(server, client, browser, pid, password=PASSWORD, mobile=None, code=None, **overrides):
    """A whole MinID login; returns the AuthResult at the client (asserts a code)."""
    page, params, verifier = start_minid(server, client, browser, **overrides)
    r = post_password(server, browser, page, pid, password)
    assert r.status_code == 200 and Page(r.text).form("minid-code-form"), r.text[:800]
    if code is None:
        code = last_code(server, mobile)
    r = follow(server, browser, submit_form(browser, r, "minid-code-form", {"code": code}))
    res = classify(server, r, client.redirect_uri, params, verifier)
    assert res.kind == "redirect" and res.code, res
    return res


def claims_of(server, client, res):
    tok = client.tokens(res)
    _, c = server.verify(tok["id_token"])
    return c


def alert_text(html):
    m = re.search(r'role="alert"[^>]*>(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", "", m.group(1)).strip() if m else ""


# --------------------------------------------------------------------------
# the login
# --------------------------------------------------------------------------

def test_selector_offers_minid_for_substantial_only(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    params, _ = auth_params(c)
    sel = authorize(server, b, params)
    ids = [l["id"] for l in Page(sel.text).links]
    assert "eid-minid" in ids and "eid-testid" in ids, ids
    params, _ = auth_params(c, acr_values=HIGH)
    sel = authorize(server, b, params)
    assert "eid-minid" not in [l["id"] for l in Page(sel.text).links]
    # and the page itself refuses a login that needs high (spec §1)
    ar = pending_ar(sel)
    r = b.get(server.url("/minid"), params={"ar": ar}, timeout=10)
    assert r.status_code == 400


def test_full_login_with_sms_code(server, new_client, new_browser):
    pid, mobile = create_account(server)
    c = new_client()
    b = new_browser()
    page, params, verifier = start_minid(server, c, b)
    r = post_password(server, b, page, pid, PASSWORD)
    assert r.status_code == 200 and "/minid/code" in r.url
    code = last_code(server, mobile)
    msg = sms_messages(server, mobile)[-1]
    assert "MinID" in msg["text"] and PASSWORD not in msg["text"]   # spec §10
    r = follow(server, b, submit_form(b, r, "minid-code-form", {"code": code}))
    res = classify(server, r, c.redirect_uri, params, verifier)
    assert res.code and res.iss == server.issuer and res.state == params["state"], res
    claims = claims_of(server, c, res)
    assert claims["pid"] == pid
    assert claims["acr"] == SUBSTANTIAL
    assert claims["amr"] == ["Minid-OTC"]


def test_code_is_single_use_and_new_code_voids_old(server, new_client, new_browser):
    pid, mobile = create_account(server)
    c = new_client()
    b = new_browser()
    page, params, verifier = start_minid(server, c, b)
    codepage = post_password(server, b, page, pid, PASSWORD)
    first = last_code(server, mobile)
    r = submit_form(b, codepage, "minid-code-options")
    assert r.status_code == 200 and "role=\"status\"" in r.text
    second = last_code(server, mobile)
    if first != second:
        r = submit_form(b, r, "minid-code-form", {"code": first})
        assert r.status_code == 400, "an old code still works after a new one was sent"
    r = follow(server, b, submit_form(b, r, "minid-code-form", {"code": second}))
    res = classify(server, r, c.redirect_uri, params, verifier)
    assert res.code, res
    # replaying the form with the used code finds no flow any more
    r = submit_form(b, codepage, "minid-code-form", {"code": second})
    assert r.status_code in (400, 403) and "code" not in url_params(r.headers.get("Location", ""))


def test_static_test_code(server, new_client, new_browser):
    pid, mobile = create_account(server)
    c = new_client()
    res = minid_login(server, c, new_browser(), pid, mobile=mobile, code="12345")
    assert claims_of(server, c, res)["amr"] == ["Minid-OTC"]


def test_minid_at_ansattporten(server, listener, tmp_path, new_browser):
    """MinID's pages work under the Ansattporten issuer too (spec/ansattporten-eidas-testid.md §1)."""
    ap = Ansattporten(server)
    pid, mobile = create_account(server)
    c = create_client(ap, listener, tmp_path, integration_type="ansattporten", scopes=["openid"])
    res = minid_login(ap, c, new_browser(), pid, mobile=mobile)
    assert res.iss == ap.issuer
    _, claims = ap.verify(c.tokens(res)["id_token"])
    assert claims["iss"] == ap.issuer and claims["pid"] == pid
    assert claims["amr"] == ["Minid-OTC"] and claims["acr"] == "substantial"


def test_prod_refuses_synthetic_numbers(server):
    """Synthetic ids (and with them the static code, spec §8) are TEST only."""
    env = dict(server.env, PORTEN_ENV="prod", PORTEN_ISSUER="https://idporten.invalid",
               PORTEN_SMS_GATEWAY="log")
    p = subprocess.run([PORTENCTL, "--json", "minid", "create", new_pid(), "--password", PASSWORD,
                        "--mobile", new_mobile()], env=env, capture_output=True, timeout=30)
    assert p.returncode == 1, "prod accepted a synthetic national identity number"


def test_password_from_file_and_stdin(server, new_client, new_browser, tmp_path):
    """portenctl minid create --password-file: the first line of a file or of standard
    input; an empty file or a line longer than the reader's bound is refused, and says so."""
    f = tmp_path / "pw"
    f.write_text(PASSWORD + "\nsecond line is ignored\n", encoding="utf-8")
    pid = new_pid()
    p = subprocess.run([PORTENCTL, "--json", "minid", "create", pid, "--password-file", str(f),
                        "--mobile", new_mobile()], env=server.env, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    minid_login(server, new_client(), new_browser(), pid, password=PASSWORD, code="12345")

    pid = new_pid()
    p = subprocess.run([PORTENCTL, "--json", "minid", "create", pid, "--password-file", "-",
                        "--mobile", new_mobile()], env=server.env, capture_output=True,
                       input=PASSWORD.encode(), timeout=30)
    assert p.returncode == 0, p.stderr
    minid_login(server, new_client(), new_browser(), pid, password=PASSWORD, code="12345")

    for content, why in ((b"", b"empty"), (b"x" * 5000 + b"\n", b"long")):
        f.write_bytes(content)
        pid = new_pid()
        p = subprocess.run([PORTENCTL, "--json", "minid", "create", pid, "--password-file",
                            str(f), "--mobile", new_mobile()], env=server.env,
                           capture_output=True, timeout=30)
        assert p.returncode == 1, p.stderr
        assert b"cannot read the password" in p.stderr and why in p.stderr.lower(), p.stderr
        r = subprocess.run([PORTENCTL, "--json", "minid", "show", pid], env=server.env,
                           capture_output=True, timeout=30)
        assert r.returncode != 0, "a refused password file still created the account"


def test_wrong_password_and_unknown_id_look_the_same(server, new_client, new_browser):
    pid, _ = create_account(server)
    c = new_client()
    b = new_browser()
    page, _, _ = start_minid(server, c, b)
    r1 = post_password(server, b, page, pid, "Wrong-Password-1")
    r2 = post_password(server, b, page, new_pid(), "Wrong-Password-1")
    assert r1.status_code == r2.status_code == 401
    assert alert_text(r1.text) == alert_text(r2.text) != ""
    # the password field is tied to the error (WCAG 3.3.1)
    assert re.search(r'id="password"[^>]*aria-describedby="form-error"', r1.text)
    assert re.search(r'id="password"[^>]*aria-invalid="true"', r1.text)
    # the typed password never comes back in the page
    assert "Wrong-Password-1" not in r1.text


def test_bad_number_is_a_field_error(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    page, _, _ = start_minid(server, c, b)
    for bad in ("01019012481", "123", "2187949801x", "01019012480"):
        r = post_password(server, b, page, bad, PASSWORD)
        assert r.status_code == 400
        assert re.search(r'id="pid"[^>]*aria-describedby="pid-hint pid-error"', r.text), r.text[:1500]


def test_lockout_unlock_and_no_enumeration(server, new_client, new_browser):
    pid, mobile = create_account(server)
    ghost = new_pid()
    c = new_client()
    b = new_browser()
    page, _, _ = start_minid(server, c, b)
    for who in (pid, ghost):
        statuses = [post_password(server, b, page, who, f"Wrong-{i}-Passw0rd").status_code
                    for i in range(5)]
        assert statuses == [401, 401, 401, 401, 403], statuses
    r_real = post_password(server, b, page, pid, PASSWORD)          # right password, still locked
    r_ghost = post_password(server, b, page, ghost, PASSWORD)
    assert r_real.status_code == r_ghost.status_code == 403
    assert alert_text(r_real.text) == alert_text(r_ghost.text)
    info = server.ctl("minid", "show", pid)
    assert info["status"] == "LOCKED_TEMPORARY" and info["locked_until"] > time.time()
    # an operator unlocks; the login works at once
    info = server.ctl("minid", "unlock", pid)
    assert info["status"] == "ACTIVE"
    res = minid_login(server, c, new_browser(), pid, mobile=mobile)
    assert res.code


def test_temporary_lock_expires_and_third_lock_needs_reset(server, new_client, new_browser):
    pid, mobile = create_account(server)
    c = new_client()
    b = new_browser()
    page, _, _ = start_minid(server, c, b)
    for lock in range(3):
        codes = [post_password(server, b, page, pid, f"Wrong-{lock}-{i}-Pw").status_code for i in range(5)]
        assert codes[-1] == 403 and codes[:4] == [401] * 4, codes
        if lock < 2:
            time.sleep(3.2)           # PORTEN_MINID_LOCK_SECONDS=3
    time.sleep(3.2)
    # the third lock in the window lasts until a reset (spec §5)
    r = post_password(server, b, page, pid, PASSWORD)
    assert r.status_code == 403
    assert server.ctl("minid", "show", pid)["status"] == "LOCKED"
    # forgotten password unlocks
    do_reset(server, new_browser(), pid, mobile, "Nytt-Passord-2025")
    assert server.ctl("minid", "show", pid)["status"] == "ACTIVE"
    res = minid_login(server, c, new_browser(), pid, "Nytt-Passord-2025", mobile)
    assert res.code


def test_too_many_wrong_codes_stops_the_login(server, new_client, new_browser):
    pid, mobile = create_account(server)
    c = new_client()
    b = new_browser()
    page, params, verifier = start_minid(server, c, b)
    r = post_password(server, b, page, pid, PASSWORD)
    real = last_code(server, mobile)
    wrong = "54321" if real != "54321" else "54320"
    for i in range(4):
        r = submit_form(b, r, "minid-code-form", {"code": wrong})
        assert r.status_code == 400, r.text[:500]
        assert re.search(r'id="code"[^>]*aria-invalid="true"', r.text)
    last = submit_form(b, r, "minid-code-form", {"code": wrong})
    assert last.status_code == 403 and "minid-code-form" not in last.text
    # the right code is no use now: the flow is gone
    r = submit_form(b, r, "minid-code-form", {"code": real})
    assert r.status_code == 400 and "code" not in url_params(r.headers.get("Location", ""))


def test_abandoned_code_steps_are_not_failures(server, new_client, new_browser):
    """§5: a right password whose code step is left is neither a failure nor a reset."""
    pid, mobile = create_account(server)
    c = new_client()
    for i in range(6):
        b = new_browser()
        page, _, _ = start_minid(server, c, b)
        r = post_password(server, b, page, pid, PASSWORD)
        assert r.status_code == 200 and Page(r.text).form("minid-code-form"), (i, r.text[:600])
    assert server.ctl("minid", "show", pid)["status"] == "ACTIVE"
    # nor a reset: 4 wrong, 1 right and left, 1 wrong = 5 failures in a row
    b = new_browser()
    page, _, _ = start_minid(server, c, b)
    assert wrong_passwords(server, b, page, pid, 4) == [401] * 4
    b2 = new_browser()
    page2, _, _ = start_minid(server, c, b2)
    r = post_password(server, b2, page2, pid, PASSWORD)
    assert Page(r.text).form("minid-code-form"), r.text[:600]
    r = post_password(server, b, page, pid, "Wrong-5-Passw0rd")
    assert r.status_code == 403 and "midlertidig sperret" in alert_text(r.text), r.text[:600]
    info = server.ctl("minid", "show", pid)
    assert info["status"] == "LOCKED_TEMPORARY" and info["locked_until"] > time.time(), info
    # a real lock, that ends
    time.sleep(3.2)           # PORTEN_MINID_LOCK_SECONDS=3
    res = minid_login(server, c, new_browser(), pid, mobile=mobile)
    assert res.code


def test_code_exhaustion_is_one_failure(server, new_client, new_browser):
    pid, mobile = create_account(server)
    c = new_client()
    b = new_browser()
    page, _, _ = start_minid(server, c, b)
    assert wrong_passwords(server, b, page, pid, 3) == [401] * 3
    b2 = new_browser()
    page2, _, _ = start_minid(server, c, b2)
    r = post_password(server, b2, page2, pid, PASSWORD)
    wrong = "54321" if last_code(server, mobile) != "54321" else "54320"
    for i in range(5):
        r = submit_form(b2, r, "minid-code-form", {"code": wrong})
    assert r.status_code == 403 and "minid-code-form" not in r.text
    assert server.ctl("minid", "show", pid)["status"] == "ACTIVE"
    # that was the fourth failure: one more wrong password is the fifth
    assert post_password(server, b, page, pid, "Wrong-4-Passw0rd").status_code == 403
    assert server.ctl("minid", "show", pid)["status"] == "LOCKED_TEMPORARY"


def test_block_or_lock_during_code_step_stops_the_login(server, new_client, new_browser):
    """§5, §7: a block or a lock set after the password step holds at the code step."""
    pid, mobile = create_account(server)
    c = new_client()
    b = new_browser()
    page, params, verifier = start_minid(server, c, b)
    r = post_password(server, b, page, pid, PASSWORD)
    code = last_code(server, mobile)
    server.ctl("minid", "lock", pid)
    r = follow(server, b, submit_form(b, r, "minid-code-form", {"code": code}))
    assert r.status_code == 403 and "er sperret" in r.text, r.text[:800]
    res = classify(server, r, c.redirect_uri, params, verifier)
    assert not getattr(res, "code", None), res
    # the flow is over: the code again does nothing
    r = b.get(server.url("/minid/code"), allow_redirects=False, timeout=10)
    assert "minid-code-form" not in r.text
    server.ctl("minid", "unlock", pid)
    # locked by failures from another browser meanwhile
    b = new_browser()
    page, params, verifier = start_minid(server, c, b)
    r = post_password(server, b, page, pid, PASSWORD)
    code = last_code(server, mobile)
    other = new_browser()
    opage, _, _ = start_minid(server, c, other)
    assert wrong_passwords(server, other, opage, pid, 5)[-1] == 403
    r = follow(server, b, submit_form(b, r, "minid-code-form", {"code": code}))
    assert r.status_code == 403 and "midlertidig sperret" in r.text, r.text[:800]
    assert not getattr(classify(server, r, c.redirect_uri, params, verifier), "code", None)
    assert server.ctl("minid", "show", pid)["status"] == "LOCKED_TEMPORARY"


def test_cancel_on_minid_pages_returns_access_denied(server, new_client, new_browser):
    pid, _ = create_account(server)
    c = new_client()
    for stage in ("login", "code"):
        b = new_browser()
        page, params, _ = start_minid(server, c, b)
        if stage == "code":
            page = post_password(server, b, page, pid, PASSWORD)
        assert Page(page.text).form("cancel-form"), f"no cancel on the {stage} page"
        r = submit_form(b, page, "cancel-form")
        res = classify(server, r, c.redirect_uri, params)
        assert res.kind == "redirect" and res.error == "access_denied", res
        assert res.state == params["state"] and res.iss == server.issuer


def test_csrf_and_browser_binding(server, new_client, new_browser):
    pid, _ = create_account(server)
    c = new_client()
    b = new_browser()
    page, _, _ = start_minid(server, c, b)
    form = Page(page.text).form("minid-login-form")
    fields = dict(form["fields"])
    fields.update({"pid": pid, "password": PASSWORD})
    bad = dict(fields, csrf="x" * 43)
    r = b.post(urljoin(page.url, form["action"]), data=bad, allow_redirects=False, timeout=10)
    assert r.status_code == 403
    # the code page of this browser's flow is useless in another browser
    r = post_password(server, b, page, pid, PASSWORD)
    other = new_browser()
    r2 = other.get(r.url, allow_redirects=False, timeout=10)
    assert r2.status_code == 400 and "minid-code-form" not in r2.text


# --------------------------------------------------------------------------
# the app (TOTP) and the account pages
# --------------------------------------------------------------------------

def account_login(server, browser, pid, mobile, password=PASSWORD):
    r = browser.get(server.url("/minid/account"), timeout=10)
    assert r.status_code == 200 and Page(r.text).form("minid-login-form")
    r = follow(server, browser, submit_form(browser, r, "minid-login-form", {"pid": pid, "password": password}))
    assert Page(r.text).form("minid-code-form"), r.text[:600]
    r = follow(server, browser, submit_form(browser, r, "minid-code-form", {"code": last_code(server, mobile)}))
    assert r.status_code == 200 and Page(r.text).form("minid-password-form"), r.text[:600]
    return r


def test_app_code_login_and_replay(server, new_client, new_browser):
    pid, mobile = create_account(server)
    b = new_browser()
    r = account_login(server, b, pid, mobile)
    r = follow(server, b, submit_form(b, r, "minid-app-form"))
    m = re.search(r'id="app-secret">([A-Z2-7 ]+)<', r.text)
    assert m, r.text[:1000]
    secret = m.group(1)
    r = submit_form(b, r, "minid-app-confirm-form", {"code": "000000" if totp(secret) != "000000" else "111111"})
    assert r.status_code == 400
    r = submit_form(b, r, "minid-app-confirm-form", {"code": totp(secret)})
    assert r.status_code == 200 and 'id="app">' in r.text, r.text[:800]
    assert server.ctl("minid", "show", pid)["app"] is True
    assert "MinID-app" in sms_messages(server, mobile)[-1]["text"], "no notice of the new app (§10)"
    # an OIDC login now asks for the app code
    c = new_client()
    b2 = new_browser()
    page, params, verifier = start_minid(server, c, b2)
    r = post_password(server, b2, page, pid, PASSWORD)
    assert "maxlength=\"6\"" in r.text
    code = totp(secret, time.time() + 30)        # the next step: the enrolment used this one
    r = follow(server, b2, submit_form(b2, r, "minid-code-form", {"code": code}))
    res = classify(server, r, c.redirect_uri, params, verifier)
    assert res.code, res
    assert claims_of(server, c, res)["amr"] == ["Minid-TOTP"]
    # the same code again is refused (RFC 6238 §5.2)
    b3 = new_browser()
    page, params, verifier = start_minid(server, c, b3)
    r = post_password(server, b3, page, pid, PASSWORD)
    r = submit_form(b3, r, "minid-code-form", {"code": code})
    assert r.status_code == 400
    # SMS instead of the app still works
    r = submit_form(b3, r, "minid-code-options")
    r = follow(server, b3, submit_form(b3, r, "minid-code-form", {"code": last_code(server, mobile)}))
    res = classify(server, r, c.redirect_uri, params, verifier)
    assert res.code and claims_of(server, c, res)["amr"] == ["Minid-OTC"]


def test_switching_factor_gives_no_new_code_attempts(server, new_client, new_browser):
    """§5: 5 wrong codes in one login, whether from the app or by SMS."""
    pid, mobile = create_account(server)
    b = new_browser()
    r = account_login(server, b, pid, mobile)
    r = follow(server, b, submit_form(b, r, "minid-app-form"))
    secret = re.search(r'id="app-secret">([A-Z2-7 ]+)<', r.text).group(1)
    r = submit_form(b, r, "minid-app-confirm-form", {"code": totp(secret)})
    assert r.status_code == 200
    c = new_client()
    b2 = new_browser()
    page, params, verifier = start_minid(server, c, b2)
    r = post_password(server, b2, page, pid, PASSWORD)
    good = {totp(secret, time.time() + d) for d in (-60, -30, 0, 30, 60)}
    wrong = next(f"{n:06d}" for n in range(1000000) if f"{n:06d}" not in good)
    for i in range(3):
        r = submit_form(b2, r, "minid-code-form", {"code": wrong})
        assert r.status_code == 400, r.status_code
    r = submit_form(b2, r, "minid-code-options")       # "Send a code by SMS instead"
    real = last_code(server, mobile)
    w5 = "54321" if real != "54321" else "54320"
    r = submit_form(b2, r, "minid-code-form", {"code": w5})
    assert r.status_code == 400
    last = submit_form(b2, r, "minid-code-form", {"code": w5})
    assert last.status_code == 403 and "minid-code-form" not in last.text
    r = follow(server, b2, submit_form(b2, r, "minid-code-form", {"code": real}))
    assert not getattr(classify(server, r, c.redirect_uri, params, verifier), "code", None)


def test_account_change_password_and_mobile(server, new_client, new_browser):
    pid, mobile = create_account(server)
    b = new_browser()
    r = account_login(server, b, pid, mobile)
    # rules of spec §4, each a field error
    for weak in ("short1A", "alllowercase123", "NoDigitsHereAtAll", pid + "Aa", "Password123"):
        bad = submit_form(b, r, "minid-password-form", {"password": weak, "confirm": weak})
        assert bad.status_code == 400, weak
        assert re.search(r'id="password"[^>]*aria-describedby="password-hint password-error"', bad.text)
    same = submit_form(b, r, "minid-password-form", {"password": PASSWORD, "confirm": PASSWORD})
    assert same.status_code == 400, "the new password must differ from the current one"
    mism = submit_form(b, r, "minid-password-form", {"password": "Nytt-Passord-9", "confirm": "Nytt-Passord-8"})
    assert mism.status_code == 400
    r = submit_form(b, r, "minid-password-form", {"password": "Nytt-Passord-9x", "confirm": "Nytt-Passord-9x"})
    assert r.status_code == 200 and 'id="notice"' in r.text
    # new mobile, confirmed by a code sent to it
    told = len(sms_messages(server, mobile))
    newm = new_mobile()
    r = follow(server, b, submit_form(b, r, "minid-mobile-form", {"mobile": newm.replace("+47", "")}))
    assert Page(r.text).form("minid-code-form"), r.text[:600]
    r = submit_form(b, r, "minid-code-form", {"code": last_code(server, newm)})
    assert r.status_code == 200 and newm in r.text
    assert server.ctl("minid", "show", pid)["mobile"] == newm
    assert server.ctl("krr", "show", pid)["mobiltelefonnummer"] == newm   # KRR follows (minid.md)
    assert len(sms_messages(server, mobile)) == told + 1, "the old number was not told (§10)"
    c = new_client()
    assert minid_login(server, c, new_browser(), pid, "Nytt-Passord-9x", newm).code


# --------------------------------------------------------------------------
# reset, registration
# --------------------------------------------------------------------------

def reset_password_form(server, browser, pid, mobile):
    """A reset up to the page with the form for the new password."""
    r = browser.get(server.url("/minid/reset"), timeout=10)
    r = follow(server, browser, submit_form(browser, r, "minid-reset-form", {"pid": pid}))
    assert Page(r.text).form("minid-code-form"), r.text[:600]
    r = follow(server, browser, submit_form(browser, r, "minid-code-form", {"code": last_code(server, mobile)}))
    assert Page(r.text).form("minid-password-form"), r.text[:600]
    return r


def do_reset(server, browser, pid, mobile, new_password):
    r = reset_password_form(server, browser, pid, mobile)
    r = submit_form(browser, r, "minid-password-form", {"password": new_password, "confirm": new_password})
    assert r.status_code == 200 and Page(r.text).form("minid-password-form") is None, r.text[:600]
    return r


def test_reset_by_sms_code(server, new_client, new_browser):
    pid, mobile = create_account(server)
    before = len(sms_messages(server, mobile))
    do_reset(server, new_browser(), pid, mobile, "Vinter-Sol-2031")
    assert len(sms_messages(server, mobile)) == before + 2      # the code, then the notice (§10)
    c = new_client()
    b = new_browser()
    page, _, _ = start_minid(server, c, b)
    assert post_password(server, b, page, pid, PASSWORD).status_code == 401
    assert minid_login(server, c, new_browser(), pid, "Vinter-Sol-2031", mobile).code


def test_reset_for_unknown_number_looks_the_same(server, new_browser):
    b = new_browser()
    r = b.get(server.url("/minid/reset"), timeout=10)
    ghost = new_pid()
    r = follow(server, b, submit_form(b, r, "minid-reset-form", {"pid": ghost}))
    assert r.status_code == 200 and Page(r.text).form("minid-code-form")
    # the static code does not open a reset for a number without MinID
    r = submit_form(b, r, "minid-code-form", {"code": "12345"})
    assert r.status_code == 400 and not Page(r.text).form("minid-password-form")


def test_registration_and_activation(server, new_client, new_browser):
    pid = new_pid()
    mobile = new_mobile()
    b = new_browser()
    r = b.get(server.url("/minid/register"), timeout=10)
    r = submit_form(b, r, "minid-register-form", {"pid": pid})
    assert r.status_code == 200
    m = re.search(r'id="activation-code">([A-Z0-9-]+)<', r.text)
    assert m, r.text[:800]
    code = m.group(1)
    assert server.ctl("minid", "show", pid)["status"] == "PENDING_ACTIVATION"
    r = b.get(server.url("/minid/activate"), timeout=10)
    bad = submit_form(b, r, "minid-activate-form", {"pid": pid, "code": "AAAA-AAAA"})
    assert bad.status_code == 400
    r = follow(server, b, submit_form(b, r, "minid-activate-form", {"pid": pid, "code": code.lower()}))
    assert Page(r.text).form("minid-details-form"), r.text[:600]
    weak = submit_form(b, r, "minid-details-form", {"password": "abc", "confirm": "abc", "mobile": mobile})
    assert weak.status_code == 400
    r = follow(server, b, submit_form(b, r, "minid-details-form", {"password": PASSWORD, "confirm": PASSWORD,
                                                                   "mobile": mobile}))
    assert Page(r.text).form("minid-code-form"), r.text[:600]
    r = submit_form(b, r, "minid-code-form", {"code": last_code(server, mobile)})
    assert r.status_code == 200, r.text[:600]
    assert server.ctl("minid", "show", pid)["status"] == "ACTIVE"
    # the verified number is the person's number in KRR too (minid.md)
    krr = server.ctl("krr", "show", pid)
    assert krr["mobiltelefonnummer"] == mobile and krr["status"] == "AKTIV"
    assert krr["mobiltelefonnummer_sist_verifisert"] == krr["mobiltelefonnummer_oppdatert"]
    assert server.ctl("krr", "history", pid)[-1]["entry"]["who"] == "minid"
    # the activation code is single use
    r = b.get(server.url("/minid/activate"), timeout=10)
    again = submit_form(b, r, "minid-activate-form", {"pid": pid, "code": code})
    assert again.status_code == 400
    c = new_client()
    res = minid_login(server, c, new_browser(), pid, PASSWORD, mobile)
    assert claims_of(server, c, res)["pid"] == pid


# --------------------------------------------------------------------------
# pages: languages, headers, translations
# --------------------------------------------------------------------------

@pytest.mark.parametrize("locale,text", [("en", "Log in with MinID"), ("nn", "Logg inn med MinID"),
                                         ("se", "Čálit sisa MinID:in"), ("nb", "Logg inn med MinID")])
def test_minid_page_languages(server, new_client, new_browser, locale, text):
    c = new_client()
    page, _, _ = start_minid(server, c, new_browser(), ui_locales=locale)
    assert f'<html lang="{locale}"' in page.text and text in page.text


def test_language_switch_is_remembered(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    page, _, _ = start_minid(server, c, b)
    link = [l["href"] for l in Page(page.text).links if l["href"] and "lang=en" in l["href"]]
    assert link
    r = b.get(urljoin(page.url, link[0]), timeout=10)
    assert '<html lang="en"' in r.text
    assert b.cookies.get("IDPORTEN_SELECTED_LANGUAGE") == "en"
    page, _, _ = start_minid(server, c, b, ui_locales="nn")     # the choice beats ui_locales (spec §7)
    assert '<html lang="en"' in page.text


def test_page_security_headers_and_cookies(server, new_client, new_browser):
    c = new_client()
    b = new_browser()
    params, _ = auth_params(c)
    sel = authorize(server, b, params)
    page = open_minid(server, b, sel)
    for r in (sel, page):
        csp = r.headers.get("Content-Security-Policy", "")
        # the selector answered by /authorize runs one script, by its nonce, that
        # names the selector's own address (docs/login-flow.md §2); nothing else may
        scripts = re.findall(r"script-src ([^;]*)", csp)
        assert "frame-ancestors 'none'" in csp
        assert scripts == ([] if r is page else [re.search(r"'nonce-[\w-]+'", csp).group(0)]), csp
        assert r.headers.get("X-Content-Type-Options") == "nosniff"
        assert r.headers.get("Referrer-Policy") == "no-referrer"
    cookies = sel.raw.headers.getlist("Set-Cookie") + page.raw.headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=" in cookie, cookie
    assert "<script" not in page.text


def test_every_page_text_is_translated():
    """Each msgid the MinID and login pages use has a bokmål, nynorsk and Sami entry."""
    def po(lang):
        entries = {}
        with open(os.path.join(ROOT, "po", f"{lang}.po"), encoding="utf-8") as f:
            text = f.read()
        for mid, mstr in re.findall(r'^msgid "(.*)"\nmsgstr "(.*)"$', text, re.M):
            entries[mid.replace('\\"', '"')] = mstr
        return entries
    catalogues = {lang: po(lang) for lang in ("nb", "nn", "en", "se")}
    src = ""
    for d in ("src/eid/minid", "src/login", "src/eid", "src/ui"):
        for name in os.listdir(os.path.join(ROOT, d)):
            if name.endswith(".c"):
                with open(os.path.join(ROOT, d, name), encoding="utf-8") as f:
                    # adjacent literals are one string to the compiler
                    src += re.sub(r'"\s*\n\s*"', "", f.read())
    calls = re.findall(r'(?:page_text|minid_text|page_alert|minid_button|minid_link|page_put)\([^;]*?"([A-Z][^"]{2,})"', src)
    assert len(calls) > 40
    for mid in set(calls):
        for lang, cat in catalogues.items():
            assert cat.get(mid), f"{mid!r} has no {lang} translation"


def test_rehash_when_parameters_are_raised(server, new_client, new_browser):
    """A hash made with weaker parameters is replaced at the next login (spec §4)."""
    pid = new_pid()
    mobile = new_mobile()
    env = dict(server.env, PORTEN_MINID_ARGON_MEM_KIB="8192")
    p = subprocess.run([PORTENCTL, "--json", "minid", "create", pid, "--password", PASSWORD,
                        "--mobile", mobile], env=env, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert server.ctl("minid", "show", pid)["password"]["params"]["m_kib"] == 8192
    c = new_client()
    b = new_browser()
    page, _, _ = start_minid(server, c, b)
    r = post_password(server, b, page, pid, PASSWORD)
    assert Page(r.text).form("minid-code-form"), r.text[:400]
    params = server.ctl("minid", "show", pid)["password"]["params"]
    assert params == {"m_kib": 9216, "t": 1, "p": 1}, params


def test_per_address_rate_limit(start_server):
    s = start_server({"PORTEN_MINID_RATE_PER_MIN": "3", "PORTEN_MINID_ARGON_MEM_KIB": "8192",
                      "PORTEN_MINID_ARGON_OPS": "1"})
    b = http()
    r = b.get(s.url("/minid/reset"), timeout=10)
    statuses = []
    for i in range(4):
        statuses.append(submit_form(b, r, "minid-reset-form", {"pid": "123"}).status_code)
    assert statuses[:3] == [400, 400, 400] and statuses[3] == 429, statuses


def test_hostile_input_on_minid_pages(server, new_client, new_browser):
    pid, mobile = create_account(server)
    c = new_client()
    b = new_browser()
    page, _, _ = start_minid(server, c, b)
    form = Page(page.text).form("minid-login-form")
    action = urljoin(page.url, form["action"])
    base = dict(form["fields"])

    def post(data):
        return b.post(action, data=data, allow_redirects=False, timeout=10)

    # a huge password is refused before it is hashed
    assert post(dict(base, pid=pid, password="A1a" * 2000)).status_code == 400
    # the same parameter twice is no parameter (RFC 6749 §3.1 applies to forms here too)
    r = post(list(base.items()) + [("pid", pid), ("pid", pid), ("password", PASSWORD)])
    assert r.status_code == 400 and "minid-code-form" not in r.text
    # bytes that are not UTF-8, and control characters
    assert post(dict(base, pid=pid, password="Abc\xff\x00def123")).status_code in (400, 401)
    r = b.post(action, data=b"ar=%ff&csrf=x", headers={"Content-Type": "application/x-www-form-urlencoded"},
               allow_redirects=False, timeout=10)
    assert r.status_code == 400
    # forged and foreign flow ids
    for flow in ("x" * 43, "A" * 42, "../../etc/passwd", ""):
        r = b.get(server.url("/minid/code"), params={"flow": flow}, timeout=10)
        assert r.status_code == 400 and "minid-code-form" not in r.text
    # an unknown action is a wrong code, not a crash
    codepage = post_password(server, b, page, pid, PASSWORD)
    f = Page(codepage.text).form("minid-code-form")
    r = b.post(urljoin(codepage.url, f["action"]), data=dict(f["fields"], action="<script>", code="1" * 5000),
               allow_redirects=False, timeout=10)
    assert r.status_code == 400 and "<script>" not in r.text
    # nothing of this locked the account: the right code still works
    r = follow(server, b, submit_form(b, codepage, "minid-code-form", {"code": last_code(server, mobile)}))
    assert classify(server, r, c.redirect_uri).code


def test_app_secret_is_shown_once(server, new_browser):
    pid, mobile = create_account(server)
    b = new_browser()
    r = account_login(server, b, pid, mobile)
    r = follow(server, b, submit_form(b, r, "minid-app-form"))
    secret = re.search(r'id="app-secret">([A-Z2-7 ]+)<', r.text).group(1)
    # "back" leaves without activating, and the key is gone
    f = Page(r.text).form("minid-app-confirm-form")
    back = b.post(urljoin(r.url, f["action"]), data=dict(f["fields"], action="back"),
                  allow_redirects=False, timeout=10)
    assert back.status_code == 200 and Page(back.text).form("minid-app-form"), back.text[:400]
    again = b.get(r.url, timeout=10)
    assert secret not in back.text and secret not in again.text
    assert server.ctl("minid", "show", pid)["app"] is False


# --------------------------------------------------------------------------
# numbers issued from 2032 (spec national-id-numbers §6)
# --------------------------------------------------------------------------

def pid_2032(day, month, yy, ind):
    """A synthetic number valid only under the 2032 rule: K1 sum leaves 1-3 (mod 11)."""
    w1 = [3, 7, 6, 1, 8, 9, 4, 5, 2, 1]
    w2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    for i in range(ind, ind + 200):
        d = [int(c) for c in f"{day:02d}{month + 80:02d}{yy:02d}{i:03d}"]
        for k1 in range(10):
            if sum(a * b for a, b in zip(w1, d + [k1])) % 11 not in (1, 2, 3):
                continue
            k2 = 11 - sum(a * b for a, b in zip(w2, d + [k1])) % 11
            k2 = 0 if k2 == 11 else k2
            if k2 != 10:
                return "".join(map(str, d + [k1, k2]))
    raise AssertionError("no 2032-rule number found")


def pid_old_rule(day, month, yy, ind):
    w1 = [3, 7, 6, 1, 8, 9, 4, 5, 2]
    w2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    for i in range(ind, ind + 200):
        d = [int(c) for c in f"{day:02d}{month + 80:02d}{yy:02d}{i:03d}"]
        k1 = 11 - sum(a * b for a, b in zip(w1, d)) % 11
        k1 = 0 if k1 == 11 else k1
        if k1 == 10:
            continue
        k2 = 11 - sum(a * b for a, b in zip(w2, d + [k1])) % 11
        k2 = 0 if k2 == 11 else k2
        if k2 != 10:
            return "".join(map(str, d + [k1, k2]))
    raise AssertionError("no number found")


def register(server, b, pid):
    r = b.get(server.url("/minid/register?lang=en"), timeout=10)
    return submit_form(b, r, "minid-register-form", {"pid": pid})


@pytest.fixture(scope="module")
def server_2032(start_server):
    return start_server(dict(SERVER_ENV, PORTEN_NATID_ALLOW_2032="true"))


def test_2032_numbers_need_the_switch(server, new_browser):
    """Before 2032 and without natid_allow_2032 a number of the new series is not valid."""
    if time.time() >= 1956524400:      # 2032-01-01T00:00+01:00: the rule is on by itself
        pytest.skip("the 2032 rule applies by itself now")
    r = register(server, new_browser(), pid_2032(15, 3, 90, 500 - 200))
    assert r.status_code == 400 and "valid national identity number" in r.text


def test_2032_numbers_with_the_switch(server_2032, new_browser):
    """With natid_allow_2032 MinID takes the new series, and its age check reads no birth date
    from them (§6: the date part is no reliable birth date), while an old-rule number still
    gives one."""
    s = server_2032
    # born 1990 by its date: registered
    r = register(s, new_browser(), pid_2032(15, 3, 90, 300))
    assert r.status_code == 200 and 'id="activation-code"' in r.text, r.text[:600]
    # a date that would make a child: not a birth date under the new rule, so not refused for age
    young = time.gmtime().tm_year % 100 - 2
    r = register(s, new_browser(), pid_2032(15, 3, young, 500))
    assert r.status_code == 200 and 'id="activation-code"' in r.text, r.text[:600]
    # the same date under the old rule is a birth date: too young
    r = register(s, new_browser(), pid_old_rule(15, 3, young, 500))
    assert r.status_code == 400 and "at least 13" in r.text, r.text[:600]
    # and a login: the account of a new-series number works like any other
    pid = pid_2032(16, 4, 85, 200)
    info = s.ctl("minid", "create", pid, "--password", PASSWORD, "--mobile", new_mobile())
    assert info["status"] == "ACTIVE"
