"""Bare git repositories through pygit2: real objects, real commit ids, no work tree.

Writes follow one rule (DESIGN.md): objects first, which are harmless if orphaned, then a ref
moves under the repo's lock. A ref move is journaled before it happens, so that if the process
dies between moving the ref and committing the database, the next writer of that repo (or
`commonshub fsck`) finds the journal entry and either keeps or undoes the move, depending on
whether the database transaction that carried it committed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

import pygit2
from pygit2.enums import FileMode, ObjectType

from commonshub.errors import EntryNotFound
from commonshub.gitstore.pointers import MAX_POINTER_SIZE, LfsPointer, parse_pointer

_HEX = re.compile(r"[0-9a-f]{5,40}")
_TEMPLATES = Path(__file__).parent


@dataclass(frozen=True)
class TreeEntry:
    path: str
    type: Literal["file", "directory"]
    oid: str  # git object id: the blob (or LFS pointer blob), or the tree
    size: int  # a file's content size (the real size for LFS files); 0 for folders
    lfs: LfsPointer | None = None


@dataclass(frozen=True)
class CommitInfo:
    id: str
    title: str
    message: str
    author: str
    date: datetime
    parents: tuple[str, ...]


@dataclass(frozen=True)
class Revision:
    commit: str
    ref: str | None = None  # the ref it went through; None for a commit id
    ref_target: str | None = None  # what that ref named directly (a commit, or an annotated tag)


@dataclass(frozen=True)
class PutFile:
    path: str
    blob_id: str


@dataclass(frozen=True)
class DeletePath:
    """Delete a file, or the folder of that name; one of them must exist."""

    path: str


@dataclass(frozen=True)
class DeleteFolder:
    path: str


Change = PutFile | DeletePath | DeleteFolder


@dataclass(frozen=True)
class RefMove:
    ref: str
    old: str | None  # None: the ref is created
    new: str | None  # None: the ref is deleted
    token: str


@dataclass(frozen=True)
class MergeResult:
    """A three-way merge of trees: the merged tree, or the paths both sides changed differently."""

    tree: str | None  # None when there are conflicts
    conflicts: tuple[str, ...]


class RefConflict(Exception):
    """The ref is not where the writer expected it (a bug: writers hold the repo lock)."""


def default_gitattributes(repo_type: str) -> bytes:
    return (_TEMPLATES / f"gitattributes-{repo_type}.txt").read_bytes()


# Loose refs are files: a longer name component cannot be stored (with its ".lock") on common
# file systems, whose limit is 255 bytes.
_MAX_REF_COMPONENT = 200


def is_valid_ref_name(name: str) -> bool:
    if "\x00" in name:  # libgit2 takes C strings; it would raise rather than answer
        return False
    if any(len(part.encode()) > _MAX_REF_COMPONENT for part in name.split("/")):
        return False
    return bool(pygit2.reference_is_valid_name(name))


class GitStore:
    """All repositories, under one root, addressed by the repo's opaque uid."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks = root / "locks"
        self._journal = root / "journal"
        self._trash = root / "trash"
        for d in (self.root, self._locks, self._journal, self._trash):
            d.mkdir(parents=True, exist_ok=True)
        self._open = threading.local()

    def repo_dir(self, uid: str) -> Path:
        return self.root / uid[:2] / f"{uid}.git"

    def exists(self, uid: str) -> bool:
        return self.repo_dir(uid).is_dir()

    def create(self, uid: str) -> GitRepo:
        path = self.repo_dir(uid)
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = pygit2.init_repository(str(path), bare=True, initial_head="main")
        return GitRepo(self, uid, raw)

    def open(self, uid: str) -> GitRepo:
        """The repo, opened once per thread and kept: opening costs more than most reads.

        Keeping it open is safe: refs are read from disk on every lookup, objects written since
        are found on disk, and a deleted repo's uid is never used again. pygit2 objects are not
        shared between threads, hence one cache per thread.
        """
        cache: dict[str, GitRepo] | None = getattr(self._open, "repos", None)
        if cache is None:
            cache = self._open.repos = {}
        repo = cache.get(uid)
        if repo is None:
            if len(cache) >= 256:
                cache.clear()
            repo = cache[uid] = GitRepo(self, uid, pygit2.Repository(str(self.repo_dir(uid))))
        return repo

    def uids(self) -> Iterator[str]:
        for shard in sorted(self.root.iterdir()):
            if len(shard.name) == 2 and shard.is_dir():
                for repo in sorted(shard.glob("*.git")):
                    yield repo.name[: -len(".git")]

    @contextlib.contextmanager
    def lock(self, uid: str, *, blocking: bool = True) -> Iterator[bool]:
        """The repo's write lock, across threads and processes (one open file each: flock).

        Yields False, without the lock, when `blocking` is off and someone else holds it.
        """
        fd = os.open(self._locks / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def stage_removal(self, uid: str) -> StagedRemoval:
        return StagedRemoval(self, uid)

    def trashed(self) -> list[tuple[str, Path]]:
        """Repo directories a removal moved aside: (uid, path).

        A writer that died between moving a directory aside and its database commit leaves it
        here; its repo row tells whether the removal committed (see repos.recovery).
        """
        return [(item.name.split(".")[0], item) for item in sorted(self._trash.iterdir())]

    def untrash(self, uid: str, item: Path) -> None:
        """Put a repo directory back from the trash (its removal never committed)."""
        home = self.repo_dir(uid)
        home.parent.mkdir(parents=True, exist_ok=True)
        os.replace(item, home)

    # The journal of ref moves in flight (see the module docstring).

    def journal_entries(self, uid: str | None = None) -> list[tuple[str, RefMove]]:
        pattern = f"{uid}.*.json" if uid else "*.json"
        entries = []
        for path in sorted(self._journal.glob(pattern)):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                path.unlink(missing_ok=True)  # written partly: the ref was never moved
                continue
            entries.append((path.name.split(".")[0], RefMove(**data)))
        return entries

    def _journal_path(self, uid: str, token: str) -> Path:
        return self._journal / f"{uid}.{token}.json"

    def write_journal(self, uid: str, move: RefMove) -> None:
        path = self._journal_path(uid, move.token)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(move.__dict__))
        os.replace(tmp, path)

    def forget_journal(self, uid: str, token: str) -> None:
        self._journal_path(uid, token).unlink(missing_ok=True)


