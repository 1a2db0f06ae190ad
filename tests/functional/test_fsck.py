"""`commonshub fsck`: each kind of damage, made for real on a hub's data while no request runs, is
reported (exit 1, the problem named), repaired with `--repair`, and the repo serves correctly again.

The hub is the in-process app on SQLite and on PostgreSQL; the damage is done the way it happens
in life (the `git` CLI behind the hub's back, files deleted or changed on disk, rows deleted in
the database, a writer's journal left behind); fsck is the real command, run as a subprocess.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from commonshub.app import create_app
from commonshub.hub import Hub
from commonshub.settings import Settings
from tests.conftest import Account, add_user, make_settings

BIN = Path(sys.executable).parent
# Older than fsck's grace period (an hour), within which files may belong to work in progress.
LONG_AGO = time.time() - 2 * 3600


@dataclass
class Site:
    settings: Settings
    alice: Account

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def fsck(self, *args: str) -> tuple[int, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONSHUB_")}
        env["COMMONSHUB_DATABASE_URL"] = self.settings.database_url
        result = subprocess.run(
            [str(BIN / "commonshub"), "fsck", *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        return result.returncode, result.stdout + result.stderr

    def sql(self, statement: str, **params: object) -> None:
        engine = create_engine(self.settings.database_url)
        with engine.begin() as conn:
            conn.execute(text(statement), params)
        engine.dispose()

    @contextmanager
    def serving(self) -> Iterator[TestClient]:
        """The hub, up while the block runs: damage and fsck happen between two of these."""
        with TestClient(create_app(self.settings), base_url="http://hub.test") as client:
            client.headers.update(self.alice.headers)
            yield client

    def git_dir(self, uid: str) -> Path:
        return self.data_dir / "repos" / uid[:2] / f"{uid}.git"

    def git(self, uid: str, *args: str, stdin: bytes | None = None, **env: str) -> str:
        result = subprocess.run(
            ["git", "--git-dir", str(self.git_dir(uid)), *args],
            input=stdin,
            capture_output=True,
            env=os.environ | env,
            check=True,
        )
        return result.stdout.decode().strip()


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Site:
    settings = make_settings(tmp_path / "data", database_url)
    hub = Hub(settings)
    alice = add_user(hub, "alice")
    hub.close()
    return Site(settings, alice)


# --- making content through the API ---


def create(client: TestClient, name: str) -> str:
    r = client.post("/api/repos/create", json={"name": name, "organization": "alice"})
    assert r.status_code == 200, r.text
    uid: str = client.get(f"/api/models/alice/{name}").json()["_id"]
    return uid


def upload_lfs(client: TestClient, name: str, content: bytes) -> str:
    """Send bytes through the LFS batch API (only if the hub asks for them); returns the oid."""
    oid = hashlib.sha256(content).hexdigest()
    batch = client.post(
        f"/alice/{name}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": oid, "size": len(content)}]},
    )
    assert batch.status_code == 200, batch.text
    actions = batch.json()["objects"][0].get("actions")
    if actions:
        put = client.put(actions["upload"]["href"], content=content)
        assert put.status_code == 200, put.text
    return oid


def commit(
    client: TestClient,
    name: str,
    files: dict[str, bytes] | None = None,
    lfs: dict[str, bytes] | None = None,
    deleted: tuple[str, ...] = (),
) -> str:
    lines: list[dict[str, object]] = [{"key": "header", "value": {"summary": "update"}}]
    for path, content in (files or {}).items():
        lines.append({"key": "file", "value": {"path": path, "content": base64.b64encode(content).decode()}})
    for path, content in (lfs or {}).items():
        oid = upload_lfs(client, name, content)
        lines.append(
            {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": len(content)}}
        )
    for path in deleted:
        lines.append({"key": "deletedFile", "value": {"path": path}})
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    r = client.post(f"/api/models/alice/{name}/commit/main", content=body)
    assert r.status_code == 200, r.text
    sha: str = r.json()["commitOid"]
    return sha


# --- what "serves correctly" means ---


def listed(client: TestClient, name: str) -> dict[str, object]:
    """The repo as the listing shows it: from the database's index alone."""
    (item,) = [
        m
        for m in client.get("/api/models", params={"author": "alice", "full": "true"}).json()
        if m["id"] == f"alice/{name}"
    ]
    return dict(item)


