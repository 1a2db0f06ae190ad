"""The Git LFS batch API under bad input (specs/hf-protocol.md §4.6): wrong oids and sizes, bytes
that do not match what was announced, tampered or expired upload URLs, and broken multipart
completions. Each is refused in the HF error shape, and nothing half-uploaded can be committed.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from starlette.testclient import TestClient

from commonshub.app import create_app
from commonshub.hub import Hub
from tests.conftest import Account, add_user, make_settings
from tests.functional.test_errors import NO_CODE, assert_hf_error, commit, create_repo, head_sha

LFS = {"accept": "application/vnd.git-lfs+json", "content-type": "application/vnd.git-lfs+json"}


def batch(client: TestClient, account: Account, repo: str, objects: Any, **extra: Any) -> Any:
    body = {"operation": "upload", "transfers": ["basic", "multipart"], "hash_algo": "sha256"}
    body |= {"objects": objects, "ref": {"name": "main"}} | extra
    return client.post(f"/{repo}.git/info/lfs/objects/batch", json=body, headers={**LFS, **account.headers})


def upload_action(client: TestClient, account: Account, repo: str, data: bytes) -> dict[str, Any]:
    r = batch(client, account, repo, [{"oid": sha256(data), "size": len(data)}])
    assert r.status_code == 200, r.text
    (obj,) = r.json()["objects"]
    assert "error" not in obj, obj
    action: dict[str, Any] = obj["actions"]["upload"]
    return action


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lfs_line(path: str, data: bytes) -> tuple[str, dict[str, Any]]:
    return ("lfsFile", {"path": path, "algo": "sha256", "oid": sha256(data), "size": len(data)})


def verify(client: TestClient, account: Account, repo: str, data: bytes) -> int:
    r = client.post(
        f"/{repo}.git/info/lfs/objects/verify",
        json={"oid": sha256(data), "size": len(data)},
        headers={**LFS, **account.headers},
    )
    return r.status_code


def assert_not_stored(client: TestClient, account: Account, repo: str, data: bytes) -> None:
    """Nothing of `data` is usable: verify says so, a commit cannot use it, batch asks for it again."""
    assert verify(client, account, repo, data) == 404
    before = head_sha(client, account, repo)
    r = commit(client, account, repo, lfs_line("weights.bin", data))
    assert_hf_error(r, 422, None, sha256(data))
    assert head_sha(client, account, repo) == before
    assert (
        "actions"
        in batch(client, account, repo, [{"oid": sha256(data), "size": len(data)}]).json()["objects"][0]
    )


def with_query(url: str, **changes: str | None) -> str:
    """`url` with query parameters changed (None removes one)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture
def repo(client: TestClient, alice: Account) -> str:
    return create_repo(client, alice, "alice/m")


# --- the batch request ---


BAD_OBJECTS: list[tuple[Any, str]] = [
    ({"oid": "abc", "size": 3}, "oid"),
    ({"oid": "A" * 64, "size": 3}, "oid"),  # upper-case hex is not what sha256 ids look like
    ({"oid": "g" * 64, "size": 3}, "oid"),
    ({"oid": 5, "size": 3}, "oid"),
    ({"size": 3}, "oid"),
    ({"oid": "a" * 64}, "size"),
    ({"oid": "a" * 64, "size": -1}, "size"),
    ({"oid": "a" * 64, "size": "3"}, "size"),
    ({"oid": "a" * 64, "size": 3.5}, "size"),
    ({"oid": "a" * 64, "size": True}, "size"),
    ({"oid": "a" * 64, "size": 2**62}, "size"),  # would need billions of part URLs
    ("not an object", "oid"),
    (None, "oid"),
]


