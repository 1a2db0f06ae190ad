"""Multipart LFS uploads: parts written in place, the whole checked once at completion, whatever
order the parts came in and however often one was sent again."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from commonshub.app import create_app
from commonshub.hub import Hub
from tests.conftest import Account, add_user, make_settings

CHUNK = 1024


@pytest.fixture
def hub(tmp_path: Path, database_url: str) -> Iterator[Hub]:
    hub = Hub(
        make_settings(
            tmp_path / "data", database_url, lfs_multipart_threshold=1, lfs_multipart_chunk_size=CHUNK
        )
    )
    yield hub
    hub.close()


@pytest.fixture
def owner(hub: Hub) -> Account:
    return add_user(hub, "owner")


@pytest.fixture
def client(hub: Hub, owner: Account) -> Iterator[TestClient]:
    with TestClient(create_app(hub.settings, hub=hub), base_url="http://hub.test") as c:
        r = c.post("/api/repos/create", json={"name": "m", "organization": "owner"}, headers=owner.headers)
        assert r.status_code == 200, r.text
        yield c


def _actions(client: TestClient, owner: Account, data: bytes) -> dict[str, object]:
    oid = hashlib.sha256(data).hexdigest()
    r = client.post(
        "/owner/m.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "objects": [{"oid": oid, "size": len(data)}],
        },
        headers=owner.headers,
    )
    assert r.status_code == 200, r.text
    upload = r.json()["objects"][0]["actions"]["upload"]
    assert int(upload["header"]["chunk_size"]) == CHUNK
    return {"oid": oid, **upload}


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _put(client: TestClient, upload: dict[str, object], number: int, body: bytes) -> str:
    header = upload["header"]
    assert isinstance(header, dict)
    r = client.put(_path(header[str(number)]), content=body)
    assert r.status_code == 200, r.text
    return r.headers["etag"]


def _complete(client: TestClient, upload: dict[str, object], etags: dict[int, str]) -> int:
    parts = [{"partNumber": n, "etag": etags[n]} for n in sorted(etags)]
    r = client.post(_path(str(upload["href"])), json={"oid": upload["oid"], "parts": parts})
    return r.status_code


def _commit_and_download(client: TestClient, owner: Account, oid: str, size: int) -> bytes:
    body = (
        '{"key":"header","value":{"summary":"add"}}\n'
        f'{{"key":"lfsFile","value":{{"path":"big.bin","algo":"sha256","oid":"{oid}","size":{size}}}}}\n'
    )
    r = client.post("/api/models/owner/m/commit/main", content=body, headers=owner.headers)
    assert r.status_code == 200, r.text
    return client.get("/owner/m/resolve/main/big.bin").content


def _pieces(data: bytes) -> list[bytes]:
    return [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)]


@pytest.mark.parametrize("order", [[1, 2, 3], [3, 1, 2]], ids=["in-order", "out-of-order"])
def test_parts_in_any_order_make_the_object(client: TestClient, owner: Account, order: list[int]) -> None:
    data = os.urandom(CHUNK * 2 + 100)
    upload = _actions(client, owner, data)
    pieces = _pieces(data)
    etags = {n: _put(client, upload, n, pieces[n - 1]) for n in order}
    assert _complete(client, upload, etags) == 200
    assert _commit_and_download(client, owner, str(upload["oid"]), len(data)) == data


def test_a_part_sent_again_with_other_bytes_is_what_counts(client: TestClient, owner: Account) -> None:
    data = os.urandom(CHUNK * 3)
    upload = _actions(client, owner, data)
    pieces = _pieces(data)
    # Part 2 first arrives damaged, in order; the client sends it again, correct, after part 3.
    etags = {1: _put(client, upload, 1, pieces[0]), 2: _put(client, upload, 2, b"x" * CHUNK)}
    etags[3] = _put(client, upload, 3, pieces[2])
    etags[2] = _put(client, upload, 2, pieces[1])
    assert _complete(client, upload, etags) == 200
    assert _commit_and_download(client, owner, str(upload["oid"]), len(data)) == data


def test_damaged_bytes_store_nothing(client: TestClient, owner: Account, hub: Hub) -> None:
    data = os.urandom(CHUNK * 2)
    upload = _actions(client, owner, data)
    etags = {1: _put(client, upload, 1, data[:CHUNK]), 2: _put(client, upload, 2, b"\0" * CHUNK)}
    assert _complete(client, upload, etags) == 400
    assert not hub.blobs.exists(str(upload["oid"]))
    assert _complete(client, upload, etags) == 400  # refused for good: the upload starts over
    r = client.post(
        "/api/models/owner/m/commit/main",
        content='{"key":"header","value":{"summary":"add"}}\n'
        f'{{"key":"lfsFile","value":{{"path":"big.bin","algo":"sha256","oid":"{upload["oid"]}","size":{len(data)}}}}}\n',
        headers=owner.headers,
    )
    assert r.status_code == 422, r.text


def test_a_part_of_the_wrong_size_or_a_stale_etag_is_refused(client: TestClient, owner: Account) -> None:
    data = os.urandom(CHUNK * 2)
    upload = _actions(client, owner, data)
    header = upload["header"]
    assert isinstance(header, dict)
    assert client.put(_path(header["1"]), content=data[: CHUNK - 1]).status_code == 400
    etags = {1: _put(client, upload, 1, data[:CHUNK]), 2: _put(client, upload, 2, data[CHUNK:])}
    assert _complete(client, upload, {1: etags[1], 2: "not-the-etag"}) == 400
    assert _complete(client, upload, {1: etags[1]}) == 400
    assert _complete(client, upload, etags) == 200
