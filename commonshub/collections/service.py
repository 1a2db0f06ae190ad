"""Likes and collections: the rules (specs/hf-protocol.md §9.1, §9.2).

Who may do what is `permissions.allowed`:
- like or unlike a repo: `repo:discuss` (any signed-in reader whose token may act);
- change a collection: `repo:create` on its owner's namespace (the user themselves, or those who
  may create repos in the org), with a token that may write;
- read a private collection: its owner (a user), or `org:read` on the owning org.
A private collection, like a private repo, looks missing to everyone else. Items the caller may
not read (a private repo in a public collection) are left out of what they see.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select, text, true, update
from sqlalchemy.orm import joinedload

from commonshub.accounts.permissions import Identity, Namespace, allowed
from commonshub.accounts.service import account_by_name
from commonshub.collections.schemas import slug_of
from commonshub.db import insert_missing
from commonshub.errors import BadRequest, Conflict, NotFound, RepoNotFound, Unauthorized
from commonshub.hub import Context
from commonshub.models import Collection, CollectionItem, Like, Repo, User, utcnow
from commonshub.repos import listing
from commonshub.repos.service import RepoMoved, event, find_repo, refusal

TITLE_MAX = 200
DESCRIPTION_MAX = 2000
NOTE_MAX = 500  # the client documents 500 characters, as on huggingface.co
# Positions are stored in 32-bit integers; anything past the end means "last".
POSITION_MAX = 2**31 - 1
THEME = re.compile(r"[a-z]{1,16}")
PAPER_ID = re.compile(r"\d{4}\.\d{4,5}(v\d{1,3})?")
UID = re.compile(r"[0-9a-f]{24}")
REPO_TYPES = {"model", "dataset", "space"}
PLURAL_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
# Collections sort by one of these, always descending, then newest first.
SORTS: dict[str, Any] = {
    "lastModified": (Collection.last_updated.desc(), Collection.id.desc()),
    "trending": (Collection.upvotes.desc(), Collection.last_updated.desc(), Collection.id.desc()),
    "upvotes": (Collection.upvotes.desc(), Collection.id.desc()),
}
# Key space of the PostgreSQL advisory locks taken here (two-int form, apart from repo locks).
_LOCK_CLASS = 0x636F6C


# --- likes ---


def like(ctx: Context, repo: Repo) -> int:
    """Like `repo` (again: nothing changes); returns its like count."""
    _require_like(ctx, repo)
    assert ctx.identity.user_id is not None
    # ON CONFLICT DO NOTHING: of two concurrent likes by one user, one inserts and one finds it,
    # so only the row that was inserted counts, and the count moves in SQL, never read-modify-write.
    added = insert_missing(ctx.session, Like, [{"user_id": ctx.identity.user_id, "repo_id": repo.id}])
    if added:
        ctx.session.execute(update(Repo).where(Repo.id == repo.id).values(likes=Repo.likes + 1))
        event(ctx, "repo:like", repo)
    return _like_count(ctx, repo)


def unlike(ctx: Context, repo: Repo) -> int:
    """Take back a like (none to take back: nothing changes); returns the repo's like count."""
    _require_like(ctx, repo)
    removed = ctx.session.execute(
        delete(Like)
        .where(Like.user_id == ctx.identity.user_id, Like.repo_id == repo.id)
        .returning(Like.repo_id)
    ).all()
    if removed:
        ctx.session.execute(update(Repo).where(Repo.id == repo.id).values(likes=Repo.likes - 1))
        event(ctx, "repo:unlike", repo)
    return _like_count(ctx, repo)


def _require_like(ctx: Context, repo: Repo) -> None:
    if not allowed(ctx.identity, "repo:discuss", repo):
        raise refusal(ctx, f"like {repo.repo_id}")


def _like_count(ctx: Context, repo: Repo) -> int:
    return int(ctx.session.scalar(select(Repo.likes).where(Repo.id == repo.id)) or 0)