def assert_serves(client: TestClient, name: str, files: dict[str, bytes]) -> str:
    """Head, tree, model_info and listing agree, and each file downloads with these bytes."""
    info = client.get(f"/api/models/alice/{name}", params={"blobs": "true"})
    assert info.status_code == 200, info.text
    head: str = info.json()["sha"]
    tree = client.get(f"/api/models/alice/{name}/tree/main", params={"recursive": "true"}).json()
    paths = {e["path"] for e in tree if e["type"] == "file"}
    assert paths == {s["rfilename"] for s in info.json()["siblings"]} == {".gitattributes", *files}
    item = listed(client, name)
    assert item["sha"] == head
    assert {s["rfilename"] for s in item["siblings"]} == paths  # type: ignore[attr-defined]
    commits = client.get(f"/api/models/alice/{name}/commits/main").json()
    assert commits[0]["id"] == head
    for path, content in files.items():
        r = client.get(f"/alice/{name}/resolve/main/{path}")
        assert r.status_code == 200 and r.content == content, (path, r.status_code)
    return head


def reported(output: str, kind: str, subject: str, *, fixed: bool = False) -> bool:
    state = "fixed" if fixed else "found"
    return any(line.startswith(f"{state}: {kind}: ") and subject in line for line in output.splitlines())


# --- damage to refs, repos and the index ---


def test_fsck_reports_and_repairs_refs_index_and_git_directories(site: Site) -> None:
    with site.serving() as client:
        journaled = create(client, "journaled")
        base = commit(client, "journaled", {"a.txt": b"a\n"})
        moved = create(client, "moved")
        first = commit(client, "moved", {"a.txt": b"a\n"})
        commit(client, "moved", {"b.txt": b"b\n"})
        create(client, "row")
        commit(client, "row", {"a.txt": b"a\n", "b.txt": b"b\n"})
        gone = create(client, "gone")
        commit(client, "gone", {"a.txt": b"a\n"})
        create(client, "healthy")
        commit(client, "healthy", {"a.txt": b"a\n"})
        aside = create(client, "aside")
        commit(client, "aside", {"a.txt": b"a\n"})

    # A writer died between moving main and committing the database: its journal entry, its
    # commit object and the moved ref are all that is left.
    blob = site.git(journaled, "hash-object", "-w", "--stdin", stdin=b"half done\n")
    index = str(site.data_dir / "index.tmp")
    site.git(journaled, "read-tree", base, GIT_INDEX_FILE=index)
    site.git(
        journaled, "update-index", "--add", "--cacheinfo", f"100644,{blob},half.txt", GIT_INDEX_FILE=index
    )
    tree = site.git(journaled, "write-tree", GIT_INDEX_FILE=index)
    orphan_commit = site.git(journaled, "commit-tree", tree, "-p", base, "-m", "never committed")
    token = secrets.token_hex(16)
    entry = {"ref": "refs/heads/main", "old": base, "new": orphan_commit, "token": token}
    (site.data_dir / "repos" / "journal" / f"{journaled}.{token}.json").write_text(json.dumps(entry))
    site.git(journaled, "update-ref", "refs/heads/main", orphan_commit)
    # Someone moved a branch with git itself, behind the hub's back.
    site.git(moved, "update-ref", "refs/heads/main", first)
    # A row of the index went missing.
    site.sql(
        "DELETE FROM repo_files WHERE path = 'b.txt' AND repo_id = (SELECT id FROM repos WHERE name = 'row')"
    )
    # A repo's git directory was lost.
    shutil.rmtree(site.git_dir(gone))
    # A deletion moved a repo's directory aside, then its writer died before the database
    # committed; another one died after: the repo's row is gone, its directory is still aside.
    trash = site.data_dir / "repos" / "trash"
    os.replace(site.git_dir(aside), trash / f"{aside}.0badc0de.git")
    deleted = "d" * 24
    subprocess.run(["git", "init", "-q", "--bare", str(trash / f"{deleted}.0badc0de.git")], check=True)
    # A git directory no repo points to: an old one (an orphan), and a new one that may be a repo
    # being created right now.
    old_orphan, new_orphan = "f" * 24, "e" * 24
    for uid in (old_orphan, new_orphan):
        subprocess.run(["git", "init", "-q", "--bare", str(site.git_dir(uid))], check=True)
    os.utime(site.git_dir(old_orphan), (LONG_AGO, LONG_AGO))

    code, out = site.fsck()
    assert code == 1, out
    assert reported(out, "unfinished-ref-move", journaled), out
    assert reported(out, "stale-index", "alice/moved"), out
    assert reported(out, "stale-index", "alice/row"), out
    assert reported(out, "missing-git", "alice/gone"), out
    assert reported(out, "orphan-git", old_orphan), out
    assert reported(out, "unfinished-removal", aside) and reported(out, "unfinished-removal", deleted), out
    assert new_orphan not in out and "alice/healthy" not in out, out

    code, out = site.fsck("--repair")
    assert code == 0, out
    for kind, subject in [
        ("unfinished-ref-move", journaled),
        ("stale-index", "alice/moved"),
        ("stale-index", "alice/row"),
        ("missing-git", "alice/gone"),
        ("orphan-git", old_orphan),
        ("unfinished-removal", aside),
        ("unfinished-removal", deleted),
    ]:
        assert reported(out, kind, subject, fixed=True), (kind, out)
    code, out = site.fsck()
    assert (code, out.strip()) == (0, "0 problem(s), 0 fixed")
    assert not site.git_dir(old_orphan).exists() and site.git_dir(new_orphan).exists()
    assert not any(trash.iterdir())

    with site.serving() as client:
        # The move that never committed is undone: the commit is not in the history.
        assert assert_serves(client, "journaled", {"a.txt": b"a\n"}) == base
        history = [c["id"] for c in client.get("/api/models/alice/journaled/commits/main").json()]
        assert orphan_commit not in history
        # Git is the truth for content: the index follows the ref where git put it.
        assert assert_serves(client, "moved", {"a.txt": b"a\n"}) == first
        assert assert_serves(client, "row", {"a.txt": b"a\n", "b.txt": b"b\n"})
        # The lost repo is back, empty, and takes commits again.
        assert assert_serves(client, "gone", {})
        commit(client, "gone", {"again.txt": b"again\n"})
        assert_serves(client, "gone", {"again.txt": b"again\n"})
        assert_serves(client, "healthy", {"a.txt": b"a\n"})
        # The deletion that never committed is undone: the repo is whole.
        assert_serves(client, "aside", {"a.txt": b"a\n"})


