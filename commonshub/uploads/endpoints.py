"""Upload routes: preupload, commit, and the Git LFS batch API with its signed transfer URLs."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from commonshub.dependencies import ContextDep, Segment, query_bool
from commonshub.errors import BadRequest, RepoNotFound
from commonshub.hub import Context
from commonshub.pagination import decode_cursor, next_link
from commonshub.repos import service as repos
from commonshub.responses import json_response
from commonshub.uploads import ndjson, service

router = APIRouter()

LFS_MEDIA_TYPE = "application/vnd.git-lfs+json"
LFS_FILES_PAGE = 1000


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise BadRequest("The body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object")
    return data


def _repo(ctx: Context, repo_type: str, namespace: str, name: str) -> Any:
    return repos.find_repo(ctx, repos.TYPE_BY_PLURAL[repo_type], namespace, name)


@router.post("/api/{repo_type:repotype}/{namespace}/{name}/preupload/{revision}")
async def preupload(
    repo_type: str, namespace: Segment, name: Segment, revision: Segment, request: Request, ctx: ContextDep
) -> Response:
    body = await _json_body(request)
    files = body.get("files")
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise BadRequest("`files` must be a list of {path, size, sample}")
    if len(files) > 1000:
        raise BadRequest("At most 1000 files per preupload request")
    git_ignore = body.get("gitIgnore")

    def run() -> list[dict[str, Any]]:
        repo = _repo(ctx, repo_type, namespace, name)
        return service.preupload(
            ctx,
            repo,
            revision,
            files,
            git_ignore if isinstance(git_ignore, str) else None,
            create_pr=query_bool(request, "create_pr"),
        )

    return json_response({"files": await run_in_threadpool(run)})


@router.post("/api/{repo_type:repotype}/{namespace}/{name}/commit/{revision}")
async def commit(
    repo_type: str, namespace: Segment, name: Segment, revision: Segment, request: Request, ctx: ContextDep
) -> Response:
    # The body is read in full before the transaction begins (see dependencies.py).
    payload = await ndjson.parse_commit(request.stream(), ctx.hub.staging)
    create_pr = query_bool(request, "create_pr")

    def run() -> tuple[service.CommitResult, str]:
        repo = _repo(ctx, repo_type, namespace, name)
        result = service.commit(ctx, repo, revision, payload, create_pr=create_pr)
        return result, repos.repo_url(ctx.base_url, repo)

    try:
        result, repo = await run_in_threadpool(run)
    finally:
        payload.discard()
    body: dict[str, Any] = {
        "success": True,
        "commitOid": result.commit,
        "commitUrl": f"{repo}/commit/{result.commit}",
        "hookOutput": "",
    }
    if result.pr_num is not None:
        body["pullRequestUrl"] = f"{repo}/discussions/{result.pr_num}"
    return json_response(body)


# --- Git LFS (§4.6) ---


def _lfs_batch_route(prefix: str, repo_type: str) -> None:
    @router.post(f"{prefix}/{{namespace}}/{{name}}.git/info/lfs/objects/batch", name=f"lfs_batch_{repo_type}")
    async def batch(namespace: Segment, name: Segment, request: Request, ctx: ContextDep) -> Response:
        body = await _json_body(request)
        ref = body.get("ref", {}).get("name") if isinstance(body.get("ref"), dict) else None
        lfs_base = f"{ctx.base_url}{prefix}/{namespace}/{name}.git/info/lfs/objects"

        def run() -> dict[str, Any]:
            repo = repos.find_repo(ctx, repo_type, namespace, name)
            return service.lfs_batch(ctx, repo, body.get("operation"), body.get("objects"), ref, lfs_base)

        return json_response(await run_in_threadpool(run), headers={"Content-Type": LFS_MEDIA_TYPE})

    @router.post(
        f"{prefix}/{{namespace}}/{{name}}.git/info/lfs/objects/verify", name=f"lfs_verify_{repo_type}"
    )
    async def verify(namespace: Segment, name: Segment, request: Request, ctx: ContextDep) -> Response:
        body = await _json_body(request)

        def run() -> None:
            repo = repos.find_repo(ctx, repo_type, namespace, name)
            service.verify(ctx, repo, body.get("oid"), body.get("size"))

        await run_in_threadpool(run)
        return json_response({}, headers={"Content-Type": LFS_MEDIA_TYPE})


for _prefix, _type in (("", "model"), ("/datasets", "dataset"), ("/spaces", "space")):
    _lfs_batch_route(_prefix, _type)


@router.put("/api/lfs/{repo_id}/{oid}")
async def upload_object(repo_id: int, oid: str, request: Request, ctx: ContextDep) -> Response:
    """A basic transfer: the whole object in one PUT, authorised by the URL's signature."""
    grant = service.check_grant(ctx.hub.secret, repo_id, oid, dict(request.query_params))
    staged = await ctx.hub.staging.receive(request.stream(), limit=grant.size)
    await run_in_threadpool(service.store_upload, ctx, grant, staged)
    return json_response({})


