"""The access-request API of gated repos (specs/hf-protocol.md §8; the request route is our own).

Each route looks the repo up before it reads the body, so that a private repo is a 404 to those
who may not see it, whatever they send.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from commonshub.access import service
from commonshub.access.schemas import GrantBody, HandleBody, RequestBody, parse_body
from commonshub.dependencies import ContextDep, Segment
from commonshub.errors import BadRequest
from commonshub.hub import Context
from commonshub.models import ACCESS_STATUSES, Repo
from commonshub.pagination import decode_cursor, next_link
from commonshub.repos import service as repos
from commonshub.responses import json_response

router = APIRouter()

_BASE = "/api/{repo_type:repotype}/{namespace}/{name}/user-access-request"


def _repo(ctx: Context, repo_type: str, namespace: str, name: str) -> Repo:
    return repos.find_repo(ctx, repos.TYPE_BY_PLURAL[repo_type], namespace, name)


@router.post(_BASE + "/request")
async def request_access(
    repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep
) -> Response:
    raw = await request.body()

    def run() -> dict[str, Any]:
        repo = _repo(ctx, repo_type, namespace, name)
        body = parse_body(RequestBody, raw, optional=True)
        return service.request_access(ctx, repo, body.fields)

    return json_response(await run_in_threadpool(run))


@router.get(_BASE + "/me")
def own_request(repo_type: str, namespace: Segment, name: Segment, ctx: ContextDep) -> Response:
    return json_response(service.own_request(ctx, _repo(ctx, repo_type, namespace, name)))


def _list_route(status: str) -> None:
    @router.get(_BASE + f"/{status}", name=f"list_{status}_access_requests")
    def list_requests(
        repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep
    ) -> Response:
        repo = _repo(ctx, repo_type, namespace, name)
        after = decode_cursor(request.query_params.get("cursor")) or 0
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            raise BadRequest("Invalid cursor")
        page = service.list_requests(ctx, repo, status, after=after, limit=service.PAGE)
        more = page.next_after is not None
        headers = next_link(request, ctx.base_url, page.next_after) if more else None
        return json_response(page.items, headers=headers)


for _status in ACCESS_STATUSES:
    _list_route(_status)


@router.post(_BASE + "/handle")
async def handle_request(
    repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep
) -> Response:
    raw = await request.body()

    def run() -> None:
        repo = _repo(ctx, repo_type, namespace, name)
        body = parse_body(HandleBody, raw)
        service.handle_request(
            ctx,
            repo,
            user=body.user,
            request_id=body.requestId,
            status=body.status,
            reason=body.rejectionReason,
        )

    await run_in_threadpool(run)
    return json_response({})


@router.post(_BASE + "/grant")
async def grant_access(
    repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep
) -> Response:
    raw = await request.body()

    def run() -> None:
        repo = _repo(ctx, repo_type, namespace, name)
        service.grant_access(ctx, repo, parse_body(GrantBody, raw).user)

    await run_in_threadpool(run)
    # The client returns `r.json()`: the answer must be JSON.
    return json_response({})