def test_batch_answers_bad_objects_with_per_object_errors(
    client: TestClient, alice: Account, repo: str, subtests: pytest.Subtests
) -> None:
    good = b"good bytes"
    for obj, problem in BAD_OBJECTS:
        with subtests.test(repr(obj)[:50]):
            r = batch(client, alice, repo, [obj, {"oid": sha256(good), "size": len(good)}])
            assert r.status_code == 200, r.text
            bad, ok = r.json()["objects"]
            # The client reads error.code (int) and error.message (str), and raises on any error.
            assert isinstance(bad["error"]["code"], int) and 400 <= bad["error"]["code"] < 500
            assert problem in bad["error"]["message"]
            assert isinstance(bad["oid"], str) and isinstance(bad["size"], int)
            assert "actions" not in bad
            # One bad object does not spoil the others.
            assert ok["oid"] == sha256(good) and "upload" in ok["actions"]


MALFORMED_BATCHES = [
    (b"{", "JSON"),
    (b"[]", "object"),
    (b"null", "object"),
    (b'{"operation": "download", "objects": []}', "upload"),
    (b'{"operation": "upload"}', "objects"),
    (b'{"operation": "upload", "objects": {"oid": "x"}}', "objects"),
    (b'{"operation": "upload", "objects": "x"}', "objects"),
]


def test_malformed_batch_requests_are_400(client: TestClient, alice: Account, repo: str) -> None:
    for body, message in MALFORMED_BATCHES:
        r = client.post(f"/{repo}.git/info/lfs/objects/batch", content=body, headers={**LFS, **alice.headers})
        assert_hf_error(r, 400, "BadRequest", message)


def test_too_many_objects_in_one_batch_is_400(client: TestClient, alice: Account, repo: str) -> None:
    objects = [{"oid": f"{i:064x}", "size": 1} for i in range(1001)]
    assert_hf_error(batch(client, alice, repo, objects), 400, "BadRequest", "objects")


# --- basic transfer: the bytes must be what was announced ---


def test_wrong_bytes_are_400_and_nothing_is_stored(client: TestClient, alice: Account, repo: str) -> None:
    data = b"the real weights, 32 bytes long."
    action = upload_action(client, alice, repo, data)
    assert action["header"] == {}  # small: a basic transfer
    for wrong, message in (
        (data[:-1], "Expected"),  # too short
        (data + b"!", "larger"),  # too long
        (b"", "Expected"),
        (data[:-1] + b"?", "sha256"),  # right size, wrong content
    ):
        r = client.put(action["href"], content=wrong)  # upload URLs carry no Authorization
        assert_hf_error(r, 400, "BadRequest", message)
        assert_not_stored(client, alice, repo, data)
    # The same URL still takes the right bytes, which can then be committed and read back.
    r = client.put(action["href"], content=data)
    assert r.status_code == 200, r.text
    assert verify(client, alice, repo, data) == 200
    assert commit(client, alice, repo, lfs_line("weights.bin", data)).status_code == 200
    assert client.get(f"/{repo}/resolve/main/weights.bin").content == data


def test_bytes_of_another_object_are_not_stored_under_the_announced_oid(
    client: TestClient, alice: Account, repo: str
) -> None:
    real, other = b"A" * 40, b"B" * 40
    action = upload_action(client, alice, repo, real)
    assert_hf_error(client.put(action["href"], content=other), 400, "BadRequest", sha256(other))
    assert_not_stored(client, alice, repo, real)
    assert verify(client, alice, repo, other) == 404


def test_a_commit_with_the_wrong_size_of_a_stored_object_is_422(
    client: TestClient, alice: Account, repo: str
) -> None:
    data = b"stored object"
    assert client.put(upload_action(client, alice, repo, data)["href"], content=data).status_code == 200
    before = head_sha(client, alice, repo)
    line = ("lfsFile", {"path": "w.bin", "algo": "sha256", "oid": sha256(data), "size": len(data) + 1})
    assert_hf_error(commit(client, alice, repo, line), 422, None, "bytes")
    assert head_sha(client, alice, repo) == before
    # Without a size (an LFS copy, §4.3) the stored size is used.
    line = ("lfsFile", {"path": "copy.bin", "algo": "sha256", "oid": sha256(data)})
    assert commit(client, alice, repo, line).status_code == 200
    assert client.get(f"/{repo}/resolve/main/copy.bin").content == data


