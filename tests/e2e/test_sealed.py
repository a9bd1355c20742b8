"""
A login in progress sealed into its ar (src/login/pending.c): no store row
to start a login, and every hostile form of the sealed text (altered, cut,
too long, replayed, expired, another browser's, an unknown or rotated-out
key) gets the login's error page, never a code and never a 500.

The tests that seal texts of their own read the sealing key from the store,
as a node does, and seal with the layout pending.c documents.
"""

import hashlib
import json
import os
import time
from urllib.parse import quote

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conftest import (PID, SUBSTANTIAL, TIMEOUT, Page, auth_params, authorize, b64u, b64u_decode, classify, follow,
                      open_testid, pending_ar, post_form_at_once, submit_form, submit_testid)
from samlkit import store_sql

PERIOD = 1800            # pending_lifetime's default: the sealing key's period
OVER = "the login has expired or was finished"
NONE = "no login in progress"
BROWSER = "the login was started in another browser"


def begin(server, client, b, **overrides):
    """Authorize in b up to the selector: (params, verifier, selector response, ar)."""
    params, verifier = auth_params(client, **overrides)
    r = authorize(server, b, params)
    assert r.status_code == 200, f"no selector: {r.status_code} {r.url}"
    return params, verifier, r, pending_ar(r)


def selector(server, b, ar):
    return b.get(server.url("/login"), params={"ar": ar}, allow_redirects=False, timeout=TIMEOUT)


def refused(r, why=None):
    """The login's error page: 400, no redirect to the client."""
    assert r.status_code == 400, f"{r.status_code} {r.text[:400]!r}"
    assert "Location" not in r.headers
    if why is not None:
        assert why in r.text, f"expected {why!r}: {r.text[:600]!r}"


def key_of(server, kid):
    rows = store_sql(server, f"SELECT doc FROM docs WHERE kind = 'seal_key' AND id = '{kid}'")
    assert rows, f"no sealing key {kid} in the store"
    return b64u_decode(json.loads(rows[0][0])["k"])


def put_key(server, kid, key):
    doc = json.dumps({"k": b64u(key)})
    store_sql(server, "INSERT INTO docs (kind, id, doc, expires_at) VALUES "
                      f"('seal_key', '{kid}', '{doc}', {int(time.time()) + 4 * PERIOD})")


def aad(head, cookie):
    return head + hashlib.sha256(cookie.encode()).digest()


def unseal(server, ar, cookie):
    raw = b64u_decode(ar)
    kid = int.from_bytes(raw[1:5], "big")
    plain = AESGCM(key_of(server, kid)).decrypt(raw[5:17], raw[17:], aad(raw[:5], cookie))
    return kid, int.from_bytes(plain[:8], "big"), plain[8:]


def seal(kid, key, exp, body, cookie):
    head = bytes([1]) + kid.to_bytes(4, "big")
    iv = os.urandom(12)
    ct = AESGCM(key).encrypt(iv, exp.to_bytes(8, "big") + body, aad(head, cookie))
    return b64u(head + iv + ct)


def begin_sealed(server, client, b):
    """A login begun in b and opened as a node opens it: (ar, cookie, kid, key, exp, body)."""
    _, _, _, ar = begin(server, client, b)
    cookie = b.cookies.get("porten_b")
    kid, exp, body = unseal(server, ar, cookie)
    return ar, cookie, kid, key_of(server, kid), exp, body


def period_start():
    now = int(time.time())
    return now - now % PERIOD


