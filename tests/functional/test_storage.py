"""Shared storage: a file's bytes are stored once for every repo that holds them, and leave the
store with the last repo that held them."""

from __future__ import annotations

import hashlib
import os
import shutil

from starlette.testclient import TestClient

from commonshub.hub import Hub
from tests.conftest import Account


def _create(client: TestClient, who: Account, name: str) -> None:
    r = client.post("/api/repos/create", json={"name": name, "organization": who.name}, headers=who.headers)
    assert r.status_code == 200, r.text


def _upload_lfs(client: TestClient, who: Account, repo: str, path: str, data: bytes) -> str:
    oid = hashlib.sha256(data).hexdigest()
    r = client.post(
        f"/{repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": oid, "size": len(data)}], "ref": {"name": "main"}},
        headers=who.headers,
    )
    assert r.status_code == 200, r.text
    href = r.json()["objects"][0]["actions"]["upload"]["href"]
    assert client.put(href.removeprefix("http://hub.test"), content=data).status_code == 200
    body = (
        '{"key":"header","value":{"summary":"add"}}\n'
        f'{{"key":"lfsFile","value":{{"path":"{path}","algo":"sha256","oid":"{oid}","size":{len(data)}}}}}\n'
    )
    r = client.post(f"/api/models/{repo}/commit/main", content=body, headers=who.headers)
    assert r.status_code == 200, r.text
    return oid


def _delete(client: TestClient, who: Account, name: str) -> None:
    r = client.request(
        "DELETE", "/api/repos/delete", json={"name": name, "organization": who.name}, headers=who.headers
    )
    assert r.status_code == 200, r.text


def test_bytes_leave_the_store_with_the_last_repo_that_holds_them(
    client: TestClient, hub: Hub, alice: Account
) -> None:
    shared, own = os.urandom(3000), os.urandom(2000)
    for name in ("first", "second"):
        _create(client, alice, name)
    shared_oid = _upload_lfs(client, alice, "alice/first", "weights.bin", shared)
    assert _upload_lfs(client, alice, "alice/second", "copy.bin", shared) == shared_oid
    own_oid = _upload_lfs(client, alice, "alice/first", "own.bin", own)
    assert sorted(hub.blobs.oids()) == sorted([shared_oid, own_oid])  # stored once

    _delete(client, alice, "first")
    assert list(hub.blobs.oids()) == [shared_oid]
    assert client.get("/alice/second/resolve/main/copy.bin").content == shared

    _delete(client, alice, "second")
    assert list(hub.blobs.oids()) == []


def test_deleted_lfs_content_is_gone_for_its_repo_even_when_another_repo_holds_the_bytes(
    client: TestClient, hub: Hub, alice: Account
) -> None:
    data = os.urandom(2500)
    for name in ("keeper", "dropper"):
        _create(client, alice, name)
    oid = _upload_lfs(client, alice, "alice/keeper", "w.bin", data)
    _upload_lfs(client, alice, "alice/dropper", "w.bin", data)
    assert client.get("/alice/dropper/resolve/main/w.bin").content == data  # and now remembered

    r = client.post(
        "/api/models/alice/dropper/lfs-files/batch",
        json={"deletions": {"sha": [oid], "rewriteHistory": False}},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    r = client.get("/alice/dropper/resolve/main/w.bin")
    assert (r.status_code, r.headers["x-error-code"]) == (404, "EntryNotFound")
    assert client.get("/alice/keeper/resolve/main/w.bin").content == data
    assert list(hub.blobs.oids()) == [oid]


def test_a_repo_whose_storage_is_missing_says_so(client: TestClient, hub: Hub, alice: Account) -> None:
    _create(client, alice, "m")
    uid = client.get("/api/models/alice/m").json()["_id"]
    shutil.rmtree(hub.git.repo_dir(uid))
    for url in (
        "/api/models/alice/m",
        "/alice/m/resolve/main/.gitattributes",
        "/api/models/alice/m/tree/main",
    ):
        r = client.get(url)
        assert (r.status_code, r.headers["x-error-code"]) == (503, "RepoUnavailable"), url
        assert "fsck" in r.json()["error"]
