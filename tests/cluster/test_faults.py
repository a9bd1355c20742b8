"""
Faults under load.  Two client threads run full logins (authorize, the
TestID pages, the code redeemed, the ID token verified) and refresh the
tokens they got, all through haproxy, for LOAD_SECONDS.  Meanwhile one node
is killed with SIGKILL and started again, and PostgreSQL is restarted.

Every request is recorded (start, end, step, status).  What the clients may
see, and nothing else:
- a 5xx only for a request that was in flight at the node when it died;
- a code or refresh token whose request died in flight may then be refused
  as the protocol says (invalid_grant: it was spent by the request that
  died), and the login is simply retried;
- every login completes, at most a few retries after an error;
- afterwards every refresh token the clients hold still refreshes, every
  access token still works at userinfo, every ID token verifies.
"""

import threading
import time
from urllib.parse import parse_qs, urlsplit

import requests

from conftest import E, FIGURES, NodeHopper, View, at, pg_cmd, pg_restart_possible

LOAD_SECONDS = 20
THREADS = 2
KILL_AT, RESTART_AT, PG_RESTART_AT = 5.0, 9.0, 13.0
MAX_LOGINS = 1500          # per thread: the loop is bounded in count as well as time
MAX_RETRIES = 5            # per login


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []      # (t0, t1, step, status or exception name)

    def add(self, t0, t1, step, status):
        with self.lock:
            self.calls.append((t0, t1, step, status))


class RecordingSession(requests.Session):
    """A browser or back channel that records every request it makes."""

    def __init__(self, rec, step):
        super().__init__()
        self.trust_env = False
        self.rec = rec
        self.step = step
        self.trail = []      # this session's requests: (start, method, path, answer)

    def request(self, method, url, *args, **kw):
        kw.setdefault("timeout", 15)
        path = urlsplit(url).path
        t0 = time.monotonic()
        try:
            r = super().request(method, url, *args, **kw)
        except requests.RequestException as ex:
            self.rec.add(t0, time.monotonic(), self.step, type(ex).__name__)
            self.trail.append((t0, method, path, type(ex).__name__))
            raise
        self.rec.add(t0, time.monotonic(), self.step, r.status_code)
        self.trail.append((t0, method, path, answer(r)))
        return r


def answer(r):
    """What a request got, as a person reading the trail needs it: the status, where a
    redirect leads (its error if any) or an error page's text."""
    loc = r.headers.get("Location")
    if loc:
        q = parse_qs(urlsplit(loc).query)
        what = f"error={q['error'][0]}" if "error" in q else ("code" if "code" in q else "")
        return f"{r.status_code} -> {urlsplit(loc).path} {what}".rstrip()
    if r.status_code >= 400 or "json" in r.headers.get("Content-Type", ""):
        return f"{r.status_code} {' '.join(r.text[:160].split())}"
    return str(r.status_code)


