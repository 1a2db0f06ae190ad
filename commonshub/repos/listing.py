"""Listing and search of repos (specs/hf-protocol.md §9.5), from the database index alone.

Pages are keyset-paginated on (sort value, id), so a page costs the same however deep it is,
and rows inserted meanwhile neither repeat nor vanish.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, exists, false, or_, select, text, true
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression

from commonshub.accounts.permissions import readable_namespaces, readable_repo_ids
from commonshub.errors import BadRequest
from commonshub.gitstore import TreeEntry
from commonshub.hub import Context
from commonshub.models import Account, Repo, RepoFile, RepoTag
from commonshub.repos.schemas import FULL_EXTRA, LIST_PROPERTIES, NEEDS_FILES, RepoView, render
from commonshub.repos.service import FILE_COLUMNS, entries_of

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
# Above this many matches a search term is common enough to walk the sort order instead.
DENSE_MATCHES = 5000


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
    pipeline_tag: str | None = None
    # `direction=1` sorts ascending; -1, the default, descending (huggingface_hub 2.4 sends none).
    ascending: bool = False
    cursor: Any = None


def _escape_like(term: str) -> str:
    return term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_COUNT_MATCHES = text(
    "SELECT count(*) FROM (SELECT 1 FROM repo_search WHERE repo_search MATCH :phrase LIMIT :n)"
)
_MATCHING_IDS = text("SELECT rowid FROM repo_search WHERE repo_search MATCH :phrase").columns(rowid=Integer)


def _matching(ctx: Context, term: str) -> tuple[ColumnElement[bool], bool]:
    """Repo ids containing `term`, case-insensitively; and whether that is a short list of ids.

    On PostgreSQL a trigram index serves the LIKE. On SQLite the trigram index (migration 0002)
    is asked first: if few repos match, exactly those rows are read; if many do, the page is
    found faster by walking the sort order and testing each id, since matches are dense.
    """
    pattern = Repo.key.like(f"%{_escape_like(term)}%", escape="\\")
    if not ctx.hub.db.is_sqlite or len(term) < 3:
        return pattern, False
    phrase = '"' + term.lower().replace('"', '""') + '"'
    matches = ctx.session.scalar(_COUNT_MATCHES, {"phrase": phrase, "n": DENSE_MATCHES + 1})
    if matches is None or matches > DENSE_MATCHES:
        return pattern, False
    return Repo.id.in_(_MATCHING_IDS.bindparams(phrase=phrase)), True


def _unindexed(column: Any) -> Any:
    return UnaryExpression(column.expression, operator=operators.custom_op("+"))


def visible(ctx: Context) -> ColumnElement[bool]:
    """Public repos, and the private ones the caller may read (permissions.allowed, as a filter)."""
    identity = ctx.identity
    if identity.is_admin and identity.token_role != "fineGrained":
        return true()
    namespaces = readable_namespaces(identity)
    repo_ids = readable_repo_ids(identity)
    conditions: list[ColumnElement[bool]] = [Repo.private.is_(False)]
    if namespaces:
        conditions.append(Repo.namespace_id.in_(namespaces))
    if repo_ids:
        # A token may name a private repo its user can no longer read: the role still decides.
        members = [identity.user_id, *identity.orgs]
        conditions.append(and_(Repo.id.in_(repo_ids), Repo.namespace_id.in_(members)))
    return or_(*conditions)


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
    terms = [*query.search, *query.filters, query.author or "", query.pipeline_tag or ""]
    if any("\x00" in term for term in terms):  # PostgreSQL refuses NUL in a query parameter
        raise BadRequest("search, author and filter cannot contain NUL characters")
    page = max(1, ctx.hub.settings.list_page_size)
    page_size = min(query.limit if query.limit is not None else page, page)

    conditions: list[ColumnElement[bool]] = [visible(ctx)]
    narrow = False
    for term in query.search:
        condition, few = _matching(ctx, term)
        conditions.append(condition)
        narrow = narrow or few
    # A few matching ids are read by id and then sorted, rather than found by walking a sort
    # index past every repo, which SQLite's planner (without statistics) would prefer. SQLite's
    # no-op unary + keeps it off the indexes on type and on the sort column.
    sort_key = _unindexed(sort_column) if narrow else sort_column
    conditions.append((_unindexed(Repo.type) if narrow else Repo.type) == query.repo_type)
    if query.author:
        author_id = ctx.session.scalar(select(Account.id).where(Account.name_key == query.author.lower()))
        conditions.append(Repo.namespace_id == author_id if author_id is not None else false())
    for tag in query.filters:
        conditions.append(exists().where(RepoTag.repo_id == Repo.id, RepoTag.tag == tag))
    if query.pipeline_tag:
        conditions.append(Repo.pipeline_tag == query.pipeline_tag)
    if query.gated is not None:
        conditions.append(
            Repo.gated.is_not(None) if query.gated.lower() in ("1", "true") else Repo.gated.is_(None)
        )
    if query.cursor is not None:
        conditions.append(_after(sort_column, query.cursor, ascending=query.ascending))

    statement = (
        select(*Repo.__table__.columns, Account.name.label("author"))
        .join(Account, Account.id == Repo.namespace_id)
        .where(and_(*conditions))
        .order_by(
            *((sort_key.asc(), Repo.id.asc()) if query.ascending else (sort_key.desc(), Repo.id.desc()))
        )
        .limit(page_size + 1)
    )
    rows = ctx.session.execute(statement).all()
    more = len(rows) > page_size and (query.limit is None or query.limit > page_size)
    rows = rows[:page_size]

    properties = _properties(query)
    files = _files(ctx, [r.id for r in rows]) if NEEDS_FILES & set(properties) else {}
    items = [
        render(
            RepoView(
                repo=r,
                repo_id=f"{r.author}/{r.name}",
                author=r.author,
                sha=r.head_sha,
                last_modified=r.last_modified,
                files=files.get(r.id, []),
                card_data=r.card_data,
                tags=r.tags or [],
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


def _after(sort_column: Any, cursor: Any, *, ascending: bool) -> ColumnElement[bool]:
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
    if ascending:
        return or_(sort_column > value, and_(sort_column == value, Repo.id > last_id))
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


def _files(ctx: Context, repo_ids: list[int]) -> dict[int, list[TreeEntry]]:
    out: dict[int, list[Any]] = defaultdict(list)
    for row in ctx.session.execute(
        select(*FILE_COLUMNS).where(RepoFile.repo_id.in_(repo_ids)).order_by(RepoFile.path)
    ):
        out[row.repo_id].append(row)
    return {repo_id: entries_of(rows) for repo_id, rows in out.items()}
