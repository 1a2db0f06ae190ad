"""A server killed with SIGKILL in the middle of an upload or a commit comes back consistent.

Each test runs a `commonshub serve` of its own, kills it for real at a chosen moment, starts it
again on the same data and checks what a user would notice: the repo's head, its tree, its
`model_info` and the listing agree; a commit is there whole or not at all; nothing half-received
can be downloaded or committed; every blob in the store has the SHA-256 it is named by; and
`commonshub fsck` finds nothing to repair.
"""

from __future__ import annotations

import base64
import fcntl
import functools
import hashlib
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.hf_api import RepoFile
from sqlalchemy import create_engine, text

from commonshub.hub import Hub
from commonshub.repos.fsck import check
from commonshub.settings import Settings
from commonshub.xet import format
from tests.compat.conftest import BIN, LiveHub, server_env, start_server, stop_server
from tests.conftest import _pg_admin, free_port, wait_for

MiB = 1024 * 1024
OWNER = "admin"  # the administrator `commonshub serve` creates on its first start


@dataclass
class Crashable:
    """A server of our own that the test may kill and start again on the same data."""

    live: LiveHub
    port: int
    database_url: str
    extra_env: dict[str, str]
    token: str = ""

    @property
    def url(self) -> str:
        return self.live.url

    @property
    def data_dir(self) -> Path:
        return self.live.data_dir

    @property
    def api(self) -> HfApi:
        return HfApi(endpoint=self.url, token=self.token)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "commonshub"), *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            env=server_env(self.data_dir) | self.extra_env,
            timeout=120,
        )

    def kill(self) -> None:
        self.live.signal(signal.SIGKILL)
        self.live.wait_gone()

    def restart(self) -> None:
        self.live = start_server(self.data_dir, self.port, self.live.log, extra_env=self.extra_env)


def _start(tmp_path: Path, database_url: str | None) -> Crashable:
    extra = {"COMMONSHUB_DATABASE_URL": database_url} if database_url else {}
    data_dir = tmp_path / "data"
    port = free_port()
    live = start_server(data_dir, port, tmp_path / "server.log", extra_env=extra)
    server = Crashable(live, port, database_url or f"sqlite:///{(data_dir / 'hub.db').resolve()}", extra)
    # The first start prints the administrator's token, once, for the user to paste.
    (server.token,) = re.findall(r"export HF_TOKEN=(\S+)", live.log.read_text())
    return server


def _finish(server: Crashable) -> None:
    if server.live.process.poll() is None:
        stop_server(server.live)
    log = server.live.log.read_text()
    assert "Traceback" not in log and " 500 " not in log, log[-5000:]


@pytest.fixture
def crashable(tmp_path: Path) -> Iterator[Crashable]:
    server = _start(tmp_path, None)
    try:
        yield server
    finally:
        _finish(server)


@pytest.fixture(params=["sqlite", "postgresql"])
def crashable_on_each_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Crashable]:
    database = None
    url = None
    if request.param == "postgresql":
        pg = request.getfixturevalue("postgres_server")
        database = f"crash_{uuid.uuid4().hex[:12]}"
        _pg_admin(pg, f"CREATE DATABASE {database}")
        url = f"{pg}/{database}"
    server = _start(tmp_path, url)
    try:
        yield server
    finally:
        _finish(server)
        if database is not None:
            _pg_admin(request.getfixturevalue("postgres_server"), f"DROP DATABASE {database} WITH (FORCE)")


# --- what "consistent" means ---


def assert_blob_store_sound(server: Crashable) -> None:
    """Every file in the blob store is a whole blob: its SHA-256 is its name."""
    for path in (server.data_dir / "blobs" / "sha256").rglob("*"):
        if path.is_file():
            assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, f"{path} is not whole"


def assert_fsck_clean(server: Crashable) -> None:
    """fsck's checks find nothing (run in-process: the `commonshub fsck` CLI is this function)."""
    hub = Hub(Settings(data_dir=server.data_dir, database_url=server.database_url))
    try:
        problems = check(hub, repair=False)
    finally:
        hub.close()
    assert problems == [], problems