# --- damage to blobs, their rows and the staging area ---


def test_fsck_reports_and_repairs_blobs_rows_and_staging(site: Site) -> None:
    contents = {
        name: os.urandom(3000) for name in ("deleted", "corrupt", "unlinked", "unrecorded", "old", "aside")
    }
    weights = {f"{name}.bin": data for name, data in contents.items() if name != "old"}
    with site.serving() as client:
        create(client, "weights")
        old_commit = commit(client, "weights", lfs={"old.bin": contents["old"]})
        commit(client, "weights", lfs=weights, deleted=("old.bin",))
        assert_serves(client, "weights", weights)
    oids = {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()}

    def blob_path(oid: str) -> Path:
        return site.data_dir / "blobs" / "sha256" / oid[:2] / oid[2:4] / oid

    # Bytes lost: of a file at the head, and of a file only an old revision still has.
    blob_path(oids["deleted"]).unlink()
    blob_path(oids["old"]).unlink()
    # Bytes changed in place, size kept: only hashing can tell.
    corrupt = bytearray(contents["corrupt"])
    corrupt[100] ^= 0xFF
    blob_path(oids["corrupt"]).write_bytes(bytes(corrupt))
    # Rows lost: the repo's link to an object, and both the link and the blob's own row.
    site.sql("DELETE FROM lfs_objects WHERE oid = :oid", oid=oids["unlinked"])
    site.sql("DELETE FROM lfs_objects WHERE oid = :oid", oid=oids["unrecorded"])
    site.sql("DELETE FROM blobs WHERE oid = :oid", oid=oids["unrecorded"])
    # Bytes nothing refers to: an old orphan, and a fresh one that may be an upload committing.
    orphans = {}
    for age in ("old", "new"):
        data = os.urandom(100)
        orphans[age] = hashlib.sha256(data).hexdigest()
        blob_path(orphans[age]).parent.mkdir(parents=True, exist_ok=True)
        blob_path(orphans[age]).write_bytes(data)
    os.utime(blob_path(orphans["old"]), (LONG_AGO, LONG_AGO))
    # A deletion moved bytes aside and its writer died before the database committed; another
    # deletion committed, and its writer died before removing the bytes it had moved aside.
    blob_trash = site.data_dir / "blobs" / "trash"
    blob_trash.mkdir(exist_ok=True)
    os.replace(blob_path(oids["aside"]), blob_trash / oids["aside"])
    gone = hashlib.sha256(b"deleted for good").hexdigest()
    (blob_trash / gone).write_bytes(b"deleted for good")
    # Staging files of uploads that never finished, one long ago, one maybe still running.
    staging = site.data_dir / "tmp"
    (staging / "1234-deadbeef").write_bytes(b"half an upload")
    os.utime(staging / "1234-deadbeef", (LONG_AGO, LONG_AGO))
    (staging / "5678-cafebabe").write_bytes(b"an upload in progress")

    code, out = site.fsck()
    assert code == 1, out
    assert reported(out, "missing-blob", "alice/weights@refs/heads/main:deleted.bin"), out
    assert reported(out, "missing-blob", "old.bin"), out  # history counts, not only the heads
    assert reported(out, "corrupt-blob", oids["corrupt"]), out
    assert reported(out, "unlinked-object", "unlinked.bin"), out
    assert reported(out, "unrecorded-blob", oids["unrecorded"]), out
    assert reported(out, "orphan-blob", orphans["old"]), out
    assert reported(out, "stale-upload", str(staging)), out
    assert reported(out, "unfinished-removal", oids["aside"]), out
    assert reported(out, "unfinished-removal", gone), out
    assert orphans["new"] not in out, out

    code, out = site.fsck("--repair")
    # Missing bytes cannot be invented: repair says so, and fixes all the rest.
    assert code == 1, out
    for kind, subject in [
        ("corrupt-blob", oids["corrupt"]),
        ("unlinked-object", "unlinked.bin"),
        ("unlinked-object", "unrecorded.bin"),  # re-linking records the blob too
        ("orphan-blob", orphans["old"]),
        ("stale-upload", str(staging)),
        ("unfinished-removal", oids["aside"]),
        ("unfinished-removal", gone),
    ]:
        assert reported(out, kind, subject, fixed=True), (kind, out)
    assert not any(blob_trash.iterdir())
    assert reported(out, "missing-blob", "deleted.bin") and reported(out, "missing-blob", "old.bin"), out
    assert not blob_path(orphans["old"]).exists() and blob_path(orphans["new"]).exists()
    assert not (staging / "1234-deadbeef").exists() and (staging / "5678-cafebabe").exists()

    with site.serving() as client:
        # What is whole serves; what is missing or was corrupt is refused, never sent wrong.
        for name in ("unlinked", "unrecorded", "aside"):
            r = client.get(f"/alice/weights/resolve/main/{name}.bin")
            assert r.status_code == 200 and r.content == contents[name]
        for path in ("deleted.bin", "corrupt.bin"):
            r = client.get(f"/alice/weights/resolve/main/{path}")
            assert r.status_code == 503 and r.headers["x-error-code"] == "BlobUnavailable", path
        # The client uploads them again: the hub asks for the bytes it lacks.
        for name in ("deleted", "corrupt", "old"):
            assert upload_lfs(client, "weights", contents[name]) == oids[name]

    code, out = site.fsck()
    assert (code, out.strip()) == (0, "0 problem(s), 0 fixed")
    with site.serving() as client:
        assert_serves(client, "weights", weights)
        r = client.get(f"/alice/weights/resolve/{old_commit}/old.bin")
        assert r.status_code == 200 and r.content == contents["old"]
        # A commit may point at the re-linked objects again.
        commit(client, "weights", lfs={"copy.bin": contents["unlinked"]})


