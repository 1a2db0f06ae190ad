"""Listing and search of repos (specs/hf-protocol.md §9.5), from the database index alone.

Pages are keyset-paginated on (sort value, id), so a page costs the same however deep it is,
and rows inserted meanwhile neither repeat nor vanish.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import joinedload

from commonshub.errors import BadRequest
from commonshub.gitstore import TreeEntry
from commonshub.hub import Context
from commonshub.models import Account, Repo, RepoFile, RepoTag
from commonshub.repos.schemas import FULL_EXTRA, LIST_PROPERTIES, NEEDS_FILES, RepoView, render
from commonshub.repos.service import entries_of

PAGE = 1000

SORTS: dict[str, Any] = {
    "downloads": Repo.downloads,
    "likes": Repo.likes,
    "lastModified": Repo.last_modified,
    "last_modified": Repo.last_modified,
    "createdAt": Repo.created_at,
    "created_at": Repo.created_at,
    "trendingScore": Repo.trending_score,
    "trending_score": Repo.trending_score,
}
DEFAULT_SORT = "trendingScore"


@dataclass
class ListQuery:
    repo_type: str
    search: list[str] = field(default_factory=list)
    author: str | None = None
    filters: list[str] = field(default_factory=list)
    sort: str | None = None
    limit: int | None = None
    full: bool = False
    card_data: bool = False
    config: bool = False
    expand: list[str] = field(default_factory=list)
    gated: str | None = None
    cursor: Any = None


def _escape_like(term: str) -> str:
    return term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def visible(ctx: Context) -> ColumnElement[bool]:
    """Public repos, and private ones in the caller's namespaces."""
    identity = ctx.identity
    if identity.is_admin:
        return true()
    namespaces = [identity.user_id, *identity.orgs] if identity.user_id is not None else []
    if not namespaces:
        return Repo.private.is_(False)
    return or_(Repo.private.is_(False), Repo.namespace_id.in_(namespaces))


def list_repos(ctx: Context, query: ListQuery) -> tuple[list[dict[str, Any]], Any]:
    """One page of repos, rendered, and the cursor of the next page (None at the end)."""
    sort_name = query.sort or DEFAULT_SORT
    sort_column = SORTS.get(sort_name)
    if sort_column is None:
        raise BadRequest(
            f"Unknown sort {sort_name!r}: use one of downloads, likes, lastModified, createdAt, trendingScore"
        )
    if query.limit is not None and query.limit < 0:
        raise BadRequest("limit must not be negative")
    page_size = min(query.limit if query.limit is not None else PAGE, PAGE)

    conditions: list[ColumnElement[bool]] = [Repo.type == query.repo_type, visible(ctx)]
    for term in query.search:
        conditions.append(Repo.key.like(f"%{_escape_like(term)}%", escape="\\"))
    if query.author:
        author_id = ctx.session.scalar(select(Account.id).where(Account.name_key == query.author.lower()))
        conditions.append(Repo.namespace_id == author_id if author_id is not None else false())
    for tag in query.filters:
        conditions.append(exists().where(RepoTag.repo_id == Repo.id, RepoTag.tag == tag))
    if query.gated is not None:
        conditions.append(
            Repo.gated.is_not(None) if query.gated.lower() in ("1", "true") else Repo.gated.is_(None)
        )
    if query.cursor is not None:
        conditions.append(_after(sort_column, query.cursor))

    rows = list(
        ctx.session.scalars(
            select(Repo)
            .options(joinedload(Repo.namespace))
            .where(and_(*conditions))
            .order_by(sort_column.desc(), Repo.id.desc())
            .limit(page_size + 1)
        )
    )
    more = len(rows) > page_size and (query.limit is None or query.limit > page_size)
    rows = rows[:page_size]

    properties = _properties(query)
    tags = _tags(ctx, [r.id for r in rows])
    files = _files(ctx, [r.id for r in rows]) if NEEDS_FILES & set(properties) else {}
    items = [
        render(
            RepoView(
                repo=r,
                sha=r.head_sha,
                last_modified=r.last_modified,
                files=files.get(r.id, []),
                card_data=r.card_data,
                tags=tags.get(r.id, []),
            ),
            properties,
        )
        for r in rows
    ]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        value = getattr(last, sort_column.key)
        next_cursor = [value.isoformat() if hasattr(value, "isoformat") else value, last.id]
    return items, next_cursor


def _after(sort_column: Any, cursor: Any) -> ColumnElement[bool]:
    if not (isinstance(cursor, list) and len(cursor) == 2 and isinstance(cursor[1], int)):
        raise BadRequest("Invalid cursor")
    value, last_id = cursor
    if sort_column.key in ("last_modified", "created_at"):
        try:
            value = datetime.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise BadRequest("Invalid cursor") from exc
    elif not isinstance(value, int):
        raise BadRequest("Invalid cursor")
    return or_(sort_column < value, and_(sort_column == value, Repo.id < last_id))


def _properties(query: ListQuery) -> list[str]:
    if query.expand:
        return query.expand
    properties = list(LIST_PROPERTIES[query.repo_type])
    if query.full:
        properties += FULL_EXTRA
    if query.card_data:
        properties.append("cardData")
    if query.config:
        properties.append("config")
    return properties


def _tags(ctx: Context, repo_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    if repo_ids:
        for repo_id, tag in ctx.session.execute(
            select(RepoTag.repo_id, RepoTag.tag).where(RepoTag.repo_id.in_(repo_ids)).order_by(RepoTag.tag)
        ):
            out[repo_id].append(tag)
    return out


def _files(ctx: Context, repo_ids: list[int]) -> dict[int, list[TreeEntry]]:
    out: dict[int, list[RepoFile]] = defaultdict(list)
    for f in ctx.session.scalars(
        select(RepoFile).where(RepoFile.repo_id.in_(repo_ids)).order_by(RepoFile.path)
    ):
        out[f.repo_id].append(f)
    return {repo_id: entries_of(rows) for repo_id, rows in out.items()}
