#!/usr/bin/python3
"""
KRR lookups (spec/krr.md §3): load N synthetic persons with `portenctl krr
import`, then time POST /rest/v2/personer with 1000 numbers a call, with a
real Maskinporten token, on SQLite and (when a PostgreSQL URI is given or
tools/pg-test.sh can start one) on PostgreSQL.  Prints the import rate,
lookups per second, persons per second and the latency percentiles per
concurrency, beside the machine's figures.  A benchmark, never a test.

    bench/krr/run.sh [--persons 1000000] [--seconds 10] [--concurrency 1,4] [--pg URI|--no-pg]
"""

import argparse
import json
import os
import platform
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests
from jwcrypto import jwk
from jwcrypto import jwt as jjwt

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPES = "krr:global/kontaktinformasjon.read krr:global/digitalpost.read"
ORG = "921000014"


def synthetic_ids(n):
    """n distinct synthetic national identity numbers (month + 80), generated in order."""
    k1 = [3, 7, 6, 1, 8, 9, 4, 5, 2]
    k2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    count = 0
    # individual numbers 500-999 belong to births 2000-2039: years 00-25
    for yy in range(0, 26):
        for month in range(1, 13):
            for day in range(1, 29):
                for ind in range(500, 1000):
                    base = f"{day:02d}{month + 80:02d}{yy:02d}{ind:03d}"
                    c1 = 11 - sum(int(a) * b for a, b in zip(base, k1)) % 11
                    c1 = 0 if c1 == 11 else c1
                    if c1 == 10:
                        continue
                    b = base + str(c1)
                    c2 = 11 - sum(int(a) * k for a, k in zip(b, k2)) % 11
                    c2 = 0 if c2 == 11 else c2
                    if c2 == 10:
                        continue
                    yield b + str(c2)
                    count += 1
                    if count == n:
                        return
    raise SystemExit("not enough synthetic numbers")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Porten:
    def __init__(self, build, work, store=None):
        self.build = build
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PORTEN_")}
        self.env.update({"PORTEN_LISTEN": f"127.0.0.1:{self.port}", "PORTEN_ISSUER": self.issuer,
                         "PORTEN_DATA": os.path.join(work, "data"), "PORTEN_ENV": "test",
                         "PORTEN_LOG_LEVEL": "1", "PORTEN_RATE_IP": "0", "PORTEN_RATE_CLIENT": "0",
                         "PORTEN_KEK": secrets.token_urlsafe(32)[:43]})
        if store:
            self.env["PORTEN_STORE"] = store
        os.makedirs(self.env["PORTEN_DATA"], mode=0o700, exist_ok=True)
        self.log = open(os.path.join(work, "portend.log"), "ab")
        self.proc = None

    def ctl(self, *args, stdin=None):
        p = subprocess.run([os.path.join(self.build, "portenctl"), "--json", *args], env=self.env,
                           stdin=stdin, capture_output=True, timeout=7200)
        if p.returncode != 0:
            raise SystemExit(f"portenctl {args[0]} {args[1]}: {p.stderr.decode()[-2000:]}")
        return json.loads(p.stdout) if p.stdout.strip() else None

    def start(self):
        self.proc = subprocess.Popen([os.path.join(self.build, "portend")], env=self.env, stdout=self.log,
                                     stderr=self.log)
        for _ in range(200):
            try:
                if requests.get(self.issuer + "/health/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise SystemExit("portend did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


def load(porten, ids, work):
    path = os.path.join(work, "persons.csv")
    with open(path, "w") as f:
        f.write("personidentifikator,epostadresse,mobiltelefonnummer,postkasseadresse,"
                "postkasseleverandoeradresse,spraak\n")
        for i, pid in enumerate(ids):
            mailbox = f"p{i}#AB12,984661185" if i % 3 == 0 else ","
            f.write(f"{pid},p{i}@example.no,+47{90000000 + i % 10000000},{mailbox},nb\n")
    t0 = time.monotonic()
    porten.ctl("krr", "import", path)
    took = time.monotonic() - t0
    os.unlink(path)
    return took


def token(porten):
    key = jwk.JWK.generate(kty="RSA", size=2048)
    kid = "bench-" + uuid.uuid4().hex[:8]
    pub = json.loads(key.export_public())
    pub.update({"kid": kid, "use": "sig", "alg": "RS256"})
    jwks = os.path.join(porten.env["PORTEN_DATA"], "bench-jwks.json")
    with open(jwks, "w") as f:
        json.dump({"keys": [pub]}, f)
    for s in SCOPES.split():
        porten.ctl("scope", "grant", s, ORG)
    info = porten.ctl("client", "create", "--client-name", "krr bench", "--description", "bench",
                      "--integration-type", "maskinporten", "--token-endpoint-auth-method", "private_key_jwt",
                      "--grant-type", GRANT, "--client-orgno", ORG, "--jwks-file", jwks,
                      *sum((["--scope", s] for s in SCOPES.split()), []))

    def mint():
        now = int(time.time())
        aud = porten.issuer + "/maskinporten/"
        t = jjwt.JWT(header={"alg": "RS256", "kid": kid},
                     claims={"aud": aud, "iss": info["client_id"], "scope": SCOPES, "iat": now,
                             "exp": now + 60, "jti": str(uuid.uuid4())})
        t.make_signed_token(key)
        r = requests.post(aud + "token", data={"grant_type": GRANT, "assertion": t.serialize()}, timeout=10)
        r.raise_for_status()
        return r.json()["access_token"]
    return mint


def ticks(pid):
    """CPU time (user + system) a process has used, in seconds; None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def psql(uri, sql):
    """One value from the database (psql), or None."""
    try:
        p = subprocess.run(["psql", "-X", "-At", "-d", uri, "-c", sql], capture_output=True, text=True,
                           timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def cpu(porten):
    """CPU seconds used so far by portend and, when on this machine, by its PostgreSQL backends."""
    out = {"portend": ticks(porten.proc.pid), "db": {}}
    uri = porten.env.get("PORTEN_STORE", "")
    if uri.startswith("postgres"):
        pids = psql(uri, "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                         " AND application_name = 'portend'") or ""
        for pid in pids.split():
            t = ticks(int(pid))
            if t is not None:
                out["db"][pid] = t
    return out


def cpu_per_lookup(before, after, lookups):
    """Milliseconds of CPU per lookup, portend's and the database backends'."""
    if not lookups:
        return {}
    out = {}
    if before["portend"] is not None and after["portend"] is not None:
        out["portend_ms"] = (after["portend"] - before["portend"]) * 1000 / lookups
    if after["db"]:
        used = sum(t - before["db"].get(pid, 0) for pid, t in after["db"].items())
        out["db_ms"] = used * 1000 / lookups
    return out


def server_hist(porten):
    """The server's own timing of the lookups: cumulative counts per bucket bound (GET /metrics)."""
    out = {}
    try:
        text = requests.get(porten.issuer + "/metrics", timeout=10).text
    except requests.RequestException:
        return out
    for line in text.splitlines():
        if line.startswith("porten_http_request_duration_seconds_bucket") and "/rest/v2/personer" in line:
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out[le] = int(float(line.rsplit(" ", 1)[1]))
    return out


def server_share(before, after):
    """Share of lookups the server answered within each bound, in this run."""
    total = after.get("+Inf", 0) - before.get("+Inf", 0)
    return {le: (after[le] - before.get(le, 0)) / total for le in ("0.005", "0.01", "0.025", "0.05")
            if total > 0 and le in after}


def run(porten, mint, ids, seconds, conc, batch):
    url = porten.issuer + "/rest/v2/personer"
    lat, lock, stop = [], threading.Lock(), time.monotonic() + seconds
    errors = [0]

    def worker(seed):
        rnd = random.Random(seed)
        s = requests.Session()
        tok, tok_at = mint(), time.monotonic()
        mine = []
        while time.monotonic() < stop:
            if time.monotonic() - tok_at > 90:
                tok, tok_at = mint(), time.monotonic()
            body = json.dumps({"personidentifikatorer": rnd.sample(ids, batch)})
            t0 = time.perf_counter()
            r = s.post(url, data=body, headers={"Content-Type": "application/json",
                                                "Authorization": f"Bearer {tok}"}, timeout=30)
            _ = r.content
            dt = time.perf_counter() - t0
            if r.status_code != 200:
                errors[0] += 1
                continue
            mine.append(dt)
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(conc)]
    before = server_hist(porten)
    cpu0 = cpu(porten)
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    cpu1 = cpu(porten)
    share = server_share(before, server_hist(porten))
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
    return {"concurrency": conc, "lookups": len(lat), "errors": errors[0], "lookups_per_s": len(lat) / wall,
            "persons_per_s": len(lat) * batch / wall, "p50_ms": q(0.50), "p90_ms": q(0.90), "p99_ms": q(0.99),
            "max_ms": lat[-1] * 1000 if lat else float("nan"),
            "mean_ms": statistics.fmean(lat) * 1000 if lat else float("nan"), "server_within": share,
            "cpu_per_lookup": cpu_per_lookup(cpu0, cpu1, len(lat))}


