"""The audit log API: site admins read the whole log, org admins their organization's."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from starlette.responses import Response

from commonshub.accounts.permissions import HUB, Namespace, allowed
from commonshub.accounts.service import org_by_name
from commonshub.dependencies import ContextDep, Segment
from commonshub.errors import BadRequest
from commonshub.events import service
from commonshub.hub import Context
from commonshub.pagination import decode_cursor, next_link
from commonshub.repos.service import refusal
from commonshub.responses import json_response

router = APIRouter()


def _query(request: Request, namespace_id: int | None) -> service.EventQuery:
    params = request.query_params
    if any("\x00" in value for value in params.values()):
        raise BadRequest("Query parameters must not contain NUL characters")
    before = decode_cursor(params.get("cursor"))
    if before is not None and not isinstance(before, int):
        raise BadRequest("Invalid cursor")
    try:
        limit = int(params.get("limit", "100"))
        since = datetime.fromisoformat(params["since"]) if params.get("since") else None
    except ValueError as exc:
        raise BadRequest("limit must be an integer and since an ISO 8601 date") from exc
    return service.EventQuery(
        namespace_id=namespace_id,
        tag=params.get("type"),
        actor=params.get("actor"),
        before_id=before,
        since=since,
        limit=limit,
    )


def _page(request: Request, ctx: Context, query: service.EventQuery) -> Response:
    page, cursor = service.query(ctx.session, query)
    headers = next_link(request, ctx.base_url, cursor) if cursor is not None else None
    return json_response(page, headers=headers)


@router.get("/api/admin/events")
def hub_events(request: Request, ctx: ContextDep) -> Response:
    if not allowed(ctx.identity, "hub:admin", HUB):
        raise refusal(ctx, "read the audit log")
    return _page(request, ctx, _query(request, None))


@router.get("/api/organizations/{org}/events")
def org_events(org: Segment, request: Request, ctx: ContextDep) -> Response:
    organization = org_by_name(ctx.session, org)
    if not allowed(ctx.identity, "org:manage", Namespace(organization.id)):
        raise refusal(ctx, f"read the audit log of {organization.name}")
    return _page(request, ctx, _query(request, organization.id))