def test_an_object_uploaded_to_one_repo_cannot_be_committed_to_another(
    client: TestClient, alice: Account, bob: Account, repo: str
) -> None:
    data = b"alice's object"
    assert client.put(upload_action(client, alice, repo, data)["href"], content=data).status_code == 200
    # bob knows the oid, but never uploaded the bytes to his repo: he cannot link them.
    other = create_repo(client, bob, "bob/copycat")
    r = commit(client, bob, other, lfs_line("stolen.bin", data))
    assert_hf_error(r, 422, None, sha256(data))
    assert verify(client, bob, other, data) == 404


# --- signed upload URLs: tampered or expired ---


def test_a_tampered_upload_url_is_403(client: TestClient, alice: Account, repo: str) -> None:
    data = b"signed bytes"
    href = upload_action(client, alice, repo, data)["href"]
    path = urlsplit(href).path
    other_oid = sha256(b"other")
    tampered = [
        with_query(href, size=str(len(data) + 1)),
        with_query(href, expires="99999999999"),
        with_query(href, chunk="4"),
        with_query(href, signature="0" * 64),
        with_query(href, signature=None),
        with_query(href, size=None),
        with_query(href, size="abc"),
        href.split("?")[0],
        href.replace(path, path.replace(sha256(data), other_oid)),
        href.replace(path, path.replace("/api/lfs/", "/api/lfs/9")),
    ]
    for url in tampered:
        r = client.put(url, content=data)
        assert_hf_error(r, 403, NO_CODE)
    assert_not_stored(client, alice, repo, data)
    assert client.put(href, content=data).status_code == 200


@pytest.fixture
def expiring_hub(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Account]]:
    # Upload URLs that are already expired when they are handed out.
    hub = Hub(make_settings(tmp_path / "data", database_url, lfs_upload_url_ttl=-1))
    alice = add_user(hub, "alice")
    with TestClient(create_app(hub.settings, hub=hub), base_url="http://hub.test") as client:
        yield client, alice


def test_an_expired_upload_url_is_403(expiring_hub: tuple[TestClient, Account]) -> None:
    client, alice = expiring_hub
    repo = create_repo(client, alice, "alice/m")
    data = b"too late"
    r = client.put(upload_action(client, alice, repo, data)["href"], content=data)
    assert_hf_error(r, 403, NO_CODE, "expired")
    assert_not_stored(client, alice, repo, data)


# --- multipart transfer: parts and their completion ---

CHUNK = 8


@pytest.fixture
def multipart_hub(tmp_path: Path, database_url: str) -> Iterator[tuple[TestClient, Account]]:
    # Every object of 16 bytes or more is sent in parts of 8 bytes.
    hub = Hub(
        make_settings(
            tmp_path / "data", database_url, lfs_multipart_threshold=16, lfs_multipart_chunk_size=CHUNK
        )
    )
    alice = add_user(hub, "alice")
    with TestClient(create_app(hub.settings, hub=hub), base_url="http://hub.test") as client:
        yield client, alice


def send_parts(client: TestClient, action: dict[str, Any], data: bytes) -> list[dict[str, Any]]:
    header = action["header"]
    count = math.ceil(len(data) / int(header["chunk_size"]))
    assert sorted(k for k in header if k != "chunk_size") == sorted(str(i) for i in range(1, count + 1))
    parts = []
    for number in range(1, count + 1):
        piece = data[(number - 1) * CHUNK : number * CHUNK]
        r = client.put(header[str(number)], content=piece)
        assert r.status_code == 200, r.text
        assert r.headers["etag"]  # the client passes it back verbatim
        parts.append({"partNumber": number, "etag": r.headers["etag"]})
    return parts


def complete(client: TestClient, action: dict[str, Any], oid: str, parts: Any) -> Any:
    return client.post(action["href"], json={"oid": oid, "parts": parts}, headers=LFS)


