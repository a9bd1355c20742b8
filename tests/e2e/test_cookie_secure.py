"""
One rule decides Secure on every cookie Porten sets (app_cookie_secure):
Secure when cookie_secure holds (by default: the issuer is https) and on
any request that came over TLS.  Here the cookies of the SAML proxy (the
flow cookie and the SSO session's) and the language cookie against it, on
the plain-http dev configuration, with cookie_secure configured (a proxy
in front ends TLS), and over TLS with cookie_secure off (an http issuer).
"""

from http.cookiejar import DefaultCookiePolicy

import pytest

import conftest
from conftest import Server, http, start_or_skip
from samlkit import SP, keypair, lasso, sanitizer_env
from test_saml_sso import to_acs
from test_tls import make_cert

pytestmark = pytest.mark.skipif(lasso is None, reason="python3-lasso not installed")

COOKIES = ("porten_saml", "porten_saml_sid", "IDPORTEN_SELECTED_LANGUAGE")


def cookies_by_name(server, keys, tmp_path, b):
    """Log in through the SAML proxy and pick a language: {name: its first Set-Cookie}."""
    seen = []
    b.hooks["response"].append(lambda r, *a, **k: seen.extend(r.raw.headers.getlist("Set-Cookie")))
    sp = SP(server, "https://sp.example.no/saml", *keys["sp"])
    sp.register(tmp_path)
    url, _ = sp.authn_request()
    acs = to_acs(server, b, url)
    assert acs.startswith(sp.acs + "?"), acs
    r = b.get(server.url("/minid/register?lang=en"), timeout=conftest.TIMEOUT)
    assert r.status_code == 200, r.text[:300]
    out = {}
    for c in seen:
        out.setdefault(c.split("=", 1)[0], c)
    assert all(n in out for n in COOKIES), list(out)
    return out


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("saml-keys"))
    return {n: keypair(d, n) for n in ("idp", "sp")}


def saml_env(keys, extra=None):
    key, crt = keys["idp"]
    return {"PORTEN_SAML_KEY_FILE": key, "PORTEN_SAML_CERT_FILE": crt, **sanitizer_env(),
            **(extra or {})}


@pytest.mark.parametrize("extra, secure", [
    ({}, False),                                   # plain-http dev: an http issuer
    ({"PORTEN_COOKIE_SECURE": "true"}, True),      # behind a proxy that ends TLS
], ids=["dev", "cookie_secure"])
def test_plain_http(keys, tmp_path_factory, tmp_path, monkeypatch, extra, secure):
    # The browser reaches plain-http Porten through a proxy that ends TLS: it sends Secure cookies.
    monkeypatch.setattr(DefaultCookiePolicy, "return_ok_secure", lambda self, c, r: True)
    s = start_or_skip(Server(tmp_path_factory.mktemp("porten"), saml_env(keys, extra)))
    b = http()
    try:
        got = cookies_by_name(s, keys, tmp_path, b)
    finally:
        s.stop()
    for n in COOKIES:
        assert ("; Secure" in got[n]) == secure, got[n]


def test_over_tls_with_an_http_issuer(keys, tmp_path_factory, tmp_path, monkeypatch):
    """cookie_secure follows the http issuer (off), but the requests came over TLS."""
    cert, key = make_cert(str(tmp_path_factory.mktemp("tls")), "cookies")
    monkeypatch.setattr(conftest, "TLS_CA", cert)
    monkeypatch.setattr(conftest._HTTP, "verify", cert)
    s = Server(tmp_path_factory.mktemp("porten"),
               saml_env(keys, {"PORTEN_TLS_CERT_FILE": cert, "PORTEN_TLS_KEY_FILE": key}))
    plain, tls = s.issuer, s.issuer.replace("http://", "https://", 1)
    # The configuration names the http issuer; the test reaches the same port over TLS.
    s.issuer = tls
    s.owns = lambda url: any(url == o or url.startswith(o + "/") for o in (plain, tls))
    start_or_skip(s)
    b = http()
    request = b.request
    b.request = lambda method, url, *a, **k: request(
        method, tls + url[len(plain):] if url.startswith(plain) else url, *a, **k)
    try:
        got = cookies_by_name(s, keys, tmp_path, b)
    finally:
        s.stop()
    for n in COOKIES:
        assert "; Secure" in got[n], got[n]
