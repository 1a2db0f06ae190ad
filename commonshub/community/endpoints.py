"""Discussion and pull request routes (specs/hf-protocol.md §7.1 to 7.4)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from commonshub.community import schemas, service
from commonshub.dependencies import ContextDep, Segment, query_bool
from commonshub.errors import BadRequest, NotFound
from commonshub.hub import Context
from commonshub.models import DiscussionEvent, Repo
from commonshub.repos import service as repos
from commonshub.responses import json_response

router = APIRouter()

_PREFIX = "/api/{repo_type:repotype}/{namespace}/{name}/discussions"


async def _body(request: Request, *, optional: bool = False) -> dict[str, Any]:
    """The JSON object a route takes; `optional`: an empty body reads as {} (merge, hide)."""
    raw = await request.body()
    if optional and not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)  # unlike json, it refuses lone surrogates, which nothing can store
    except orjson.JSONDecodeError as exc:
        raise BadRequest("The body is not valid JSON") from exc
    if data is None and optional:
        return {}
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object")
    return data


def _repo(ctx: Context, repo_type: str, namespace: str, name: str) -> Repo:
    return repos.find_repo(ctx, repos.TYPE_BY_PLURAL[repo_type], namespace, name)


def _event(ctx: Context, event: DiscussionEvent) -> dict[str, Any]:
    ctx.session.flush()
    ids = schemas.event_author_ids([event])
    return schemas.event_json(service.authors_by_id(ctx, ids), event)


@router.get(_PREFIX)
def list_discussions(
    repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep
) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    query = request.query_params
    return json_response(
        service.list_discussions(
            ctx,
            repo,
            page=query.get("p"),
            kind=query.get("type"),
            status=query.get("status"),
            author=query.get("author"),
        )
    )


@router.post(_PREFIX)
async def create_discussion(
    repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep
) -> Response:
    body = await _body(request)
    title = service.text_field(body, "title", max_length=service.MAX_TITLE)
    description = service.text_field(body, "description", max_length=service.MAX_COMMENT, required=False)
    pull_request = body.get("pullRequest", False)
    if not isinstance(pull_request, bool):
        raise BadRequest("`pullRequest` must be true or false")

    def run() -> dict[str, Any]:
        repo = _repo(ctx, repo_type, namespace, name)
        discussion = service.create(ctx, repo, title, description, pull_request=pull_request)
        out: dict[str, Any] = {
            "num": discussion.num,
            "pullRequest": pull_request,
            "url": f"{repos.repo_url(ctx.base_url, repo)}/discussions/{discussion.num}",
        }
        if pull_request:
            out["ref"] = f"refs/pr/{discussion.num}"
        return out

    return json_response(await run_in_threadpool(run))


@router.get(_PREFIX + "/{num}")
def discussion_details(
    repo_type: str, namespace: Segment, name: Segment, num: Segment, request: Request, ctx: ContextDep
) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    number = service.parse_num(num)
    return json_response(service.details(ctx, repo, number, diff=query_bool(request, "diff")))


@router.post(_PREFIX + "/{num}/{action}")
async def discussion_action(
    repo_type: str,
    namespace: Segment,
    name: Segment,
    num: Segment,
    action: Segment,
    request: Request,
    ctx: ContextDep,
) -> Response:
    if action not in ("comment", "title", "status", "merge"):
        raise NotFound(f"Unknown discussion action {action!r}: use comment, title, status or merge")
    body = await _body(request, optional=action == "merge")
    text = ""
    if action == "comment":
        text = service.text_field(body, "comment", max_length=service.MAX_COMMENT)
    elif action == "title":
        text = service.text_field(body, "title", max_length=service.MAX_TITLE)
    else:
        text = service.text_field(body, "comment", max_length=service.MAX_COMMENT, required=False)

    def run() -> dict[str, Any]:
        repo = _repo(ctx, repo_type, namespace, name)
        number = service.parse_num(num)
        if action == "comment":
            return {"newMessage": _event(ctx, service.comment(ctx, repo, number, text))}
        if action == "title":
            return {"newTitle": _event(ctx, service.rename(ctx, repo, number, text))}
        if action == "status":
            event = service.change_status(ctx, repo, number, body.get("status"), text)
            return {"newStatus": _event(ctx, event)}
        merged = service.merge(ctx, repo, number, text)
        return {"success": True, "mergeCommitId": merged.commit}

    return json_response(await run_in_threadpool(run))


@router.post(_PREFIX + "/{num}/comment/{comment_id}/{action}")
async def comment_action(
    repo_type: str,
    namespace: Segment,
    name: Segment,
    num: Segment,
    comment_id: Segment,
    action: Segment,
    request: Request,
    ctx: ContextDep,
) -> Response:
    if action not in ("edit", "hide"):
        raise NotFound(f"Unknown comment action {action!r}: use edit or hide")
    body = await _body(request, optional=action == "hide")
    content = service.text_field(body, "content", max_length=service.MAX_COMMENT) if action == "edit" else ""

    def run() -> dict[str, Any]:
        repo = _repo(ctx, repo_type, namespace, name)
        number = service.parse_num(num)
        if action == "edit":
            event = service.edit_comment(ctx, repo, number, comment_id, content)
        else:
            event = service.hide_comment(ctx, repo, number, comment_id)
        return {"updatedComment": _event(ctx, event)}

    return json_response(await run_in_threadpool(run))
