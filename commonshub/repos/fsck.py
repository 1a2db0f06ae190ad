"""`commonshub fsck`: git refs, database rows and blobs, checked against each other.

Each problem is reported; with `repair`, the ones that can be fixed without guessing are fixed:
unfinished ref moves are settled, stale indexes rebuilt, missing links and blob rows restored from
what git references, orphans removed, corrupt bytes moved to quarantine so they are never served,
and a repo whose git directory is gone re-created empty so that it serves again. Missing bytes
cannot be invented: they stay reported until the file is uploaded again (the LFS batch API asks for
any object whose bytes the store lacks).

It is safe to run beside a live server: repos being written are skipped, and files younger than
GRACE_SECONDS may belong to work in progress, so they are not called orphans.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, joinedload

from commonshub.errors import HubError
from commonshub.gitstore import GitRepo, PutFile, TreeEntry, default_gitattributes, parse_pointer
from commonshub.hub import Hub
from commonshub.models import Blob, Event, LfsObject, Repo, RepoFile, XetFile, XetXorb, utcnow
from commonshub.repos.recovery import settle_removals, settle_repo
from commonshub.repos.service import MAIN, author_email
from commonshub.storage import BlobStore
from commonshub.xet import service as xet

# Files younger than this may belong to an upload in progress; fsck leaves them alone.
GRACE_SECONDS = 3600


@dataclass
class Problem:
    kind: str
    subject: str
    detail: str
    repaired: bool = False


def check(hub: Hub, *, repair: bool) -> list[Problem]:
    problems: list[Problem] = []
    problems += _removals(hub, repair)
    problems += _journals(hub, repair)
    referenced: dict[str, int] = {}
    problems += _repos(hub, repair, referenced)
    problems += _blobs(hub, repair, referenced)
    problems += _xorbs(hub, repair)
    problems += _staging(hub, repair)
    return problems


def _removals(hub: Hub, repair: bool) -> list[Problem]:
    out = []
    for name, kept in settle_removals(hub, act=repair):
        if kept:
            detail = "moved aside by a removal that never committed: " + (
                "put back" if repair else "goes back"
            )
        else:
            detail = "left aside by a removal that committed: " + ("deleted" if repair else "to delete")
        out.append(Problem("unfinished-removal", name, detail, repair))
    return out


def _journals(hub: Hub, repair: bool) -> list[Problem]:
    out = []
    for uid in sorted({uid for uid, _ in hub.git.journal_entries()}):
        with hub.git.lock(uid, blocking=False) as locked:
            if not locked:
                continue  # a live writer: its journal is in use
            count = len(hub.git.journal_entries(uid))
            if not count:
                continue  # its writer finished meanwhile
            if repair:
                settle_repo(hub, uid)
            out.append(
                Problem("unfinished-ref-move", uid, f"{count} ref move(s) left by a writer that died", repair)
            )
    return out


def _repos(hub: Hub, repair: bool, referenced: dict[str, int]) -> list[Problem]:
    out: list[Problem] = []
    with hub.db.session() as session:
        repos = list(session.scalars(select(Repo).options(joinedload(Repo.namespace)).order_by(Repo.id)))
        linked = {(r, o) for r, o in session.execute(select(LfsObject.repo_id, LfsObject.oid))}
        # Objects uploaded through Xet have no blob: their bytes are a registered Xet file.
        xet_files = set(session.scalars(select(XetFile.hash)))
        in_xet = {
            (r, o)
            for r, o, h in session.execute(
                select(LfsObject.repo_id, LfsObject.oid, LfsObject.xet_hash).where(
                    LfsObject.xet_hash.is_not(None)
                )
            )
            if h in xet_files
        }
        indexed: dict[int, dict[str, tuple[str, int]]] = {}
        for f in session.scalars(select(RepoFile)):
            indexed.setdefault(f.repo_id, {})[f.path] = (f.blob_id, f.size)
        deleted = _deleted_objects(session) - linked
    on_disk = set(hub.git.uids())
    for repo in repos:
        name = f"{repo.type}:{repo.repo_id}"
        if repo.uid not in on_disk:
            detail = f"the git directory {hub.git.repo_dir(repo.uid)} is missing"
            fixed = repair and _recreate(hub, repo.uid, repo.type)
            if fixed:
                detail += "; re-created with an initial commit: its files and history are lost"
            out.append(Problem("missing-git", name, detail, fixed))
            continue
        git = hub.git.open(repo.uid)
        head = git.ref_target("refs/heads/main")
        if head is None:
            out.append(Problem("missing-main", name, "the repository has no main branch"))
        if _index_differs(git, head, repo.head_sha, indexed.get(repo.id, {})):
            with hub.git.lock(repo.uid, blocking=False) as locked:
                # Again under the lock, from fresh rows: a writer may have moved main meanwhile (one
                # that holds the lock now refreshes the index itself when it commits).
                if locked and _index_differs(git, git.ref_target(MAIN), *_indexed(hub, repo.id)):
                    if repair:
                        settle_repo(hub, repo.uid, reindex=True)
                    out.append(
                        Problem(
                            "stale-index", name, f"the database index does not describe main ({head})", repair
                        )
                    )
        # Every LFS object in the history of any ref: old revisions stay downloadable.
        for oid, (path, ref, pointer_blob) in sorted(git.lfs_objects().items()):
            if (repo.id, oid) in deleted:
                continue  # deleted by its owner without rewriting history: the pointer stays, dangling
            pointer = parse_pointer(git.read_blob(pointer_blob))
            assert pointer is not None and pointer.oid == oid
            referenced[oid] = pointer.size
            entry = TreeEntry(path=path, type="file", oid=pointer_blob, size=pointer.size, lfs=pointer)
            if (repo.id, oid) not in in_xet:
                out += _pointer(hub, repair, repo, linked, name, ref, entry)
    cutoff = time.time() - GRACE_SECONDS
    for uid in sorted(on_disk - {r.uid for r in repos}):
        if hub.git.repo_dir(uid).stat().st_mtime > cutoff:
            continue  # may be a repo being created right now, its row not yet committed
        if repair:
            removal = hub.git.stage_removal(uid)
            removal.publish()
            removal.settle()
        out.append(Problem("orphan-git", uid, "a git directory that no repository row points to", repair))
    return out


def _deleted_objects(session: Session) -> set[tuple[int, str]]:
    """(repo, LFS object) pairs whose last event is a deletion through the LFS file API."""
    last: dict[tuple[int, str], bool] = {}
    events = session.execute(
        select(Event.repo_id, Event.tag, Event.data)
        .where(Event.tag.in_(("repo:lfs:upload", "repo:lfs:delete")))
        .order_by(Event.id)
    )
    for repo_id, tag, data in events:
        oids = data.get("oids", []) if tag == "repo:lfs:delete" else [data.get("oid")]
        for oid in oids:
            if repo_id is not None and isinstance(oid, str):
                last[(repo_id, oid)] = tag == "repo:lfs:delete"
    return {key for key, gone in last.items() if gone}


def _index_differs(
    git: GitRepo, head: str | None, indexed_head: str | None, indexed: dict[str, tuple[str, int]]
) -> bool:
    if head != indexed_head:
        return True
    return indexed != {f.path: (f.oid, f.size) for f in (git.files(head) if head else [])}


def _indexed(hub: Hub, repo_id: int) -> tuple[str | None, dict[str, tuple[str, int]]]:
    with hub.db.session() as session:
        head = session.scalar(select(Repo.head_sha).where(Repo.id == repo_id))
        rows = session.execute(
            select(RepoFile.path, RepoFile.blob_id, RepoFile.size).where(RepoFile.repo_id == repo_id)
        )
        return head, {path: (blob_id, size) for path, blob_id, size in rows}


def _recreate(hub: Hub, uid: str, repo_type: str) -> bool:
    """A repo whose git directory is gone: a new one with an initial commit, and its index rebuilt."""
    with hub.git.lock(uid):
        # Under the lock, again: a removal that was in flight has finished by now.
        with hub.db.session() as session:
            if hub.git.exists(uid) or session.scalar(select(Repo.id).where(Repo.uid == uid)) is None:
                return False
        git = hub.git.create(uid)
        sha = git.write_commit(
            None,
            [PutFile(".gitattributes", git.write_blob(default_gitattributes(repo_type)))],
            title="initial commit",
            message="Re-created by `commonshub fsck --repair`: the repository's git directory was missing.",
            author="commonshub",
            email=author_email("commonshub"),
            when=utcnow(),
        )
        git.set_ref(MAIN, sha)
        settle_repo(hub, uid, reindex=True)
    return True


def _pointer(
    hub: Hub, repair: bool, repo: Repo, linked: set[tuple[int, str]], name: str, ref: str, entry: TreeEntry
) -> list[Problem]:
    assert entry.lfs is not None
    oid, size = entry.lfs.oid, entry.lfs.size
    where = f"{name}@{ref}:{entry.path}"
    if hub.blobs.size(oid) is None:
        return [
            Problem(
                "missing-blob",
                where,
                f"the content {oid} is not in the blob store: upload the file again to restore it",
            )
        ]
    # Whether the stored bytes are the right ones is checked by _blobs, which hashes every blob.
    if (repo.id, oid) in linked:
        return []
    if repair:
        with hub.db.unit_of_work(write=True) as uow:
            if uow.session.get(Blob, oid) is None:
                uow.session.add(Blob(oid=oid, size=size))
                uow.session.flush()
            if uow.session.get(LfsObject, (repo.id, oid)) is None:
                uow.session.add(LfsObject(repo_id=repo.id, oid=oid, size=size))
        linked.add((repo.id, oid))
    return [Problem("unlinked-object", where, f"{oid} is referenced but not recorded for the repo", repair)]


def _xorbs(hub: Hub, repair: bool) -> list[Problem]:
    """Xorbs: every recorded one stored whole and intact, every file's xorbs recorded.

    A damaged or missing xorb cannot be rebuilt here: it is reported, and quarantined if damaged,
    so that reconstruction fails cleanly instead of serving wrong bytes.
    """
    out = []
    with hub.db.session() as session:
        rows = dict(session.execute(select(XetXorb.hash, XetXorb.size)).all())
        needed: dict[str, str] = {}
        for file_hash, terms in session.execute(select(XetFile.hash, XetFile.terms)):
            for term in xet.unpack_terms(bytes(terms)):
                needed.setdefault(term.xorb, file_hash)
    for xorb, size in sorted(rows.items()):
        stored = hub.xorbs.size(xorb)
        if stored is None:
            out.append(Problem("missing-xorb", xorb, "recorded in the database but not in the xorb store"))
            continue
        with hub.xorbs.open(xorb) as f:
            data = f.read()
        try:
            xet.validate_xorb(xorb, data)
            intact = stored == size
        except HubError:
            intact = False
        if not intact:
            if repair:
                _quarantine(hub, xorb, hub.xorbs)
            detail = "its content does not hash to its name" + (
                f"; moved to {_QUARANTINE}/" if repair else ""
            )
            out.append(Problem("corrupt-xorb", xorb, detail, repair))
    for xorb, file_hash in sorted(needed.items()):
        if xorb not in rows:
            out.append(
                Problem(
                    "unknown-xorb", xorb, f"Xet file {file_hash} is built from it, but it is not recorded"
                )
            )
    cutoff = time.time() - GRACE_SECONDS
    for xorb in sorted(set(hub.xorbs.oids()) - set(rows)):
        path = hub.xorbs.local_path(xorb)
        if path is not None and path.stat().st_mtime > cutoff:
            continue  # an upload whose row is being committed now
        if repair:
            hub.xorbs.delete(xorb)
        out.append(Problem("orphan-xorb", xorb, "a stored xorb that nothing records", repair))
    return out


def _blobs(hub: Hub, repair: bool, referenced: dict[str, int]) -> list[Problem]:
    out = []
    with hub.db.session() as session:
        rows = {oid: size for oid, size in session.execute(select(Blob.oid, Blob.size))}
        linked = set(session.scalars(select(LfsObject.oid).distinct()))
    stored = set(hub.blobs.oids())
    # A blob is named by its SHA-256: bytes that hash to anything else must never be served.
    corrupt = set()
    for oid in sorted(stored):
        if _is_intact(hub, oid):
            continue
        corrupt.add(oid)
        detail = "its content's sha256 is not its name"
        if repair:
            _quarantine(hub, oid)
            stored.discard(oid)
            detail += f"; moved to {_QUARANTINE}/ in the data directory"
        out.append(Problem("corrupt-blob", oid, detail, repair))
    for oid, size in sorted(rows.items()):
        actual = hub.blobs.size(oid)
        if actual is None:
            fixable = oid not in referenced
            if repair and fixable:
                with hub.db.unit_of_work(write=True) as uow:
                    uow.session.execute(delete(LfsObject).where(LfsObject.oid == oid))
                    uow.session.execute(delete(Blob).where(Blob.oid == oid))
            detail = "recorded in the database but not in the blob store"
            if not fixable:
                detail += ", and referenced by git: upload the file again to restore it"
            out.append(Problem("missing-blob-file", oid, detail, repair and fixable))
        elif actual != size and oid not in corrupt:
            # The bytes hash to their name, so they are right and the recorded size is not.
            if repair:
                with hub.db.unit_of_work(write=True) as uow:
                    uow.session.execute(update(Blob).where(Blob.oid == oid).values(size=actual))
                    uow.session.execute(update(LfsObject).where(LfsObject.oid == oid).values(size=actual))
            out.append(Problem("wrong-size-row", oid, f"{actual} bytes stored, {size} recorded", repair))
    cutoff = time.time() - GRACE_SECONDS
    for oid in sorted(stored - set(rows)):
        path = hub.blobs.local_path(oid)
        if oid in referenced:
            if repair:
                with hub.db.unit_of_work(write=True) as uow:
                    uow.session.add(Blob(oid=oid, size=hub.blobs.size(oid) or 0))
            out.append(Problem("unrecorded-blob", oid, "stored and referenced, but not recorded", repair))
        elif path is not None and path.stat().st_mtime > cutoff:
            continue  # may be an upload committing right now
        elif oid not in linked:
            if repair:
                hub.blobs.delete(oid)
            out.append(Problem("orphan-blob", oid, "stored bytes that nothing references", repair))
    return out


_QUARANTINE = "quarantine"


def _is_intact(hub: Hub, oid: str) -> bool:
    hasher = hashlib.sha256()
    with hub.blobs.open(oid) as f:
        while piece := f.read(4 * 1024 * 1024):
            hasher.update(piece)
    return hasher.hexdigest() == oid


def _quarantine(hub: Hub, oid: str, store: BlobStore | None = None) -> None:
    """Move corrupt bytes out of a store, kept for inspection (deleted where not local)."""
    store = store or hub.blobs
    path = store.local_path(oid)
    if path is None:
        store.delete(oid)
        return
    aside = hub.settings.data_dir / _QUARANTINE / oid
    aside.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, aside)


def _staging(hub: Hub, repair: bool) -> list[Problem]:
    cutoff = time.time() - GRACE_SECONDS
    stale = [p for p in hub.staging.root.rglob("*") if p.is_file() and p.stat().st_mtime < cutoff]
    if not stale:
        return []
    if repair:
        hub.staging.remove_stale(older_than=GRACE_SECONDS)
    return [
        Problem(
            "stale-upload",
            str(hub.staging.root),
            f"{len(stale)} file(s) of uploads that never finished",
            repair,
        )
    ]
