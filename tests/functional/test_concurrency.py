"""A commit applies whole or not at all, even with many writers racing on one branch.

Eight writers commit to `main` of one repo at the same moment, several rounds in a row, against a
real `commonshub serve` process (SQLite and PostgreSQL): some with `parentCommit` set to the head
they read (only one of a racing group may land; the others get a 412), some without (every one
must land, on top of whatever landed before it). One more writer sends a commit that fails half
way. Afterwards the history holds exactly the commits that landed, each with exactly its own
files, the database index agrees with git, and `commonshub fsck` finds nothing wrong.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.compat.conftest import BIN, LiveHub, server_env, start_server, stop_server
from tests.conftest import _pg_admin, free_port

ROUNDS = 3


@dataclass
class Server:
    live: LiveHub
    env: dict[str, str]
    token: str = ""

    @property
    def url(self) -> str:
        return self.live.url

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "commonshub"), *args, "--data-dir", str(self.live.data_dir)],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server of our own, on SQLite or on a fresh PostgreSQL database that `serve` migrates."""
    extra: dict[str, str] = {}
    database = None
    if request.param == "postgresql":
        pg = request.getfixturevalue("postgres_server")
        database = f"concurrency_{uuid.uuid4().hex[:12]}"
        _pg_admin(pg, f"CREATE DATABASE {database}")
        extra["COMMONSHUB_DATABASE_URL"] = f"{pg}/{database}"
    data_dir = tmp_path / "data"
    live = start_server(data_dir, free_port(), tmp_path / "server.log", extra_env=extra)
    server = Server(live, server_env(data_dir) | extra)
    try:
        for args in (("user", "create", "writer"), ("token", "create", "writer", "--value", "hf_writer_tok")):
            result = server.cli(*args)
            assert result.returncode == 0, result.stderr
        server.token = "hf_writer_tok"
        yield server
    finally:
        if live.process.poll() is None:
            stop_server(live)
        log = live.log.read_text()
        if database is not None:
            _pg_admin(request.getfixturevalue("postgres_server"), f"DROP DATABASE {database} WITH (FORCE)")
    assert "Traceback" not in log and " 500 " not in log, log[-5000:]


@dataclass
class Attempt:
    writer: str
    round: int
    files: dict[str, bytes]
    with_parent: bool
    status: int = 0
    commit: str | None = None
    parent: str | None = None
    error: str = ""