class RecordingView(View):
    """The load balancer, with the back channel's requests recorded."""

    def __init__(self, cluster, rec):
        super().__init__(cluster, cluster.issuer, "lb")
        self.http = RecordingSession(rec, "token")

    def get(self, path, **kw):
        kw.setdefault("timeout", E.TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.http.get(self.url(path), **kw)

    def post(self, path, **kw):
        kw.setdefault("timeout", E.TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.http.post(self.url(path), **kw)


class Lost:
    """Stands for an answer that never came."""
    status_code = 599
    text = "no answer"

    def json(self):
        raise ValueError("no answer")


def err(r):
    try:
        return r.json().get("error")
    except ValueError:
        return None


class Worker(threading.Thread):
    def __init__(self, cluster, client, rec, stop_at):
        super().__init__(daemon=True)
        self.cluster = cluster
        self.rec = rec
        self.stop_at = stop_at
        self.view = RecordingView(cluster, rec)
        self.client = at(client, self.view)
        self.chains = []        # completed logins: tokens to check afterwards
        self.errors = []        # (time, what) of every failed step
        self.retries = 0        # logins started again after an error
        self.gave_up = 0        # logins that failed MAX_RETRIES times
        self.explained = []     # (what, request start) refused after a request died in flight
        self.pending_5xx = []   # 5xx starts this thread saw (to explain a later refusal)
        self.failed = []        # (browser trail, why) of every failed login
        self.crash = None

    def note(self, what, r=None):
        t = time.monotonic()
        self.errors.append((t, what if r is None else f"{what}: {r.status_code} {r.text[:120]}"))
        if r is not None and r.status_code >= 500 and not isinstance(r, Lost):
            self.pending_5xx.append(t)

    def send(self, what, fn):
        """A back-channel call; a transport error counts as a 5xx (the answer never came)."""
        try:
            return fn()
        except requests.RequestException as ex:
            self.note(f"{what}: {type(ex).__name__}")
            self.pending_5xx.append(time.monotonic())
            return Lost()

    def one_login(self):
        c = self.client
        browser = RecordingSession(self.rec, "browser")
        try:
            res = E.login(self.view, c, browser)
        except (AssertionError, requests.RequestException) as ex:
            self.note(f"login: {type(ex).__name__}")
            self.failed.append((browser.trail, str(ex)[:300]))
            return None
        # redeem; after a 5xx a client tries the same code once more
        r = self.send("redeem", lambda: c.redeem(res))
        if r.status_code >= 500:
            self.note("redeem", r)
            r = self.send("redeem", lambda: c.redeem(res))
            if r.status_code == 400 and err(r) == "invalid_grant":
                self.explained.append(("code spent by a request that died", self.pending_5xx[-1]))
                return None
        if r.status_code != 200:
            self.note("redeem", r)
            return None
        tok = r.json()
        chain = {"id_token": tok["id_token"], "access_token": tok["access_token"],
                 "refresh_token": tok["refresh_token"], "lost": False}
        for _ in range(2):
            rt = chain["refresh_token"]
            r = self.send("refresh", lambda: c.refresh(rt))
            if r.status_code >= 500:
                self.note("refresh", r)
                r = self.send("refresh", lambda: c.refresh(rt))
                if r.status_code == 400 and err(r) == "invalid_grant":
                    # the rotation committed, its answer died with the node:
                    # the token is spent, and presenting it again revoked the family
                    self.explained.append(("refresh spent by a request that died",
                                           self.pending_5xx[-1]))
                    chain["lost"] = True
                    break
            if r.status_code != 200:
                self.note("refresh", r)
                chain["lost"] = True
                break
            t = r.json()
            chain["refresh_token"] = t["refresh_token"]
            chain["access_token"] = t["access_token"]
        return chain

    def run(self):
        try:
            n = 0
            while time.monotonic() < self.stop_at and n < MAX_LOGINS:
                n += 1
                for attempt in range(MAX_RETRIES + 1):
                    chain = self.one_login()
                    if chain is not None:
                        self.chains.append(chain)
                        break
                    self.retries += 1
                    time.sleep(0.05 * (attempt + 1))
                else:
                    self.gave_up += 1
        except Exception as ex:  # a bug in the test itself: report, do not hang
            self.crash = repr(ex)


def test_kill_node_and_restart_database_under_load(cluster, listener, tmp_path):
    can_restart_pg = pg_restart_possible()
    c = E.create_client(cluster.lb, listener, tmp_path, refresh=True)
    rec = Recorder()
    t_start = time.monotonic()
    stop_at = t_start + LOAD_SECONDS
    workers = [Worker(cluster, c, rec, stop_at) for _ in range(THREADS)]
    for w in workers:
        w.start()

    events = {}
    victim = cluster.nodes[1]
    time.sleep(max(0.0, t_start + KILL_AT - time.monotonic()))
    events["kill"] = time.monotonic()
    victim.kill()
    events["dead"] = time.monotonic()   # reaped: nothing reaches it after this
    time.sleep(max(0.0, t_start + RESTART_AT - time.monotonic()))
    events["restart"] = time.monotonic()
    victim.start()
    cluster.wait_up([victim.idx])
    events["back_in_lb"] = time.monotonic()
    if can_restart_pg:
        time.sleep(max(0.0, t_start + PG_RESTART_AT - time.monotonic()))
        events["pg_restart"] = time.monotonic()
        pg_cmd("restart")
        events["pg_back"] = time.monotonic()
    for w in workers:
        w.join(LOAD_SECONDS + 60)
    assert not any(w.is_alive() for w in workers), "a client thread hangs"
    assert not [w.crash for w in workers if w.crash], [w.crash for w in workers]
    cluster.wait_up(range(len(cluster.nodes)))

    # ---- what the clients saw ----
    t_kill = events["kill"]
    calls = list(rec.calls)
    by_status = {}
    for _, _, step, st in calls:
        by_status[str(st)] = by_status.get(str(st), 0) + 1
    # in flight: sent before the process was gone, answered after the kill
    in_flight = [x for x in calls if (not isinstance(x[3], int) or x[3] >= 500)
                 and x[0] <= events["dead"] and x[1] >= t_kill]
    bad = [x for x in calls if (not isinstance(x[3], int) or x[3] >= 500) and x not in in_flight]
    logins = sum(len(w.chains) for w in workers)
    retries = sum(w.retries for w in workers)
    gave_up = sum(w.gave_up for w in workers)
    explained = [e for w in workers for e in w.explained]
    slow = max((x[1] - x[0] for x in calls), default=0)

    # ---- afterwards: every token the clients hold still works ----
    check = View(cluster, cluster.issuer, "lb")
    cc = at(c, check)
    lost_refresh, lost_access, bad_id = [], [], []
    chains = [ch for w in workers for ch in w.chains]
    for ch in chains:
        try:
            E.check_id_token(check, c, ch["id_token"])
        except AssertionError as ex:
            bad_id.append(str(ex)[:200])
        r = requests.get(check.url("/userinfo"), headers={"Authorization": f"Bearer {ch['access_token']}"},
                         timeout=E.TIMEOUT)
        if r.status_code != 200 and not ch["lost"]:
            lost_access.append(f"{r.status_code} {r.text[:120]}")
        if not ch["lost"]:
            r = cc.refresh(ch["refresh_token"])
            if r.status_code != 200:
                lost_refresh.append(f"{r.status_code} {r.text[:120]}")

    # what the nodes said about the database going away (their JSON log lines)
    reconnects = unreachable = 0
    for n in cluster.nodes:
        text = n.tail(1 << 24)
        reconnects += text.count("database connection lost, reconnecting")
        unreachable += text.count("database unreachable")

    FIGURES.update({
        "load": f"{THREADS} threads x {LOAD_SECONDS} s through haproxy, node1 SIGKILLed at "
                f"{KILL_AT:.0f} s, restarted at {RESTART_AT:.0f} s"
                + (f", PostgreSQL restarted at {PG_RESTART_AT:.0f} s "
                   f"({events['pg_back'] - events['pg_restart']:.2f} s)" if can_restart_pg
                   else ", PostgreSQL not restarted (not ours)"),
        "requests": f"{len(calls)} by status {dict(sorted(by_status.items()))}",
        "logins completed": f"{logins} ({retries} retried after an error, {gave_up} gave up)",
        "5xx in flight at the killed node": len(in_flight),
        "other 5xx or transport errors": len(bad),
        "refused as the protocol says after an in-flight death": len(explained),
        "tokens checked afterwards": f"{len(chains)} logins: refresh lost {len(lost_refresh)}, "
                                      f"access lost {len(lost_access)}, ID tokens bad {len(bad_id)}",
        "slowest request": f"{slow:.2f} s",
        "store reconnects logged by the nodes": f"{reconnects} (database unreachable: {unreachable})",
        "node back in haproxy after restart": f"{events['back_in_lb'] - events['restart']:.2f} s",
    })

    assert logins >= 20, f"too few logins completed: {logins} ({FIGURES})"
    assert gave_up == 0, FIGURES
    if bad or len(in_flight) > THREADS:
        print("kill at", t_kill - t_start, "pg restart", {k: v - t_start for k, v in events.items()})
        for x in sorted(calls):
            if not isinstance(x[3], int) or x[3] >= 500:
                print(f"{x[0] - t_start:8.3f} {x[1] - t_start:8.3f} {x[2]} {x[3]}")
    assert not bad, f"unexpected errors: {bad[:10]} {FIGURES}"
    assert len(in_flight) <= THREADS, in_flight
    # each refusal must follow a request that died with the node
    assert len(explained) <= len(in_flight), (explained, in_flight)
    assert not lost_refresh and not lost_access and not bad_id, \
        (lost_refresh[:5], lost_access[:5], bad_id[:5])
    errors = [e for w in workers for e in w.errors]
    if not all(abs(t - t_kill) < 5 for t, _ in errors):
        print("events", {k: round(v - t_start, 3) for k, v in events.items()})
        for trail, why in (f for w in workers for f in w.failed):
            print("failed login:", why)
            for t0, method, path, ans in trail:
                print(f"  {t0 - t_start:8.3f} {method} {path}: {ans}")
    assert all(abs(t - t_kill) < 5 for t, _ in errors), f"errors away from the kill: {errors[:10]}"


def test_database_away(cluster, listener, tmp_path):
    """
    PostgreSQL stopped for a while: every node stays up and answers 503 with
    a JSON error where it needs the database (after at most a few seconds of
    waiting for it to come back); liveness stays 200, readiness turns 503 so
    the load balancer stops sending traffic.  Once it is back, everything
    issued before works.
    """
    if not pg_restart_possible():
        import pytest
        pytest.skip("the PostgreSQL server is not one tools/pg-test.sh runs: cannot stop it")
    c = E.create_client(cluster.lb, listener, tmp_path, refresh=True)
    browser = E.http()
    tok = c.tokens(E.login(cluster.lb, c, browser))
    params, _ = E.auth_params(c)
    node = cluster.view(0)
    # a login waiting on the TestID page when the database goes
    waiting = NodeHopper(cluster, pin=0)
    testid_page = E.open_testid(cluster.lb, waiting, E.authorize(cluster.lb, waiting, E.auth_params(c)[0]))
    s = requests.Session()
    s.trust_env = False
    basic = c.with_auth()[1]
    probes = [
        ("GET /health/live", lambda: s.get(node.url("/health/live"), timeout=15)),
        ("GET /health/ready", lambda: s.get(node.url("/health/ready"), timeout=15)),
        ("GET discovery", lambda: s.get(node.url("/.well-known/openid-configuration"), timeout=15)),
        ("GET /jwks.json", lambda: s.get(node.url("/jwks.json"), timeout=15)),
        ("GET /authorize", lambda: s.get(node.url("/authorize"), params=params, timeout=15,
                                         allow_redirects=False)),
        ("POST /par", lambda: s.post(node.url("/par"), data=params, headers=basic, timeout=15)),
        ("POST /token refresh", lambda: s.post(node.url("/token"), headers=basic, timeout=15,
                                               data={"grant_type": "refresh_token",
                                                     "refresh_token": tok["refresh_token"]})),
        ("GET /userinfo", lambda: s.get(node.url("/userinfo"), timeout=15,
                                        headers={"Authorization": f"Bearer {tok['access_token']}"})),
        ("POST /token/introspect", lambda: s.post(node.url("/token/introspect"), headers=basic,
                                                  data={"token": tok["access_token"]}, timeout=15)),
        ("POST /revoke", lambda: s.post(node.url("/revoke"), headers=basic, timeout=15,
                                        data={"token": "x" * 43})),
        # the browser with its SSO session cookie
        ("GET /logout", lambda: browser.get(node.url("/logout"), timeout=15, allow_redirects=False)),
        ("GET /authorize (SSO)", lambda: browser.get(node.url("/authorize"), params=params,
                                                     timeout=15, allow_redirects=False)),
        ("POST /testid (login waiting)", lambda: E.submit_form(waiting, testid_page, "testid-form",
                                                               {"pid": E.PID, "acr": E.SUBSTANTIAL})),
    ]
    answers = {}
    t0 = time.monotonic()
    pg_cmd("down")
    try:
        for name, fn in probes:
            t = time.monotonic()
            r = fn()
            ctype = r.headers.get("Content-Type", "").split(";")[0]
            answers[name] = (r.status_code, ctype, round(time.monotonic() - t, 2),
                             (err(r) or "") if ctype == "application/json" else "")
            if name == "POST /token refresh":
                token_body = r.text
        away = time.monotonic() - t0
        assert cluster.nodes[0].proc.poll() is None, "the node died while the database was away"
    finally:
        pg_cmd("up")
    FIGURES["answers while the database was away"] = answers
    FIGURES["not 503 while the database was away"] = {
        k: v[0] for k, v in answers.items()
        if v[0] != 503 and k not in ("GET /health/live", "GET discovery")}
    assert answers["GET /health/live"][0] == 200
    assert answers["GET /health/ready"][0] == 503
    assert answers["POST /token refresh"][:2] == (503, "application/json"), token_body
    assert '"temporarily_unavailable"' in token_body, token_body
    assert answers["GET /authorize"][0] == 503
    assert away < 30
    # back: the nodes reconnect by themselves, and what was issued before still works
    cluster.wait_up(range(len(cluster.nodes)))
    r = c.refresh(tok["refresh_token"])
    assert r.status_code == 200, r.text
    assert c.tokens(E.login(cluster.lb, c, E.http()))["access_token"]
    # the login that was waiting on the TestID page: the user submits again, and it completes
    waiting.pin = 2
    res = E.classify(cluster.lb, E.submit_testid(cluster.lb, waiting, testid_page), c.redirect_uri)
    assert res.kind == "redirect" and res.code, res


# ---- PostgreSQL restarted at each step of a login in turn ----

STEPS = ("authorize", "eID page", "eID form (code redirect)", "token", "userinfo")


def recoverable(r):
    """An answer a browser or client can recover from: 503 with temporarily_unavailable
    (a page or JSON), or the client's redirect carrying that error."""
    loc = r.headers.get("Location", "")
    if r.status_code in (302, 303) and loc:
        return parse_qs(urlsplit(loc).query).get("error") == ["temporarily_unavailable"]
    if r.status_code != 503:
        return False
    if "json" in r.headers.get("Content-Type", ""):
        return err(r) == "temporarily_unavailable"
    return "temporarily_unavailable" in r.text or "try again" in r.text


class StepLogin:
    """One login against one node, step by step; run(k) does step k and says how it went."""

    def __init__(self, cluster, node, client):
        self.view = cluster.lb           # the browser's URLs; NodeHopper sends them to node
        self.client = at(client, cluster.view(node))
        self.node = cluster.view(node)
        self.browser = NodeHopper(cluster, pin=node)
        self.params, self.verifier = E.auth_params(client)
        self.page = self.res = self.tok = None

    def run(self, k):
        """(response, ok): ok is True when the step did what a login needs."""
        c, b = self.client, self.browser
        if k == 0:
            r = E.authorize(self.view, b, self.params)
            self.page = r
            return r, r.status_code == 200
        if k == 1:
            r = E.open_testid(self.view, b, self.page)
            self.page = r
            return r, r.status_code == 200
        if k == 2:
            r = E.submit_testid(self.view, b, self.page)
            self.res = E.classify(self.view, r, c.redirect_uri, self.params, self.verifier)
            return r, self.res.kind == "redirect" and bool(self.res.code)
        if k == 3:
            r = c.redeem(self.res)
            if r.status_code == 200:
                self.tok = r.json()
            return r, r.status_code == 200
        r = requests.get(self.node.url("/userinfo"), timeout=E.TIMEOUT,
                         headers={"Authorization": f"Bearer {self.tok['access_token']}"})
        return r, r.status_code == 200 and r.json().get("sub")


def test_database_restart_at_each_login_step(cluster, listener, tmp_path):
    """
    PostgreSQL restarted at each step of a login in turn, once just before the
    step (the node's pooled connections are dead) and once while the step is
    under way.  The step either does its work or answers what a browser and a
    client can recover from (503, temporarily_unavailable); a login started
    again afterwards completes, and the tokens of the interrupted one work.
    """
    if not pg_restart_possible():
        import pytest
        pytest.skip("the PostgreSQL server is not one tools/pg-test.sh runs: cannot restart it")
    c = E.create_client(cluster.lb, listener, tmp_path, refresh=True)
    seen = {}
    for k, step in enumerate(STEPS):
        for mode in ("before", "during"):
            login = StepLogin(cluster, 0, c)
            for j in range(k):
                r, ok = login.run(j)
                assert ok, f"{step}/{mode}: step {STEPS[j]} failed before the restart: " \
                           f"{r.status_code} {r.text[:300]}"
            restart = threading.Thread(target=pg_cmd, args=("restart",))
            if mode == "before":
                pg_cmd("restart")
            else:
                restart.start()
                time.sleep(0.05)
            try:
                r, ok = login.run(k)
            finally:
                if restart.is_alive():
                    restart.join(60)
            seen[f"{step}/{mode}"] = r.status_code if ok else f"{r.status_code} recoverable"
            if ok:
                # the interrupted login goes on to its end
                for j in range(k + 1, len(STEPS)):
                    r, ok = login.run(j)
                    assert ok, f"{step}/{mode}: {STEPS[j]} after the restart: " \
                               f"{r.status_code} {r.text[:300]}"
                continue
            assert recoverable(r), f"{step}/{mode}: not an answer to recover from: " \
                                   f"{r.status_code} {r.headers.get('Location')} {r.text[:300]}"
            # the person (or the client) starts again, and it works
            again = StepLogin(cluster, 0, c)
            for j in range(len(STEPS)):
                r, ok = again.run(j)
                assert ok, f"{step}/{mode}: retried login failed at {STEPS[j]}: " \
                           f"{r.status_code} {r.text[:300]}"
    FIGURES["PostgreSQL restarted at each login step (status, or recoverable)"] = seen