def test_a_login_starts_without_a_store_row(server, new_client, new_browser):
    c, b = new_client(), new_browser()
    before = int(store_sql(server, "SELECT count(*) FROM docs WHERE kind = 'pending'")[0][0])
    params, verifier, r, ar = begin(server, c, b)
    assert len(ar) > 43
    assert int(store_sql(server, "SELECT count(*) FROM docs WHERE kind = 'pending'")[0][0]) == before
    # the sealed text names the issuer's current key and holds the request, bound to the cookie
    kid, exp, body = unseal(server, ar, b.cookies.get("porten_b"))
    assert kid == period_start() or kid == period_start() - PERIOD
    assert 0 < exp - time.time() <= PERIOD + 5
    assert json.loads(body)["state"] == params["state"]
    res = classify(server, submit_testid(server, b, open_testid(server, b, r)), c.redirect_uri, params,
                   verifier)
    assert res.code and res.state == params["state"]
    # spent in the commit that issued the code, by the hash of the ar
    spent = b64u(hashlib.sha256(ar.encode()).digest())
    assert int(store_sql(server, f"SELECT count(*) FROM docs WHERE kind = 'spent' AND id = '{spent}'")[0][0]) == 1


def test_replayed_after_completion(server, new_client, new_browser):
    c, b = new_client(), new_browser()
    params, verifier, r, ar = begin(server, c, b)
    t = open_testid(server, b, r)
    res = classify(server, submit_testid(server, b, t), c.redirect_uri, params, verifier)
    assert res.code
    # the same form once more, the selector and the TestID page of the finished login
    again = follow(server, b, submit_form(b, t, "testid-form", {"pid": PID, "acr": SUBSTANTIAL}))
    assert not classify(server, again, c.redirect_uri).code
    refused(again, OVER)
    refused(selector(server, b, ar), OVER)
    refused(b.get(server.url("/testid"), params={"ar": ar}, allow_redirects=False, timeout=TIMEOUT), OVER)


def test_form_posted_at_once_issues_one_code(server, new_client, new_browser):
    """
    The TestID form posted eight times at once: one post completes the login,
    every other gets the finished page, whether it found the login spent when
    it opened it or when it went to spend it.  Nothing answers 500, and one
    code stays.
    """
    c, b = new_client(), new_browser()
    params, verifier, r, ar = begin(server, c, b)
    t = open_testid(server, b, r)
    answers, codes = post_form_at_once(b, t, "testid-form", {"pid": PID, "acr": SUBSTANTIAL})
    assert len(codes) == 1, [(a.status_code, a.headers.get("Location")) for a in answers]
    for a in answers:
        if a is not codes[0]:
            refused(a, OVER)
    res = classify(server, codes[0], c.redirect_uri, params, verifier)
    assert res.code and res.state == params["state"]


def test_cancel_once(server, new_client, new_browser):
    c, b = new_client(), new_browser()
    params, _, r, ar = begin(server, c, b)
    cancel = Page(r.text).form("cancel-form")
    assert cancel is not None, r.text[:600]
    first = submit_form(b, r, "cancel-form")
    res = classify(server, first, c.redirect_uri, params)
    assert res.error == "access_denied"
    refused(submit_form(b, r, "cancel-form"), OVER)
    refused(selector(server, b, ar), OVER)


def test_altered_cut_and_oversized(server, new_client, new_browser):
    c, b = new_client(), new_browser()
    params, _, r, ar = begin(server, c, b)
    t = open_testid(server, b, r)
    fields = dict(Page(t.text).form("testid-form")["fields"])
    mid = len(ar) // 2
    flipped = ar[:mid] + ("A" if ar[mid] != "A" else "B") + ar[mid + 1:]
    # in the tag (a whole group of four: the text stays canonical base64url)
    tag = len(ar) - len(ar) % 4 - 2
    last = ar[:tag] + ("A" if ar[tag] != "A" else "B") + ar[tag + 1:]
    for bad, why in ((flipped, BROWSER), (last, BROWSER), (ar[:-8], None), (ar[:30], NONE),
                     (ar + "AAAA", BROWSER), (ar + "A" * 4000, NONE), ("A" * 20000, None),
                     ("!" * 60, NONE), ("A" * 44, None), ("", NONE)):
        page = selector(server, b, bad)
        if len(bad) > 8000:     # past the server's limit on a request target
            assert page.status_code == 414
        else:
            refused(page, why)
        post = b.post(server.url("/testid"), data=dict(fields, ar=bad), allow_redirects=False,
                      timeout=TIMEOUT)
        assert post.status_code in (400, 403) and "Location" not in post.headers, \
            f"{post.status_code} {post.text[:300]!r}"
    # the untouched ar still works after all that
    res = classify(server, submit_testid(server, b, t), c.redirect_uri, params)
    assert res.code