def ndjson_commit(summary: str, files: dict[str, bytes], parent: str | None) -> bytes:
    header: dict[str, object] = {"summary": summary}
    if parent:
        header["parentCommit"] = parent
    lines = [{"key": "header", "value": header}]
    for path, content in files.items():
        lines.append(
            {
                "key": "file",
                "value": {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"},
            }
        )
    return b"\n".join(json.dumps(line).encode() for line in lines) + b"\n"


def test_racing_writers_all_land_or_get_412_and_history_holds_exactly_the_landed_commits(
    server: Server,
) -> None:
    auth = {"Authorization": f"Bearer {server.token}"}
    http = httpx.Client(base_url=server.url, headers=auth, timeout=60)
    repo = "writer/contended"
    assert http.post("/api/repos/create", json={"name": "contended"}).status_code == 200
    initial = http.get(f"/api/models/{repo}/revision/main").json()["sha"]
    api = HfApi(endpoint=server.url, token=server.token)

    # Who races: plain NDJSON writers with and without parentCommit, the real client (each of its
    # commits with an LFS file, uploaded through the batch API first), and a commit that fails on
    # its last operation.
    writers = [
        ("free-0", "ndjson", False),
        ("free-1", "ndjson", False),
        ("free-2", "ndjson", False),
        ("free-hf", "hfapi", False),
        ("parent-0", "ndjson", True),
        ("parent-1", "ndjson", True),
        ("parent-2", "ndjson", True),
        ("parent-hf", "hfapi", True),
    ]
    attempts: list[Attempt] = []
    broken: list[Attempt] = []
    lock = threading.Lock()

    def run_writer(name: str, how: str, with_parent: bool, barrier: threading.Barrier, rnd: int) -> None:
        files = {
            f"{name}/r{rnd}/a.txt": f"{name} round {rnd}\n".encode(),
            f"{name}/r{rnd}/b.txt": os.urandom(16).hex().encode(),
            # Every commit rewrites one shared file: a lost update would show as a wrong value here.
            "shared.txt": f"last written by {name} in round {rnd}\n".encode(),
        }
        if how == "hfapi":
            files[f"{name}/r{rnd}/weights.bin"] = os.urandom(2048)  # LFS by .gitattributes
        attempt = Attempt(name, rnd, files, with_parent)
        with httpx.Client(base_url=server.url, headers=auth, timeout=60) as own:
            parent = own.get(f"/api/models/{repo}/revision/main").json()["sha"] if with_parent else None
            attempt.parent = parent
            barrier.wait()
            if how == "ndjson":
                r = own.post(
                    f"/api/models/{repo}/commit/main",
                    content=ndjson_commit(f"{name} r{rnd}", files, parent),
                    headers={"Content-Type": "application/x-ndjson"},
                )
                attempt.status = r.status_code
                if r.status_code == 200:
                    attempt.commit = r.json()["commitOid"]
                else:
                    attempt.error = r.text
            else:
                try:
                    info = api.create_commit(
                        repo,
                        [CommitOperationAdd(path, content) for path, content in files.items()],
                        commit_message=f"{name} r{rnd}",
                        parent_commit=parent,
                    )
                    attempt.status, attempt.commit = 200, info.oid
                except HfHubHTTPError as exc:
                    assert exc.response is not None
                    attempt.status, attempt.error = exc.response.status_code, str(exc)
        with lock:
            attempts.append(attempt)

    def run_broken(barrier: threading.Barrier, rnd: int) -> None:
        files = {f"broken/r{rnd}/a.txt": b"must never appear\n", "shared.txt": b"broken\n"}
        body = (
            ndjson_commit("broken", files, None)
            + json.dumps({"key": "deletedFile", "value": {"path": "no/such/file.txt"}}).encode()
            + b"\n"
        )
        attempt = Attempt("broken", rnd, files, False)
        with httpx.Client(base_url=server.url, headers=auth, timeout=60) as own:
            barrier.wait()
            r = own.post(f"/api/models/{repo}/commit/main", content=body)
        attempt.status, attempt.error = r.status_code, r.text
        with lock:
            broken.append(attempt)

    for rnd in range(ROUNDS):
        barrier = threading.Barrier(len(writers) + 1, timeout=60)
        threads = [
            threading.Thread(target=run_writer, args=(name, how, with_parent, barrier, rnd))
            for name, how, with_parent in writers
        ]
        threads.append(threading.Thread(target=run_broken, args=(barrier, rnd)))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
            assert not t.is_alive()

    assert len(attempts) == ROUNDS * len(writers)
    for a in attempts:
        if a.with_parent:
            assert a.status in (200, 412), (a.writer, a.status, a.error)
        else:
            assert a.status == 200, (a.writer, a.status, a.error)
    for a in broken:
        assert a.status == 404, a.error
    landed = {a.commit: a for a in attempts if a.status == 200}
    assert len(landed) == sum(1 for a in attempts if a.status == 200), "two writers got the same commit"
    # Writers that named the same parent raced for one slot: at most one of them landed.
    for parent in {a.parent for a in attempts if a.with_parent}:
        assert sum(a.status == 200 for a in attempts if a.parent == parent) <= 1

    # The history of main is exactly the initial commit and the landed ones, one after another.
    history = [c.commit_id for c in api.list_repo_commits(repo)]
    assert len(history) == len(set(history)) == len(landed) + 1
    assert set(history) == set(landed) | {initial}
    assert history[-1] == initial

    def tree(revision: str) -> set[str]:
        r = http.get(f"/api/models/{repo}/tree/{revision}", params={"recursive": "true"})
        assert r.status_code == 200, r.text
        return {e["path"] for e in r.json() if e["type"] == "file"}

    # Each commit is its parent plus exactly its own files: whole, on top of what landed before.
    trees = {sha: tree(sha) for sha in history}
    for child, parent in itertools.pairwise(history):
        own = landed[child]
        assert trees[child] - trees[parent] == set(own.files) - trees[parent], own.writer
        assert trees[parent] <= trees[child]
        shared = http.get(f"/{repo}/resolve/{child}/shared.txt")
        assert shared.content == own.files["shared.txt"]
        for path, content in own.files.items():
            got = http.get(f"/{repo}/resolve/{child}/{path}")
            assert got.status_code == 200 and got.content == content, (own.writer, path)
    # Nothing of a failed commit was left anywhere.
    failed_paths = {p for a in attempts + broken if a.status != 200 for p in a.files if p != "shared.txt"}
    for sha in history:
        assert not trees[sha] & failed_paths

    # The database's index of the head (siblings, sha) is the tree git has.
    head = history[0]
    info = api.model_info(repo, files_metadata=True)
    assert info.sha == head
    assert {s.rfilename for s in info.siblings or []} == trees[head]
    assert trees[head] == {".gitattributes"} | {p for a in landed.values() for p in a.files}

    http.close()
    stop_server(server.live)
    fsck = server.cli("fsck")
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert "0 problem(s)" in fsck.stdout
