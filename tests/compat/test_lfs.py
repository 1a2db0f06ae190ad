"""The Git LFS batch API (specs/hf-protocol.md §4.6): basic and multipart transfers, verify, and
content-addressed storage shared by every repo."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

from tests.compat.conftest import Client, LiveHub, start_server, stop_server
from tests.conftest import free_port

LFS_JSON = "application/vnd.git-lfs+json"
KiB = 1024


def batch(
    url: str, repo: str, token: str, objects: list[dict[str, object]], ref: str | None = "main"
) -> httpx.Response:
    body: dict[str, object] = {
        "operation": "upload",
        "transfers": ["basic", "multipart"],
        "hash_algo": "sha256",
        "objects": objects,
    }
    if ref is not None:
        body["ref"] = {"name": ref}
    return httpx.post(
        f"{url}/{repo}.git/info/lfs/objects/batch",
        content=json.dumps(body),
        headers={"Authorization": f"Bearer {token}", "Accept": LFS_JSON, "Content-Type": LFS_JSON},
    )


def commit_lfs(url: str, repo: str, token: str, path: str, oid: str, size: int) -> httpx.Response:
    lines = [
        {"key": "header", "value": {"summary": f"Add {path}", "description": ""}},
        {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}},
    ]
    return httpx.post(
        f"{url}/api/models/{repo}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
    )


def stored_copies(data_dir: Path, oid: str) -> list[Path]:
    return [p for p in (data_dir / "blobs").rglob(oid) if p.is_file()]


def test_basic_transfer_by_hand(
    live_hub: LiveHub, api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    data = os.urandom(40 * KiB)
    oid, size = hashlib.sha256(data).hexdigest(), len(data)

    response = batch(live_hub.url, repo_name, owner.token, [{"oid": oid, "size": size}])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(LFS_JSON)
    answer = response.json()
    assert answer["transfer"] == "basic"
    [obj] = answer["objects"]
    assert (obj["oid"], obj["size"]) == (oid, size)
    upload, verify = obj["actions"]["upload"], obj["actions"]["verify"]
    assert upload["href"].startswith(live_hub.url)  # absolute, on our own origin
    assert "chunk_size" not in upload.get("header", {})

    # Before the bytes arrive, verify says "not here" and a commit naming the object is refused.
    unverified = httpx.post(
        verify["href"], json={"oid": oid, "size": size}, headers={"Authorization": f"Bearer {owner.token}"}
    )
    assert unverified.status_code == 404
    assert commit_lfs(live_hub.url, repo_name, owner.token, "w.bin", oid, size).status_code == 422

    # The signed URL authorises the PUT by itself: no Authorization header.
    wrong = httpx.put(upload["href"], content=data[:-1] + b"!")
    assert wrong.status_code == 400
    assert "sha256" in wrong.json()["error"]
    short = httpx.put(upload["href"], content=data[:100])
    assert short.status_code == 400
    tampered = httpx.put(upload["href"].replace(f"size={size}", f"size={size + 1}"), content=data)
    assert tampered.status_code == 403
    assert stored_copies(live_hub.data_dir, oid) == []

    assert httpx.put(upload["href"], content=data).is_success
    verified = httpx.post(
        verify["href"], json={"oid": oid, "size": size}, headers={"Authorization": f"Bearer {owner.token}"}
    )
    assert verified.status_code == 200
    assert len(stored_copies(live_hub.data_dir, oid)) == 1

    # Asked again, the batch API has nothing more to ask for.
    [again] = batch(live_hub.url, repo_name, owner.token, [{"oid": oid, "size": size}]).json()["objects"]
    assert "actions" not in again

    committed = commit_lfs(live_hub.url, repo_name, owner.token, "w.bin", oid, size)
    assert committed.status_code == 200, committed.text
    path = hf_hub_download(repo_name, "w.bin", token=owner.token, cache_dir=tmp_path)
    assert Path(path).read_bytes() == data


def test_batch_reports_bad_objects_per_object(
    live_hub: LiveHub, api: HfApi, repo_name: str, owner: Client
) -> None:
    api.create_repo(repo_name)
    good = hashlib.sha256(b"good").hexdigest()
    response = batch(
        live_hub.url,
        repo_name,
        owner.token,
        [{"oid": "not-a-sha", "size": 1}, {"oid": good, "size": -1}, {"oid": good, "size": 4}],
    )
    assert response.status_code == 200
    bad_oid, bad_size, fine = response.json()["objects"]
    assert bad_oid["error"]["code"] == 422 and bad_oid["error"]["message"]
    assert bad_size["error"]["code"] == 422
    assert "upload" in fine["actions"]

    download = httpx.post(
        f"{live_hub.url}/{repo_name}.git/info/lfs/objects/batch",
        json={"operation": "download", "objects": [{"oid": good, "size": 4}]},
        headers={"Authorization": f"Bearer {owner.token}"},
    )
    assert download.status_code == 400


def test_batch_needs_rights_to_the_ref(live_hub: LiveHub, api: HfApi, repo_name: str, other: Client) -> None:
    api.create_repo(repo_name)
    objects: list[dict[str, object]] = [{"oid": hashlib.sha256(b"x").hexdigest(), "size": 1}]
    # Someone who may not write to main cannot upload for it...
    assert batch(live_hub.url, repo_name, other.token, objects).status_code == 403
    # ...but may upload for a pull request (no ref), as on huggingface.co.
    assert batch(live_hub.url, repo_name, other.token, objects, ref=None).status_code == 200
    anonymous = httpx.post(
        f"{live_hub.url}/{repo_name}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": objects},
    )
    assert anonymous.status_code == 401
    private = repo_name + "-p"
    api.create_repo(private, private=True)
    hidden = batch(live_hub.url, private, other.token, objects, ref=None)
    assert hidden.status_code == 404
    assert hidden.headers["x-error-code"] == "RepoNotFound"


def test_datasets_and_spaces_have_their_own_batch_urls(
    live_hub: LiveHub, api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name, repo_type="dataset")
    data = b"parquet-ish bytes\x00" * 50
    api.upload_file(
        path_or_fileobj=data, path_in_repo="data/train.parquet", repo_id=repo_name, repo_type="dataset"
    )
    [entry] = api.get_paths_info(repo_name, ["data/train.parquet"], repo_type="dataset")
    assert entry.lfs is not None  # type: ignore[union-attr]
    got = hf_hub_download(
        repo_name, "data/train.parquet", repo_type="dataset", token=owner.token, cache_dir=tmp_path
    )
    assert Path(got).read_bytes() == data
    response = batch(f"{live_hub.url}/datasets", repo_name, owner.token, [{"oid": "0" * 64, "size": 1}])
    assert response.status_code == 200
    # The same name as a model does not exist.
    assert batch(live_hub.url, repo_name, owner.token, [{"oid": "0" * 64, "size": 1}]).status_code == 404


@pytest.mark.usefixtures("lfs_uploads")  # its subject is the blob store
def test_lfs_objects_shared_by_two_repos_are_stored_once(
    live_hub: LiveHub, api: HfApi, repo_name: str, owner: Client, other: Client, tmp_path: Path
) -> None:
    data = os.urandom(64 * KiB)
    oid = hashlib.sha256(data).hexdigest()
    second = repo_name + "-copy"
    theirs = f"{other.name}/{repo_name.split('/')[1]}"
    api.create_repo(repo_name)
    api.create_repo(second)
    HfApi(token=other.token).create_repo(theirs)
    api.upload_file(path_or_fileobj=data, path_in_repo="a.bin", repo_id=repo_name)
    api.upload_file(path_or_fileobj=data, path_in_repo="b/c.bin", repo_id=second)
    HfApi(token=other.token).upload_file(path_or_fileobj=data, path_in_repo="d.bin", repo_id=theirs)
    assert len(stored_copies(live_hub.data_dir, oid)) == 1
    for repo, path in ((repo_name, "a.bin"), (second, "b/c.bin"), (theirs, "d.bin")):
        got = hf_hub_download(repo, path, token=owner.token, cache_dir=tmp_path / repo.replace("/", "_"))
        assert Path(got).read_bytes() == data

    # Knowing an oid is not owning it: another repo must still send the bytes once.
    [obj] = batch(live_hub.url, theirs, other.token, [{"oid": oid, "size": len(data)}]).json()["objects"]
    assert "actions" not in obj  # theirs already has it
    fresh = f"{other.name}/{repo_name.split('/')[1]}-fresh"
    HfApi(token=other.token).create_repo(fresh)
    [obj] = batch(live_hub.url, fresh, other.token, [{"oid": oid, "size": len(data)}]).json()["objects"]
    assert "upload" in obj["actions"]
    assert commit_lfs(live_hub.url, fresh, other.token, "stolen.bin", oid, len(data)).status_code == 422

    # Deleting the repo that uploaded first leaves the shared bytes in place for the others.
    api.delete_repo(repo_name)
    assert len(stored_copies(live_hub.data_dir, oid)) == 1
    got = hf_hub_download(second, "b/c.bin", token=owner.token, cache_dir=tmp_path / "after")
    assert Path(got).read_bytes() == data


# --- multipart: a server of its own, with a small threshold ---

THRESHOLD = 1024 * KiB
CHUNK = 512 * KiB


@pytest.fixture(scope="module")
def multipart_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    data_dir = tmp_path_factory.mktemp("multipart-hub")
    hub = start_server(
        data_dir,
        free_port(),
        data_dir / "server.log",
        extra_env={
            "COMMONSHUB_LFS_MULTIPART_THRESHOLD": str(THRESHOLD),
            "COMMONSHUB_LFS_MULTIPART_CHUNK_SIZE": str(CHUNK),
        },
    )
    yield hub
    stop_server(hub)
    log = hub.log.read_text()
    assert "Traceback" not in log, log[-5000:]


@pytest.fixture(scope="module")
def multipart_user(multipart_hub: LiveHub) -> Client:
    return Client("mp-user", multipart_hub.user("mp-user"))


def test_multipart_transfer_by_hand(multipart_hub: LiveHub, multipart_user: Client, tmp_path: Path) -> None:
    url, token = multipart_hub.url, multipart_user.token
    api = HfApi(endpoint=url, token=token)
    repo = api.create_repo("mp-user/by-hand").repo_id
    data = os.urandom(3 * 1024 * KiB + 1234)
    oid, size = hashlib.sha256(data).hexdigest(), len(data)

    [obj] = batch(url, repo, token, [{"oid": oid, "size": size}]).json()["objects"]
    upload = obj["actions"]["upload"]
    header = upload["header"]
    assert int(header["chunk_size"]) == CHUNK
    count = math.ceil(size / CHUNK)
    assert sorted(k for k in header if k.isdigit()) == sorted(str(i) for i in range(1, count + 1))

    parts = []
    for number in range(1, count + 1):
        piece = data[(number - 1) * CHUNK : number * CHUNK]
        if number == 2:
            # A part of the wrong size is refused; the client may send it again.
            assert httpx.put(header["2"], content=piece[:-1]).status_code == 400
        response = httpx.put(header[str(number)], content=piece)
        assert response.status_code == 200
        assert response.headers["etag"]
        parts.append({"partNumber": number, "etag": response.headers["etag"]})

    incomplete = httpx.post(
        upload["href"], json={"oid": oid, "parts": parts[:-1]}, headers={"Content-Type": LFS_JSON}
    )
    assert incomplete.status_code == 400
    bad_etag = [*parts[:-1], {"partNumber": count, "etag": '"nope"'}]
    assert httpx.post(upload["href"], json={"oid": oid, "parts": bad_etag}).status_code == 400
    assert stored_copies(multipart_hub.data_dir, oid) == []

    done = httpx.post(upload["href"], json={"oid": oid, "parts": parts}, headers={"Content-Type": LFS_JSON})
    assert done.is_success, done.text
    verify = httpx.post(
        obj["actions"]["verify"]["href"],
        json={"oid": oid, "size": size},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert verify.status_code == 200
    assert len(stored_copies(multipart_hub.data_dir, oid)) == 1

    assert commit_lfs(url, repo, token, "big.bin", oid, size).status_code == 200
    got = hf_hub_download(repo, "big.bin", token=token, cache_dir=tmp_path, endpoint=url)
    assert Path(got).read_bytes() == data


def test_multipart_transfer_through_the_client(
    multipart_hub: LiveHub, multipart_user: Client, tmp_path: Path
) -> None:
    url, token = multipart_hub.url, multipart_user.token
    api = HfApi(endpoint=url, token=token)
    repo = api.create_repo("mp-user/client").repo_id
    big = os.urandom(2 * 1024 * KiB + 77)  # three parts
    small = os.urandom(100 * KiB)  # a basic transfer in the same commit
    api.create_commit(
        repo,
        operations=[CommitOperationAdd("big.bin", big), CommitOperationAdd("small.bin", small)],
        commit_message="Big and small",
    )
    for path, data in (("big.bin", big), ("small.bin", small)):
        got = hf_hub_download(repo, path, token=token, cache_dir=tmp_path, endpoint=url)
        assert Path(got).read_bytes() == data
    # No part is left behind in staging once the object is stored.
    assert not list((multipart_hub.data_dir / "tmp").rglob("*" + hashlib.sha256(big).hexdigest() + "*"))


def test_a_regular_commit_line_carries_content_as_base64(
    live_hub: LiveHub, api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    # The other half of the upload protocol, for comparison: small files travel inside the commit.
    api.create_repo(repo_name)
    lines = [
        {"key": "header", "value": {"summary": "inline", "description": ""}},
        {
            "key": "file",
            "value": {
                "path": "inline.txt",
                "content": base64.b64encode(b"inline").decode(),
                "encoding": "base64",
            },
        },
    ]
    response = httpx.post(
        f"{live_hub.url}/api/models/{repo_name}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={"Authorization": f"Bearer {owner.token}", "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["commitUrl"] == f"{live_hub.url}/{repo_name}/commit/{body['commitOid']}"
    got = hf_hub_download(repo_name, "inline.txt", token=owner.token, cache_dir=tmp_path)
    assert Path(got).read_bytes() == b"inline"
