#!/usr/bin/python3
"""Checks of deploy/: the systemd unit, the Dockerfile.

    check.py SOURCE_DIR PORTEND

- The unit: `systemd-analyze verify` (no running systemd needed; ExecStart is
  pointed at the built portend, since verify wants the program to exist, and
  any warning fails), `systemd-analyze security --offline` under a threshold,
  and the sandboxing options the unit must keep.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SRC, PORTEND = sys.argv[1], os.path.abspath(sys.argv[2])
DEPLOY = os.path.join(SRC, "deploy")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def get(obj, path, default=None):
    for k in path.split("."):
        if isinstance(obj, list):
            if not k.isdigit() or int(k) >= len(obj):
                return default
            obj = obj[int(k)]
        elif isinstance(obj, dict):
            if k not in obj:
                return default
            obj = obj[k]
        else:
            return default
    return obj


# ---- systemd ------------------------------------------------------------

def check_unit():
    path = os.path.join(DEPLOY, "systemd", "portend.service")
    text = open(path).read()
    directives = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            directives.setdefault(m.group(1), []).append(m.group(2).strip())
    want = {
        "DynamicUser": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
        "PrivateTmp": "yes", "NoNewPrivileges": "yes", "StateDirectory": "porten",
        "CapabilityBoundingSet": "", "MemoryDenyWriteExecute": "yes",
        "Restart": "on-failure",
    }
    for k, v in want.items():
        check(v in directives.get(k, []), f"unit: {k}={v} missing")
    check("@system-service" in directives.get("SystemCallFilter", []),
          "unit: SystemCallFilter=@system-service missing")
    check(directives.get("RestrictAddressFamilies", [""])[0].split()
          == ["AF_INET", "AF_INET6", "AF_UNIX"], "unit: RestrictAddressFamilies")
    exec_start = directives.get("ExecStart", [""])[0]
    check(exec_start.startswith("/usr/local/bin/portend --config "),
          "unit: ExecStart is not portend --config")
    if shutil.which("systemd-analyze") is None:
        check(False, "systemd-analyze is not installed (Debian package systemd)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        unit = os.path.join(tmp, "portend.service")
        with open(unit, "w") as f:
            f.write(text.replace("/usr/local/bin/portend", PORTEND))
        r = subprocess.run(["systemd-analyze", "verify", unit],
                           capture_output=True, text=True, timeout=60)
        out = (r.stdout + r.stderr).strip()
        check(r.returncode == 0 and out == "", f"systemd-analyze verify: rc {r.returncode}: {out}")
        # exposure 0.0 (sandboxed) .. 10.0 (none); the threshold is in tenths
        r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20",
                            unit], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "systemd-analyze security: exposure above 2.0:\n"
              + "\n".join(l for l in r.stdout.splitlines() if "Overall" in l))


# ---- Dockerfile ---------------------------------------------------------

def check_dockerfile():
    text = open(os.path.join(DEPLOY, "Dockerfile")).read()
    text = re.sub(r"\\\n", " ", text)
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    instr = [(l.split(None, 1)[0].upper(), l.split(None, 1)[1] if " " in l else "")
             for l in lines]
    known = {"FROM", "RUN", "COPY", "ADD", "WORKDIR", "USER", "ENV", "ARG", "EXPOSE",
             "VOLUME", "HEALTHCHECK", "ENTRYPOINT", "CMD", "LABEL", "STOPSIGNAL", "SHELL"}
    for i, _ in instr:
        check(i in known, f"Dockerfile: unknown instruction {i}")
    froms = [a.split() for i, a in instr if i == "FROM"]
    check(len(froms) >= 2, "Dockerfile: not multi-stage")
    check(froms and froms[0][0] == "debian:12", "Dockerfile: build stage not on debian:12")
    check(froms and froms[-1][0] == "debian:12-slim", "Dockerfile: runtime not on debian:12-slim")
    check(not any(i == "ADD" for i, _ in instr), "Dockerfile: ADD (use COPY)")
    last = len(instr) - 1 - [i for i, _ in instr][::-1].index("FROM")
    final = instr[last:]
    users = [a for i, a in final if i == "USER"]
    check(users and re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", users[-1]),
          "Dockerfile: final stage has no numeric non-root USER")
    hc = [a for i, a in final if i == "HEALTHCHECK"]
    check(hc and "/health/live" in hc[0], "Dockerfile: HEALTHCHECK on /health/live")
    check(any(i == "EXPOSE" and "8080" in a for i, a in final), "Dockerfile: EXPOSE 8080")
    ep = [a for i, a in final if i == "ENTRYPOINT"]
    check(ep and ep[0].startswith("[") and "portend" in ep[0] and "--config" in ep[0],
          "Dockerfile: ENTRYPOINT (exec form) portend --config")
    for i, a in instr:
        if i == "RUN" and "apt-get install" in a:
            check("--no-install-recommends" in a and "rm -rf /var/lib/apt/lists" in a,
                  "Dockerfile: apt-get install without --no-install-recommends or cleanup")
    # Every path COPY takes from the context exists.
    for i, a in instr:
        if i == "COPY" and not a.startswith("--from"):
            for p in a.split()[:-1]:
                check(os.path.exists(os.path.join(SRC, p)), f"Dockerfile: COPY {p}: no such path")
    # The runtime libraries are the ones the build's portend loads.
    ldd = subprocess.run(["ldd", PORTEND], capture_output=True, text=True).stdout
    runtime = " ".join(a for i, a in final if i == "RUN")
    for lib, pkg in (("libmicrohttpd", "libmicrohttpd12"), ("libcjose", "libcjose0"),
                     ("libjansson", "libjansson4"), ("libsqlite3", "libsqlite3-0"),
                     ("libpq", "libpq5"), ("libsodium", "libsodium23"), ("liboath", "liboath0"),
                     ("libcurl", "libcurl4"), ("libunistring", "libunistring2"),
                     ("libp11.so", "libp11-3"), ("libp11-kit", "libp11-kit0")):
        if lib in ldd:
            check(re.search(r"\b" + re.escape(pkg) + r"\b", runtime),
                  f"Dockerfile: runtime lacks {pkg}")


check_unit()
check_dockerfile()
for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print("deploy: ok")
