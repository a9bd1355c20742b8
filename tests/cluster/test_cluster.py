"""
Nodes are stateless: whatever one node began, any other can finish.  Each
browser here sends every request to the next node in turn (NodeHopper), and
each back-channel call names the node it goes to, so every step of a flow
crosses to another process; only the shared PostgreSQL connects them.
"""

import time

from conftest import SEAL_PERIOD, E, NodeHopper, at, plain_http


def err(r):
    try:
        return r.json().get("error")
    except ValueError:
        return None


def userinfo(view, at_token):
    return plain_http().get(view.url("/userinfo"), headers={"Authorization": f"Bearer {at_token}"},
                            timeout=E.TIMEOUT)


def test_health_and_discovery_agree(cluster):
    s = plain_http()
    docs = []
    for n in cluster.nodes:
        assert s.get(n.base + "/health/live", timeout=5).status_code == 200
        assert s.get(n.base + "/health/ready", timeout=5).status_code == 200
        d = s.get(n.base + "/.well-known/openid-configuration", timeout=5).json()
        docs.append(d)
    # one issuer, one set of endpoints: the load balancer's
    assert all(d == docs[0] for d in docs)
    assert docs[0]["issuer"] == cluster.issuer
    assert cluster.lb.get("/.well-known/openid-configuration").json() == docs[0]
    st = cluster.lb_status()
    assert sorted(st) == ["node0", "node1", "node2"] and all(v.startswith("UP") for v in st.values()), st


def test_login_across_nodes(cluster, listener, tmp_path):
    c = E.create_client(cluster.lb, listener, tmp_path, refresh=True)
    b = NodeHopper(cluster)
    res = E.login(cluster.lb, c, b)
    # authorize, the eID pages and the return each landed on another node
    assert len(b.hops) >= 3 and set(b.hops) == {0, 1, 2}, b.hops
    tok = at(c, cluster.view(1)).tokens(res)
    idc = E.check_id_token(cluster.view(2), c, tok["id_token"], res)
    assert idc["iss"] == cluster.issuer
    for i in range(3):
        r = userinfo(cluster.view(i), tok["access_token"])
        assert r.status_code == 200, (i, r.text)
        assert r.json()["sub"] == idc["sub"]


def test_sso_across_nodes(cluster, listener, tmp_path):
    a = E.create_client(cluster.lb, listener, tmp_path)
    b_client = E.create_client(cluster.lb, listener, tmp_path)
    browser = NodeHopper(cluster)
    E.login(cluster.lb, a, browser, expect_eid=True)
    for first in range(3):
        browser.next = first
        res = E.login(cluster.lb, b_client, browser, expect_eid=False)
        tok = at(b_client, cluster.view((first + 1) % 3)).tokens(res)
        assert tok["id_token"]


def test_code_single_use_across_nodes(cluster, listener, tmp_path):
    c = E.create_client(cluster.lb, listener, tmp_path, refresh=True)
    res = E.login(cluster.lb, c, NodeHopper(cluster))
    r = at(c, cluster.view(0)).redeem(res)
    assert r.status_code == 200, r.text
    tok = r.json()
    r = at(c, cluster.view(1)).redeem(res)
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    # RFC 6749 4.1.2: the replay revoked what the first use issued, for every node
    r = at(c, cluster.view(2)).refresh(tok["refresh_token"])
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text


def test_par_across_nodes(cluster, listener, tmp_path):
    c = E.create_client(cluster.lb, listener, tmp_path)
    params, verifier = E.auth_params(c)
    r = at(c, cluster.view(0)).par(**params)
    assert r.status_code == 201, r.text
    request_uri = r.json()["request_uri"]
    b = NodeHopper(cluster, first=1)
    first = E.authorize(cluster.lb, b, {"client_id": c.client_id, "request_uri": request_uri})
    res = E.finish_login(cluster.lb, b, first, params["redirect_uri"], sent=params, verifier=verifier)
    assert res.code, res
    assert at(c, cluster.view(2)).tokens(res)["access_token"]


