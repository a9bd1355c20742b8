"""
KRR's self-service pages (spec/krr.md §5) after an ID-porten login, and the
90-day confirmation prompt in the ID-porten login (§6).
"""

import html
import json
import os
import re
import subprocess
from urllib.parse import quote, urljoin

import pytest
import requests

from conftest import (PID, PID2, PORTEND, SUBSTANTIAL, TIMEOUT, Server, follow, login, open_testid,
                      po_catalogues, submit_testid)

SERVER_ENV = {"PORTEN_KRR_PROMPT": "true", "PORTEN_MINID_ARGON_MEM_KIB": "9216",
              "PORTEN_MINID_ARGON_OPS": "1",
              "PORTEN_KRR_GOTO_URLS": "https://tjeneste.example.no/ https://annen.example.no/side"}


@pytest.fixture(scope="module")
def persons(server):
    assert server.ctl("krr", "testdata")["persons"] >= 7
    return server


def csrf(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def profile(server, browser, pid=PID, query=""):
    """Log in to the pages in browser with TestID; the profile page."""
    r = browser.get(server.url("/minprofil" + query), allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302
    r = follow(server, browser, r)
    if r.status_code == 200 and "/minprofil" not in r.url:
        r = submit_testid(server, browser, open_testid(server, browser, r), pid, SUBSTANTIAL)
        while r.status_code == 302:
            r = browser.get(urljoin(r.url, r.headers["Location"]), allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200 and 'id="current"' in r.text, (r.url, re.sub(r"<[^>]+>", " ", r.text)[-600:])
    return r


def last_code(path, to):
    with open(path) as f:
        for line in reversed(f.read().splitlines()):
            m = json.loads(line)
            if m["to"] == to:
                return re.search(r"\d{6}", m["text"]).group(0)
    raise AssertionError(f"no code sent to {to}")


def post(server, browser, **fields):
    r = browser.post(server.url("/minprofil"), data=fields, allow_redirects=False, timeout=TIMEOUT)
    return r


def test_change_email_and_mobile(persons, new_browser):
    b = new_browser()
    page = profile(persons, b)
    tok = csrf(page.text)
    r = post(persons, b, csrf=tok, action="email", epost="ny@example.no")
    assert r.status_code == 200 and 'name="cid"' in r.text
    cid = re.search(r'name="cid" value="([^"]+)"', r.text).group(1)
    code = last_code(os.path.join(persons.data, "mail.jsonl"), "ny@example.no")
    # wrong code: nothing stored; then the right one; then replayed
    assert post(persons, b, csrf=tok, action="code", cid=cid, kode="000000" if code != "000000" else "111111").status_code == 400
    assert persons.ctl("krr", "show", PID)["epostadresse"] != "ny@example.no"
    r = post(persons, b, csrf=tok, action="code", cid=cid, kode=code)
    assert r.status_code == 200 and 'id="notice"' in r.text
    assert persons.ctl("krr", "show", PID)["epostadresse"] == "ny@example.no"
    assert post(persons, b, csrf=tok, action="code", cid=cid, kode=code).status_code == 400
    # mobile by SMS
    r = post(persons, b, csrf=tok, action="mobile", mobil="912 34 567")
    cid = re.search(r'name="cid" value="([^"]+)"', r.text).group(1)
    code = last_code(os.path.join(persons.data, "sms.jsonl"), "+4791234567")
    assert post(persons, b, csrf=tok, action="code", cid=cid, kode=code).status_code == 200
    assert persons.ctl("krr", "show", PID)["mobiltelefonnummer"] == "+4791234567"


def test_reservation_language_and_english(persons, new_browser):
    b = new_browser()
    page = profile(persons, b)
    tok = csrf(page.text)
    assert post(persons, b, csrf=tok, action="reserve", reservasjon="JA").status_code == 200
    assert persons.ctl("krr", "show", PID)["reservasjon"] == "JA"
    assert post(persons, b, csrf=tok, action="reserve", reservasjon="NEI").status_code == 200
    assert post(persons, b, csrf=tok, action="lang", spraak="en").status_code == 200
    assert persons.ctl("krr", "show", PID)["spraak"] == "en"
    r = b.get(persons.url("/minprofil?lang=en"), timeout=TIMEOUT)
    assert 'lang="en"' in r.text and "Your contact details" in r.text
    for lang, heading in (("nb", "Kontaktinformasjonen din"), ("nn", "Registrert no"),
                          ("se", "Du kontaktdieđut")):
        r = b.get(persons.url(f"/minprofil?lang={lang}"), timeout=TIMEOUT)
        assert f'lang="{lang}"' in r.text and heading in r.text, lang


def test_hostile(persons, new_browser):
    b = new_browser()
    page = profile(persons, b)
    tok = csrf(page.text)
    before = persons.ctl("krr", "show", PID)
    # no CSRF token, a wrong one, no session
    assert post(persons, b, action="reserve", reservasjon="JA").status_code == 403
    assert post(persons, b, csrf="x" * 43, action="reserve", reservasjon="JA").status_code == 403
    assert post(persons, new_browser(), csrf=tok, action="reserve", reservasjon="JA").status_code == 403
    # bad and oversized values
    for f in ({"action": "email", "epost": "not-an-address"}, {"action": "email", "epost": "a" * 5000 + "@x.no"},
              {"action": "mobile", "mobil": "12"}, {"action": "mobile", "mobil": "9" * 5000},
              {"action": "lang", "spraak": "sv"}, {"action": "reserve", "reservasjon": "KANSKJE"},
              {"action": "nothing"}, {"action": "code", "cid": "x", "kode": "1"}):
        assert post(persons, b, csrf=tok, **f).status_code == 400, f
    # a code of another person's session does not work in this one
    other = new_browser()
    otok = csrf(profile(persons, other, pid="04879140078").text)
    r = post(persons, other, csrf=otok, action="email", epost="annen@example.no")
    cid = re.search(r'name="cid" value="([^"]+)"', r.text).group(1)
    code = last_code(os.path.join(persons.data, "mail.jsonl"), "annen@example.no")
    assert post(persons, b, csrf=tok, action="code", cid=cid, kode=code).status_code == 400
    assert persons.ctl("krr", "show", PID) == before
    # too many wrong tries spend the code
    for _ in range(5):
        post(persons, other, csrf=otok, action="code", cid=cid, kode="abcdef")
    assert post(persons, other, csrf=otok, action="code", cid=cid, kode=code).status_code == 400
    assert persons.ctl("krr", "show", "04879140078").get("epostadresse") != "annen@example.no"


def cid_of(page):
    m = re.search(r'name="cid" value="([^"]+)"', page)
    return m.group(1) if m else None


def test_codes_capped_per_person(persons, new_browser):
    """A person gets krr_code_per_person (10) codes an hour, whatever the numbers typed."""
    b = new_browser()
    tok = csrf(profile(persons, b, pid="23917840059").text)
    b.get(persons.url("/minprofil?lang=en"), timeout=TIMEOUT)
    for i in range(10):
        r = post(persons, b, csrf=tok, action="mobile", mobil=f"+47912{i:05d}")
        assert r.status_code == 200 and cid_of(r.text), (i, r.status_code)
    before = len(sms_to(persons, "+4791200010"))
    for f in ({"action": "mobile", "mobil": "+4791200010"}, {"action": "email", "epost": "cap@example.no"}):
        r = post(persons, b, csrf=tok, **f)
        assert r.status_code == 429 and cid_of(r.text) is None, r.status_code
        assert "Too many codes have been sent. Try again in an hour." in html.unescape(r.text)
    assert len(sms_to(persons, "+4791200010")) == before
    # a new page session is the same person
    b2 = new_browser()
    r = post(persons, b2, csrf=csrf(profile(persons, b2, pid="23917840059").text), action="mobile",
             mobil="+4791200011")
    assert r.status_code == 429 and "Det er sendt for mange koder" in html.unescape(r.text)


def test_codes_capped_per_recipient(persons, new_browser):
    """An address gets krr_code_per_recipient (5) codes an hour, from whoever asks; case is no way round."""
    sent = 0
    for pid in ("12838540056", "30816640004"):
        b = new_browser()
        tok = csrf(profile(persons, b, pid=pid).text)
        for to in ("offer@example.no", "Offer@Example.NO", "OFFER@example.no"):
            r = post(persons, b, csrf=tok, action="email", epost=to)
            sent += 1
            assert r.status_code == (200 if sent <= 5 else 429), (pid, to, r.status_code)
    with open(os.path.join(persons.data, "mail.jsonl")) as f:
        assert sum(json.loads(line)["to"].lower() == "offer@example.no" for line in f) == 5


def test_code_tries_hold_in_parallel(persons, new_browser):
    """Wrong tries are counted by the store, so parallel guesses cannot pass krr_code_attempts."""
    import concurrent.futures
    b = new_browser()
    tok = csrf(profile(persons, b, pid="04879140078").text)
    r = post(persons, b, csrf=tok, action="email", epost="race@example.no")
    cid = cid_of(r.text)
    code = last_code(os.path.join(persons.data, "mail.jsonl"), "race@example.no")

    def one(g):
        with requests.Session() as s:
            s.cookies.update(b.cookies)
            s.verify = False
            return s.post(persons.url("/minprofil"), data={"csrf": tok, "action": "code", "cid": cid, "kode": g},
                          allow_redirects=False, timeout=TIMEOUT).status_code
    guesses = [f"{i:06d}" for i in range(40) if f"{i:06d}" != code]
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        assert set(ex.map(one, guesses)) == {400}
    assert post(persons, b, csrf=tok, action="code", cid=cid, kode=code).status_code == 400
    assert persons.ctl("krr", "show", "04879140078").get("epostadresse") != "race@example.no"


def test_new_code_voids_older(persons, new_browser):
    """A new code for the same person and address voids the older ones: one live code, one set of tries."""
    pid = "28867440072"
    mail = os.path.join(persons.data, "mail.jsonl")
    b = new_browser()
    tok = csrf(profile(persons, b, pid=pid).text)
    old_cid = cid_of(post(persons, b, csrf=tok, action="email", epost="void@example.no").text)
    old_code = last_code(mail, "void@example.no")
    # another address of the person, and the same address for another person, keep theirs
    other_cid = cid_of(post(persons, b, csrf=tok, action="mobile", mobil="+4791999001").text)
    other_code = last_code(os.path.join(persons.data, "sms.jsonl"), "+4791999001")
    b2 = new_browser()
    tok2 = csrf(profile(persons, b2, pid="12838540056").text)
    cid2 = cid_of(post(persons, b2, csrf=tok2, action="email", epost="void@example.no").text)
    code2 = last_code(mail, "void@example.no")
    # a second page session of the same person asks again, the address in other case
    b3 = new_browser()
    tok3 = csrf(profile(persons, b3, pid=pid).text)
    new_cid = cid_of(post(persons, b3, csrf=tok3, action="email", epost="Void@Example.no").text)
    new_code = last_code(mail, "Void@Example.no")
    assert new_cid != old_cid
    # the old code is void, right or wrong; it spends no try of the new one
    for kode in (old_code, "abcdef"):
        assert post(persons, b, csrf=tok, action="code", cid=old_cid, kode=kode).status_code == 400
    assert persons.ctl("krr", "show", pid).get("epostadresse") != "void@example.no"
    for _ in range(4):
        assert post(persons, b3, csrf=tok3, action="code", cid=new_cid, kode="abcdef").status_code == 400
    assert post(persons, b3, csrf=tok3, action="code", cid=new_cid, kode=new_code).status_code == 200
    assert persons.ctl("krr", "show", pid)["epostadresse"] == "Void@Example.no"
    assert post(persons, b, csrf=tok, action="code", cid=other_cid, kode=other_code).status_code == 200
    assert post(persons, b2, csrf=tok2, action="code", cid=cid2, kode=code2).status_code == 200


def sms_to(server, to):
    path = os.path.join(server.data, "sms.jsonl")
    with open(path) as f:
        return [json.loads(line)["text"] for line in f if json.loads(line)["to"] == to]


def test_number_confirmed_here_is_minids(persons, new_browser):
    """spec/minid.md: changing the mobile number in KRR changes where MinID's codes go."""
    pid, old, new = "15888530050", "+4791100011", "+4791100022"
    persons.ctl("minid", "create", pid, "--password", "Fjellvann2024Blå", "--mobile", old)
    b = new_browser()
    tok = csrf(profile(persons, b, pid=pid).text)
    r = post(persons, b, csrf=tok, action="mobile", mobil="911 00 022")
    cid = re.search(r'name="cid" value="([^"]+)"', r.text).group(1)
    code = last_code(os.path.join(persons.data, "sms.jsonl"), new)
    # a wrong code changes neither register
    assert post(persons, b, csrf=tok, action="code", cid=cid, kode="abcdef").status_code == 400
    assert persons.ctl("minid", "show", pid)["mobile"] == old
    assert post(persons, b, csrf=tok, action="code", cid=cid, kode=code).status_code == 200
    assert persons.ctl("krr", "show", pid)["mobiltelefonnummer"] == new
    assert persons.ctl("minid", "show", pid)["mobile"] == new
    assert persons.ctl("krr", "history", pid)[-1]["entry"]["who"] == "person"
    # the old number hears of it, as when it is changed on MinID's own page
    assert any("MinID" in t for t in sms_to(persons, old))
    # a person without a MinID gets none from a number confirmed here
    unknown = persons.ctl("minid", "show", PID, check=False)
    assert unknown.returncode != 0


# ---- the way back (§5: gotoUrl, else the ID-porten logout) ----

def goto_link(page):
    m = re.search(r'<a id="goto" href="([^"]+)"', page.text)
    return html.unescape(m.group(1)) if m else None


def test_goto_url_registered(persons, new_browser):
    b = new_browser()
    page = profile(persons, b, query="?gotoUrl=" + quote("https://tjeneste.example.no/minside?a=1&b=2", safe=""))
    assert goto_link(page) == "https://tjeneste.example.no/minside?a=1&b=2"
    # kept across the session's pages, and its old name goto replaces it
    tok = csrf(page.text)
    assert goto_link(post(persons, b, csrf=tok, action="lang", spraak="nb")) == \
        "https://tjeneste.example.no/minside?a=1&b=2"
    r = b.get(persons.url("/minprofil?goto=" + quote("https://annen.example.no/side", safe="")),
              timeout=TIMEOUT)
    assert r.status_code == 200 and goto_link(r) == "https://annen.example.no/side"


@pytest.mark.parametrize("url", [
    "https://evil.example.no/",
    "https://tjeneste.example.no.evil.no/",
    "https://tjeneste.example.no@evil.no/",
    "https://tjeneste.example.no\\@evil.no/",
    "HTTPS://tjeneste.example.no/",
    "https://Tjeneste.example.no/",
    "https://tjeneste.example.no/Side",
    "http://tjeneste.example.no/",
    "//tjeneste.example.no/",
    "javascript:alert(1)//tjeneste.example.no/",
    "https://annen.example.no/side2",
    "https://annen.example.no/side/under",
    " https://tjeneste.example.no/",
    "https://tjeneste.example.no/\r\nSet-Cookie:x=1",
    "https://tjeneste.example.no/" + "a" * 3000,
    "",
])
def test_goto_url_refused(persons, new_browser, url):
    b = new_browser()
    page = profile(persons, b, query="?gotoUrl=" + quote("https://tjeneste.example.no/", safe=""))
    for name in ("gotoUrl", "goto"):
        # before a login and during one: refused, nothing kept
        r = new_browser().get(persons.url(f"/minprofil?{name}=" + quote(url, safe="")),
                              allow_redirects=False, timeout=TIMEOUT)
        assert r.status_code == 400, (url, r.status_code, r.headers.get("Location"))
        r = b.get(persons.url(f"/minprofil?{name}=" + quote(url, safe="")), allow_redirects=False,
                  timeout=TIMEOUT)
        assert r.status_code == 400 and 'id="goto"' not in r.text
    assert goto_link(b.get(persons.url("/minprofil"), timeout=TIMEOUT)) == "https://tjeneste.example.no/"
    assert goto_link(page) == "https://tjeneste.example.no/"


def test_logout_is_the_way_back_without_goto(persons, new_client, new_browser):
    b = new_browser()
    page = profile(persons, b)
    assert goto_link(page) is None and 'value="logout"' in page.text
    tok = csrf(page.text)
    r = post(persons, b, csrf=tok, action="logout")
    assert r.status_code in (302, 303)
    loc = urljoin(r.url, r.headers["Location"])
    assert "/logout?" in loc and "id_token_hint=" in loc
    r = follow(persons, b, b.get(loc, allow_redirects=False, timeout=TIMEOUT))
    assert r.status_code == 200, r.text[:400]
    # the page session is gone, and so is the ID-porten session: a new login needs an eID
    assert post(persons, b, csrf=tok, action="reserve", reservasjon="JA").status_code == 403
    r = follow(persons, b, b.get(persons.url("/minprofil"), allow_redirects=False, timeout=TIMEOUT))
    assert r.status_code == 200 and "testid" in r.text and 'id="current"' not in r.text


@pytest.mark.parametrize("value", ["javascript:alert(1)", "https://", "https://UPPER.example.no/",
                                   "https:///sti/", "https://a@b.example.no/"])
def test_goto_list_checked_at_start(tmp_path, value):
    s = Server(tmp_path)
    p = subprocess.run([PORTEND, "--check-config"], env=dict(s.env, PORTEN_KRR_GOTO_URLS=value),
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "krr_goto_urls" in p.stderr, (p.stdout, p.stderr)


# ---- the prompt (§6) ----

def prompt_login(server, client, browser, pid):
    from conftest import auth_params, authorize, classify
    params, verifier = auth_params(client)
    r = authorize(server, browser, params)
    r = submit_testid(server, browser, open_testid(server, browser, r), pid, SUBSTANTIAL)
    r = follow(server, browser, r)
    return r, params


def test_prompt_old_record(persons, new_client, new_browser):
    # 09899940080 is expired (older than 18 months): the prompt shows
    c = new_client()
    b = new_browser()
    r, params = prompt_login(persons, c, b, "09899940080")
    assert r.status_code == 200 and "/krr/confirm" in r.text, r.text[:400]
    ar = re.search(r'name="ar" value="([^"]+)"', r.text).group(1)
    t = csrf(r.text)
    r = b.post(persons.url("/krr/confirm"), data={"ar": ar, "csrf": t, "action": "confirm"},
               allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code in (302, 303) and "code=" in r.headers["Location"]
    # confirmed now: the next eID login does not prompt
    r, _ = prompt_login(persons, c, new_browser(), "09899940080")
    assert r.status_code in (302, 303) and "code=" in r.headers["Location"]
    # a replayed form gets the error page
    r = b.post(persons.url("/krr/confirm"), data={"ar": ar, "csrf": t, "action": "confirm"},
               allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 400


def test_prompt_later_and_none(persons, new_client, new_browser):
    c = new_client()
    b = new_browser()
    # not registered: prompted; "later" records nothing, so the person stays unregistered
    unregistered = persons.ctl("krr", "show", PID2, check=False)
    assert unregistered.returncode != 0, unregistered.stdout
    r, _ = prompt_login(persons, c, b, PID2)
    assert "/krr/confirm" in r.text
    ar = re.search(r'name="ar" value="([^"]+)"', r.text).group(1)
    r = b.post(persons.url("/krr/confirm"), data={"ar": ar, "csrf": csrf(r.text), "action": "later"},
               allow_redirects=False, timeout=TIMEOUT)
    assert "code=" in r.headers["Location"]
    after = persons.ctl("krr", "show", PID2, check=False)
    assert (after.returncode, after.stdout) == (unregistered.returncode, unregistered.stdout)
    assert persons.ctl("krr", "history", PID2, check=False).stdout.strip() in (b"", b"[]")
    # and the prompt returns at the next eID login
    r, _ = prompt_login(persons, c, new_browser(), PID2)
    assert "/krr/confirm" in r.text
    # SSO with prompt=none never shows it
    from conftest import auth_params, authorize
    params, _ = auth_params(c, prompt="none")
    r = follow(persons, b, authorize(persons, b, params))
    assert r.status_code in (302, 303) and "code=" in r.headers["Location"]


def test_prompt_fresh_record_never(persons, new_client, new_browser):
    persons.ctl("krr", "testdata")
    res = login(persons, new_client(), new_browser(), pid="04879140078")
    assert res.code


def test_prompt_codes_capped(persons, new_client, new_browser):
    """The prompt's codes count with the pages' (PID2 is prompted at every eID login)."""
    c = new_client()
    statuses = []
    for i in range(11):
        b = new_browser()
        r, _ = prompt_login(persons, c, b, PID2)
        ar = re.search(r'name="ar" value="([^"]+)"', r.text).group(1)
        r = b.post(persons.url("/krr/confirm"), data={"ar": ar, "csrf": csrf(r.text), "action": "mobile",
                                                       "mobil": f"+47913{i:05d}"},
                   allow_redirects=False, timeout=TIMEOUT)
        statuses.append(r.status_code)
    assert statuses == [200] * 10 + [429], statuses
    assert "Det er sendt for mange koder" in html.unescape(r.text)


def test_every_page_text_is_translated():
    """Each text of the pages, the prompt and the codes has its nb, nn, en and se entry."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    catalogues = po_catalogues()
    texts = set()
    for name in ("pages.c", "prompt.c", "code.c"):
        with open(os.path.join(root, "src", "krr", name), encoding="utf-8") as f:
            src = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
        src = re.sub(r'"\s*\n\s*"', "", src)  # adjacent literals are one string
        # the texts are the capitalised literals in words; headers, formats and names are not
        texts |= {t for t in re.findall(r'"([A-Z][^"%\\]*)"', src)
                  if re.match(r"^[A-Z][a-z-]+( [^ ]+)+$", t) or
                  t in ("Yes", "No", "Code", "Confirm", "Later", "English")}
    assert len(texts) > 30, texts
    for mid in texts:
        for lang, cat in catalogues.items():
            assert cat.get(mid), f"{mid!r} has no {lang} translation"


def test_cookies_secure_behind_a_tls_proxy(start_server):
    """An https issuer served on plain HTTP (TLS ends at a proxy): the pages' cookies are Secure."""
    s = start_server({"PORTEN_ISSUER": "https://porten.example.no"})
    r = requests.get(f"http://127.0.0.1:{s.port}/minprofil", allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 302, r.status_code
    cookies = r.raw.headers.getlist("Set-Cookie")
    assert cookies
    for cookie in cookies:
        assert "; Secure" in cookie and "HttpOnly" in cookie, cookie
