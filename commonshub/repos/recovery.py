"""Repairing what a killed server left behind, at start-up (and by fsck).

A writer journals a ref move before making it (gitstore). If it died before its database
transaction committed, the move is undone; if the transaction committed, the move is kept. Either
way the index of `main` is brought back in line with git. Writers that are alive hold their repo's
lock, and their journal entries are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from commonshub.accounts.permissions import ANONYMOUS
from commonshub.hub import Context, Hub
from commonshub.models import RefUpdate, Repo
from commonshub.repos.service import MAIN, index_head

# Staging files older than this belong to uploads that will never finish.
STALE_UPLOAD_SECONDS = 24 * 3600


@dataclass
class Recovery:
    settled_moves: int = 0
    reindexed: list[str] = field(default_factory=list)
    removed_uploads: int = 0


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


def recover(hub: Hub) -> Recovery:
    report = Recovery()
    for uid in sorted({uid for uid, _ in hub.git.journal_entries()}):
        with hub.git.lock(uid, blocking=False) as locked:
            if not locked:
                continue
            settled, reindexed = settle_repo(hub, uid)
            report.settled_moves += settled
            if reindexed:
                report.reindexed.append(uid)
    report.removed_uploads = len(hub.staging.remove_stale(older_than=STALE_UPLOAD_SECONDS))
    hub.git.empty_trash()
    return report