def test_sealed_logins_across_a_key_change(cluster, listener, tmp_path):
    """
    A login in progress travels sealed in the browser: any node opens what
    another sealed, across a change of the sealing key, which the first node
    to need it makes and every other reads from the store.
    """
    def kid(resp):
        return int.from_bytes(E.b64u_decode(E.pending_ar(resp))[1:5], "big")

    def left():
        return SEAL_PERIOD - time.time() % SEAL_PERIOD

    c = E.create_client(cluster.lb, listener, tmp_path)
    if left() < 6:
        time.sleep(left() + 0.5)
    time.sleep(max(0.0, left() - 4))
    logins = []
    for first in (0, 1):
        b = NodeHopper(cluster, first=first)
        params, verifier = E.auth_params(c)
        logins.append((b, params, verifier, E.authorize(cluster.lb, b, params)))
        if first == 0:
            time.sleep(left() + 0.5)   # into the next period
    assert kid(logins[1][3]) == kid(logins[0][3]) + SEAL_PERIOD
    for b, params, verifier, r in logins:
        res = E.finish_login(cluster.lb, b, r, params["redirect_uri"], sent=params, verifier=verifier)
        assert res.code, res
        assert len(set(b.hops)) == 3, b.hops
        assert at(c, cluster.view(2)).tokens(res)["access_token"]


def test_refresh_rotation_across_nodes(cluster, listener, tmp_path):
    c = E.create_client(cluster.lb, listener, tmp_path, refresh=True)
    tok = at(c, cluster.view(0)).tokens(E.login(cluster.lb, c, NodeHopper(cluster)))
    rt = [tok["refresh_token"]]
    for i in range(3):
        r = at(c, cluster.view(i)).refresh(rt[-1])
        assert r.status_code == 200, (i, r.text)
        rt.append(r.json()["refresh_token"])
    # a spent token on another node: refused, and the family is gone everywhere
    r = at(c, cluster.view(1)).refresh(rt[1])
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    for i in range(3):
        r = at(c, cluster.view(i)).refresh(rt[-1])
        assert r.status_code == 400 and err(r) == "invalid_grant", (i, r.text)


def test_jti_replay_across_nodes(cluster, listener, tmp_path):
    c = E.create_client(cluster.lb, listener, tmp_path, auth="private_key_jwt")
    assertion = c.assertion()
    r = at(c, cluster.view(0)).redeem(E.login(cluster.lb, c, NodeHopper(cluster)), assertion=assertion)
    assert r.status_code == 200, r.text
    # the same client assertion (same jti) at the other nodes: a replay
    for i in (1, 2):
        res = E.login(cluster.lb, c, NodeHopper(cluster))
        r = at(c, cluster.view(i)).redeem(res, assertion=assertion)
        assert r.status_code == 401 and err(r) == "invalid_client", (i, r.text)
        # with a fresh assertion the same code still works: the replay consumed nothing
        r = at(c, cluster.view(i)).redeem(res)
        assert r.status_code == 200, (i, r.text)


def jwks_kids(view):
    r = plain_http().get(view.url("/jwks.json"), timeout=5)
    assert r.status_code == 200, r.text
    return {k["kid"] for k in r.json()["keys"]}


def test_key_rotation_seen_by_all_nodes(cluster, listener, tmp_path):
    before = [jwks_kids(cluster.view(i)) for i in range(3)]
    assert before[0] and before[0] == before[1] == before[2]
    out = cluster.lb.ctl("keys", "rotate")
    kids = [jwks_kids(cluster.view(i)) for i in range(3)]
    new = kids[0] - before[0]
    assert len(new) == 1, (out, before, kids)
    assert kids[0] == kids[1] == kids[2], kids
    kid = next(iter(new))
    # The JWKS changed on every node at once (above).  With no publish delay
    # the new key also signs at once, once each node re-reads its key list:
    # src/registry/keys.c caches it for KEY_CACHE_MS (5 s).  Tokens signed by
    # the retired key still verify meanwhile: it stays in the JWKS.
    c = E.create_client(cluster.lb, listener, tmp_path)
    deadline = time.monotonic() + 8
    pending = {0, 1, 2}
    while pending:
        for i in sorted(pending):
            tok = at(c, cluster.view(i)).tokens(E.login(cluster.lb, c, NodeHopper(cluster, first=i)))
            E.check_id_token(cluster.view((i + 1) % 3), c, tok["id_token"])
            if E.jwt_parts(tok["id_token"])[0]["kid"] == kid:
                pending.discard(i)
        assert not pending or time.monotonic() < deadline, f"nodes {pending} still sign with the old key"
        if pending:
            time.sleep(0.5)


