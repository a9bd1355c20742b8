"""
Backup and restore as docs/operations.md "Backup and restore" tells an
operator to do them: SQLite with `sqlite3 FILE ".backup COPY"` while portend
runs, PostgreSQL (under make test-pg) with pg_dump and pg_restore.  The
store is restored into a fresh place and portend started on it with the
same key-encryption key: an old refresh token still works, the new tokens
verify against the restored keys, and a person logs in.  Without the KEK
the restored keys cannot be opened, and portend says so instead of
starting.
"""

import os
import secrets
import shutil
import subprocess
import uuid

import pytest

from conftest import (REPO_ROOT, Server, ServerStartError, b64u, create_client, http, login)

PG = os.environ.get("PORTEN_STORE", "").startswith(("postgresql://", "postgres://"))


def backup(server, dest):
    """A copy of the running server's store, as the operations guide says to take it."""
    if PG:
        p = subprocess.run(["pg_dump", "--format=custom", "--file", dest,
                            server.env["PORTEN_STORE"]], capture_output=True, timeout=120)
    else:
        db = os.path.join(server.data, "porten.db")
        p = subprocess.run(["sqlite3", db, f".backup '{dest}'"], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode(errors="replace")


def restore(src, workdir):
    """The copy put back into an empty place; the environment that names it."""
    if PG:
        uri = subprocess.run(["sh", os.path.join(REPO_ROOT, "tools", "pg-test.sh"), "newdb",
                              "restore_" + uuid.uuid4().hex[:16]],
                             check=True, capture_output=True, text=True, timeout=60).stdout.strip()
        p = subprocess.run(["pg_restore", "--no-owner", "--dbname", uri, src],
                           capture_output=True, timeout=120)
        assert p.returncode == 0, p.stderr.decode(errors="replace")
        return {"PORTEN_STORE": uri}
    data = os.path.join(workdir, "data")
    os.makedirs(data, exist_ok=True)
    shutil.copyfile(src, os.path.join(data, "porten.db"))
    return {"PORTEN_DATA": data}


def restored_server(old, workdir, **env):
    """A portend on the restored store, at the old issuer (tokens name it)."""
    s = Server(workdir)
    s.env = dict(old.env)
    s.env.update(env)
    s.port, s.issuer = old.port, old.issuer
    return s


@pytest.fixture
def old_server(start_server):
    return start_server()


def test_restore_keeps_tokens_and_logins(old_server, listener, tmp_path, new_browser):
    c = create_client(old_server, listener, str(tmp_path), refresh=True)
    tok = c.tokens(login(old_server, c, new_browser()))
    old_kids = {k["kid"] for k in old_server.jwks()["keys"]}
    copy = str(tmp_path / "porten.backup")
    backup(old_server, copy)
    # After the copy: a login the backup does not hold.
    later = create_client(old_server, listener, str(tmp_path))
    old_server.stop()

    env = restore(copy, str(tmp_path / "restored"))
    new = restored_server(old_server, tmp_path / "restored", **env)
    new.start()
    try:
        assert {k["kid"] for k in new.jwks(refresh=True)["keys"]} == old_kids
        c.server = new
        r = c.refresh(tok["refresh_token"])
        assert r.status_code == 200, r.text
        new.verify(r.json()["access_token"])
        new.verify(r.json()["id_token"])
        # The client registered after the backup is not there; the old one logs in.
        assert new.ctl("client", "show", later.client_id, check=False).returncode != 0
        res = login(new, c, new_browser())
        assert c.redeem(res).status_code == 200
    finally:
        new.stop()


def test_restore_without_the_kek_refuses_to_start(old_server, listener, tmp_path, new_browser):
    c = create_client(old_server, listener, str(tmp_path))
    assert c.redeem(login(old_server, c, new_browser())).status_code == 200
    copy = str(tmp_path / "porten.backup")
    backup(old_server, copy)
    old_server.stop()
    env = restore(copy, str(tmp_path / "restored"))
    env["PORTEN_KEK"] = b64u(secrets.token_bytes(32))
    new = restored_server(old_server, tmp_path / "restored", **env)
    with pytest.raises(ServerStartError) as e:
        new.start()
    assert "key-encryption key" in str(e.value), str(e.value)