def test_another_browsers_ar(server, new_client, new_browser):
    c, a, other, bare = new_client(), new_browser(), new_browser(), new_browser()
    params, _, r, ar = begin(server, c, a)
    begin(server, c, other)         # other has a binding cookie of its own
    refused(selector(server, other, ar), BROWSER)
    refused(selector(server, bare, ar), NONE)
    t = open_testid(server, a, r)
    fields = dict(Page(t.text).form("testid-form")["fields"])
    post = other.post(server.url("/testid"), data=fields, allow_redirects=False, timeout=TIMEOUT)
    refused(post, BROWSER)
    assert classify(server, submit_testid(server, a, t), c.redirect_uri, params).code


def test_expired(server, new_client, new_browser):
    c, b = new_client(), new_browser()
    _, cookie, kid, key, exp, body = begin_sealed(server, c, b)
    # resealed as it was, it opens (the layout is the server's) ...
    assert selector(server, b, seal(kid, key, exp, body, cookie)).status_code == 200
    # ... and with its expiry passed it does not
    refused(selector(server, b, seal(kid, key, int(time.time()) - 1, body, cookie)), OVER)


def test_unknown_and_rotated_out_keys(server, new_client, new_browser):
    c, b = new_client(), new_browser()
    ar, cookie, _, _, exp, body = begin_sealed(server, c, b)
    start = period_start()
    # a kid no node made (in the window, or far ahead), with a key of its own
    for kid in (start + 7, start + 10 * PERIOD, 0xFFFFFFFF):
        refused(selector(server, b, seal(kid, os.urandom(32), exp, body, cookie)), OVER)
    # the previous period's key still opens a login sealed under it
    prev, prev_key = start - PERIOD, os.urandom(32)
    put_key(server, prev, prev_key)
    assert selector(server, b, seal(prev, prev_key, exp, body, cookie)).status_code == 200
    # the one before is rotated out, though its key is still stored and the login not expired
    old, old_key = start - 2 * PERIOD, os.urandom(32)
    put_key(server, old, old_key)
    refused(selector(server, b, seal(old, old_key, exp, body, cookie)), OVER)
    # another version of the layout
    raw = bytearray(b64u_decode(ar))
    raw[0] = 2
    refused(selector(server, b, b64u(bytes(raw))), NONE)


def test_sealed_garbage_that_opens(server, new_client, new_browser):
    """Text sealed under the real key that is no request at all: the page, not a 500."""
    c, b = new_client(), new_browser()
    _, cookie, kid, key, exp, _ = begin_sealed(server, c, b)
    for body in (b"", b"x", b"[]", b'{"client_id": 7}', b'{"acr": "nonsense"}', b"\xff" * 40):
        r = selector(server, b, seal(kid, key, exp, body, cookie))
        assert r.status_code == 400, f"{body!r}: {r.status_code} {r.text[:300]!r}"


def test_a_large_request_still_logs_in(server, new_client, new_browser):
    """A request too large to travel sealed in a URL is kept in the store as before."""
    c, b = new_client(), new_browser()
    big = "s" * 3000
    params, verifier, r, ar = begin(server, c, b, state=big)
    assert len(ar) == 43
    res = classify(server, submit_testid(server, b, open_testid(server, b, r)), c.redirect_uri, params,
                   verifier)
    assert res.code and res.state == big
    refused(selector(server, b, quote(ar)), OVER)