@router.put("/api/lfs/{repo_id}/{oid}/{part}")
async def upload_part(repo_id: int, oid: str, part: int, request: Request, ctx: ContextDep) -> Response:
    """One part of a multipart transfer, written in place; its ETag is checked at completion."""
    grant = service.check_grant(ctx.hub.secret, repo_id, oid, dict(request.query_params))
    etag = await service.receive_part(ctx, grant, part, request.stream())
    return Response(status_code=200, headers={"ETag": f'"{etag}"'})


@router.post("/api/lfs/{repo_id}/{oid}")
async def complete_upload(repo_id: int, oid: str, request: Request, ctx: ContextDep) -> Response:
    """The end of a multipart transfer: every part present, the whole checked and stored."""
    grant = service.check_grant(ctx.hub.secret, repo_id, oid, dict(request.query_params))
    body = await _json_body(request)
    if body.get("oid") != oid:
        raise BadRequest("The completion is for another object")
    await run_in_threadpool(service.complete_multipart, ctx, grant, body.get("parts"))
    return json_response({}, headers={"Content-Type": LFS_MEDIA_TYPE})


@router.get("/api/{repo_type:repotype}/{namespace}/{name}/lfs-files")
def list_lfs_files(
    repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep
) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    files = service.list_lfs_files(ctx, repo)
    offset = decode_cursor(request.query_params.get("cursor")) or 0
    if not isinstance(offset, int) or offset < 0:
        raise BadRequest("Invalid cursor")
    page = files[offset : offset + LFS_FILES_PAGE]
    more = offset + LFS_FILES_PAGE < len(files)
    return json_response(
        page, headers=next_link(request, ctx.base_url, offset + LFS_FILES_PAGE) if more else None
    )


@router.post("/api/{repo_type:repotype}/{namespace}/{name}/lfs-files/batch")
async def delete_lfs_files(
    repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep
) -> Response:
    body = await _json_body(request)
    deletions = body.get("deletions")
    if not isinstance(deletions, dict):
        raise BadRequest('Expected {"deletions": {"sha": [...], "rewriteHistory": bool}}')

    def run() -> None:
        repo = _repo(ctx, repo_type, namespace, name)
        service.delete_lfs_files(
            ctx, repo, deletions.get("sha"), rewrite_history=bool(deletions.get("rewriteHistory", False))
        )

    await run_in_threadpool(run)
    return json_response({})


@router.post("/api/{repo_type:repotype}/{namespace}/{name}/lfs-files/duplicate")
async def duplicate_lfs_files(
    repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep
) -> Response:
    """Cross-repo copies: the source repo is in the path, the target in the body."""
    body = await _json_body(request)
    target = body.get("target")
    if not isinstance(target, dict) or not isinstance(target.get("name"), str):
        raise BadRequest('Expected {"target": {"type": …, "name": "namespace/name"}, "files": [...]}')
    target_type = target.get("type") or "model"
    if target_type not in ("model", "dataset", "space"):
        raise BadRequest(f"Invalid target type {target_type!r}: use model, dataset or space")
    target_namespace, sep, target_name = target["name"].partition("/")
    if not sep:
        raise BadRequest("The target name must be namespace/name")

    def run() -> list[dict[str, str]]:
        source = _repo(ctx, repo_type, namespace, name)
        try:
            destination = repos.find_repo(ctx, target_type, target_namespace, target_name)
        except repos.RepoMoved:  # a redirect would send the same body to the same URL
            raise RepoNotFound(anonymous=ctx.identity.anonymous) from None
        return service.duplicate_lfs_files(ctx, source, destination, body.get("files"))

    failed = await run_in_threadpool(run)
    return json_response({"failed": failed})