def assert_consistent(server: Crashable, repo: str) -> tuple[str, set[str]]:
    """The repo's head, tree, model_info and listing agree; returns the head and its files."""
    api = server.api
    info = api.model_info(repo, files_metadata=True)
    assert info.sha is not None
    head = info.sha
    tree = {
        f.path for f in api.list_repo_tree(repo, recursive=True, revision=head) if isinstance(f, RepoFile)
    }
    assert {s.rfilename for s in info.siblings or []} == tree
    assert api.list_repo_commits(repo)[0].commit_id == head
    # The listing is served from the database's index alone: it must describe the same commit.
    name = repo.split("/")[1]
    (listed,) = [m for m in api.list_models(author=OWNER, search=name, full=True) if m.id == repo]
    assert listed.sha == head
    assert {s.rfilename for s in listed.siblings or []} == tree
    assert_blob_store_sound(server)
    assert_fsck_clean(server)
    return head, tree


def ndjson_line(key: str, value: dict[str, object]) -> bytes:
    return json.dumps({"key": key, "value": value}).encode() + b"\n"


def file_line(path: str, content: bytes) -> bytes:
    return ndjson_line(
        "file", {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"}
    )


# --- an LFS upload cut off half way ---


def test_kill_during_lfs_upload_leaves_nothing_downloadable_or_committable(crashable: Crashable) -> None:
    server = crashable
    repo = f"{OWNER}/half-upload"
    server.api.create_repo(repo)
    head_before, files_before = assert_consistent(server, repo)

    content = os.urandom(12 * MiB)
    oid = hashlib.sha256(content).hexdigest()
    lfs = f"{server.url}/{repo}.git/info/lfs/objects"
    with server.http() as http:
        batch = http.post(
            f"{lfs}/batch",
            json={
                "operation": "upload",
                "transfers": ["basic"],
                "objects": [{"oid": oid, "size": len(content)}],
            },
        ).json()
    href = batch["objects"][0]["actions"]["upload"]["href"]
    target = urlsplit(href)

    # Half the body, then the server dies while it is receiving (its staging file is growing).
    staging = server.data_dir / "tmp"
    with socket.create_connection((target.hostname, target.port)) as sock:
        sock.sendall(
            f"PUT {target.path}?{target.query} HTTP/1.1\r\nHost: {target.netloc}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(content)}\r\n\r\n".encode()
        )
        sock.sendall(content[: 6 * MiB])
        wait_for(lambda: any(p.is_file() and p.stat().st_size > 0 for p in staging.rglob("*")))
        server.kill()

    server.restart()
    assert assert_consistent(server, repo) == (head_before, files_before)
    with server.http() as http:
        # The server has no such object: it asks for the upload again and verify says no.
        again = http.post(
            f"{lfs}/batch", json={"operation": "upload", "objects": [{"oid": oid, "size": len(content)}]}
        ).json()
        assert "upload" in again["objects"][0]["actions"]
        assert http.post(f"{lfs}/verify", json={"oid": oid, "size": len(content)}).status_code == 404
        # A commit that points at it is refused.
        refused = http.post(
            f"/api/models/{repo}/commit/main",
            content=ndjson_line("header", {"summary": "use the half upload"})
            + ndjson_line(
                "lfsFile", {"path": "weights.bin", "algo": "sha256", "oid": oid, "size": len(content)}
            ),
        )
        assert refused.status_code == 422, refused.text
    assert assert_consistent(server, repo) == (head_before, files_before)

    # Uploading it whole works, and the bytes come back exactly.
    server.api.upload_file(path_or_fileobj=content, path_in_repo="weights.bin", repo_id=repo)
    _, files = assert_consistent(server, repo)
    assert files == files_before | {"weights.bin"}
    cache = server.data_dir.parent / "client-cache"
    path = hf_hub_download(repo, "weights.bin", endpoint=server.url, token=server.token, cache_dir=cache)
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == oid


# --- a Xet xorb upload cut off half way ---


def test_kill_during_a_xet_xorb_upload_stores_nothing_and_the_upload_works_again(
    crashable: Crashable,
) -> None:
    server = crashable
    repo = f"{OWNER}/half-xorb"
    server.api.create_repo(repo)
    head_before, files_before = assert_consistent(server, repo)
    # A real xorb of 12 MiB of incompressible chunks, sent as hf_xet sends it.
    content = os.urandom(12 * MiB)
    chunks = [content[i : i + 64 * 1024] for i in range(0, len(content), 64 * 1024)]
    xorb, body = format.build_xorb(chunks, format.SCHEME_NONE)
    with server.http() as http:
        token = http.get(f"/api/models/{repo}/xet-write-token/main").json()
    target = urlsplit(f"{token['casUrl']}/v1/xorbs/default/{format.hash_hex(xorb)}")

    staging = server.data_dir / "tmp"
    with socket.create_connection((target.hostname, target.port)) as sock:
        sock.sendall(
            f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n"
            f"Authorization: Bearer {token['accessToken']}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        sock.sendall(body[: len(body) // 2])
        time.sleep(0.5)  # the hub is reading the body
        server.kill()

    server.restart()
    assert assert_consistent(server, repo) == (head_before, files_before)
    assert not [p for p in (server.data_dir / "xorbs" / "xorb").rglob("*") if p.is_file()]
    assert not [p for p in staging.rglob("*") if p.is_file()]

    # The client uploads the file again, whole, and gets it back.
    server.api.upload_file(path_or_fileobj=content, path_in_repo="weights.bin", repo_id=repo)
    _, files = assert_consistent(server, repo)
    assert files == files_before | {"weights.bin"}
    path = hf_hub_download(
        repo,
        "weights.bin",
        endpoint=server.url,
        token=server.token,
        cache_dir=server.data_dir.parent / "cache",
    )
    assert Path(path).read_bytes() == content


# --- a commit whose NDJSON body is still streaming ---


def test_kill_while_a_commit_body_is_streaming_changes_nothing(crashable: Crashable) -> None:
    server = crashable
    repo = f"{OWNER}/half-commit"
    server.api.create_repo(repo)
    server.api.upload_file(path_or_fileobj=b"v1\n", path_in_repo="notes.txt", repo_id=repo)
    head_before, files_before = assert_consistent(server, repo)

    release = threading.Event()
    outcome: list[BaseException | int] = []

    def body() -> Iterator[bytes]:
        yield ndjson_line("header", {"summary": "a big commit"})
        yield file_line("notes.txt", b"v2\n")
        for i in range(3):
            yield file_line(f"big/{i}.txt", os.urandom(2 * MiB))  # large contents wait in staging
        release.wait(60)
        yield file_line("big/last.txt", b"never arrives")

    def send() -> None:
        try:
            with server.http() as http:
                outcome.append(http.post(f"/api/models/{repo}/commit/main", content=body()).status_code)
        except httpx.HTTPError as exc:
            outcome.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        # The server is mid-body: it has spooled the large contents it received so far.
        wait_for(lambda: len(list((server.data_dir / "tmp").glob("*.commit"))) >= 3)
        server.kill()
    finally:
        release.set()
        sender.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.HTTPError), outcome

    server.restart()
    assert assert_consistent(server, repo) == (head_before, files_before)
    assert len(server.api.list_repo_commits(repo)) == 2
    with server.http() as http:
        assert http.get(f"/{repo}/resolve/main/notes.txt").content == b"v1\n"
        assert http.get(f"/{repo}/resolve/main/big/0.txt").status_code == 404


# --- a commit killed at the moment its ref moves, before the database commits ---


@dataclass
class Outcome:
    status: int | None  # None: the connection dropped without a response
    in_window: bool  # killed with the ref moved and the database transaction not committed


def _send_raw(server: Crashable, method: str, path: str, body: bytes, content_type: str) -> socket.socket:
    """Send a whole request on a plain socket: nothing in this process runs while it is answered."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAuthorization: Bearer {server.token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    return sock


def _status(sock: socket.socket) -> int | None:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    sock.close()
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None


def _freeze_when(server: Crashable, sock: socket.socket, seen: Callable[[], bool]) -> None:
    """SIGSTOP the server the moment `seen()` holds (or it answered): nothing else runs in this
    process, so a file the server renames into place is noticed within microseconds."""
    deadline = time.monotonic() + 60
    while not seen() and not select.select([sock], [], [], 0)[0]:
        assert time.monotonic() < deadline, "the server neither did it nor answered"
    server.live.signal(signal.SIGSTOP)


def _step_until(server: Crashable, sock: socket.socket, done: Callable[[], bool]) -> None:
    """Let a frozen server run in the shortest steps the system gives, until `done()` holds (or
    it answered)."""
    for _ in range(100_000):
        if done() or select.select([sock], [], [], 0)[0]:
            return
        server.live.signal(signal.SIGCONT)
        server.live.signal(signal.SIGSTOP)


def _has_entries(folder: Path) -> bool:
    return folder.is_dir() and bool(os.listdir(folder))


def _lock_held(server: Crashable, uid: str) -> bool:
    """Whether someone holds the repo's write lock (the server, for a request that writes)."""
    fd = os.open(server.data_dir / "repos" / "locks" / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases it if we got it: a waiting server goes on at once
    return False


def _count(server: Crashable, sql: str, **params: object) -> int:
    engine = create_engine(server.database_url)
    with engine.connect() as conn:
        found = int(conn.scalar(text(sql), params) or 0)
    engine.dispose()
    return found


def _commit_and_kill(server: Crashable, repo: str, uid: str, body: bytes, *, at_ref_move: bool) -> Outcome:
    """Send a commit and SIGKILL the server: as soon as its ref moves, or at a random moment."""
    ref_file = server.data_dir / "repos" / uid[:2] / f"{uid}.git" / "refs" / "heads" / "main"
    old = ref_file.read_text().strip()
    before = ref_file.stat().st_ino
    journal = server.data_dir / "repos" / "journal"
    sock = _send_raw(server, "POST", f"/api/models/{repo}/commit/main", body, "application/x-ndjson")
    if at_ref_move:
        # Frozen as soon as the move is journaled, then run in short steps until the ref has
        # moved: the server is then publishing, its database transaction not yet committed.
        _freeze_when(server, sock, lambda: bool(os.listdir(journal)))
        _step_until(server, sock, lambda: ref_file.stat().st_ino != before or not os.listdir(journal))
    else:
        time.sleep(random.uniform(0, 0.4))
    server.kill()
    status = _status(sock)

    # What the kill left on disk: a journal entry, the ref, the reflog row in the database.
    entries = [json.loads(p.read_text()) for p in journal.glob("*.json")]
    moved = ref_file.read_text().strip() != old
    committed = bool(entries) and bool(
        _count(server, "SELECT count(*) FROM ref_updates WHERE token = :t", t=entries[0]["token"])
    )
    return Outcome(status, in_window=bool(entries) and moved and not committed)


def test_kill_between_ref_move_and_database_commit_keeps_commits_whole(
    crashable_on_each_database: Crashable,
) -> None:
    server = crashable_on_each_database
    repo = f"{OWNER}/many-files"
    server.api.create_repo(repo)
    with server.http() as http:
        uid = http.get(f"/api/models/{repo}").json()["_id"]
        # Many files already: every commit rewrites the index of all of them in its transaction.
        seed = ndjson_line("header", {"summary": "seed"}) + b"".join(
            file_line(f"seed/{i:04}.txt", f"seed {i}\n".encode()) for i in range(1000)
        )
        assert http.post(f"/api/models/{repo}/commit/main", content=seed).status_code == 200
    head, files = assert_consistent(server, repo)
    history = [c.commit_id for c in server.api.list_repo_commits(repo)]

    # Kills at the ref move, and one at a random moment, until two landed in the window (nearly
    # always the first two: the window lasts a database commit, the server is frozen within it).
    in_window = 0
    attempt = 0
    while attempt < 3 or (in_window < 2 and attempt < 10):
        attempt += 1
        new_files = {f"attempt-{attempt}/{i:03}.txt" for i in range(100)}
        body = (
            ndjson_line("header", {"summary": f"attempt {attempt}"})
            + file_line("counter.txt", f"{attempt}\n".encode())
            + b"".join(file_line(path, path.encode()) for path in sorted(new_files))
        )
        outcome = _commit_and_kill(server, repo, uid, body, at_ref_move=attempt != 2)
        in_window += outcome.in_window
        server.restart()

        new_head, new_tree = assert_consistent(server, repo)
        new_history = [c.commit_id for c in server.api.list_repo_commits(repo)]
        landed = new_head != head
        if outcome.in_window:
            assert not landed, "a commit whose transaction never committed is visible"
        if outcome.status == 200:
            assert landed, "a commit the client was told succeeded is gone"
        if landed:
            # Whole: every file of the commit, on top of the previous head.
            assert new_tree == files | new_files | {"counter.txt"}
            assert new_history == [new_head, *history]
            with server.http() as http:
                assert http.get(f"/{repo}/resolve/main/counter.txt").content == f"{attempt}\n".encode()
        else:
            # Or not at all.
            assert (new_tree, new_history) == (files, history)
        head, files, history = new_head, new_tree, new_history

    assert in_window >= 1, "no kill landed between the ref move and the database commit"
    # The next writer finds nothing in its way, and the final state passes the fsck CLI.
    server.api.upload_file(path_or_fileobj=b"after\n", path_in_repo="after.txt", repo_id=repo)
    assert assert_consistent(server, repo)[1] == files | {"after.txt"}
    stop_server(server.live)
    fsck = server.cli("fsck")
    assert fsck.returncode == 0 and "0 problem(s)" in fsck.stdout, fsck.stdout + fsck.stderr


# --- deletions killed after their files moved aside, before the database commits ---
#
# A deletion moves the repo's git directory (or the blob) aside when its transaction publishes, and
# deletes it once the database committed. The kills below aim at that moment; it lasts only as long
# as a small database commit, so whether a kill lands inside it is chance, and each test then also
# makes the state such a kill leaves by hand (the kill, then the move a deletion does), so that
# recovery from it is tested every time.


def _repo_with_a_file(server: Crashable, repo: str) -> tuple[str, str, set[str]]:
    server.api.create_repo(repo)
    server.api.upload_file(path_or_fileobj=b"keep me\n", path_in_repo="notes.txt", repo_id=repo)
    with server.http() as http:
        uid: str = http.get(f"/api/models/{repo}").json()["_id"]
    head, files = assert_consistent(server, repo)
    return uid, head, files


def test_kill_while_a_repo_is_deleted_leaves_it_whole_or_gone(crashable: Crashable) -> None:
    server = crashable
    trash = server.data_dir / "repos" / "trash"
    for attempt in range(3):
        name = f"doomed-{attempt}"
        repo = f"{OWNER}/{name}"
        uid, head, files = _repo_with_a_file(server, repo)
        git_dir = server.data_dir / "repos" / uid[:2] / f"{uid}.git"
        if attempt < 2:
            body = json.dumps({"name": name, "organization": OWNER, "type": "model"}).encode()
            sock = _send_raw(server, "DELETE", "/api/repos/delete", body, "application/json")
            # Frozen once it holds the repo's lock, then run in short steps until the git
            # directory has moved aside: the deletion is publishing, or has just committed.
            _freeze_when(server, sock, functools.partial(_lock_held, server, uid))
            _step_until(server, sock, functools.partial(_has_entries, trash))
            server.kill()
            _status(sock)
        else:
            server.kill()
            os.replace(git_dir, trash / f"{uid}.0123abcd.git")
        row_left = _count(server, "SELECT count(*) FROM repos WHERE uid = :uid", uid=uid) == 1
        server.restart()

        assert not any(trash.iterdir())
        if row_left:
            # The deletion never committed: the repo is all there.
            assert assert_consistent(server, repo) == (head, files)
            with server.http() as http:
                assert http.get(f"/{repo}/resolve/main/notes.txt").content == b"keep me\n"
        else:
            with server.http() as http:
                assert http.get(f"/api/models/{repo}").status_code == 404
            assert not git_dir.exists()
            assert_fsck_clean(server)
        assert row_left or attempt < 2


@pytest.mark.usefixtures("lfs_uploads")
def test_kill_while_lfs_files_are_deleted_loses_no_referenced_bytes(crashable: Crashable) -> None:
    server = crashable
    trash = server.data_dir / "blobs" / "trash"
    repo = f"{OWNER}/purged"
    uid, _, _ = _repo_with_a_file(server, repo)
    for attempt in range(3):
        content = os.urandom(4096)
        oid = hashlib.sha256(content).hexdigest()
        path = f"weights-{attempt}.bin"
        server.api.upload_file(path_or_fileobj=content, path_in_repo=path, repo_id=repo)
        head, files = assert_consistent(server, repo)
        if attempt < 2:
            body = json.dumps({"deletions": {"sha": [oid], "rewriteHistory": True}}).encode()
            sock = _send_raw(server, "POST", f"/api/models/{repo}/lfs-files/batch", body, "application/json")
            # Frozen once it holds the repo's lock, then run in short steps until the bytes have
            # moved aside: the deletion is publishing, or has just committed.
            _freeze_when(server, sock, functools.partial(_lock_held, server, uid))
            _step_until(server, sock, functools.partial(_has_entries, trash))
            server.kill()
            _status(sock)
        else:
            server.kill()
            trash.mkdir(exist_ok=True)
            os.replace(server.data_dir / "blobs" / "sha256" / oid[:2] / oid[2:4] / oid, trash / oid)
        row_left = _count(server, "SELECT count(*) FROM blobs WHERE oid = :oid", oid=oid) == 1
        server.restart()

        # Nothing left aside (the folder exists only once a deletion has published).
        assert not (trash.exists() and any(trash.iterdir()))
        new_head, new_files = assert_consistent(server, repo)
        if row_left:
            # The deletion never committed: the file is still there, with its bytes.
            assert (new_head, new_files) == (head, files)
            with server.http() as http:
                assert http.get(f"/{repo}/resolve/main/{path}").content == content
        else:
            # It committed: the file is gone from the history it was purged from.
            assert new_files == files - {path}
            for c in server.api.list_repo_commits(repo):
                assert path not in server.api.list_repo_files(repo, revision=c.commit_id)
        assert row_left or attempt < 2