def test_fsck_accepts_lfs_files_their_owner_deleted_without_rewriting_history(site: Site) -> None:
    data = os.urandom(3000)
    oid = hashlib.sha256(data).hexdigest()
    with site.serving() as client:
        create(client, "purged")
        commit(client, "purged", lfs={"kept.bin": b"kept" * 100, "gone.bin": data})
        r = client.post(
            "/api/models/alice/purged/lfs-files/batch",
            json={"deletions": {"sha": [oid], "rewriteHistory": False}},
        )
        assert r.status_code == 200, r.text
        # The pointer stays in git, on purpose; the content is gone for this repo.
        r = client.get("/alice/purged/resolve/main/gone.bin")
        assert (r.status_code, r.headers["x-error-code"]) == (404, "EntryNotFound")

    # Not damage: nothing to report, and --repair brings nothing back.
    assert site.fsck() == (0, "0 problem(s), 0 fixed\n")
    assert site.fsck("--repair") == (0, "0 problem(s), 0 fixed\n")
    with site.serving() as client:
        assert client.get("/alice/purged/resolve/main/gone.bin").status_code == 404
        assert client.get("/alice/purged/resolve/main/kept.bin").content == b"kept" * 100
        # Uploading it again makes it whole again.
        assert upload_lfs(client, "purged", data) == oid
        assert client.get("/alice/purged/resolve/main/gone.bin").content == data
    assert site.fsck() == (0, "0 problem(s), 0 fixed\n")
