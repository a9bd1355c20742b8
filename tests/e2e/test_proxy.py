"""Behind a proxy (docs/operations.md "Behind a proxy"): X-Forwarded-For
names the client only when the connection comes from a trusted proxy; a
forged header from anyone else changes nothing.  Seen through the
per-address rate limit, which counts by the client address."""

import subprocess

from conftest import PORTEND

LIMITS = {"PORTEN_RATE_IP": "1", "PORTEN_RATE_IP_BURST": "6"}


def statuses(s, xff, n):
    headers = {"X-Forwarded-For": xff} if xff is not None else {}
    return [s.get("/health/live", headers=headers).status_code for _ in range(n)]


def test_trusted_proxy_names_the_client(start_server):
    s = start_server({**LIMITS, "PORTEN_TRUSTED_PROXIES": "127.0.0.0/8, ::1"})
    # each client behind the proxy has its own bucket ...
    a = statuses(s, "203.0.113.1", 10)
    assert a[:6] == [200] * 6 and 429 in a, a
    # ... so another is still served, as is the proxy itself
    assert statuses(s, "203.0.113.2", 3) == [200] * 3
    assert statuses(s, "198.51.100.7, 10.0.0.1, 203.0.113.3", 3) == [200] * 3
    # what a client writes left of the proxy's entry is not believed
    b = statuses(s, "192.0.2.1, 203.0.113.1", 2)
    assert b == [429, 429], b
    # a client spreading over many IPv6 addresses of one /64 shares a bucket
    c = [s.get("/health/live", headers={"X-Forwarded-For": f"2001:db8::{i:x}"}).status_code
         for i in range(10)]
    assert 429 in c, c
    # without the header the proxy is the client
    assert statuses(s, None, 1) == [200]
    m = s.get("/metrics").text
    assert 'porten_ratelimit_refusals_total{limit="address"}' in m
    assert "203.0.113" not in m and "2001:db8" not in m


def test_forged_header_from_untrusted_peer_is_ignored(start_server):
    s = start_server(dict(LIMITS))
    got = [s.get("/health/live", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
           for i in range(12)]
    assert 429 in got, f"a forged X-Forwarded-For escaped the per-address limit: {got}"


def test_trusted_proxy_not_listed_is_not_believed(start_server):
    s = start_server({**LIMITS, "PORTEN_TRUSTED_PROXIES": "10.0.0.0/8"})
    got = [s.get("/health/live", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
           for i in range(12)]
    assert 429 in got, got


def test_bad_list_refused_at_start(start_server, tmp_path):
    s = start_server()
    for bad in ("10.0.0.1/8", "proxy.example", "10.0.0.0/33"):
        env = dict(s.env, PORTEN_TRUSTED_PROXIES=bad)
        p = subprocess.run([PORTEND, "--check-config"], env=env, capture_output=True, timeout=60)
        assert p.returncode == 2, (bad, p.stdout, p.stderr)
        assert b"trusted_proxies" in p.stderr, p.stderr
