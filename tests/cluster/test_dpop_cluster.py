"""
DPoP across nodes (spec/idporten-oidc.md §19 check 7): a proof's jti is
spent in the shared store, so a proof one node took is refused by every
other, at /token and at /userinfo; and a DPoP-bound login crosses nodes.
"""

from conftest import E, NodeHopper, at, load_e2e, plain_http

K = load_e2e("dpopkit")


def err(r):
    try:
        return r.json().get("error")
    except ValueError:
        return None


def redeem(c, view, res, dpop):
    data = {"grant_type": "authorization_code", "code": res.code,
            "redirect_uri": res.sent.get("redirect_uri", c.redirect_uri),
            "code_verifier": res.verifier}
    return at(c, view).post("/token", data, headers={"DPoP": dpop})


def userinfo(cluster, i, token, dpop):
    return plain_http().get(cluster.view(i).url("/userinfo"), timeout=E.TIMEOUT,
                            headers={"Authorization": f"DPoP {token}", "DPoP": dpop})


def test_token_proof_replayed_on_other_nodes(cluster, listener, tmp_path):
    c = E.create_client(cluster.lb, listener, tmp_path, auth="none")
    turl = cluster.issuer + "/token"
    p = K.proof(K.ec(), turl)
    r = redeem(c, cluster.view(0), E.login(cluster.lb, c, NodeHopper(cluster)), p)
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    for i in (1, 2):
        res = E.login(cluster.lb, c, NodeHopper(cluster))
        r = redeem(c, cluster.view(i), res, p)
        assert r.status_code == 400 and err(r) == "invalid_dpop_proof", (i, r.text)
        # the replay consumed nothing: a fresh proof redeems the same code there
        r = redeem(c, cluster.view(i), res, K.proof(K.ec(), turl))
        assert r.status_code == 200, (i, r.text)


def test_bound_login_and_userinfo_across_nodes(cluster, listener, tmp_path):
    key = K.ec()
    c = E.create_client(cluster.lb, listener, tmp_path, auth="none", refresh=True)
    # the code is bound by dpop_jkt at /authorize, redeemed on another node
    res = E.login(cluster.lb, c, NodeHopper(cluster), dpop_jkt=key.thumbprint())
    r = redeem(c, cluster.view(1), res, K.proof(K.ec(), cluster.issuer + "/token"))
    assert r.status_code == 400 and err(r) == "invalid_grant", r.text
    res = E.login(cluster.lb, c, NodeHopper(cluster), dpop_jkt=key.thumbprint())
    r = redeem(c, cluster.view(1), res, K.proof(key, cluster.issuer + "/token"))
    assert r.status_code == 200, r.text
    tok = r.json()["access_token"]
    uurl = cluster.issuer + "/userinfo"
    p = K.proof(key, uurl, htm="GET", ath=K.ath(tok))
    r = userinfo(cluster, 0, tok, p)
    assert r.status_code == 200 and r.json()["sub"], r.text
    for i in (1, 2):
        r = userinfo(cluster, i, tok, p)
        assert r.status_code == 401 and err(r) == "invalid_dpop_proof", (i, r.text)
        assert r.headers["WWW-Authenticate"].startswith("DPoP "), r.headers
        r = userinfo(cluster, i, tok, K.proof(key, uurl, htm="GET", ath=K.ath(tok)))
        assert r.status_code == 200, (i, r.text)
