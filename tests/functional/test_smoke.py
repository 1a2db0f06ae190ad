from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import Account


def test_created_repo_has_an_initial_commit_with_gitattributes(client: TestClient, alice: Account) -> None:
    r = client.post("/api/repos/create", json={"name": "m", "organization": "alice"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["url"] == "http://hub.test/alice/m"
    info = client.get("/api/models/alice/m", headers=alice.headers).json()
    assert len(info["sha"]) == 40
    assert [s["rfilename"] for s in info["siblings"]] == [".gitattributes"]
    assert r.headers["x-request-id"]