def liked_repos(ctx: Context, user_name: str, *, offset: int, limit: int) -> list[tuple[datetime, Repo]]:
    """Repos `user_name` likes, newest like first: those the caller may see (one more than `limit`,
    to tell whether a next page exists)."""
    user = account_by_name(ctx.session, user_name)
    if not isinstance(user, User):
        raise NotFound(f"User {user_name!r} not found")
    rows = ctx.session.execute(
        select(Like.created_at, Repo)
        .join(Repo, Repo.id == Like.repo_id)
        .options(joinedload(Repo.namespace))
        .where(Like.user_id == user.id, listing.visible(ctx))
        .order_by(Like.created_at.desc(), Like.repo_id.desc())
        .offset(offset)
        .limit(limit + 1)
    ).all()
    return [(created, repo) for created, repo in rows]


def likers(ctx: Context, repo: Repo, *, offset: int, limit: int) -> Sequence[User]:
    """Users who like `repo`, in the order they did (one more than `limit`)."""
    return ctx.session.scalars(
        select(User)
        .join(Like, Like.user_id == User.id)
        .where(Like.repo_id == repo.id)
        .order_by(Like.created_at, User.id)
        .offset(offset)
        .limit(limit + 1)
    ).all()


# --- reading collections ---


def may_read(identity: Identity, collection: Collection) -> bool:
    if not collection.private or identity.is_admin:
        return True
    if collection.owner.kind == "org":
        return allowed(identity, "org:read", Namespace(collection.owner_id))
    return identity.user_id == collection.owner_id


def may_change(identity: Identity, collection: Collection) -> bool:
    return allowed(identity, "repo:create", Namespace(collection.owner_id))


def find_collection(ctx: Context, namespace: str, slug_name: str) -> Collection:
    """The collection a slug names, if the caller may read it; else 404.

    The id at the end of the slug names the collection; the title part is what it was when the
    slug was made. So a title change gives a new slug and leaves the old one working.
    """
    uid = slug_name.rsplit("-", 1)[-1]
    collection = None
    if UID.fullmatch(uid):
        collection = ctx.session.scalar(
            select(Collection).options(joinedload(Collection.owner)).where(Collection.uid == uid)
        )
    if (
        collection is None
        or collection.owner.name_key != namespace.lower()
        or not may_read(ctx.identity, collection)
    ):
        raise NotFound("Collection not found")
    return collection


def _item_query() -> Select[CollectionItem]:
    return select(CollectionItem).options(
        joinedload(CollectionItem.repo).joinedload(Repo.namespace),
        joinedload(CollectionItem.target).joinedload(Collection.owner),
    )


def _shown(identity: Identity, item: CollectionItem) -> bool:
    if item.repo is not None:
        return allowed(identity, "repo:read", item.repo)
    if item.target is not None:
        return may_read(identity, item.target)
    return True


def visible_items(ctx: Context, collection: Collection) -> list[CollectionItem]:
    """The collection's items the caller may see, in order."""
    items = ctx.session.scalars(
        _item_query()
        .where(CollectionItem.collection_id == collection.id)
        .order_by(CollectionItem.position, CollectionItem.id)
    ).all()
    return [item for item in items if _shown(ctx.identity, item)]


def _readable_owners(identity: Identity) -> ColumnElement[bool]:
    """Public collections, and the private ones the caller may read (may_read, as a filter)."""
    if identity.is_admin:
        return true()
    owners = [org for org in identity.orgs if allowed(identity, "org:read", Namespace(org))]
    if identity.user_id is not None:
        owners.append(identity.user_id)
    if not owners:
        return Collection.private.is_(False)
    return or_(Collection.private.is_(False), Collection.owner_id.in_(owners))


