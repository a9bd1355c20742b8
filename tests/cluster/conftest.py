"""
Many nodes: three portend processes on loopback ports sharing one
PostgreSQL database, with the same issuer (the load balancer's URL) and the
same key-encryption key, behind haproxy (round-robin, no stickiness, health
checks on /health/ready).

The PostgreSQL server is the one named by PORTEN_TEST_PG (make test-pg and
make cluster start a throwaway one with tools/pg-test.sh); the cluster gets
a fresh database of its own on it.  Without PORTEN_TEST_PG, or without
haproxy, the tests are skipped, saying why.

Browser and client helpers come from the end-to-end suite
(tests/e2e/conftest.py), loaded as a plain module.
"""

import copy
import csv
import importlib.util
import io
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid

import pytest
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PG_TEST = os.path.join(ROOT, "tools", "pg-test.sh")
os.environ.setdefault("PORTEN_BUILD", os.path.join(ROOT, "build"))


def load_e2e(name, as_name=None):
    """A module of the end-to-end suite (tests/e2e/<name>.py), loaded as a plain module."""
    spec = importlib.util.spec_from_file_location(
        as_name or "porten_e2e_" + name, os.path.join(ROOT, "tests", "e2e", name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


E = load_e2e("conftest", "porten_e2e_helpers")
NODES = 3


SEAL_PERIOD = 60


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plain_http():
    s = requests.Session()
    s.trust_env = False
    return s


class View(E.Server):
    """
    The issuer as seen through one address: the load balancer, or one node
    directly.  Requests go to base; iss, cookies and client assertions keep
    the issuer (the load balancer's URL), as they would in production.
    """

    def __init__(self, cluster, base, name):
        self.workdir = cluster.workdir
        self.issuer = cluster.issuer
        self.env = cluster.env
        self.base = base
        self.name = name
        self.proc = None
        self.returncode = None
        self._jwks = None

    def url(self, path):
        return self.base + path

    def __repr__(self):
        return f"<View {self.name} {self.base}>"


class NodeHopper(requests.Session):
    """
    A browser whose every request to the issuer goes to the next node in
    turn (0, 1, 2, 0, ...), the worst a load balancer without stickiness can
    do.  URLs seen by the caller stay the issuer's, and the Host header is
    the load balancer's, as haproxy passes it on.
    """

    def __init__(self, cluster, first=0, pin=None):
        super().__init__()
        self.trust_env = False
        self.headers["User-Agent"] = "porten-cluster/1"
        self.cluster = cluster
        self.next = first
        self.pin = pin          # always this node instead
        self.hops = []

    def request(self, method, url, *args, **kw):
        iss = self.cluster.issuer
        if not (url == iss or url.startswith(iss + "/") or url.startswith(iss + "?")):
            return super().request(method, url, *args, **kw)
        if self.pin is not None:
            node = self.cluster.nodes[self.pin]
        else:
            node = self.cluster.nodes[self.next % len(self.cluster.nodes)]
            self.next += 1
        self.hops.append(node.idx)
        headers = dict(kw.pop("headers", None) or {})
        headers["Host"] = self.cluster.lb_netloc
        r = super().request(method, node.base + url[len(iss):], *args, headers=headers, **kw)
        r.url = iss + r.url[len(node.base):]
        return r


class Node:
    def __init__(self, cluster, idx):
        self.cluster = cluster
        self.idx = idx
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data = os.path.join(cluster.workdir, f"node{idx}")
        os.makedirs(self.data, exist_ok=True)
        self.log = os.path.join(cluster.workdir, f"node{idx}.log")
        self.env = dict(cluster.env, PORTEN_LISTEN=f"127.0.0.1:{self.port}", PORTEN_DATA=self.data)
        self.proc = None
        self.starts = 0

    def start(self, timeout=15):
        out = open(self.log, "ab")
        self.proc = subprocess.Popen([E.PORTEND], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.data)
        out.close()
        self.starts += 1
        s = plain_http()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"node {self.idx} exited with {self.proc.returncode}: {self.tail()}")
            try:
                if s.get(self.base + "/health/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError(f"node {self.idx} not ready in {timeout} s: {self.tail()}")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "killed after SIGTERM timeout"

    def tail(self, n=3000):
        try:
            with open(self.log, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""


HAPROXY_CFG = """\
global
    maxconn 512
    stats socket {sock} mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout check 5s
    # a refused connection (a dead node) is tried again on another node;
    # a request already sent is never replayed (it may not be idempotent)
    retries 3
    option redispatch 1
    retry-on conn-failure

frontend porten
    bind 127.0.0.1:{lb_port}
    default_backend nodes

backend nodes
    balance roundrobin
    # a fresh server connection per request: never a stale one to a dead node
    option http-server-close
    option httpchk GET /health/ready
    http-check expect status 200
    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 1
{servers}
"""


class Cluster:
    def __init__(self, workdir, pg_base, extra_env=None):
        self.workdir = str(workdir)
        self.lb_port = free_port()
        self.lb_netloc = f"127.0.0.1:{self.lb_port}"
        self.issuer = f"http://{self.lb_netloc}"
        self.dbname = "cluster_" + uuid.uuid4().hex[:12]
        self.pg_base = pg_base
        self.store = pg_cmd("newdb", self.dbname)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PORTEN_")}
        env.update({
            "PORTEN_ISSUER": self.issuer,
            "PORTEN_STORE": self.store,
            "PORTEN_ENV": "test",
            "PORTEN_KEK": E.b64u(secrets.token_bytes(32)),
            "PORTEN_PG_POOL_SIZE": "4",
            # Behind haproxy every request comes from one address: no per-address limit.
            "PORTEN_RATE_IP": "0",
            # a rotated key signs at once, so the test sees every node use it
            "PORTEN_KEY_PUBLISH_DELAY": "0",
            "PORTEN_LISTEN": "127.0.0.1:0",
            "PORTEN_DATA": os.path.join(self.workdir, "ctl"),
        })
        env.update(extra_env or {})
        os.makedirs(env["PORTEN_DATA"], exist_ok=True)
        self.env = env
        self.nodes = [Node(self, i) for i in range(NODES)]
        self.lb = View(self, self.issuer, "lb")
        self.haproxy = None
        self.sock = os.path.join(self.workdir, "haproxy.sock")

    def start(self):
        # the first node migrates the empty database; the others find it done
        for n in self.nodes:
            n.start()
        servers = "\n".join(f"    server node{n.idx} 127.0.0.1:{n.port} check" for n in self.nodes)
        cfg = os.path.join(self.workdir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(HAPROXY_CFG.format(sock=self.sock, lb_port=self.lb_port, servers=servers))
        chk = subprocess.run(["haproxy", "-c", "-q", "-f", cfg], capture_output=True, text=True)
        assert chk.returncode == 0, f"haproxy refuses its configuration: {chk.stderr}"
        self.haproxy_log = open(os.path.join(self.workdir, "haproxy.log"), "ab")
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=self.haproxy_log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.wait_up(range(NODES))

    def view(self, i):
        n = self.nodes[i]
        return View(self, n.base, f"node{i}")

    def lb_status(self):
        """haproxy's view: {"node0": "UP", ...}."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(self.sock)
            s.sendall(b"show stat\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        text = data.decode().lstrip("# ")
        out = {}
        for row in csv.DictReader(io.StringIO(text)):
            if row.get("pxname") == "nodes" and row.get("svname", "").startswith("node"):
                out[row["svname"]] = row.get("status", "")
        return out

    def wait_up(self, idxs, timeout=15):
        deadline = time.monotonic() + timeout
        want = {f"node{i}" for i in idxs}
        st = {}
        while time.monotonic() < deadline:
            if self.haproxy.poll() is not None:
                raise AssertionError("haproxy exited")
            try:
                st = self.lb_status()
                if all(st.get(w, "").startswith("UP") for w in want):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"haproxy does not see {sorted(want)} up: {st}")

    def stop(self):
        codes = [n.stop() for n in self.nodes]
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(5)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait()
            self.haproxy_log.close()
        return codes


def pg_cmd(*args):
    p = subprocess.run(["sh", PG_TEST, *args], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"pg-test.sh {' '.join(args)}: {p.stderr}")
    return p.stdout.strip()


def pg_restart_possible():
    """True when the server is the throwaway one tools/pg-test.sh runs (it may restart it)."""
    p = subprocess.run(["sh", PG_TEST, "uri"], capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != "PORTEN_TEST_PG"})
    return p.returncode == 0 and os.environ.get("PORTEN_TEST_PG", "").startswith(p.stdout.strip())


def at(client, view):
    """The same client talking to another address (its back channel to one node)."""
    c = copy.copy(client)
    c.server = view
    return c


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    pg = os.environ.get("PORTEN_TEST_PG", "")
    if not pg:
        pytest.skip("PORTEN_TEST_PG is not set (a postgresql:// URI): the multi-node tests need "
                    "PostgreSQL; make test-pg or make cluster start one")
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    for b in (E.PORTEND, E.PORTENCTL):
        if not os.access(b, os.X_OK):
            pytest.skip(f"{b} not built")
    # run a snapshot of the binaries: a rebuild during the run must not look like a crash
    d = tmp_path_factory.mktemp("bin")
    for name in ("PORTEND", "PORTENCTL"):
        dst = os.path.join(str(d), os.path.basename(getattr(E, name)))
        shutil.copy2(getattr(E, name), dst)
        setattr(E, name, dst)
    # a root CA the nodes trust for business certificates (test_admin_cluster.py)
    ca = str(tmp_path_factory.mktemp("ca"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    os.path.join(ca, "ca.key"), "-out", os.path.join(ca, "ca.pem"), "-days", "30",
                    "-subj", "/C=NO/O=Porten Cluster Test/CN=Porten Cluster Test CA",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True, timeout=60)
    # an HTTPS certificate for back-channel logout receivers on 127.0.0.1 (test_backchannel_cluster.py)
    E.loopback_tls_cert(os.path.join(ca, "bcl.pem"), os.path.join(ca, "bcl.key"))
    c = Cluster(tmp_path_factory.mktemp("cluster"), pg,
                {"PORTEN_MASKINPORTEN_CA": os.path.join(ca, "ca.pem"),
                 "PORTEN_BACKCHANNEL_CA_FILE": os.path.join(ca, "bcl.pem"),
                 "PORTEN_BACKCHANNEL_ALLOW_PRIVATE": "true",
                 "PORTEN_BACKCHANNEL_LEASE": "4",
                 "PORTEN_BACKCHANNEL_RETRY_BASE": "1",
                 # the key that seals logins in progress changes every minute (test_cluster.py)
                 "PORTEN_PENDING_LIFETIME": str(SEAL_PERIOD)})
    c.ca_dir = ca
    try:
        c.start()
    except BaseException:
        c.stop()
        raise
    yield c
    codes = c.stop()
    assert all(rc == 0 for rc in codes), f"nodes did not stop cleanly: {codes}"


@pytest.fixture(scope="session")
def listener():
    l = E.Listener()
    yield l
    l.close()


# figures of the fault run, printed at the end of the session
FIGURES = {}


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.write_sep("-", "cluster fault run")
        for k, v in FIGURES.items():
            terminalreporter.write_line(f"{k}: {v}")
