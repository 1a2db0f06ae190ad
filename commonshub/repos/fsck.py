"""`commonshub fsck`: git refs, database rows and blobs, checked against each other.

Each problem is reported; with `repair`, the ones that can be fixed without guessing are fixed:
unfinished ref moves are settled, stale indexes rebuilt, missing links and blob rows restored from
what git references, orphans removed. Missing bytes cannot be invented; they are only reported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from commonshub.gitstore import TreeEntry
from commonshub.hub import Hub
from commonshub.models import Blob, LfsObject, Repo, RepoFile
from commonshub.repos.recovery import settle_repo

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
    problems += _journals(hub, repair)
    referenced: dict[str, int] = {}
    problems += _repos(hub, repair, referenced)
    problems += _blobs(hub, repair, referenced)
    problems += _staging(hub, repair)
    return problems


def _journals(hub: Hub, repair: bool) -> list[Problem]:
    out = []
    for uid in sorted({uid for uid, _ in hub.git.journal_entries()}):
        with hub.git.lock(uid, blocking=False) as locked:
            if not locked:
                continue  # a live writer: its journal is in use
            count = len(hub.git.journal_entries(uid))
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
        indexed: dict[int, dict[str, tuple[str, int]]] = {}
        for f in session.scalars(select(RepoFile)):
            indexed.setdefault(f.repo_id, {})[f.path] = (f.blob_id, f.size)
    on_disk = set(hub.git.uids())
    for repo in repos:
        name = f"{repo.type}:{repo.repo_id}"
        if repo.uid not in on_disk:
            out.append(
                Problem("missing-git", name, f"the git directory {hub.git.repo_dir(repo.uid)} is missing")
            )
            continue
        git = hub.git.open(repo.uid)
        head = git.ref_target("refs/heads/main")
        if head is None:
            out.append(Problem("missing-main", name, "the repository has no main branch"))
        head_files = git.files(head) if head else []
        expected = {f.path: (f.oid, f.size) for f in head_files}
        if head != repo.head_sha or indexed.get(repo.id, {}) != expected:
            if repair:
                with hub.git.lock(repo.uid):
                    settle_repo(hub, repo.uid, reindex=True)
            out.append(
                Problem("stale-index", name, f"the database index does not describe main ({head})", repair)
            )
        seen: set[str] = set()
        for ref, target in git.refs():
            for entry in git.files(target):
                if entry.lfs is None or entry.lfs.oid in seen:
                    continue
                seen.add(entry.lfs.oid)
                referenced[entry.lfs.oid] = entry.lfs.size
                out += _pointer(hub, repair, repo, linked, name, ref, entry)
    for uid in sorted(on_disk - {r.uid for r in repos}):
        if repair:
            removal = hub.git.stage_removal(uid)
            removal.publish()
            removal.settle()
        out.append(Problem("orphan-git", uid, "a git directory that no repository row points to", repair))
    return out


def _pointer(
    hub: Hub, repair: bool, repo: Repo, linked: set[tuple[int, str]], name: str, ref: str, entry: TreeEntry
) -> list[Problem]:
    assert entry.lfs is not None
    oid, size = entry.lfs.oid, entry.lfs.size
    where = f"{name}@{ref}:{entry.path}"
    stored = hub.blobs.size(oid)
    if stored is None:
        return [Problem("missing-blob", where, f"the content {oid} is not in the blob store")]
    if stored != size:
        return [
            Problem("corrupt-blob", where, f"{oid} has {stored} bytes in the store, the pointer says {size}")
        ]
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


def _blobs(hub: Hub, repair: bool, referenced: dict[str, int]) -> list[Problem]:
    out = []
    with hub.db.session() as session:
        rows = {oid: size for oid, size in session.execute(select(Blob.oid, Blob.size))}
        linked = set(session.scalars(select(LfsObject.oid).distinct()))
    stored = set(hub.blobs.oids())
    for oid, size in sorted(rows.items()):
        actual = hub.blobs.size(oid)
        if actual is None:
            fixable = oid not in referenced
            if repair and fixable:
                with hub.db.unit_of_work(write=True) as uow:
                    uow.session.execute(delete(LfsObject).where(LfsObject.oid == oid))
                    uow.session.execute(delete(Blob).where(Blob.oid == oid))
            out.append(
                Problem(
                    "missing-blob-file",
                    oid,
                    "recorded in the database but not in the blob store",
                    repair and fixable,
                )
            )
        elif actual != size:
            out.append(Problem("corrupt-blob", oid, f"{actual} bytes stored, {size} recorded"))
    cutoff = time.time() - GRACE_SECONDS
    for oid in sorted(stored - set(rows)):
        path = hub.blobs.local_path(oid)
        if path is not None and path.stat().st_mtime > cutoff:
            continue  # may be an upload committing right now
        if oid in referenced:
            if repair:
                with hub.db.unit_of_work(write=True) as uow:
                    uow.session.add(Blob(oid=oid, size=hub.blobs.size(oid) or 0))
            out.append(Problem("unrecorded-blob", oid, "stored and referenced, but not recorded", repair))
        elif oid not in linked:
            if repair:
                hub.blobs.delete(oid)
            out.append(Problem("orphan-blob", oid, "stored bytes that nothing references", repair))
    return out


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