def engine(name, build, store, n, seconds, concs, batch, ab=None, rounds=1):
    work = tempfile.mkdtemp(prefix=f"krr-bench-{name}-")
    p = Porten(build, work, store)
    print(f"[{name}] generating and importing {n} persons ...", file=sys.stderr)
    ids = list(synthetic_ids(n))
    took = load(p, ids, work)
    settings, vacuum = {}, None
    if store:
        # what autovacuum does soon after a bulk load: hint bits, the visibility map, statistics;
        # without it the first lookups of each page write it back
        t0 = time.monotonic()
        if psql(store, "VACUUM (ANALYZE) krr_persons") is not None:
            vacuum = time.monotonic() - t0
        for k in ("server_version", "shared_buffers", "work_mem", "effective_cache_size"):
            settings[k] = psql(store, f"SHOW {k}")
    # --ab: the builds take turns on the same data, round after round
    builds = [("", build)] if ab is None else [("A", build), ("B", ab)]
    rows, mint = [], None
    try:
        for rnd in range(rounds):
            for label, b in builds:
                p.build = b
                p.start()
                if mint is None:
                    mint = token(p)
                # warm the caches (and the database's pages) before measuring
                run(p, mint, ids, 2, 1, batch)
                for c in concs:
                    x = run(p, mint, ids, seconds, c, batch)
                    x.update({"build": label, "round": rnd + 1, "loadavg": os.getloadavg()[0]})
                    rows.append(x)
                p.stop()
    finally:
        p.stop()
    subprocess.run(["rm", "-rf", work])
    return {"engine": name, "persons": n, "import_s": took, "import_rows_per_s": n / took, "vacuum_s": vacuum,
            "settings": settings,
            "runs": rows}


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "model": model,
            "kernel": platform.release(), "loadavg": os.getloadavg()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=1000000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", default="1,4")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--pg", help="a postgresql:// URI (a fresh database); default: tools/pg-test.sh")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--ab", metavar="BUILD", help="a second build directory: the two take turns on the same data")
    ap.add_argument("--rounds", type=int, default=1, help="turns of each build (with --ab)")
    a = ap.parse_args()
    build = os.environ.get("PORTEN_BUILD", os.path.join(ROOT, "build"))
    concs = [int(c) for c in a.concurrency.split(",")]
    out = {"machine": machine(), "results": []}
    if not a.no_sqlite:
        out["results"].append(engine("sqlite", build, None, a.persons, a.seconds, concs, a.batch, a.ab,
                                     a.rounds))
    if not a.no_pg:
        uri, started = a.pg, False
        if uri is None:
            # a buffer cache that holds the register (about 250 MB for a million persons)
            os.environ.setdefault("PORTEN_PG_SHARED_BUFFERS", "512MB")
            subprocess.run(["sh", os.path.join(ROOT, "tools", "pg-test.sh"), "start"], check=True,
                           capture_output=True, text=True)
            uri = subprocess.run(["sh", os.path.join(ROOT, "tools", "pg-test.sh"), "newdb",
                                  "krr_bench_" + uuid.uuid4().hex[:8]], check=True, capture_output=True,
                                 text=True).stdout.strip()
            started = not os.environ.get("PORTEN_TEST_PG")
        try:
            out["results"].append(engine("postgresql", build, uri, a.persons, a.seconds, concs, a.batch,
                                         a.ab, a.rounds))
        finally:
            if started:
                subprocess.run(["sh", os.path.join(ROOT, "tools", "pg-test.sh"), "stop"], capture_output=True)
    if a.json:
        print(json.dumps(out, indent=2))
        return
    m = out["machine"]
    print(f"machine: {m['cpus']} CPUs ({m['affinity']} usable), {m['model']}, Linux {m['kernel']}, "
          f"load {m['loadavg'][0]:.2f}")
    if a.ab:
        print(f"A: {build}\nB: {a.ab}")
    for r in out["results"]:
        print(f"\n{r['engine']}: {r['persons']} persons imported in {r['import_s']:.1f} s "
              f"({r['import_rows_per_s']:.0f} rows/s); lookups of {a.batch} numbers:")
        if r["settings"]:
            print("  " + ", ".join(f"{k} {v}" for k, v in r["settings"].items() if v) +
                  (f"; VACUUM (ANALYZE) after the import {r['vacuum_s']:.1f} s" if r["vacuum_s"] else ""))
        print(f"{'build':>5} {'conc':>5} {'lookups/s':>10} {'persons/s':>10} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
              f"{'max ms':>8} {'errors':>6}  CPU/lookup portend+db   server: answered within 5/10/25/50 ms   load")
        for x in r["runs"]:
            w = x["server_within"]
            share = "/".join(f"{100 * w[k]:.1f}%" for k in ("0.005", "0.01", "0.025", "0.05") if k in w)
            c = x["cpu_per_lookup"]
            used = (f"{c['portend_ms']:.1f}" if "portend_ms" in c else "?") + \
                (f"+{c['db_ms']:.1f} ms" if "db_ms" in c else " ms")
            print(f"{x['build'] + str(x['round']) if x['build'] else '':>5} "
                  f"{x['concurrency']:>5} {x['lookups_per_s']:>10.1f} {x['persons_per_s']:>10.0f} "
                  f"{x['p50_ms']:>8.2f} {x['p90_ms']:>8.2f} {x['p99_ms']:>8.2f} {x['max_ms']:>8.2f} "
                  f"{x['errors']:>6}  {used:>22}   {share:<30} {x['loadavg']:.1f}")


if __name__ == "__main__":
    main()