def test_key_withdraw_seen_by_all_nodes(cluster, listener, tmp_path):
    """`portenctl keys withdraw`: the key leaves every node's JWKS at once and stops signing
    on every node within the key cache time (KEY_CACHE_MS, 5 s)."""
    c = E.create_client(cluster.lb, listener, tmp_path)
    tok = at(c, cluster.view(0)).tokens(E.login(cluster.lb, c, NodeHopper(cluster, first=0)))
    old = E.jwt_parts(tok["id_token"])[0]["kid"]
    out = cluster.lb.ctl("keys", "withdraw", old)
    new = out["signing_key"]
    for i in range(3):
        kids = jwks_kids(cluster.view(i))
        assert old not in kids and new in kids, (i, kids)
    deadline = time.monotonic() + 8
    pending = {0, 1, 2}
    while pending:
        for i in sorted(pending):
            tok = at(c, cluster.view(i)).tokens(E.login(cluster.lb, c, NodeHopper(cluster, first=i)))
            if {E.jwt_parts(tok[t])[0]["kid"] for t in ("id_token", "access_token")} == {new}:
                E.check_id_token(cluster.view((i + 1) % 3), c, tok["id_token"])
                pending.discard(i)
        assert not pending or time.monotonic() < deadline, f"nodes {pending} still sign with {old}"
        if pending:
            time.sleep(0.5)


def test_round_robin_through_haproxy(cluster, listener, tmp_path):
    """Plain clients through the load balancer: logins and refreshes just work."""
    c = E.create_client(cluster.lb, listener, tmp_path, refresh=True)
    t0 = time.monotonic()
    for _ in range(6):
        tok = c.tokens(E.login(cluster.lb, c, E.http()))
        r = c.refresh(tok["refresh_token"])
        assert r.status_code == 200, r.text
    assert time.monotonic() - t0 < 30


def test_client_change_in_force_on_every_node_at_once(cluster, listener, tmp_path):
    """
    Every node keeps its clients parsed in memory and hears of a change from
    PostgreSQL (a LISTEN on the registry's channel) instead of asking before
    each request: a client deactivated by portenctl, in a login begun on one
    node, is refused by the others within a second, and its login does not
    finish on any.
    """
    c = E.create_client(cluster.lb, listener, tmp_path)
    E.login(cluster.lb, c, NodeHopper(cluster))       # every node has it parsed now
    b = NodeHopper(cluster, pin=0)
    params, _ = E.auth_params(c)
    page = E.authorize(cluster.lb, b, params)
    assert page.status_code == 200, page.text[:300]
    testid = E.open_testid(cluster.lb, b, page)
    cluster.lb.ctl("client", "delete", c.client_id)
    deadline = time.monotonic() + 1.0
    for i in range(3):
        while True:
            params, _ = E.auth_params(c)
            r = NodeHopper(cluster, pin=i).get(cluster.issuer + "/authorize", params=params,
                                               allow_redirects=False, timeout=E.TIMEOUT)
            if r.status_code == 400 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        assert r.status_code == 400, (i, r.status_code, r.text[:300])
    # the login begun before the change does not finish on another node
    b.pin = 1
    r = E.submit_testid(cluster.lb, b, testid)
    res = E.classify(cluster.lb, r, c.redirect_uri)
    assert not res.code, res
