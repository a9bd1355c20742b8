#!/usr/bin/python3
"""Checks of deploy/: the systemd unit.

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


check_unit()
for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print("deploy: ok")
