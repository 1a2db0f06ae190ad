"""Replayed answers (commonshub.replay) never outlive what they were computed from: each test asks
once, so the answer is kept, changes something, and asks again."""

from __future__ import annotations

import base64

from starlette.testclient import TestClient

from commonshub.accounts.service import revoke_tokens, user_by_name
from commonshub.hub import Hub
from tests.conftest import Account


def _create(client: TestClient, who: Account, name: str, **extra: object) -> None:
    r = client.post(
        "/api/repos/create", json={"name": name, "organization": who.name, **extra}, headers=who.headers
    )
    assert r.status_code == 200, r.text


def _commit(client: TestClient, who: Account, repo: str, path: str, content: bytes) -> str:
    body = (
        '{"key":"header","value":{"summary":"write"}}\n'
        f'{{"key":"file","value":{{"path":"{path}","content":"{base64.b64encode(content).decode()}",'
        '"encoding":"base64"}}\n'
    )
    r = client.post(f"/api/models/{repo}/commit/main", content=body, headers=who.headers)
    assert r.status_code == 200, r.text
    return str(r.json()["commitOid"])


def _files(client: TestClient, repo: str, headers: dict[str, str] | None = None) -> list[str]:
    r = client.get(f"/api/models/{repo}", headers=headers)
    assert r.status_code == 200, r.text
    return [s["rfilename"] for s in r.json()["siblings"]]


def test_a_commit_shows_at_once(client: TestClient, alice: Account) -> None:
    _create(client, alice, "m")
    _commit(client, alice, "alice/m", "a.txt", b"one")
    assert client.get("/alice/m/resolve/main/a.txt").content == b"one"
    assert _files(client, "alice/m") == [".gitattributes", "a.txt"]
    sha = _commit(client, alice, "alice/m", "a.txt", b"two")
    assert client.get("/alice/m/resolve/main/a.txt").content == b"two"
    assert client.get("/api/models/alice/m").json()["sha"] == sha


def test_making_a_repo_private_hides_it_at_once(client: TestClient, alice: Account, bob: Account) -> None:
    _create(client, alice, "m")
    _commit(client, alice, "alice/m", "a.txt", b"one")
    for headers in ({}, bob.headers):
        assert client.get("/api/models/alice/m", headers=headers).status_code == 200
        assert client.get("/alice/m/resolve/main/a.txt", headers=headers).status_code == 200
    r = client.put("/api/models/alice/m/settings", json={"private": True}, headers=alice.headers)
    assert r.status_code == 200, r.text
    for headers, status in (({}, 401), (bob.headers, 404)):
        assert client.get("/api/models/alice/m", headers=headers).status_code == status
        assert client.get("/alice/m/resolve/main/a.txt", headers=headers).status_code == status
    assert client.get("/alice/m/resolve/main/a.txt", headers=alice.headers).content == b"one"


def test_a_revoked_token_stops_working_at_once(client: TestClient, hub: Hub, alice: Account) -> None:
    _create(client, alice, "secret", private=True)
    _commit(client, alice, "alice/secret", "a.txt", b"one")
    assert _files(client, "alice/secret", alice.headers) == [".gitattributes", "a.txt"]
    assert client.get("/alice/secret/resolve/main/a.txt", headers=alice.headers).status_code == 200
    with hub.db.unit_of_work(write=True) as uow:
        revoke_tokens(uow.session, user_by_name(uow.session, "alice"), "alice-token")
    for url in ("/api/models/alice/secret", "/alice/secret/resolve/main/a.txt"):
        r = client.get(url, headers=alice.headers)
        assert r.status_code == 401 and "x-error-code" not in r.headers, url


def test_a_ref_moved_behind_the_hubs_back_shows_at_once(client: TestClient, hub: Hub, alice: Account) -> None:
    # Only the hub moves refs, always with a database commit; but answers are pinned to the ref
    # too, so one moved by hand (an operator's `git update-ref`) is seen without any commit.
    _create(client, alice, "m")
    first = _commit(client, alice, "alice/m", "a.txt", b"one")
    second = _commit(client, alice, "alice/m", "a.txt", b"two")
    assert client.get("/alice/m/resolve/main/a.txt").content == b"two"
    assert client.get("/api/models/alice/m").json()["sha"] == second
    uid = client.get("/api/models/alice/m").json()["_id"]
    hub.git.open(uid).set_ref("refs/heads/main", first)
    assert client.get("/alice/m/resolve/main/a.txt").content == b"one"
    assert client.get("/api/models/alice/m").json()["sha"] == first
