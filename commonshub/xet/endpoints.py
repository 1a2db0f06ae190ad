"""Xet routes: the hub's token routes (§1.8) and the CAS API on the hub's own origin (§1.7).

The CAS lives at `/cas/{generation}/…` (xet.service.cas_url). Its routes authenticate with the
CAS token, not the hub token, and manage their own short transactions: a 64 MiB xorb is received
and validated before any transaction begins, so no lock is held while bytes arrive or hash.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from commonshub.accounts.permissions import allowed
from commonshub.dependencies import ContextDep, Segment, get_hub, public_base_url, query_bool, query_list
from commonshub.errors import BadRequest, Forbidden, NotFound, RangeNotSatisfiable
from commonshub.hub import Context, Hub
from commonshub.models import Repo
from commonshub.repos import service as repos
from commonshub.responses import json_response, send_file_range
from commonshub.uploads.service import PR_REF, require_upload
from commonshub.xet import format, service
from commonshub.xet.service import CasToken

router = APIRouter()


# --- hub token routes (§1.8) ---


def _token_response(ctx: Context, repo: Repo, scope: service.Scope) -> Response:
    hub = ctx.hub
    expires = int(time.time()) + hub.settings.xet_token_ttl
    token = service.issue_token(hub.secret, CasToken(repo.id, scope, ctx.identity.token_id, expires))
    cas = service.cas_url(hub, ctx.base_url)
    # The Python side of the client reads the headers, the Rust side the body: both are sent.
    return json_response(
        {"casUrl": cas, "accessToken": token, "exp": expires},
        headers={"X-Xet-Cas-Url": cas, "X-Xet-Access-Token": token, "X-Xet-Token-Expiration": str(expires)},
    )


@router.get("/api/{repo_type:repotype}/{namespace}/{name}/xet-read-token/{revision}")
def xet_read_token(
    repo_type: str, namespace: Segment, name: Segment, revision: Segment, ctx: ContextDep
) -> Response:
    repo = repos.find_repo(ctx, repos.TYPE_BY_PLURAL[repo_type], namespace, name)
    repos.require_content(ctx, repo)
    repos.resolve_revision(repos.open_git(ctx, repo), revision)
    return _token_response(ctx, repo, "read")


@router.get("/api/{repo_type:repotype}/{namespace}/{name}/xet-write-token/{revision}")
def xet_write_token(
    repo_type: str, namespace: Segment, name: Segment, revision: Segment, request: Request, ctx: ContextDep
) -> Response:
    repo = repos.find_repo(ctx, repos.TYPE_BY_PLURAL[repo_type], namespace, name)
    # For a new pull request the client sends the literal revision "None" (spec §1.8).
    for_pr = query_bool(request, "create_pr") or PR_REF.fullmatch(revision) is not None
    require_upload(ctx, repo, for_pr=for_pr)
    return _token_response(ctx, repo, "write" if allowed(ctx.identity, "repo:write", repo) else "pr")


# --- the CAS (§1.7) ---

_CAS = "/cas/{generation}"


def _token(hub: Hub, request: Request, generation: str) -> CasToken:
    if generation != service.generation(hub):
        raise NotFound("This CAS URL is from storage that was replaced; ask the hub for a new token")
    return service.read_token(hub.secret, request.headers.get("authorization"))


async def _body(request: Request, limit: int) -> bytes:
    """The whole body, refused with a 400 (as the client expects of bad input: no retry) past `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(f"The body may have at most {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequest(f"The body may have at most {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _prefix(prefix: str) -> None:
    if prefix != service.XORB_PREFIX:
        raise NotFound(f"Unknown prefix {prefix!r}; xorbs live under {service.XORB_PREFIX!r}")


@router.post(_CAS + "/v1/xorb-grants/{prefix}/{xorb}")
def xorb_grant(generation: str, prefix: str, xorb: str) -> Response:
    # Grants let a client upload straight to object storage; here the hub receives xorbs itself.
    # A 404 is the documented way to decline: the client then posts the xorb (spec §1.7 #1).
    raise NotFound("Upload grants are not offered; post the xorb to /v1/xorbs")


@router.post(_CAS + "/v1/xorbs/{prefix}/{xorb}")
async def upload_xorb(generation: str, prefix: str, xorb: str, request: Request) -> Response:
    hub = get_hub(request)
    token = _token(hub, request, generation)
    _prefix(prefix)
    service.parse_hash(xorb)

    def check() -> None:
        with hub.db.unit_of_work() as uow:
            service.authorize(uow.session, token, upload=True)

    await run_in_threadpool(check)
    data = await _body(request, format.MAX_XORB_SERIALIZED_BYTES)
    index = await run_in_threadpool(service.validate_xorb, xorb, data)

    def store() -> bool:
        with hub.db.unit_of_work(write=True) as uow:
            return service.store_xorb(hub, uow.session, xorb, data, index)

    return json_response({"was_inserted": await run_in_threadpool(store)})


@router.head(_CAS + "/v1/xorbs/{prefix}/{xorb}")
def xorb_info(generation: str, prefix: str, xorb: str, request: Request) -> Response:
    hub = get_hub(request)
    token = _token(hub, request, generation)
    _prefix(prefix)
    service.parse_hash(xorb)
    with hub.db.unit_of_work() as uow:
        service.authorize(uow.session, token, upload=False, content=False)  # uploads ask it
        size = service.stored_xorb_size(uow.session, xorb)
    if size is None:
        raise NotFound(f"Xorb {xorb} not found")
    return Response(headers={"Content-Length": str(size)})


async def _register(request: Request, generation: str) -> service.Registered:
    hub = get_hub(request)
    token = _token(hub, request, generation)
    data = await _body(request, format.MAX_SHARD_BYTES)

    def register() -> service.Registered:
        with hub.db.unit_of_work(write=True) as uow:
            repo = service.authorize(uow.session, token, upload=True)
            return service.register_shard(hub, uow.session, token, repo, data)

    return await run_in_threadpool(register)


@router.post(_CAS + "/v1/shards")
async def upload_shard(generation: str, request: Request) -> Response:
    registered = await _register(request, generation)
    return json_response({"result": 1 if registered.new else 0})


@router.post(_CAS + "/v2/shards")
async def upload_shard_v2(generation: str, request: Request) -> Response:
    """The streamed form: progress events, then the result. Validation takes milliseconds here,
    so it happens before the answer starts, and a bad shard gets an ordinary 400."""
    registered = await _register(request, generation)
    events = [
        {"type": "validating", "verified": 1, "total": 1},
        {"type": "committing", "stage": "syncing"},
        {"type": "result", "result": 1 if registered.new else 0},
    ]
    body = b"".join(orjson.dumps(e) + b"\n" for e in events)
    return Response(body, media_type="application/x-ndjson")


@router.get(_CAS + "/v1/chunks/{prefix}/{chunk}")
def dedup_query(generation: str, prefix: str, chunk: str, request: Request) -> Response:
    hub = get_hub(request)
    token = _token(hub, request, generation)
    if prefix not in service.DEDUP_PREFIXES:
        raise NotFound(f"Unknown prefix {prefix!r}")
    with hub.db.unit_of_work() as uow:
        service.authorize(uow.session, token, upload=False, content=False)  # uploads ask it
        shard = service.dedup_shard(uow.session, chunk)
    if shard is None:
        raise NotFound("No stored chunk has this hash")
    return Response(shard, media_type="application/octet-stream")


_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def _file_range(request: Request) -> tuple[int, int] | None:
    header = request.headers.get("range")
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise BadRequest(f"Unsupported Range {header!r}: expected bytes=start-end")
    start = int(match[1])
    end = int(match[2]) if match[2] else 2**63
    if end < start:
        raise BadRequest(f"Invalid Range {header!r}")
    return start, end


def _reconstruction(request: Request, generation: str, file_id: str, version: int) -> Response:
    hub = get_hub(request)
    token = _token(hub, request, generation)
    byte_range = _file_range(request)
    with hub.db.unit_of_work() as uow:
        repo = service.authorize(uow.session, token, upload=False)
        recipe = service.readable_recipe(uow.session, repo, file_id)
        if recipe.size == 0:
            if byte_range is not None:
                raise RangeNotSatisfiable(0)
            return json_response(
                {"offset_into_first_range": 0, "terms": [], "xorbs" if version == 2 else "fetch_info": {}}
            )
        the_plan, indexes = service.plan_range(uow.session, recipe, byte_range)
    cas = service.cas_url(hub, public_base_url(hub, request))
    expires = int(time.time()) + hub.settings.xet_url_ttl
    build = service.reconstruction_v2 if version == 2 else service.reconstruction_v1
    return json_response(build(hub.secret, cas, the_plan, indexes, expires))


@router.get(_CAS + "/v2/reconstructions/{file_id}")
def reconstruction_v2(generation: str, file_id: str, request: Request) -> Response:
    return _reconstruction(request, generation, file_id, 2)


@router.get(_CAS + "/v1/reconstructions/{file_id}")
def reconstruction_v1(generation: str, file_id: str, request: Request) -> Response:
    return _reconstruction(request, generation, file_id, 1)


def _batch(request: Request, generation: str, file_ids: list[str]) -> Response:
    hub = get_hub(request)
    token = _token(hub, request, generation)
    if len(file_ids) > 1000:
        raise BadRequest("At most 1000 files per batch")
    cas = service.cas_url(hub, public_base_url(hub, request))
    expires = int(time.time()) + hub.settings.xet_url_ttl
    files: dict[str, Any] = {}
    fetch_info: dict[str, list[Any]] = {}
    with hub.db.unit_of_work() as uow:
        repo = service.authorize(uow.session, token, upload=False)
        for file_id in dict.fromkeys(file_ids):
            recipe = service.readable_recipe(uow.session, repo, file_id)
            if recipe.size == 0:
                files[file_id] = []
                continue
            the_plan, indexes = service.plan_range(uow.session, recipe, None)
            answer = service.reconstruction_v1(hub.secret, cas, the_plan, indexes, expires)
            files[file_id] = answer["terms"]
            for xorb, entries in answer["fetch_info"].items():
                known = fetch_info.setdefault(xorb, [])
                known.extend(e for e in entries if e not in known)
    return json_response({"files": files, "fetch_info": fetch_info})


@router.get(_CAS + "/v1/reconstructions")
def batch_reconstruction(generation: str, request: Request) -> Response:
    return _batch(request, generation, query_list(request, "file_id"))


@router.post(_CAS + "/v1/reconstructions")
async def batch_reconstruction_post(generation: str, request: Request) -> Response:
    try:
        body = orjson.loads(await _body(request, 1024 * 1024))
    except orjson.JSONDecodeError as exc:
        raise BadRequest("The body is not valid JSON") from exc
    if not isinstance(body, list):
        raise BadRequest('Expected a JSON list of {"prefix": "default", "hash": …}')
    ids: list[str] = []
    for item in body:
        value = item.get("hash") if isinstance(item, dict) else item
        if not isinstance(value, str):
            raise BadRequest("Each entry needs a file hash")
        ids.append(value)
    return await run_in_threadpool(_batch, request, generation, ids)


@router.head(_CAS + "/v1/files/{file_id}")
def file_info(generation: str, file_id: str, request: Request) -> Response:
    hub = get_hub(request)
    token = _token(hub, request, generation)
    with hub.db.unit_of_work() as uow:
        repo = service.authorize(uow.session, token, upload=False)
        recipe = service.readable_recipe(uow.session, repo, file_id)
    return Response(headers={"Content-Length": str(recipe.size)})


@router.post(_CAS + "/v1/telemetry")
async def telemetry(generation: str, request: Request) -> Response:
    await _body(request, 1024 * 1024)  # read and dropped: the hub keeps no client telemetry
    return json_response({})


# --- signed xorb ranges (§1.7 #8): no token, the URL authorises itself ---


def _requested_ranges(header: str | None, allowed: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The inclusive ranges a fetch asks for: each must lie inside one signed range (the client
    may fetch a multi-range URL's ranges one at a time)."""
    if not header:
        return allowed
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or not spec:
        raise BadRequest(f"Unsupported Range {header!r}")
    wanted = []
    for part in spec.split(","):
        a, sep, b = part.strip().partition("-")
        if not sep or not a.isdigit() or not b.isdigit() or int(b) < int(a):
            raise BadRequest(f"Unsupported Range {header!r}: expected bytes=start-end[,start-end]")
        wanted.append((int(a), int(b)))
    for lo, hi in wanted:
        if not any(a <= lo and hi <= b for a, b in allowed):
            raise Forbidden(f"Range {lo}-{hi} is outside what this URL allows")
    return wanted


@router.get(_CAS + "/fetch/{xorb}")
def fetch_xorb(generation: str, xorb: str, request: Request) -> Response:
    hub = get_hub(request)
    if generation != service.generation(hub):
        raise NotFound("This xorb URL is from storage that was replaced")
    allowed = service.check_fetch(hub.secret, xorb, dict(request.query_params))
    ranges = _requested_ranges(request.headers.get("range"), allowed)
    path = hub.xorbs.local_path(xorb)
    size = hub.xorbs.size(xorb)
    if path is None or size is None:
        raise NotFound(f"Xorb {xorb} is missing from storage")
    if any(hi >= size for _, hi in ranges):
        raise RangeNotSatisfiable(size)
    return XorbRangesResponse(path, size, ranges)


class XorbRangesResponse(Response):
    """206 with one range, or `multipart/byteranges` with several, streamed from the file."""

    def __init__(self, path: Any, size: int, ranges: list[tuple[int, int]]) -> None:
        super().__init__(status_code=206)
        self.path, self.size, self.ranges = path, size, ranges
        self.boundary = secrets.token_hex(12)
        if len(ranges) == 1:
            lo, hi = ranges[0]
            self.parts: list[bytes] = []
            length = hi - lo + 1
            self.headers["Content-Range"] = f"bytes {lo}-{hi}/{size}"
            self.headers["Content-Type"] = "application/octet-stream"
        else:
            self.parts = [
                (
                    f"\r\n--{self.boundary}\r\nContent-Type: application/octet-stream\r\n"
                    f"Content-Range: bytes {lo}-{hi}/{size}\r\n\r\n"
                ).encode()
                for lo, hi in ranges
            ]
            self.closing = f"\r\n--{self.boundary}--\r\n".encode()
            length = (
                sum(len(p) for p in self.parts) + sum(hi - lo + 1 for lo, hi in ranges) + len(self.closing)
            )
            self.headers["Content-Type"] = f"multipart/byteranges; boundary={self.boundary}"
        self.headers["Content-Length"] = str(length)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if len(self.ranges) == 1:
            lo, hi = self.ranges[0]
            await send_file_range(self.path, lo, hi + 1, send)
            return
        for part, (lo, hi) in zip(self.parts, self.ranges, strict=True):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await send_file_range(self.path, lo, hi + 1, send, last=False)
        await send({"type": "http.response.body", "body": self.closing, "more_body": False})
