"""
The self-service API on three nodes (selfservice-api.md §1: a change is in
force everywhere within 2 minutes): a client registered through one node's
API is read through the others at once, a person logs in to it across all
three, and an update or a deactivation through one node holds on the others
within the limit.
"""

import json
import os
import subprocess
import time
import uuid

from jwcrypto import jwk
from jwcrypto import jwt as jjwt

from conftest import E, NodeHopper, at, plain_http

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ORG = "920000002"       # a valid organisation number
LIMIT = 120             # spec §1


def business_cert(ca, org):
    """A business certificate for org from the cluster's test CA: (private JWK, x5c)."""
    key, csr, pem, ext = (os.path.join(ca, f"{org}.{x}") for x in ("key", "csr", "pem", "ext"))
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", f"/C=NO/O=Org {org}/serialNumber={org}/CN=Org {org}"],
                   check=True, capture_output=True, timeout=60)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(ca, "ca.pem"), "-CAkey",
                    os.path.join(ca, "ca.key"), "-set_serial", str(uuid.uuid4().int % 10**12), "-days", "30",
                    "-sha256", "-extfile", ext, "-out", pem], check=True, capture_output=True, timeout=60)
    der = subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"], check=True, capture_output=True,
                         timeout=60).stdout
    import base64
    with open(key, "rb") as f:
        return jwk.JWK.from_pem(f.read()), [base64.b64encode(der).decode()]


def admin_token(cluster, view, client_id, key, x5c, scope):
    now = int(time.time())
    t = jjwt.JWT(header={"alg": "RS256", "x5c": x5c},
                 claims={"aud": cluster.issuer + "/maskinporten/", "iss": client_id, "scope": scope,
                         "iat": now, "exp": now + 60, "jti": str(uuid.uuid4())})
    t.make_signed_token(key)
    r = plain_http().post(view.url("/maskinporten/token"), data={"grant_type": GRANT, "assertion": t.serialize()},
                          timeout=E.TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def until(pred, what):
    """pred() true within the spec's limit; the seconds it took."""
    t0 = time.monotonic()
    while not pred():
        assert time.monotonic() - t0 < LIMIT, f"{what} not in force on every node within {LIMIT} s"
        time.sleep(0.5)
    return time.monotonic() - t0


def test_selfservice_change_reaches_every_node(cluster, listener):
    lb = cluster.lb
    scopes = ("idporten:dcr.read", "idporten:dcr.write", "idporten:dcr.modify")
    for s in scopes:
        lb.ctl("scope", "create", "--name", s, "--description", "self-service",
               "--allowed-integration-type", "maskinporten", "--owner-orgno", "991825827")
        lb.ctl("scope", "grant", s, ORG)
    args = ["client", "create", "--client-name", "cluster admin", "--description", "self-service",
            "--integration-type", "maskinporten", "--grant-type", GRANT, "--client-orgno", ORG]
    for s in scopes:
        args += ["--scope", s]
    admin = lb.ctl(*args)["client_id"]
    key, x5c = business_cert(cluster.ca_dir, ORG)
    tok = [admin_token(cluster, cluster.view(i), admin, key, x5c, " ".join(scopes)) for i in range(3)]
    http = plain_http()

    def api(i, method, path, **kw):
        return http.request(method, cluster.view(i).url("/selfservice" + path),
                            headers={"Authorization": "Bearer " + tok[i]}, timeout=E.TIMEOUT, **kw)

    # registered through node 0, read through nodes 1 and 2 at once
    body = {"client_name": "cluster app", "description": "through the API", "integration_type": "idporten",
            "redirect_uris": [f"{listener.base}/cb/cluster"], "post_logout_redirect_uris": [f"{listener.base}/"]}
    r = api(0, "POST", "/clients", json=body)
    assert r.status_code == 201, r.text
    info = r.json()
    E.remember_secret(info["client_secret"])
    cid = info["client_id"]
    for i in (1, 2):
        assert api(i, "GET", "/clients/" + cid).json()["client_name"] == "cluster app"

    # a person logs in to it, every step on another node
    client = E.Client(lb, info, "client_secret_basic", "web", body["redirect_uris"],
                      body["post_logout_redirect_uris"][0], ["openid", "profile"], False, None, False, False,
                      None, None)
    b = NodeHopper(cluster)
    res = E.login(lb, client, b)
    assert set(b.hops) == {0, 1, 2}, b.hops
    at(client, cluster.view(2)).tokens(res)

    # a new redirect URI through node 1 is accepted by every node within the limit
    got = api(1, "GET", "/clients/" + cid).json()
    new_uri = f"{listener.base}/cb/moved"
    assert api(1, "PUT", "/clients/" + cid, json=dict(got, redirect_uris=[new_uri])).status_code == 200

    def accepted(i, uri):
        params, _ = E.auth_params(client, redirect_uri=uri)
        r = NodeHopper(cluster, pin=i).get(cluster.issuer + "/authorize", params=params, allow_redirects=False,
                                           timeout=E.TIMEOUT)
        return r.status_code in (200, 302) and "error" not in r.headers.get("Location", "") and \
            (r.status_code != 200 or "redirect_uri" not in r.text.lower())

    assert accepted(0, body["redirect_uris"][0]) or accepted(0, new_uri)
    assert not accepted(0, f"{listener.base}/cb/never-registered")
    for i in range(3):
        until(lambda: accepted(i, new_uri), f"the new redirect URI at node {i}")
        until(lambda: not accepted(i, body["redirect_uris"][0]), f"the old redirect URI gone at node {i}")

    # deactivated through node 2: no node starts a login for it within the limit
    assert api(2, "DELETE", "/clients/" + cid).json()["active"] is False
    for i in range(3):
        until(lambda: not accepted(i, new_uri), f"the deactivation at node {i}")
    assert cid not in [c["client_id"] for c in api(0, "GET", "/clients").json()]
    assert api(1, "GET", "/clients/" + cid).json()["active"] is False