def list_collections(
    ctx: Context, *, owners: list[str], items: list[str], sort: str | None, offset: int, limit: int
) -> tuple[list[tuple[Collection, list[CollectionItem]]], bool]:
    """A page of collections with up to 4 visible items each (as huggingface.co lists them), and
    whether there are more."""
    order = SORTS.get(sort or "lastModified")
    if order is None:
        raise BadRequest(f"Unknown sort {sort!r}: use lastModified, trending or upvotes")
    conditions = [_readable_owners(ctx.identity)]
    if owners:
        found = [account_by_name(ctx.session, name) for name in owners]
        conditions.append(Collection.owner_id.in_([a.id for a in found if a is not None]))
    for wanted in items:
        key = _item_key_for_filter(ctx, wanted)
        if key is None:
            return [], False  # an item that does not exist (for the caller) is in no collection
        conditions.append(
            Collection.id.in_(select(CollectionItem.collection_id).where(CollectionItem.item_key == key))
        )
    page = ctx.session.scalars(
        select(Collection)
        .options(joinedload(Collection.owner))
        .where(and_(*conditions))
        .order_by(*order)
        .offset(offset)
        .limit(limit + 1)
    ).all()
    more = len(page) > limit
    page = page[:limit]
    by_collection: dict[int, list[CollectionItem]] = {c.id: [] for c in page}
    if page:
        rows = ctx.session.scalars(
            _item_query()
            .where(CollectionItem.collection_id.in_(list(by_collection)))
            .order_by(CollectionItem.collection_id, CollectionItem.position, CollectionItem.id)
        ).all()
        for item in rows:
            shown = by_collection[item.collection_id]
            if len(shown) < 4 and _shown(ctx.identity, item):
                shown.append(item)
    return [(c, by_collection[c.id]) for c in page], more


def _item_key_for_filter(ctx: Context, wanted: str) -> str | None:
    """The item key of `models/ns/name`, `datasets/…`, `spaces/…`, `papers/<id>` or
    `collections/<slug>`; None if it names nothing the caller can see."""
    kind, _, rest = wanted.partition("/")
    try:
        if kind in PLURAL_TYPES:
            return _repo_item(ctx, PLURAL_TYPES[kind], rest)[0]
        if kind == "papers" and PAPER_ID.fullmatch(rest):
            return f"paper:{rest}"
        if kind == "collections":
            namespace, _, slug_name = rest.partition("/")
            return f"collection:{find_collection(ctx, namespace, slug_name).id}"
    except (RepoNotFound, NotFound):
        return None
    raise BadRequest(
        f"Invalid item {wanted!r}: use models/<id>, datasets/<id>, spaces/<id>, papers/<id> "
        "or collections/<slug>"
    )


def _repo_item(ctx: Context, repo_type: str, repo_id: str) -> tuple[str, Repo]:
    namespace, sep, name = repo_id.partition("/")
    if not sep or not namespace or not name or "/" in name:
        raise RepoNotFound(anonymous=ctx.identity.anonymous)
    try:
        repo = find_repo(ctx, repo_type, namespace, name)
    except RepoMoved as moved:  # a renamed repo is stored under its repo, not its old name
        namespace, _, name = moved.new_id.partition("/")
        repo = find_repo(ctx, repo_type, namespace, name)
    return f"{repo_type}:{repo.id}", repo


# --- changing collections ---


def _lock_owner(ctx: Context, owner_id: int) -> None:
    """Serialize the collection writes of one owner: titles stay unique, positions dense.

    SQLite writers already run one at a time (db.py: BEGIN IMMEDIATE); PostgreSQL takes an
    advisory lock for the transaction.
    """
    if ctx.hub.db.engine.dialect.name == "postgresql":
        ctx.session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"), {"space": _LOCK_CLASS, "key": owner_id}
        )


def _require_change(ctx: Context, collection: Collection) -> None:
    if not may_change(ctx.identity, collection):
        raise refusal(ctx, f"change the collection {slug_of(collection)}")


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    if "\x00" in title:  # PostgreSQL refuses NUL in text
        raise BadRequest("A collection title cannot contain NUL characters")
    if not title:
        raise BadRequest("A collection needs a title")
    if len(title) > TITLE_MAX:
        raise BadRequest(f"A collection title has at most {TITLE_MAX} characters")
    return title


