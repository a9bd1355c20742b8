#!/usr/bin/python3
"""Checks of deploy/: the systemd unit, the Kubernetes manifests, the Dockerfile.

    check.py SOURCE_DIR PORTEND

- The unit: `systemd-analyze verify` (no running systemd needed; ExecStart is
  pointed at the built portend, since verify wants the program to exist, and
  any warning fails), `systemd-analyze security --offline` under a threshold,
  and the sandboxing options the unit must keep.
- The manifests: `make deploy-test` validates them against the API's
  schemas (tests/deploy/validate.mjs); here each object is checked for the
  fields Porten relies on and the keys it may use, and the names that tie
  them together (selectors, Secret keys, ports, the configuration file) are
  matched.
  The ConfigMap's configuration passes `portend --check-config`.
- The Dockerfile: no linter is packaged, so its required properties are
  checked: two stages on Debian 12, no ADD, a numeric non-root USER, a
  HEALTHCHECK on /health/live, EXPOSE, an ENTRYPOINT with --config.
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


# ---- Kubernetes ---------------------------------------------------------

REQUIRED = {
    ("v1", "ConfigMap"): ["data"],
    ("v1", "Secret"): [],
    ("v1", "Service"): ["spec.selector", "spec.ports.0.port"],
    ("apps/v1", "Deployment"): ["spec.selector.matchLabels", "spec.template.metadata.labels",
                                "spec.template.spec.containers.0.name",
                                "spec.template.spec.containers.0.image"],
    ("policy/v1", "PodDisruptionBudget"): ["spec.selector.matchLabels"],
    ("autoscaling/v2", "HorizontalPodAutoscaler"): ["spec.scaleTargetRef.kind",
                                                   "spec.scaleTargetRef.name",
                                                   "spec.maxReplicas", "spec.metrics"],
}
# Keys the API knows at each level Porten sets (a misspelt key is dropped or
# refused by the API server; here it fails).
KNOWN = {
    "container": {"name", "image", "imagePullPolicy", "command", "args", "ports", "env",
                  "envFrom", "livenessProbe", "readinessProbe", "startupProbe", "resources",
                  "securityContext", "volumeMounts", "workingDir", "lifecycle"},
    "csc": {"runAsNonRoot", "runAsUser", "runAsGroup", "allowPrivilegeEscalation",
            "readOnlyRootFilesystem", "privileged", "capabilities", "seccompProfile"},
    "pod": {"automountServiceAccountToken", "enableServiceLinks", "terminationGracePeriodSeconds",
            "securityContext", "topologySpreadConstraints", "containers", "volumes",
            "serviceAccountName", "affinity", "nodeSelector", "tolerations"},
    "probe": {"httpGet", "initialDelaySeconds", "periodSeconds", "timeoutSeconds",
              "failureThreshold", "successThreshold"},
}


def is_labels(x):
    return isinstance(x, dict) and x and all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in x.items())


def check_manifests():
    objs = {}
    k8s = os.path.join(DEPLOY, "k8s")
    for name in sorted(os.listdir(k8s)):
        if not name.endswith(".yaml") or name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(open(os.path.join(k8s, name))):
            if doc is None:
                continue
            key = (doc.get("apiVersion"), doc.get("kind"))
            if not check(key in REQUIRED, f"{name}: unexpected {key}"):
                continue
            check(re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", get(doc, "metadata.name", "")),
                  f"{name}: metadata.name")
            for p in REQUIRED[key]:
                check(get(doc, p) is not None, f"{name}: {key[1]} lacks {p}")
            objs[key[1]] = doc
    kust = yaml.safe_load(open(os.path.join(k8s, "kustomization.yaml")))
    check(set(kust["resources"]) | {"secret.yaml"} ==
          {n for n in os.listdir(k8s) if n.endswith(".yaml") and n != "kustomization.yaml"},
          "kustomization.yaml: resources do not match the files")
    for kind in ("ConfigMap", "Secret", "Service", "Deployment", "PodDisruptionBudget",
                 "HorizontalPodAutoscaler"):
        if not check(kind in objs, f"no {kind}"):
            return
    dep, cm, sec = objs["Deployment"], objs["ConfigMap"], objs["Secret"]
    pod = get(dep, "spec.template.spec")
    labels = get(dep, "spec.template.metadata.labels")
    sel = get(dep, "spec.selector.matchLabels")
    check(is_labels(sel) and all(labels.get(k) == v for k, v in sel.items()),
          "Deployment: selector does not match the template's labels")
    check(get(dep, "spec.replicas") == 3, "Deployment: replicas != 3")
    check(set(pod) <= KNOWN["pod"], f"pod spec: unknown {set(pod) - KNOWN['pod']}")
    check(get(pod, "securityContext.runAsNonRoot") is True, "pod: runAsNonRoot")
    check(get(pod, "securityContext.seccompProfile.type") == "RuntimeDefault", "pod: seccomp")
    check(len(pod["containers"]) == 1, "one container")
    c = pod["containers"][0]
    check(set(c) <= KNOWN["container"], f"container: unknown {set(c) - KNOWN['container']}")
    csc = c.get("securityContext", {})
    check(set(csc) <= KNOWN["csc"], f"securityContext: unknown {set(csc) - KNOWN['csc']}")
    check(csc.get("readOnlyRootFilesystem") is True, "container: readOnlyRootFilesystem")
    check(csc.get("allowPrivilegeEscalation") is False, "container: allowPrivilegeEscalation")
    check(get(csc, "capabilities.drop") == ["ALL"], "container: capabilities drop ALL")
    check(get(csc, "seccompProfile.type") == "RuntimeDefault", "container: seccomp")
    for r in ("requests.cpu", "requests.memory", "limits.memory"):
        check(get(c, "resources." + r) is not None, f"container: resources.{r}")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    check(ports.get("http") == 8080, "container: port http 8080")
    for probe, path in (("livenessProbe", "/health/live"), ("readinessProbe", "/health/ready")):
        pr = c.get(probe, {})
        check(set(pr) <= KNOWN["probe"], f"{probe}: unknown {set(pr) - KNOWN['probe']}")
        check(get(pr, "httpGet.path") == path, f"{probe}: path {path}")
        port = get(pr, "httpGet.port")
        check(port in ports or port in ports.values(), f"{probe}: port {port}")
    check(c.get("args", [])[:1] == ["--config"], "container: args --config")
    conf_path = c["args"][1]
    # Volumes: every mount has a volume; the configuration from the ConfigMap.
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    for m in mounts.values():
        check(m in vols, f"volumeMount {m} has no volume")
    conf_dir, conf_file = os.path.split(conf_path)
    cvol = vols.get(mounts.get(conf_dir), {})
    check(get(cvol, "configMap.name") == cm["metadata"]["name"] and conf_file in cm["data"],
          f"{conf_path} does not come from the ConfigMap")
    check("/tmp" in mounts, "no writable /tmp")
    # The environment: every secretKeyRef names the Secret and one of its keys.
    env = {}
    sec_keys = set(sec.get("stringData", {})) | set(sec.get("data", {}))
    for e in c.get("env", []):
        ref = get(e, "valueFrom.secretKeyRef")
        if ref is not None:
            check(ref["name"] == sec["metadata"]["name"] and ref["key"] in sec_keys,
                  f"env {e['name']}: no such Secret key {ref}")
        else:
            env[e["name"]] = e["value"]
    names = {e["name"] for e in c.get("env", [])}
    # The example Secret's key-encryption key is one portend refuses.
    check(len(sec.get("stringData", {}).get("kek", "")) != 43,
          "secret.yaml: the example kek must not be a usable key")
    check({"PORTEN_KEK", "PORTEN_STORE"} <= names, "env: PORTEN_KEK and PORTEN_STORE")
    svc = objs["Service"]
    check(get(svc, "spec.selector") == sel, "Service: selector")
    check(all(p.get("targetPort") in ports or p.get("targetPort") in ports.values()
              for p in svc["spec"]["ports"]), "Service: targetPort")
    pdb = objs["PodDisruptionBudget"]
    check(get(pdb, "spec.minAvailable") == 2, "PDB: minAvailable 2")
    check(get(pdb, "spec.selector.matchLabels") == sel, "PDB: selector")
    hpa = objs["HorizontalPodAutoscaler"]
    ref = hpa["spec"]["scaleTargetRef"]
    check((ref.get("apiVersion"), ref["kind"], ref["name"]) ==
          ("apps/v1", "Deployment", dep["metadata"]["name"]), "HPA: scaleTargetRef")
    check(get(hpa, "spec.minReplicas", 1) >= 3 and hpa["spec"]["maxReplicas"]
          >= hpa["spec"]["minReplicas"], "HPA: replicas")
    for m in hpa["spec"]["metrics"]:
        check(m.get("type") == "Resource" and get(m, "resource.target.type") in
              ("Utilization", "AverageValue"), f"HPA: metric {m}")
    # The configuration is one portend accepts, with a PostgreSQL store.
    with tempfile.TemporaryDirectory() as tmp:
        conf = os.path.join(tmp, conf_file)
        with open(conf, "w") as f:
            f.write(cm["data"][conf_file])
        run_env = {k: v for k, v in os.environ.items() if not k.startswith("PORTEN_")}
        run_env.update(env)
        run_env["PORTEN_STORE"] = sec["stringData"]["store"]
        run_env["PORTEN_KEK"] = "A" * 43
        r = subprocess.run([PORTEND, "--config", conf, "--check-config"], env=run_env,
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "env prod" in r.stdout and "store postgres" in r.stdout,
              f"portend --check-config on the ConfigMap: {r.stdout}{r.stderr}")
        # and the image's own configuration too
        r = subprocess.run([PORTEND, "--config", os.path.join(DEPLOY, "portend.conf"),
                            "--check-config"], env=run_env, capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 0, f"portend --check-config on deploy/portend.conf: {r.stderr}")


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
    # The runtime libraries are the ones the build's portend loads, and libgd,
    # which ldd cannot list: portenctl opens it to draw a chart (src/billing/plot.c).
    loaded = subprocess.run(["ldd", PORTEND], capture_output=True, text=True).stdout + " libgd"
    runtime = " ".join(a for i, a in final if i == "RUN")
    for lib, pkg in (("libmicrohttpd", "libmicrohttpd12"), ("libcjose", "libcjose0"),
                     ("libjansson", "libjansson4"), ("libsqlite3", "libsqlite3-0"),
                     ("libpq", "libpq5"), ("libsodium", "libsodium23"), ("liboath", "liboath0"),
                     ("libcurl", "libcurl4"), ("libunistring", "libunistring2"),
                     ("libp11.so", "libp11-3"), ("libp11-kit", "libp11-kit0"),
                     ("libxml2", "libxml2"), ("libgd", "libgd3")):
        if lib in loaded:
            check(re.search(r"\b" + re.escape(pkg) + r"\b", runtime),
                  f"Dockerfile: runtime lacks {pkg}")


check_unit()
check_manifests()
check_dockerfile()
for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print("deploy: ok")
