"""Likes and collections routes (specs/hf-protocol.md §9.1, §9.2)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from commonshub.accounts.schemas import DEFAULT_AVATAR
from commonshub.collections import service
from commonshub.collections.schemas import (
    AddItemBody,
    CreateCollectionBody,
    UpdateCollectionBody,
    UpdateItemBody,
    collection_json,
)
from commonshub.dependencies import ContextDep, Segment, query_list
from commonshub.errors import BadRequest
from commonshub.hub import Context
from commonshub.models import Collection
from commonshub.pagination import decode_cursor, next_link
from commonshub.repos.service import TYPE_BY_PLURAL, find_repo
from commonshub.responses import format_date, json_response

router = APIRouter()

LIKES_PAGE = 100
LIKERS_PAGE = 100
COLLECTIONS_PAGE = 100
# Offsets past this are no page anyone reaches by following links: refused, not sent to SQL.
MAX_OFFSET = 10**9


def _offset(request: Request) -> int:
    cursor = decode_cursor(request.query_params.get("cursor"))
    if cursor is None:
        return 0
    if not isinstance(cursor, int) or isinstance(cursor, bool) or not 0 <= cursor <= MAX_OFFSET:
        raise BadRequest("Invalid cursor")
    return cursor


def _page(request: Request, ctx: Context, body: list[object], offset: int, more: bool) -> Response:
    headers = next_link(request, ctx.base_url, offset + len(body)) if more and body else None
    return json_response(body, headers=headers)


# --- likes (§9.1) ---


@router.post("/api/{repo_type:repotype}/{namespace}/{name}/like")
def like(repo_type: str, namespace: Segment, name: Segment, ctx: ContextDep) -> Response:
    repo = find_repo(ctx, TYPE_BY_PLURAL[repo_type], namespace, name)
    return json_response({"likes": service.like(ctx, repo)})


@router.delete("/api/{repo_type:repotype}/{namespace}/{name}/like")
def unlike(repo_type: str, namespace: Segment, name: Segment, ctx: ContextDep) -> Response:
    repo = find_repo(ctx, TYPE_BY_PLURAL[repo_type], namespace, name)
    return json_response({"likes": service.unlike(ctx, repo)})


@router.get("/api/{repo_type:repotype}/{namespace}/{name}/likers")
def likers(repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep) -> Response:
    repo = find_repo(ctx, TYPE_BY_PLURAL[repo_type], namespace, name)
    offset = _offset(request)
    users = service.likers(ctx, repo, offset=offset, limit=LIKERS_PAGE)
    body: list[object] = [
        {"user": u.name, "fullname": u.fullname, "avatarUrl": DEFAULT_AVATAR, "type": "user"}
        for u in users[:LIKERS_PAGE]
    ]
    return _page(request, ctx, body, offset, len(users) > LIKERS_PAGE)


@router.get("/api/users/{user}/likes")
def user_likes(user: Segment, request: Request, ctx: ContextDep) -> Response:
    offset = _offset(request)
    rows = service.liked_repos(ctx, user, offset=offset, limit=LIKES_PAGE)
    body: list[object] = [
        {"createdAt": format_date(created), "repo": {"name": repo.repo_id, "type": repo.type}}
        for created, repo in rows[:LIKES_PAGE]
    ]
    return _page(request, ctx, body, offset, len(rows) > LIKES_PAGE)


# --- collections (§9.2) ---


def _limit(request: Request) -> int | None:
    value = request.query_params.get("limit")
    if not value:
        return None
    try:
        limit = int(value)
    except ValueError as exc:
        raise BadRequest("limit must be an integer") from exc
    if limit < 1:
        raise BadRequest("limit must be at least 1")
    return limit


@router.get("/api/collections")
def list_collections(request: Request, ctx: ContextDep) -> Response:
    offset = _offset(request)
    limit = _limit(request)
    # `limit` caps the whole listing; a page is never longer than COLLECTIONS_PAGE.
    page_size = COLLECTIONS_PAGE if limit is None else max(0, min(COLLECTIONS_PAGE, limit - offset))
    if page_size == 0:
        return json_response([])
    page, more = service.list_collections(
        ctx,
        owners=query_list(request, "owner"),
        items=query_list(request, "item"),
        sort=request.query_params.get("sort"),
        offset=offset,
        limit=page_size,
    )
    body: list[object] = [collection_json(c, items, with_position=False) for c, items in page]
    more = more and (limit is None or offset + len(body) < limit)
    return _page(request, ctx, body, offset, more)


def _shown(ctx: Context, collection: Collection) -> dict[str, object]:
    return collection_json(collection, service.visible_items(ctx, collection))


@router.post("/api/collections")
def create_collection(body: CreateCollectionBody, ctx: ContextDep) -> Response:
    collection = service.create_collection(
        ctx, body.namespace, body.title, private=body.private, description=body.description
    )
    return json_response(_shown(ctx, collection))


@router.get("/api/collections/{namespace}/{slug}")
def get_collection(namespace: Segment, slug: Segment, ctx: ContextDep) -> Response:
    return json_response(_shown(ctx, service.find_collection(ctx, namespace, slug)))


@router.patch("/api/collections/{namespace}/{slug}")
def update_collection(
    namespace: Segment, slug: Segment, body: UpdateCollectionBody, ctx: ContextDep
) -> Response:
    collection = service.find_collection(ctx, namespace, slug)
    service.update_collection(
        ctx,
        collection,
        title=body.title,
        description=body.description,
        private=body.private,
        theme=body.theme,
        position=body.position,
    )
    return json_response({"data": _shown(ctx, collection)})


@router.delete("/api/collections/{namespace}/{slug}")
def delete_collection(namespace: Segment, slug: Segment, ctx: ContextDep) -> Response:
    service.delete_collection(ctx, service.find_collection(ctx, namespace, slug))
    return json_response({})


@router.post("/api/collections/{namespace}/{slug}/items")
def add_item(namespace: Segment, slug: Segment, body: AddItemBody, ctx: ContextDep) -> Response:
    collection = service.find_collection(ctx, namespace, slug)
    service.add_item(ctx, collection, body.item.type, body.item.id, body.note)
    return json_response(_shown(ctx, collection))


@router.patch("/api/collections/{namespace}/{slug}/items/{item_id}")
def update_item(
    namespace: Segment, slug: Segment, item_id: Segment, body: UpdateItemBody, ctx: ContextDep
) -> Response:
    collection = service.find_collection(ctx, namespace, slug)
    item = service.find_item(ctx, collection, item_id)
    service.update_item(ctx, collection, item, note=body.note, position=body.position)
    return json_response({"data": _shown(ctx, collection)})


@router.delete("/api/collections/{namespace}/{slug}/items/{item_id}")
def delete_item(namespace: Segment, slug: Segment, item_id: Segment, ctx: ContextDep) -> Response:
    collection = service.find_collection(ctx, namespace, slug)
    service.delete_item(ctx, collection, service.find_item(ctx, collection, item_id))
    return json_response({})