def _check_text(value: str | None, what: str, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise BadRequest(f"A {what} has at most {limit} characters")
    if value is not None and "\x00" in value:  # PostgreSQL refuses NUL in text
        raise BadRequest(f"A {what} cannot contain NUL characters")


def _check_position(position: int) -> None:
    if not 0 <= position <= POSITION_MAX:
        raise BadRequest(f"position must be between 0 and {POSITION_MAX}")


def _same_title(ctx: Context, owner_id: int, title: str) -> Collection | None:
    return ctx.session.scalar(
        select(Collection)
        .options(joinedload(Collection.owner))
        .where(Collection.owner_id == owner_id, Collection.title_key == title.lower())
    )


def create_collection(
    ctx: Context, namespace: str | None, title: str, *, private: bool, description: str | None
) -> Collection:
    identity = ctx.identity
    if identity.anonymous:
        raise Unauthorized("You must be authenticated to create a collection")
    title = _clean_title(title)
    _check_text(description, "description", DESCRIPTION_MAX)
    owner = account_by_name(ctx.session, namespace or identity.name or "")
    if owner is None:
        raise NotFound(f"Namespace {namespace!r} not found")
    if not allowed(identity, "repo:create", Namespace(owner.id)):
        raise refusal(ctx, f"create a collection under {owner.name}")
    _lock_owner(ctx, owner.id)
    existing = _same_title(ctx, owner.id, title)
    if existing is not None:
        # `exists_ok` reads the slug from this body (spec §9.2).
        raise Conflict("You already have a collection with this title", extra={"slug": slug_of(existing)})
    count = ctx.session.scalar(select(func.count(Collection.id)).where(Collection.owner_id == owner.id))
    collection = Collection(
        owner_id=owner.id,
        title=title,
        title_key=title.lower(),
        description=description or None,
        private=private,
        position=int(count or 0),
    )
    collection.owner = owner
    ctx.session.add(collection)
    ctx.session.flush()
    event(
        ctx,
        "collection:create",
        None,
        namespace_id=collection.owner_id,
        collection=slug_of(collection),
        private=private,
    )
    return collection


def update_collection(
    ctx: Context,
    collection: Collection,
    *,
    title: str | None,
    description: str | None,
    private: bool | None,
    theme: str | None,
    position: int | None,
) -> None:
    _require_change(ctx, collection)
    _lock_owner(ctx, collection.owner_id)
    changes: dict[str, Any] = {}
    if title is not None:
        title = _clean_title(title)
        clash = _same_title(ctx, collection.owner_id, title)
        if clash is not None and clash.id != collection.id:
            raise Conflict("You already have a collection with this title", extra={"slug": slug_of(clash)})
        if title != collection.title:
            changes["title"] = {"from": collection.title, "to": title}
            collection.title, collection.title_key = title, title.lower()
    if description is not None:
        _check_text(description, "description", DESCRIPTION_MAX)
        collection.description = description or None
        changes["description"] = True
    if private is not None and private != collection.private:
        collection.private = private
        changes["private"] = private
    if theme is not None:
        if not THEME.fullmatch(theme):
            raise BadRequest("theme must be a colour name in lower-case letters, such as 'default' or 'blue'")
        collection.theme = theme
        changes["theme"] = theme
    if position is not None:
        _check_position(position)
        siblings = list(
            ctx.session.scalars(
                select(Collection)
                .where(Collection.owner_id == collection.owner_id)
                .order_by(Collection.position, Collection.id)
            )
        )
        _move(siblings, collection, position)
        changes["position"] = collection.position
    collection.last_updated = utcnow()
    ctx.session.flush()
    event(
        ctx,
        "collection:update",
        None,
        namespace_id=collection.owner_id,
        collection=slug_of(collection),
        **changes,
    )


def delete_collection(ctx: Context, collection: Collection) -> None:
    _require_change(ctx, collection)
    _lock_owner(ctx, collection.owner_id)
    event(ctx, "collection:delete", None, namespace_id=collection.owner_id, collection=slug_of(collection))
    ctx.session.delete(collection)  # its items go with it (ON DELETE CASCADE)
    ctx.session.flush()
    # Close the gap it leaves among its owner's collections.
    siblings = ctx.session.scalars(
        select(Collection)
        .where(Collection.owner_id == collection.owner_id)
        .order_by(Collection.position, Collection.id)
    )
    for index, sibling in enumerate(siblings):
        sibling.position = index


def _move(rows: list[Any], row: Any, position: int) -> None:
    """Put `row` at `position` (past the end: last) among `rows` and number them all 0, 1, 2…"""
    rows = [r for r in rows if r is not row]
    rows.insert(min(position, len(rows)), row)
    for index, r in enumerate(rows):
        r.position = index


def _all_items(ctx: Context, collection: Collection) -> list[CollectionItem]:
    return list(
        ctx.session.scalars(
            select(CollectionItem)
            .where(CollectionItem.collection_id == collection.id)
            .order_by(CollectionItem.position, CollectionItem.id)
        )
    )


def add_item(ctx: Context, collection: Collection, item_type: str, item_id: str, note: str | None) -> None:
    _require_change(ctx, collection)
    _check_text(note, "note", NOTE_MAX)
    item = CollectionItem(collection_id=collection.id, type=item_type, note=note or None)
    if item_type in REPO_TYPES:
        item.item_key, repo = _repo_item(ctx, item_type, item_id)
        item.repo_id = repo.id
    elif item_type == "collection":
        namespace, _, slug_name = item_id.partition("/")
        if not slug_name:  # a bare id names a collection too
            namespace, slug_name = "", item_id
        target = _find_by_slug_or_uid(ctx, namespace, slug_name)
        if target.id == collection.id:
            raise BadRequest("A collection cannot contain itself")
        item.item_key, item.target_collection_id = f"collection:{target.id}", target.id
    elif item_type == "paper":
        if not PAPER_ID.fullmatch(item_id):
            raise BadRequest(f"Invalid paper id {item_id!r}: use an arXiv id such as 2311.12983")
        item.item_key, item.paper_id = f"paper:{item_id}", item_id
    else:
        raise BadRequest(f"Invalid item type {item_type!r}: use model, dataset, space, collection or paper")
    _lock_owner(ctx, collection.owner_id)
    taken = ctx.session.scalar(
        select(CollectionItem.id).where(
            CollectionItem.collection_id == collection.id, CollectionItem.item_key == item.item_key
        )
    )
    if taken is not None:
        raise Conflict("This item is already in the collection")
    last = ctx.session.scalar(
        select(func.max(CollectionItem.position)).where(CollectionItem.collection_id == collection.id)
    )
    item.position = 0 if last is None else int(last) + 1
    ctx.session.add(item)
    collection.last_updated = utcnow()
    ctx.session.flush()
    event(
        ctx,
        "collection:item:add",
        None,
        namespace_id=collection.owner_id,
        collection=slug_of(collection),
        item=item.uid,
        type=item_type,
        id=item_id,
    )


def _find_by_slug_or_uid(ctx: Context, namespace: str, slug_name: str) -> Collection:
    if namespace:
        return find_collection(ctx, namespace, slug_name)
    collection = None
    if UID.fullmatch(slug_name):
        collection = ctx.session.scalar(
            select(Collection).options(joinedload(Collection.owner)).where(Collection.uid == slug_name)
        )
    if collection is None or not may_read(ctx.identity, collection):
        raise NotFound("Collection not found")
    return collection


def find_item(ctx: Context, collection: Collection, item_uid: str) -> CollectionItem:
    item = None
    if UID.fullmatch(item_uid):
        item = ctx.session.scalar(
            _item_query().where(CollectionItem.collection_id == collection.id, CollectionItem.uid == item_uid)
        )
    # An item the caller may not see (a private repo) is as missing as one that is not there.
    if item is None or not _shown(ctx.identity, item):
        raise NotFound("Item not found in this collection")
    return item


def update_item(
    ctx: Context, collection: Collection, item: CollectionItem, *, note: str | None, position: int | None
) -> None:
    _require_change(ctx, collection)
    changes: dict[str, Any] = {}
    if note is not None:
        _check_text(note, "note", NOTE_MAX)
        item.note = note or None
        changes["note"] = True
    if position is not None:
        _check_position(position)
        _lock_owner(ctx, collection.owner_id)
        _move(_all_items(ctx, collection), item, position)
        changes["position"] = item.position
    collection.last_updated = utcnow()
    ctx.session.flush()
    event(
        ctx,
        "collection:item:update",
        None,
        namespace_id=collection.owner_id,
        collection=slug_of(collection),
        item=item.uid,
        **changes,
    )


def delete_item(ctx: Context, collection: Collection, item: CollectionItem) -> None:
    _require_change(ctx, collection)
    _lock_owner(ctx, collection.owner_id)
    event(
        ctx,
        "collection:item:delete",
        None,
        namespace_id=collection.owner_id,
        collection=slug_of(collection),
        item=item.uid,
    )
    ctx.session.delete(item)
    ctx.session.flush()
    for index, rest in enumerate(_all_items(ctx, collection)):
        rest.position = index
    collection.last_updated = utcnow()
