"""Repairing what a killed server left behind, at start-up (and by fsck).

A writer journals a ref move before making it (gitstore). If it died before its database
transaction committed, the move is undone; if the transaction committed, the move is kept. Either
way the index of `main` is brought back in line with git. Writers that are alive hold their repo's
lock, and their journal entries are left alone.

Removals work the same way: a repo's git directory or a blob is moved aside when the transaction
publishes and deleted once it committed. What a dead writer left aside goes back in place if the
database still records it (the removal never committed), and is deleted otherwise.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from commonshub.accounts.permissions import ANONYMOUS
from commonshub.hub import Context, Hub
from commonshub.models import Blob, LfsObject, RefUpdate, Repo
from commonshub.repos.service import MAIN, index_head

# Staging files older than this belong to uploads that will never finish.
STALE_UPLOAD_SECONDS = 24 * 3600


@dataclass
class Recovery:
    settled_moves: int = 0
    reindexed: list[str] = field(default_factory=list)
    removed_uploads: int = 0
    restored: list[str] = field(default_factory=list)


def settle_repo(hub: Hub, uid: str, *, reindex: bool = False) -> tuple[int, bool]:
    """Settle a repo's orphaned journal entries; returns (entries settled, index rebuilt).

    The index of main is rebuilt if main moved, or always with `reindex`. The caller holds the
    repo's lock.
    """
    entries = hub.git.journal_entries(uid)
    with hub.db.unit_of_work(write=True) as uow:
        repo = uow.session.scalar(select(Repo).options(joinedload(Repo.namespace)).where(Repo.uid == uid))
        if repo is None or not hub.git.exists(uid):
            for _, move in entries:
                hub.git.forget_journal(uid, move.token)
            return len(entries), False
        tokens = [move.token for _, move in entries]
        committed = set(uow.session.scalars(select(RefUpdate.token).where(RefUpdate.token.in_(tokens))))
        git = hub.git.open(uid)
        settled = git.settle_orphaned_moves(committed) if entries else 0
        head = git.ref_target(MAIN)
        if head == repo.head_sha and not reindex:
            return settled, False
        ctx = Context(hub=hub, uow=uow, identity=ANONYMOUS, base_url=hub.settings.public_url)
        index_head(ctx, repo, git, head)
        return settled, True


def settle_removals(hub: Hub, *, act: bool = True) -> list[tuple[str, bool]]:
    """Finish the removals of dead writers: repo directories and blobs they moved aside.

    What the database still records goes back in place; the rest is deleted. A removal whose
    repo lock is held belongs to a live writer and is left alone. Returns each uid or oid
    settled, with whether it was put back (without `act`: what would be done).
    """
    settled = []
    for uid, item in hub.git.trashed():
        with hub.git.lock(uid, blocking=False) as locked:
            if not locked:
                continue
            with hub.db.session() as session:
                kept = session.scalar(select(Repo.id).where(Repo.uid == uid)) is not None
            kept = kept and not hub.git.exists(uid)
            if act and kept:
                hub.git.untrash(uid, item)
            elif act:
                shutil.rmtree(item, ignore_errors=True)
            settled.append((uid, kept))
    for oid in hub.blobs.trashed():
        # A blob is removed by a writer of the last repo that links it, which holds that repo's lock.
        with hub.db.session() as session:
            holders = list(
                session.scalars(
                    select(Repo.uid).join(LfsObject, LfsObject.repo_id == Repo.id).where(LfsObject.oid == oid)
                )
            )
        with contextlib.ExitStack() as locks:
            if not all(locks.enter_context(hub.git.lock(uid, blocking=False)) for uid in holders):
                continue
            with hub.db.session() as session:
                kept = session.scalar(select(Blob.oid).where(Blob.oid == oid)) is not None
            if act and kept:
                hub.blobs.untrash(oid)
            elif act:
                hub.blobs.discard_trashed(oid)
            settled.append((oid, kept))
    return settled


def recover(hub: Hub) -> Recovery:
    report = Recovery()
    # First, so that a repo whose removal never committed has its directory back for its journal.
    report.restored = [name for name, kept in settle_removals(hub) if kept]
    for uid in sorted({uid for uid, _ in hub.git.journal_entries()}):
        with hub.git.lock(uid, blocking=False) as locked:
            if not locked:
                continue
            settled, reindexed = settle_repo(hub, uid)
            report.settled_moves += settled
            if reindexed:
                report.reindexed.append(uid)
    report.removed_uploads = len(hub.staging.remove_stale(older_than=STALE_UPLOAD_SECONDS))
    return report