def test_broken_multipart_completions_are_400_and_store_nothing(
    multipart_hub: tuple[TestClient, Account],
) -> None:
    client, alice = multipart_hub
    repo = create_repo(client, alice, "alice/m")
    data = b"0123456789abcdefghijklmnopqrstu"  # 31 bytes: parts of 8, 8, 8 and 7
    oid = sha256(data)
    action = upload_action(client, alice, repo, data)
    assert action["header"]["chunk_size"] in ("8", 8)
    parts = send_parts(client, action, data)
    broken: list[tuple[Any, str]] = [
        (parts[:-1], "parts"),  # one missing
        ([*parts, {"partNumber": 5, "etag": parts[0]["etag"]}], "parts"),  # one too many
        ([{**parts[0], "etag": '"wrong"'}, *parts[1:]], "etag"),
        ([{"partNumber": 1}, *parts[1:]], "etag"),
        ([{**parts[0], "partNumber": "1"}, *parts[1:]], "partNumber"),
        (  # etags swapped between parts 1 and 2
            [{**parts[0], "etag": parts[1]["etag"]}, {**parts[1], "etag": parts[0]["etag"]}, *parts[2:]],
            "etag",
        ),
        ([parts[0], parts[0], parts[2], parts[3]], ""),  # part 2 never named
        ("not a list", "parts"),
        (None, "parts"),
    ]
    for bad, message in broken:
        r = complete(client, action, oid, bad)
        assert_hf_error(r, 400, "BadRequest", message)
        assert verify(client, alice, repo, data) == 404
    # A completion for another object is refused too.
    assert_hf_error(complete(client, action, sha256(b"x"), parts), 400, "BadRequest")
    assert_not_stored(client, alice, repo, data)
    # The parts are still there: the right completion stores the object.
    r = complete(client, action, oid, parts)
    assert r.status_code == 200, r.text
    assert verify(client, alice, repo, data) == 200
    assert commit(client, alice, repo, lfs_line("big.bin", data)).status_code == 200
    assert client.get(f"/{repo}/resolve/main/big.bin").content == data


def test_parts_of_the_wrong_size_or_number_are_400(multipart_hub: tuple[TestClient, Account]) -> None:
    client, alice = multipart_hub
    repo = create_repo(client, alice, "alice/m")
    data = bytes(range(20))  # parts of 8, 8 and 4
    action = upload_action(client, alice, repo, data)
    header = action["header"]
    assert_hf_error(client.put(header["1"], content=data[:7]), 400, "BadRequest", "8 bytes")
    assert_hf_error(client.put(header["1"], content=data[:9]), 400, "BadRequest")
    assert_hf_error(client.put(header["3"], content=data[16:19]), 400, "BadRequest", "4 bytes")
    for number in ("0", "4", "-1"):
        url = header["1"].replace("/1?", f"/{number}?")
        assert_hf_error(client.put(url, content=data[:8]), 400, "BadRequest")
    # A part URL is signed like the object's: tampering with it is a 403.
    assert_hf_error(client.put(with_query(header["2"], chunk="4"), content=data[8:16]), 403, NO_CODE)
    # A basic-transfer URL takes no parts.
    small = b"small"
    basic = upload_action(client, alice, repo, small)["href"]
    url = basic.replace(f"/{sha256(small)}?", f"/{sha256(small)}/1?")
    assert_hf_error(client.put(url, content=small), 400, "BadRequest", "multipart")
    assert_not_stored(client, alice, repo, data)


def test_parts_with_wrong_bytes_fail_the_completion_and_can_be_sent_again(
    multipart_hub: tuple[TestClient, Account],
) -> None:
    client, alice = multipart_hub
    repo = create_repo(client, alice, "alice/m")
    data = bytes(range(100, 124))  # 3 parts of 8
    oid = sha256(data)
    action = upload_action(client, alice, repo, data)
    corrupted = data[:8] + b"X" * 8 + data[16:]
    parts = send_parts(client, action, corrupted)
    assert_hf_error(complete(client, action, oid, parts), 400, "BadRequest", "sha256")
    assert_not_stored(client, alice, repo, data)
    # A retried completion is refused too: the bad bytes are gone, not stored on a second try.
    assert_hf_error(complete(client, action, oid, parts), 400, "BadRequest")
    assert_not_stored(client, alice, repo, data)
    parts = send_parts(client, action, data)
    assert complete(client, action, oid, parts).status_code == 200
    assert verify(client, alice, repo, data) == 200
