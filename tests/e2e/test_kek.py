"""
KEK rotation (docs/operations.md "Rotating the key-encryption key"): the
node runs with the new KEK as kek and the old one as kek_previous, opening
keys sealed under either; `portenctl kek rotate` seals every key anew under
the new KEK while logins go on, none failing; then the node runs with the
new KEK alone, publishes and signs with the same keys, and tokens from
before still verify.  A rotation without kek_previous, or with a
kek_previous that opens nothing, changes nothing and says why.
"""

import secrets
import os
import sqlite3
import subprocess
import threading
import time

from conftest import Server, b64u, create_client, login


def sealed_texts(server):
    """Every stored key's sealed text, read from the store itself."""
    store = server.env.get("PORTEN_STORE", "")
    if store.startswith(("postgresql://", "postgres://")):
        out = subprocess.run(["psql", "-At", "-F", " ", "-c",
                              "SELECT kid, sealed FROM signing_keys", store],
                             check=True, capture_output=True, text=True, timeout=30).stdout
        return dict(line.split(" ", 1) for line in out.splitlines() if line)
    db = sqlite3.connect(os.path.join(server.data, "porten.db"))
    try:
        return {kid: s for kid, s in db.execute("SELECT kid, sealed FROM signing_keys")}
    finally:
        db.close()


def restart(old, workdir, **env):
    """The same node (issuer, port, data) started again with other settings."""
    old.stop()
    s = Server(workdir)
    s.env = dict(old.env)
    s.env.update(env)
    for k in [k for k, v in env.items() if v is None]:
        del s.env[k]
    s.port, s.issuer, s.data = old.port, old.issuer, old.data
    return s.start()


def test_rotate_while_logging_in(start_server, listener, tmp_path, new_browser):
    old_kek, new_kek = b64u(secrets.token_bytes(32)), b64u(secrets.token_bytes(32))
    s = start_server({"PORTEN_KEK": old_kek})
    c = create_client(s, listener, str(tmp_path), refresh=True)
    before = c.tokens(login(s, c, new_browser()))
    kids = {k["kid"] for k in s.jwks()["keys"]}
    sealed = sealed_texts(s)

    # Roll the node onto both KEKs: it opens what is sealed under the old one.
    s = restart(s, tmp_path / "n2", PORTEN_KEK=new_kek, PORTEN_KEK_PREVIOUS=old_kek)
    c.server = s
    failures, done, count = [], threading.Event(), [0]

    def logins():
        while not done.is_set():
            r = c.redeem(login(s, c, new_browser()))
            if r.status_code != 200:
                failures.append(r.text)
            count[0] += 1

    def wait_logins(n):
        deadline = time.monotonic() + 60
        while count[0] < n and time.monotonic() < deadline:
            time.sleep(0.05)

    t = threading.Thread(target=logins)
    t.start()
    try:
        wait_logins(2)
        at_start = count[0]
        out = s.ctl("kek", "rotate")
        again = s.ctl("kek", "rotate")
        wait_logins(at_start + 3)
    finally:
        done.set()
        t.join(60)
    assert not failures, failures
    assert count[0] >= at_start + 3
    assert sum(i["resealed"] for i in out) == len(sealed), out
    assert sum(i["resealed"] for i in again) == 0, again
    after = sealed_texts(s)
    assert set(after) == set(sealed) and all(after[k] != sealed[k] for k in sealed)

    # The new KEK alone: same keys published, they sign, old tokens verify.
    s = restart(s, tmp_path / "n3", PORTEN_KEK=new_kek, PORTEN_KEK_PREVIOUS=None)
    c.server = s
    assert {k["kid"] for k in s.jwks(refresh=True)["keys"]} == kids
    s.verify(before["id_token"])
    r = c.refresh(before["refresh_token"])
    assert r.status_code == 200, r.text
    assert c.redeem(login(s, c, new_browser())).status_code == 200


def test_rotate_refusals(start_server):
    s = start_server()
    sealed = sealed_texts(s)
    p = s.ctl("kek", "rotate", check=False)
    assert p.returncode != 0 and b"kek_previous" in p.stderr, p.stderr
    # A kek_previous that is not the KEK the keys are under: nothing changes.
    s.env["PORTEN_KEK_PREVIOUS"] = b64u(secrets.token_bytes(32))
    s.env["PORTEN_KEK"] = b64u(secrets.token_bytes(32))
    p = s.ctl("kek", "rotate", check=False)
    assert p.returncode != 0 and b"opens under neither KEK" in p.stderr, p.stderr
    assert sealed_texts(s) == sealed
    p = s.ctl("kek", "spin", check=False)
    assert p.returncode != 0 and b"kek rotate" in p.stderr
