"""GET /metrics (docs/operations.md "Metrics"): the Prometheus text format,
checked by promtool and by a strict parser here; counters that move when a
login completes and a token is issued; no personal data in any label."""

import http.client
import re
import shutil
import subprocess

import pytest

from conftest import HIGH, PID, PID2, login

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)\}})? (\S+)$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def parse(text):
    """Strict 0.0.4 text: HELP/TYPE before a family's samples, one TYPE per
    family, numeric values, unique series.  Returns {(name, labels): value}."""
    assert text.endswith("\n")
    types, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("#"):
            parts = line.split(" ", 3)
            assert parts[1] in ("HELP", "TYPE"), line
            if parts[1] == "TYPE":
                assert parts[2] not in types, f"second TYPE for {parts[2]}"
                assert parts[3] in ("counter", "gauge", "histogram", "summary", "untyped"), line
                types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        float(value)
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"sample {name} before its TYPE"
        key = (name, tuple(LABEL_RE.findall(labels)))
        assert key not in samples, f"duplicate series {line!r}"
        samples[key] = float(value)
    return samples


def scrape(server):
    r = server.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers.get("Content-Type") == CONTENT_TYPE
    return r.text


def value(samples, name, **labels):
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def test_format_is_valid_for_promtool(server, new_client, new_browser):
    c = new_client()
    c.tokens(login(server, c, new_browser()))
    text = scrape(server)
    parse(text)
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is needed for this test"
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=30)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()


def test_counters_move(server, new_client, new_browser):
    c = new_client()
    before = parse(scrape(server))
    res = login(server, c, new_browser(), acr=HIGH)
    mid = parse(scrape(server))
    assert value(mid, "porten_logins_total", eid="testid", level=HIGH) == \
        value(before, "porten_logins_total", eid="testid", level=HIGH) + 1
    assert value(mid, "porten_tokens_issued_total") == value(before, "porten_tokens_issued_total")
    c.tokens(res)
    after = parse(scrape(server))
    assert value(after, "porten_tokens_issued_total", issuer="idporten",
                 grant_type="authorization_code") == \
        value(mid, "porten_tokens_issued_total", issuer="idporten",
              grant_type="authorization_code") + 1
    # the token request counted under its route, with its latency
    assert value(after, "porten_http_requests_total", route="/token", code="2xx") >= 1
    assert value(after, "porten_http_request_duration_seconds_count", route="/token") >= 1
    assert value(after, "porten_http_request_duration_seconds_bucket", route="/token",
                 le="+Inf") == value(after, "porten_http_request_duration_seconds_count",
                                     route="/token")
    # the store's operations, counted and timed
    assert value(after, "porten_store_calls_total", op="oauth.code_put") >= 1
    assert ("porten_store_seconds_total", (("op", "oauth.code_put"),)) in after
    assert value(after, "process_start_time_seconds") > 1.6e9
    # the first scrape of this module came after a login: its session is counted
    assert value(after, "porten_sessions_live") >= 1


def test_routes_are_patterns_and_labels_hold_no_person(server, new_client, new_browser):
    c = new_client()
    c.tokens(login(server, c, new_browser(), pid=PID2))
    # unknown paths, hostile ones too, count under one route
    for path in ("/nope/a", "/x?q=1", "/%22%0a"):
        server.get(path)
    text = scrape(server)
    samples = parse(text)
    routes = {v for (_, ls), _ in samples.items() for k, v in ls if k == "route"}
    assert "none" in routes
    assert all(r == "none" or r.startswith("/") for r in routes), routes
    assert not any("nope" in r or "?" in r for r in routes), routes
    for pid in (PID, PID2):
        assert pid not in text, "a national identity number in /metrics"
    assert c.client_id not in text, "a client_id in /metrics"
    assert not re.search(r"\b\d{11}\b", text), "an 11-digit number in /metrics"


def test_at_the_top_level_only(server):
    assert server.get("/metrics").status_code == 200
    assert server.get("/maskinporten/metrics").status_code == 404


def test_no_other_spelling_reaches_it(server):
    """A path that escapes what needs no escape, or a '/', is refused: a proxy rule on the
    raw path (docs/operations.md) cannot be walked around."""
    def status(path):
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            c.request("GET", path)
            return c.getresponse().status
        finally:
            c.close()

    for path in ("/%6detrics", "/%6Detrics", "/metric%73", "/health%2Flive", "/health%2flive",
                 "/%2Fmetrics", "/.well-known/openid%2Dconfiguration"):
        assert status(path) == 400, path
    assert status("/metrics") == 200
    assert status("/health/live") == 200
    # an escape that is needed still routes (here to no resource)
    assert status("/caf%C3%A9") == 404


def test_switched_off(start_server):
    s = start_server({"PORTEN_METRICS": "false"})
    assert s.get("/metrics").status_code == 404
    assert s.get("/health/ready").status_code == 200
