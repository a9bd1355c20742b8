"""
No secret in any log line (issue 7): runs last (the name sorts last), drives
one server at debug level through every endpoint with every kind of
secret, on the happy path and on the refusals (where logging happens),
then reads every portend log file the whole end-to-end run produced.

What is looked for:
  - every secret this module used, verbatim and in its common encodings
    (client secrets, codes, access/refresh/ID tokens, PAR request_uri,
    the pending-login id, cookies, CSRF tokens, client assertions, PKCE
    verifiers, the KEK, a password-like wrong secret, the national
    identity number of the test person);
  - secrets the other modules used, when conftest keeps a registry of them
    (conftest.SECRETS, a set of strings; see the note in the report);
  - shapes of secrets in every log file, whoever wrote it: compact JWS
    values, Basic/Bearer credentials, client_secret= and code= in query
    or form text.
"""

import base64
import glob
import json
import os
import re
from urllib.parse import quote, quote_plus

import pytest

import conftest
from conftest import PID, auth_params, authorize, finish_login, login, logout

SERVER_ENV = {"PORTEN_LOG_LEVEL": "3"}

SECRETS = {}   # value -> what it is (this module's)

SHAPES = [
    ("a compact JWS", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")),
    ("HTTP Basic credentials", re.compile(r"Basic [A-Za-z0-9+/]{12,}={0,2}")),
    ("a bearer token", re.compile(r"Bearer [A-Za-z0-9._~+/-]{20,}")),
    ("a client secret parameter", re.compile(r"client_secret=[^&\s\"]{4,}")),
    ("a code parameter", re.compile(r"[?&]code=[A-Za-z0-9_-]{20,}")),
    ("a refresh token parameter", re.compile(r"refresh_token=[A-Za-z0-9_-]{20,}")),
    ("a code_verifier parameter", re.compile(r"code_verifier=[A-Za-z0-9._~-]{20,}")),
]


def remember(value, what):
    if isinstance(value, str) and len(value) >= 8:
        SECRETS[value] = what


def forms(value):
    """The ways a value may show up in a log line."""
    out = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    if len(value) >= 12:
        out.add(base64.b64encode(value.encode()).decode().rstrip("="))
    return out


def log_files(tmp_path_factory):
    base = str(tmp_path_factory.getbasetemp())
    files = []
    for name in ("portend.log", "portend.stderr"):
        files += glob.glob(os.path.join(base, "**", name), recursive=True)
    return sorted(files)


KEY = 8  # every form is at least this long (remember() keeps values of 8 or more)


def grep(files, needles):
    """
    [(file:line, what)] for every needle (value -> what) found.  The suite
    leaves tens of megabytes of logs and thousands of secrets, so each form
    is filed under its first KEY characters and a line is looked up at
    each offset once, instead of every form tried against every line.
    """
    index = {}
    for value, what in needles.items():
        for v in forms(value):
            if len(v) >= KEY:
                index.setdefault(v[:KEY], []).append((v, value, what))
    hits = []
    for path in files:
        with open(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                line = raw.decode("utf-8", "replace")
                found = set()
                for i in range(len(line) - KEY + 1):
                    for v, value, what in index.get(line[i:i + KEY], ()):
                        if value not in found and line.startswith(v, i):
                            found.add(value)
                            hits.append(f"{path}:{n}: {what} ({value[:6]}...)")
    return hits


def test_drive_every_secret(server, new_client, new_browser, listener, tmp_path):
    remember(server.env["PORTEN_KEK"], "the KEK")
    remember(PID, "the national identity number of the test person")

    basic = new_client(auth="client_secret_basic", refresh=True, fc=True, fc_session=True)
    post = new_client(auth="client_secret_post", refresh=True)
    jwt = new_client(auth="private_key_jwt")
    spa = new_client(auth="none", refresh=True)
    reader = new_client(introspect=True)
    for c in (basic, post, reader):
        remember(c.secret, f"client secret of {c.auth_method}")

    for c in (basic, post, jwt, spa):
        b = new_browser()
        params, verifier = auth_params(c)
        remember(verifier, "a PKCE code_verifier")
        r = authorize(server, b, params)
        m = re.search(r"[?&]ar=([A-Za-z0-9_-]{43,})", r.url + (r.headers.get("Location") or "") + r.text)
        if m:
            remember(m.group(1), "a pending-login id (ar)")
        csrf = re.search(r'name="csrf" value="([^"]+)"', r.text)
        if csrf:
            remember(csrf.group(1), "a CSRF token")
        res = finish_login(server, b, r, params["redirect_uri"], sent=params, verifier=verifier)
        assert res.code, res
        remember(res.code, "an authorization code")
        for k, v in b.cookies.items():
            remember(v, f"cookie {k}")
        assertion = c.assertion() if c.auth_method == "private_key_jwt" else None
        if assertion:
            remember(assertion, "a client assertion")
        tok = c.tokens(res, assertion=assertion)
        for k in ("access_token", "refresh_token", "id_token"):
            remember(tok.get(k), k)
        at = tok["access_token"]
        assert server.get("/userinfo", headers={"Authorization": "Bearer " + at}).status_code == 200
        assert server.get("/userinfo", headers={"Authorization": "Bearer " + at[:-4] + "AAAA"}).status_code == 401
        assert reader.introspect(at).status_code == 200
        if tok.get("refresh_token"):
            r = c.refresh(tok["refresh_token"])
            assert r.status_code == 200, r.text
            remember(r.json().get("refresh_token"), "refresh_token")
            remember(r.json().get("access_token"), "access_token")
        # the refusals, where an implementation is tempted to log what it got:
        if c.secret:
            remember(c.secret[::-1], "a wrong client secret")
            assert c.redeem(res, secret=c.secret[::-1]).status_code == 401
        assert c.redeem(res).status_code in (400, 401)  # reuse: revokes the grant
        if tok.get("refresh_token"):
            assert c.refresh(tok["refresh_token"]).status_code == 400  # spent
        assert c.revoke(at).status_code == 200

    # PAR
    params, verifier = auth_params(basic)
    r = basic.par(**params)
    assert r.status_code == 201, r.text
    remember(r.json()["request_uri"].split(":")[-1], "a PAR request_uri")

    # logout with an ID token hint
    b = new_browser()
    res = login(server, basic, b)
    tok = basic.tokens(res)
    remember(tok["id_token"], "id_token")
    for k, v in b.cookies.items():
        remember(v, f"cookie {k}")
    logout(server, b, id_token_hint=tok["id_token"],
           post_logout_redirect_uri=basic.post_logout_redirect_uri, state="st")


def test_no_secret_in_any_log(server, tmp_path_factory):
    assert SECRETS, "test_drive_every_secret did not run"
    files = log_files(tmp_path_factory)
    assert server.log_path in files, files
    needles = dict(SECRETS)
    for value in getattr(conftest, "SECRETS", ()) or ():
        if isinstance(value, str) and len(value) >= 8:
            needles.setdefault(value, "a secret another module used")
    hits = grep(files, needles)
    for path in files:
        with open(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                line = raw.decode("utf-8", "replace")
                for what, rx in SHAPES:
                    if rx.search(line):
                        hits.append(f"{path}:{n}: {what}")
    assert not hits, "secrets in logs:\n" + "\n".join(hits[:50])


def test_the_server_did_log(server):
    """Guards the test above: a silent server would pass it."""
    with open(server.log_path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").splitlines()
    assert len(lines) > 50, len(lines)
    assert any("/token" in l for l in lines)
