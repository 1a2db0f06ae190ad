"""The audit log: one event per write, tagged "subject:action", and the queries admins run on it.

Who (the actor), what (the tag and data), which resource (repo, namespace), when (created_at) and
from where (the client's address). Events are appended in the request's own transaction, so a
write that rolls back leaves no event, and a write that commits always has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from commonshub.errors import BadRequest
from commonshub.hub import Context
from commonshub.models import Account, Event, Repo
from commonshub.responses import format_date

MAX_PAGE = 1000


def record(ctx: Context, tag: str, repo: Repo | None = None, /, **data: Any) -> None:
    """Append one audit event for this request's write."""
    add(ctx.session, tag, actor_id=ctx.identity.user_id, ip=ctx.ip, repo=repo, **data)


def add(
    session: Session,
    tag: str,
    /,
    *,
    actor_id: int | None,
    ip: str | None,
    repo: Repo | None = None,
    namespace_id: int | None = None,
    **data: Any,
) -> None:
    """`record` for callers without a request (the CLI: no actor, no address)."""
    if repo is not None:
        data.setdefault("repo", repo.repo_id)
        data.setdefault("type", repo.type)
        namespace_id = repo.namespace_id
    session.add(
        Event(
            tag=tag,
            actor_id=actor_id,
            repo_id=repo.id if repo is not None else None,
            namespace_id=namespace_id,
            ip=ip,
            data=data,
        )
    )


@dataclass(frozen=True)
class EventQuery:
    namespace_id: int | None = None  # None: the whole hub (site admins)
    tag: str | None = None  # exact tag, or a prefix ending in ":" ("repo:")
    actor: str | None = None
    before_id: int | None = None  # the cursor: events older than this one
    since: datetime | None = None
    limit: int = 100


def query(session: Session, q: EventQuery) -> tuple[list[dict[str, Any]], int | None]:
    """One page of events, newest first, and the cursor of the next page (None at the end)."""
    if not 1 <= q.limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
    stmt = select(Event, Account.name).outerjoin(Account, Account.id == Event.actor_id)
    if q.namespace_id is not None:
        stmt = stmt.where(Event.namespace_id == q.namespace_id)
    if q.tag:
        stmt = stmt.where(Event.tag.startswith(q.tag) if q.tag.endswith(":") else Event.tag == q.tag)
    if q.actor:
        stmt = stmt.where(Account.name_key == q.actor.lower())
    if q.before_id is not None:
        stmt = stmt.where(Event.id < q.before_id)
    if q.since is not None:
        stmt = stmt.where(Event.created_at >= q.since)
    rows = session.execute(stmt.order_by(Event.id.desc()).limit(q.limit + 1)).all()
    page = [render(event, actor) for event, actor in rows[: q.limit]]
    more = len(rows) > q.limit
    return page, (rows[q.limit - 1][0].id if more else None)


def render(event: Event, actor: str | None) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "type": event.tag,
        "createdAt": format_date(event.created_at),
        "actor": actor,
        "ip": event.ip,
        "data": event.data,
    }
