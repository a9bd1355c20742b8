"""authorization_details of type idporten:fullmakt at ID-porten (spec/idporten-oidc.md §21)."""

import json

import pytest

from conftest import start


def test_discovery_lists_fullmakt(server):
    d = server.get("/.well-known/openid-configuration").json()
    assert d["authorization_details_types_supported"] == ["idporten:fullmakt"]


@pytest.mark.parametrize("rar", [
    "not json",
    "{}",
    "[]",
    json.dumps([{"type": "idporten:unknown"}]),
    json.dumps([{"type": "idporten:fullmakt", "permission_roles": ["arbeid"], "extra": 1}]),
    json.dumps([{"type": "idporten:fullmakt"}]),
    json.dumps([{"type": "idporten:fullmakt", "permission_roles": []}]),
    json.dumps([{"type": "idporten:fullmakt", "permission_roles": ["arbeid"]}] * 2),
    json.dumps([{"type": "ansattporten:altinn:resource", "resource": "urn:altinn:resource:x"}]),
])
def test_bad_authorization_details_refused(server, new_client, new_browser, rar):
    c = new_client()
    res = start(server, c, new_browser(), authorization_details=rar)
    assert res.kind == "redirect", res
    assert res.params["error"] == "invalid_authorization_details", res.params


def test_fullmakt_request_accepted(server, new_client, new_browser):
    c = new_client()
    rar = json.dumps([{"type": "idporten:fullmakt", "permission_roles": "arbeid"}])
    res = start(server, c, new_browser(), authorization_details=rar)
    assert res.kind == "page", res