class GitRepo:
    def __init__(self, store: GitStore, uid: str, raw: pygit2.Repository) -> None:
        self.store = store
        self.uid = uid
        self._raw = raw

    @property
    def path(self) -> Path:
        return self.store.repo_dir(self.uid)

    # --- reading ---

    def _commit(self, sha: str | pygit2.Oid) -> pygit2.Commit:
        obj = self._raw[sha]
        if obj.type != ObjectType.COMMIT:
            raise ValueError(f"{sha} is not a commit")
        return cast(pygit2.Commit, obj)

    def _tree_at(self, sha: str) -> pygit2.Tree:
        return self._commit(sha).tree

    def ref_target(self, name: str) -> str | None:
        """The commit `name` points to, through annotated tags."""
        ref = self._raw.references.get(name)
        if ref is None:
            return None
        return str(ref.peel(pygit2.Commit).id)

    def ref_is(self, name: str, raw_target: str) -> bool:
        """Whether `name` still points directly at `raw_target` (a cheap check, for caches)."""
        try:
            return str(self._raw.lookup_reference(name).target) == raw_target
        except (KeyError, pygit2.InvalidSpecError):
            return False

    def raw_ref(self, name: str) -> str | None:
        """The object `name` points to directly (an annotated tag's object, not its commit)."""
        ref = self._raw.references.get(name)
        if ref is None:
            return None
        return str(ref.resolve().target)

    def resolve(self, revision: str) -> str | None:
        """The commit a revision names: a ref, a branch, a tag, or a full or short commit id."""
        found = self.resolve_ref(revision)
        return found.commit if found else None

    def resolve_ref(self, revision: str) -> Revision | None:
        """A revision's commit, and the ref it went through (read once, so the two agree)."""
        candidates = [revision] if revision.startswith("refs/") else []
        candidates += [f"refs/heads/{revision}", f"refs/tags/{revision}"]
        for name in candidates:
            if not is_valid_ref_name(name):
                continue
            ref = self._raw.references.get(name)
            if ref is not None:
                commit = str(ref.peel(pygit2.Commit).id)
                return Revision(commit=commit, ref=name, ref_target=str(ref.resolve().target))
        if _HEX.fullmatch(revision):
            try:
                obj = self._raw.get(revision)
            except (ValueError, KeyError):  # ambiguous prefix
                return None
            if obj is not None and obj.type == ObjectType.COMMIT:
                return Revision(commit=str(obj.id))
        return None

    def refs(self) -> list[tuple[str, str]]:
        """Every ref under refs/ with the commit it points to, sorted by name."""
        out = []
        for name in self._raw.references:
            if name.startswith("refs/"):
                target = self.ref_target(name)
                if target is not None:
                    out.append((name, target))
        return sorted(out)

    def commit_info(self, sha: str) -> CommitInfo:
        return _commit_info(self._commit(sha))

    def history(self, sha: str, *, offset: int = 0, limit: int = 50) -> list[CommitInfo]:
        """Commits reachable by first parents from `sha`, newest first."""
        out: list[CommitInfo] = []
        commit: pygit2.Commit | None = self._commit(sha)
        index = 0
        while commit is not None and len(out) < limit:
            if index >= offset:
                out.append(_commit_info(commit))
            index += 1
            commit = commit.parents[0] if commit.parents else None
        return out

    def count_history(self, sha: str) -> int:
        n = 0
        commit: pygit2.Commit | None = self._commit(sha)
        while commit is not None:
            n += 1
            commit = commit.parents[0] if commit.parents else None
        return n

    def entry(self, sha: str, path: str) -> TreeEntry | None:
        """The file or folder at `path` in commit `sha` ("" is the root folder)."""
        tree = self._tree_at(sha)
        if path == "":
            return TreeEntry(path="", type="directory", oid=str(tree.id), size=0)
        try:
            obj = tree[path]
        except KeyError:
            return None
        return self._entry(path, obj)

    def list_tree(self, sha: str, path: str = "", *, recursive: bool = False) -> list[TreeEntry] | None:
        """Entries below folder `path`, folders included; None if `path` is not a folder."""
        tree = self._tree_at(sha)
        if path:
            try:
                sub = tree[path]
            except KeyError:
                return None
            if not isinstance(sub, pygit2.Tree):
                return None
            tree = sub
        prefix = f"{path}/" if path else ""
        return list(self._walk(tree, prefix, recursive=recursive, folders=True))

    def files(self, sha: str) -> list[TreeEntry]:
        """Every file of commit `sha`, recursively."""
        return list(self._walk(self._tree_at(sha), "", recursive=True, folders=False))

    def _walk(self, tree: pygit2.Tree, prefix: str, *, recursive: bool, folders: bool) -> Iterator[TreeEntry]:
        for obj in tree:
            path = prefix + (obj.name or "")
            if isinstance(obj, pygit2.Tree):
                if folders:
                    yield TreeEntry(path=path, type="directory", oid=str(obj.id), size=0)
                if recursive:
                    yield from self._walk(obj, path + "/", recursive=True, folders=folders)
            elif obj.filemode != FileMode.COMMIT:  # skip submodules
                yield self._entry(path, obj)

    def _entry(self, path: str, obj: pygit2.Object) -> TreeEntry:
        if obj.type == ObjectType.TREE:
            return TreeEntry(path=path, type="directory", oid=str(obj.id), size=0)
        size, pointer = self._blob_facts(str(obj.id))
        return TreeEntry(
            path=path, type="file", oid=str(obj.id), size=pointer.size if pointer else size, lfs=pointer
        )

    def _blob_facts(self, oid: str) -> tuple[int, LfsPointer | None]:
        return _blob_facts(self._raw, oid)

    def lfs_objects(self) -> dict[str, tuple[str, str, str]]:
        """Every LFS object the history of any ref points at: oid → (a path, the ref, the pointer blob).

        Each distinct tree is visited once, so shared history costs nothing twice.
        """
        found: dict[str, tuple[str, str, str]] = {}
        seen_trees: set[str] = set()
        seen_commits: set[str] = set()
        for ref, target in self.refs():
            commit: pygit2.Commit | None = self._commit(target)
            stack = [commit]
            while stack:
                commit = stack.pop()
                if commit is None or str(commit.id) in seen_commits:
                    continue
                seen_commits.add(str(commit.id))
                self._collect_pointers(commit.tree, "", ref, found, seen_trees)
                stack.extend(commit.parents)
        return found

    def _collect_pointers(
        self, tree: pygit2.Tree, prefix: str, ref: str, found: dict[str, tuple[str, str, str]], seen: set[str]
    ) -> None:
        if str(tree.id) in seen:
            return
        seen.add(str(tree.id))
        for obj in tree:
            if isinstance(obj, pygit2.Tree):
                self._collect_pointers(obj, f"{prefix}{obj.name}/", ref, found, seen)
            elif obj.type == ObjectType.BLOB:
                _, pointer = self._blob_facts(str(obj.id))
                if pointer is not None and pointer.oid not in found:
                    found[pointer.oid] = (f"{prefix}{obj.name}", ref, str(obj.id))

    def read_blob(self, oid: str) -> bytes:
        blob = self._raw[oid]
        assert isinstance(blob, pygit2.Blob), f"{oid} is not a blob"
        return bytes(blob.data)

    def last_commits(
        self, sha: str, paths: Iterable[str], *, max_walk: int = 10_000
    ) -> dict[str, CommitInfo]:
        """For each path, the newest commit (by first parents) that changed it."""
        commit = self._commit(sha)
        current = {p: _path_id(commit.tree, p) for p in paths}
        found: dict[str, CommitInfo] = {}
        steps = 0
        while current:
            parent = commit.parents[0] if commit.parents else None
            steps += 1
            if parent is None or steps >= max_walk:
                info = _commit_info(commit)
                found.update(dict.fromkeys(current, info))
                break
            before = {p: _path_id(parent.tree, p) for p in current}
            changed = [p for p in current if before[p] != current[p]]
            if changed:
                info = _commit_info(commit)
                for p in changed:
                    found[p] = info
                    del current[p]
                    del before[p]
            current = before
            commit = parent
        return found

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of two commits; None for unrelated histories."""
        found = self._raw.merge_base(pygit2.Oid(hex=a), pygit2.Oid(hex=b))
        return str(found) if found is not None else None

    def merge(self, base: str | None, ours: str, theirs: str) -> MergeResult:
        """Merge the changes from `base` to `theirs` into `ours` (three-way, by tree, in memory).

        Nothing is written unless the merge is clean (then only the merged tree, an object).
        Unrelated histories (`base` None, e.g. after a super-squash) merge from an empty tree: a
        file both sides hold with the same content is no conflict, different content is.
        """
        ancestor = self._tree_at(base) if base is not None else self._empty_tree()
        index = self._raw.merge_trees(ancestor, self._tree_at(ours), self._tree_at(theirs))
        if index.conflicts is not None:
            paths = {entry.path for conflict in index.conflicts for entry in conflict if entry is not None}
            return MergeResult(tree=None, conflicts=tuple(sorted(paths)))
        return MergeResult(tree=str(index.write_tree(self._raw)), conflicts=())

    def _empty_tree(self) -> pygit2.Tree:
        tree = self._raw[self._raw.TreeBuilder().write()]
        assert isinstance(tree, pygit2.Tree)
        return tree

    def diff(self, old: str | None, new: str, *, max_bytes: int = 5 * 1024 * 1024) -> str:
        """The unified diff (git's format, with `diff --git` headers) from commit `old` to `new`.

        Cut at `max_bytes` with a note, so that a huge change cannot make a huge response.
        """
        old_tree = self._tree_at(old) if old is not None else self._empty_tree()
        text = old_tree.diff_to_tree(self._tree_at(new)).patch or ""
        if len(text) > max_bytes:
            text = text[:max_bytes] + "\n[diff truncated]\n"
        return text

    # --- writing (objects only; refs move through stage_ref) ---

    @staticmethod
    def blob_id(data: bytes) -> str:
        """The id git gives a blob with this content (without writing it)."""
        return str(pygit2.hash(data))

    def write_blob(self, data: bytes) -> str:
        return str(self._raw.create_blob(data))

    def write_blob_from_path(self, path: Path) -> str:
        return str(self._raw.create_blob_fromdisk(str(path)))

    def write_commit(
        self,
        parent: str | None,
        changes: Iterable[Change],
        *,
        title: str,
        message: str,
        author: str,
        email: str,
        when: datetime,
    ) -> str:
        """A new commit object: `parent`'s tree with `changes` applied in order."""
        index = pygit2.Index()
        if parent is not None:
            index.read_tree(self._tree_at(parent))
        # Every folder the index may hold (a superset once files are deleted), to find cheaply
        # the folders a new file replaces.
        folders = {folder for entry in index for folder in _parents(entry.path)}
        for change in changes:
            match change:
                case PutFile(path, blob_id):
                    # A file replaces a folder of the same name, and the reverse. libgit2 removes a
                    # file in the way of a new folder, but can keep a folder beside a new file of
                    # its name, and the tree then loses the file: so the folder goes first.
                    if path in folders:
                        _remove_folder(index, path)
                    folders.update(_parents(path))
                    index.add(pygit2.IndexEntry(path, pygit2.Oid(hex=blob_id), FileMode.BLOB))
                case DeletePath(path):
                    if path in index:
                        index.remove(path)
                    elif not _remove_folder(index, path):
                        raise EntryNotFound(f"A file with this name doesn't exist: {path}")
                case DeleteFolder(path):
                    if not _remove_folder(index, path.rstrip("/")):
                        raise EntryNotFound(f"A folder with this name doesn't exist: {path}")
        tree = index.write_tree(self._raw)
        return self._create_commit(tree, [parent] if parent else [], title, message, author, email, when)

    def write_tree_commit(
        self,
        tree: str,
        parents: list[str],
        *,
        title: str,
        message: str,
        author: str,
        email: str,
        when: datetime,
    ) -> str:
        """A new commit object of an existing tree (a merge result) on `parents`."""
        return self._create_commit(pygit2.Oid(hex=tree), parents, title, message, author, email, when)

    def write_squash(self, sha: str, *, title: str, author: str, email: str, when: datetime) -> str:
        """A parentless commit with the tree of `sha`."""
        return self._create_commit(self._tree_at(sha).id, [], title, "", author, email, when)

    def write_rewrite(self, sha: str, drop: Iterable[str]) -> str:
        """Rewrite the first-parent history of `sha` without the files whose blobs are in `drop`.

        Used to purge LFS objects from history; commit titles, messages and authors are kept.
        """
        dropped = set(drop)
        chain = []
        commit: pygit2.Commit | None = self._commit(sha)
        while commit is not None:
            chain.append(commit)
            commit = commit.parents[0] if commit.parents else None
        new_parent: str | None = None
        for old in reversed(chain):
            index = pygit2.Index()
            index.read_tree(old.tree)
            for entry in list(index):
                if str(entry.id) in dropped:
                    index.remove(entry.path)
            tree = index.write_tree(self._raw)
            title, _, message = old.message.partition("\n")
            new_parent = self._create_commit(
                tree,
                [new_parent] if new_parent else [],
                title,
                message.strip("\n"),
                old.author.name,
                old.author.email,
                datetime.fromtimestamp(old.author.time, UTC),
            )
        assert new_parent is not None
        return new_parent

    def write_tag(
        self, name: str, target: str, message: str, *, author: str, email: str, when: datetime
    ) -> str:
        """An annotated tag object; returns its id. The ref is not created: refs move through stage_ref."""
        # pygit2's create_tag would also create refs/tags/<name> at once, outside the transaction,
        # so the tag object is written to the object database directly.
        text = (
            f"object {target}\ntype commit\ntag {name}\n"
            f"tagger {author} <{email}> {int(when.timestamp())} +0000\n\n{message.rstrip()}\n"
        )
        return str(self._raw.odb.write(ObjectType.TAG, text.encode()))

    def _create_commit(
        self,
        tree: pygit2.Oid,
        parents: list[str],
        title: str,
        message: str,
        author: str,
        email: str,
        when: datetime,
    ) -> str:
        sig = _signature(author, email, when)
        text = title.strip() + ("\n\n" + message.strip() if message.strip() else "") + "\n"
        oid = self._raw.create_commit(None, sig, sig, text, tree, [pygit2.Oid(hex=p) for p in parents])
        return str(oid)

    # --- refs ---

    def new_move(self, ref: str, old: str | None, new: str | None) -> RefMove:
        return RefMove(ref=ref, old=old, new=new, token=secrets.token_hex(16))

    def stage_ref(self, move: RefMove) -> StagedRefMove:
        return StagedRefMove(self, move)

    def set_ref(self, name: str, target: str | None) -> None:
        """Point `name` at `target` (None deletes it). Callers hold the repo lock."""
        # A process killed while libgit2 held a ref's lock file leaves it behind; under our own
        # lock no other writer is in there, so the file is stale.
        for stale in (self.path / f"{name}.lock", self.path / "packed-refs.lock"):
            stale.unlink(missing_ok=True)
        if target is None:
            with contextlib.suppress(KeyError):
                self._raw.references.delete(name)
        else:
            self._raw.references.create(name, pygit2.Oid(hex=target), force=True)

    def settle_orphaned_moves(self, committed: set[str]) -> int:
        """Finish the journaled moves of dead writers. Callers hold the repo lock.

        A move whose token is in `committed` (its database transaction committed) is kept, or
        completed; any other is undone, unless another writer has moved the ref since.
        """
        settled = 0
        for _, move in self.store.journal_entries(self.uid):
            current = self.raw_ref(move.ref)
            if move.token in committed:
                if current == move.old and current != move.new:
                    self.set_ref(move.ref, move.new)
            elif current == move.new and current != move.old:
                self.set_ref(move.ref, move.old)
            self.store.forget_journal(self.uid, move.token)
            settled += 1
        return settled


class StagedRefMove:
    """A ref move that publishes with a database commit (a `db.Publisher`)."""

    def __init__(self, repo: GitRepo, move: RefMove) -> None:
        self.repo = repo
        self.move = move

    def publish(self) -> None:
        current = self.repo.raw_ref(self.move.ref)
        if current != self.move.old:
            raise RefConflict(f"{self.move.ref} is at {current}, expected {self.move.old}")
        self.repo.store.write_journal(self.repo.uid, self.move)
        self.repo.set_ref(self.move.ref, self.move.new)

    def retract(self) -> None:
        if self.repo.raw_ref(self.move.ref) == self.move.new:
            self.repo.set_ref(self.move.ref, self.move.old)

    def settle(self) -> None:
        self.repo.store.forget_journal(self.repo.uid, self.move.token)


class StagedRemoval:
    """Deleting a repo's directory with the database row: moved aside first, removed after."""

    def __init__(self, store: GitStore, uid: str) -> None:
        self.store = store
        self.uid = uid
        self._aside = store._trash / f"{uid}.{secrets.token_hex(4)}.git"
        self._moved = False

    def publish(self) -> None:
        source = self.store.repo_dir(self.uid)
        if source.exists():
            os.replace(source, self._aside)
            self._moved = True

    def retract(self) -> None:
        if self._moved:
            os.replace(self._aside, self.store.repo_dir(self.uid))
            self._moved = False

    def settle(self) -> None:
        if self._moved:
            shutil.rmtree(self._aside, ignore_errors=True)


class StagedCreation:
    """A new repo's directory, removed again if the database does not commit its row."""

    def __init__(self, store: GitStore, uid: str) -> None:
        self.store = store
        self.uid = uid

    def publish(self) -> None:
        pass

    def retract(self) -> None:
        shutil.rmtree(self.store.repo_dir(self.uid), ignore_errors=True)

    def settle(self) -> None:
        pass


def _parents(path: str) -> Iterator[str]:
    """The folders `path` is in: "a/b/c" → "a", "a/b"."""
    end = path.find("/")
    while end != -1:
        yield path[:end]
        end = path.find("/", end + 1)


def _remove_folder(index: pygit2.Index, path: str) -> bool:
    prefix = path + "/"
    paths = [e.path for e in index if e.path.startswith(prefix)]
    for p in paths:
        index.remove(p)
    return bool(paths)


def _path_id(tree: pygit2.Tree, path: str) -> str | None:
    try:
        return str(tree[path].id)
    except KeyError:
        return None


def _signature(author: str, email: str, when: datetime) -> pygit2.Signature:
    return pygit2.Signature(author, email, int(when.timestamp()), 0)


def _commit_info(commit: pygit2.Commit) -> CommitInfo:
    title, _, message = commit.message.partition("\n")
    return CommitInfo(
        id=str(commit.id),
        title=title,
        message=message.strip("\n"),
        author=commit.author.name,
        date=datetime.fromtimestamp(commit.commit_time, UTC),
        parents=tuple(str(p) for p in commit.parent_ids),
    )


def _blob_data(raw: pygit2.Repository, oid: str) -> bytes:
    blob = raw[oid]
    assert isinstance(blob, pygit2.Blob)
    return bytes(blob.data)


def _blob_facts(raw: pygit2.Repository, oid: str) -> tuple[int, LfsPointer | None]:
    """A blob's size and, if it is an LFS pointer, the pointer. Blobs never change: cached."""
    cached = _FACTS.get(oid)
    if cached is not None:
        return cached
    size = int(raw.odb.read_header(oid)[1])
    pointer = parse_pointer(_blob_data(raw, oid)) if size <= MAX_POINTER_SIZE else None
    facts = (size, pointer)
    if len(_FACTS) >= 200_000:
        _FACTS.clear()
    _FACTS[oid] = facts
    return facts


_FACTS: dict[str, tuple[int, LfsPointer | None]] = {}
