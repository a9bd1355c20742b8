"""
Back-channel logout across nodes (spec/idporten-oidc.md §20): the outbox
is the database's, so when the node delivering a logout token is killed
mid-request, another node takes the row over once its lease lapses
(PORTEN_BACKCHANNEL_LEASE=4 here) and delivers it.
"""

import json
import os
import signal
import time
import uuid

from jwcrypto import jwk, jws

from conftest import E, View

EVENT = "http://schemas.openid.net/event/backchannel-logout"


def test_killed_node_delivery_taken_over(cluster, listener, tmp_path):
    rcv = E.LogoutReceiver(os.path.join(cluster.ca_dir, "bcl.pem"), os.path.join(cluster.ca_dir, "bcl.key"),
                           hang_first=True)
    others = cluster.nodes[1:]
    node0 = View(cluster, cluster.nodes[0].base, "node0")
    try:
        c = E.create_client(cluster.lb, listener, tmp_path,
                            extra_args=("--backchannel-logout-uri", rcv.base + "/bcl/" + uuid.uuid4().hex[:8]))
        c.fc_session = True
        br = E.http()
        t = c.tokens(E.login(cluster.lb, c, br))
        claims = E.check_id_token(cluster.lb, c, t["id_token"])
        # only node 0 works the outbox while the others are frozen
        for n in others:
            n.proc.send_signal(signal.SIGSTOP)
        try:
            r = E.logout(node0, br, id_token_hint=t["id_token"])
            assert r.status_code in (200, 302, 303), r.status_code
            calls = rcv.wait(None, 1, 15)
            assert len(calls) == 1, "node 0 did not start the delivery"
            cluster.nodes[0].kill()
        finally:
            for n in others:
                n.proc.send_signal(signal.SIGCONT)
        calls = rcv.wait(None, 2, 30)
        assert len(calls) >= 2, "no other node took the delivery over"
        token = dict(calls[1]["form"])["logout_token"]
        header, _ = E.jwt_parts(token)
        assert header["typ"] == "logout+jwt"
        keys = jwk.JWKSet.from_json(json.dumps(cluster.view(1).jwks(refresh=True)))
        j = jws.JWS()
        j.deserialize(token)
        j.verify(keys.get_key(header["kid"]))
        lt = json.loads(j.payload)
        assert lt["iss"] == cluster.issuer and lt["aud"] == c.client_id
        assert lt["sid"] == claims["sid"] and lt["sub"] == claims["sub"]
        assert lt["events"] == {EVENT: {}} and "nonce" not in lt
        assert lt["jti"] != E.jwt_parts(dict(calls[0]["form"])["logout_token"])[1]["jti"]
        time.sleep(3)
        assert len(rcv.calls_to()) == 2, "delivered again after it was accepted"
    finally:
        rcv.close()
        if cluster.nodes[0].proc.poll() is not None:
            cluster.nodes[0].start()
            cluster.wait_up(range(len(cluster.nodes)))
