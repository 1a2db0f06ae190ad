"""The local blob store: content-addressed, stored once, visible whole, deleted with the commit."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from commonshub.storage import LocalBlobStore, Staging
from commonshub.storage import local as local_module

DATA = b"weights " * 1000
OID = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def staged(tmp_path: Path, data: bytes = DATA, name: str = "upload") -> Path:
    path = tmp_path / "staging" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_put_then_read(store: LocalBlobStore, tmp_path: Path) -> None:
    assert not store.exists(OID) and store.size(OID) is None
    source = staged(tmp_path)
    store.put_file(OID, source)
    assert not source.exists()  # the store took the file over
    assert store.exists(OID)
    assert store.size(OID) == len(DATA)
    with store.open(OID) as f:
        assert f.read() == DATA


def test_layout_is_sharded_by_the_first_hex_digits(store: LocalBlobStore, tmp_path: Path) -> None:
    store.put_file(OID, staged(tmp_path))
    expected = tmp_path / "blobs" / "sha256" / OID[:2] / OID[2:4] / OID
    assert store.local_path(OID) == expected
    assert expected.read_bytes() == DATA


def test_same_content_is_stored_once(store: LocalBlobStore, tmp_path: Path) -> None:
    store.put_file(OID, staged(tmp_path, name="first"))
    path = store.local_path(OID)
    assert path is not None
    inode = path.stat().st_ino
    second = staged(tmp_path, name="second")
    store.put_file(OID, second)
    assert not second.exists()  # the duplicate upload is dropped, not left in staging
    assert path.stat().st_ino == inode  # the stored file was not replaced
    assert list(store.oids()) == [OID]


def test_a_put_from_another_file_system_copies_then_renames(
    store: LocalBlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace
    source = staged(tmp_path)

    def cross_device(src: object, dst: object) -> None:
        if Path(str(src)) == source:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(local_module.os, "replace", cross_device)
    store.put_file(OID, source)
    assert not source.exists()
    with store.open(OID) as f:
        assert f.read() == DATA
    path = store.local_path(OID)
    assert path is not None
    assert [p.name for p in path.parent.iterdir()] == [OID]  # no `.incoming` file left behind


def test_a_staged_upload_enters_the_store(store: LocalBlobStore, tmp_path: Path) -> None:
    staging = Staging(tmp_path / "tmp")
    with (tmp_path / "src").open("wb") as f:
        f.write(DATA)
    with (tmp_path / "src").open("rb") as f:
        upload = staging.receive_file(f)
    assert (upload.sha256, upload.size) == (OID, len(DATA))
    store.put_file(upload.sha256, upload.path)
    assert store.size(OID) == len(DATA)
    assert not any(p.is_file() for p in staging.root.rglob("*"))


@pytest.mark.parametrize(
    "oid",
    ["", "abc", OID.upper(), OID[:-1], OID + "0", "../" + OID[3:], f"{'0' * 63}/", "g" * 64],
)
def test_only_sha256_ids_name_blobs(store: LocalBlobStore, oid: str) -> None:
    with pytest.raises(ValueError, match="not a sha256"):
        store.exists(oid)
    with pytest.raises(ValueError):
        store.local_path(oid)


def test_open_a_missing_blob_raises(store: LocalBlobStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.open(OID)


def test_delete_and_delete_again(store: LocalBlobStore, tmp_path: Path) -> None:
    store.put_file(OID, staged(tmp_path))
    store.delete(OID)
    assert not store.exists(OID)
    store.delete(OID)  # already gone: nothing to do


def test_oids_lists_only_blobs(store: LocalBlobStore, tmp_path: Path) -> None:
    other = b"other"
    other_oid = hashlib.sha256(other).hexdigest()
    store.put_file(OID, staged(tmp_path, name="a"))
    store.put_file(other_oid, staged(tmp_path, other, name="b"))
    path = store.local_path(OID)
    assert path is not None
    (path.parent / f"{OID}.incoming").write_bytes(b"partial copy")  # left by a crash mid-copy
    assert sorted(store.oids()) == sorted([OID, other_oid])


# --- deletion that happens with a database commit ---


def test_staged_deletion_that_commits(store: LocalBlobStore, tmp_path: Path) -> None:
    store.put_file(OID, staged(tmp_path))
    deletion = store.stage_deletion(OID)
    assert store.exists(OID)  # nothing happens before the commit
    deletion.publish()
    assert not store.exists(OID)  # gone for readers once the transaction publishes
    deletion.settle()
    assert not store.exists(OID)
    assert not any(p.is_file() for p in (tmp_path / "blobs" / "trash").rglob("*"))


def test_staged_deletion_that_rolls_back(store: LocalBlobStore, tmp_path: Path) -> None:
    store.put_file(OID, staged(tmp_path))
    deletion = store.stage_deletion(OID)
    deletion.publish()
    deletion.retract()  # the database commit failed: the blob comes back, bytes intact
    deletion.settle()
    with store.open(OID) as f:
        assert f.read() == DATA


def test_staged_deletion_of_a_missing_blob_is_harmless(store: LocalBlobStore) -> None:
    deletion = store.stage_deletion(OID)
    deletion.publish()
    deletion.retract()
    deletion.settle()
    assert not store.exists(OID)


def test_a_blob_uploaded_again_after_deletion_is_stored_again(store: LocalBlobStore, tmp_path: Path) -> None:
    store.put_file(OID, staged(tmp_path, name="a"))
    deletion = store.stage_deletion(OID)
    deletion.publish()
    deletion.settle()
    store.put_file(OID, staged(tmp_path, name="b"))
    with store.open(OID) as f:
        assert f.read() == DATA
