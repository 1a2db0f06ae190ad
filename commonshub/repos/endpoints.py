"""The repo API (specs/hf-protocol.md §3, §5, §6, §9.3, §9.5): JSON routes, and /resolve."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from commonshub.dependencies import ContextDep, Segment, query_bool, query_list
from commonshub.errors import BadRequest, RepoNotFound
from commonshub.hub import Context
from commonshub.pagination import decode_cursor, next_link
from commonshub.replay import Replay
from commonshub.repos import listing, service
from commonshub.repos.cards import MISSING_METADATA, CardError, parse_card
from commonshub.repos.schemas import (
    INFO_PROPERTIES,
    BranchBody,
    CreateRepoBody,
    DeleteRepoBody,
    MoveRepoBody,
    SettingsBody,
    SquashBody,
    TagBody,
    ValidateYamlBody,
    commit_json,
    entry_json,
    render,
)
from commonshub.responses import json_response

router = APIRouter()

TREE_PAGE = 1000
TREE_PAGE_EXPANDED = 50
COMMITS_PAGE = 50


def _type(value: str | None) -> str:
    repo_type = value or "model"
    if repo_type not in ("model", "dataset", "space"):
        raise BadRequest(f"Invalid repo type {repo_type!r}: use model, dataset or space")
    return repo_type


def _repo(ctx: Context, repo_type: str, namespace: str, name: str) -> Any:
    return service.find_repo(ctx, service.TYPE_BY_PLURAL[repo_type], namespace, name)


# --- repo lifecycle ---


def _named_in_body(ctx: Context, repo_type: str, namespace: str, name: str) -> Any:
    """A repo named in a request body. A renamed repo's old name names nothing here: a redirect
    would send the client to the same URL with the same body, round and round."""
    try:
        return service.find_repo(ctx, repo_type, namespace, name)
    except service.RepoMoved:
        raise RepoNotFound(anonymous=ctx.identity.anonymous) from None


@router.post("/api/repos/create")
def create_repo(body: CreateRepoBody, ctx: ContextDep) -> Response:
    private = body.private
    if body.visibility is not None:
        if body.visibility not in ("public", "private", "protected"):  # as in settings: no silent public
            raise BadRequest("visibility must be public, private or protected")
        private = body.visibility in ("private", "protected")
    repo = service.create_repo(
        ctx, _type(body.type), body.organization, body.name, private=bool(private), sdk=body.sdk
    )
    url = service.repo_url(ctx.base_url, repo)
    return json_response({"url": url, "name": repo.repo_id, "id": repo.uid})


@router.delete("/api/repos/delete")
def delete_repo(body: DeleteRepoBody, ctx: ContextDep) -> Response:
    namespace = body.organization or ctx.identity.name
    if namespace is None:
        raise RepoNotFound(anonymous=True)
    repo = _named_in_body(ctx, _type(body.type), namespace, body.name)
    service.delete_repo(ctx, repo)
    return json_response({})


@router.post("/api/repos/move")
def move_repo(body: MoveRepoBody, ctx: ContextDep) -> Response:
    namespace, sep, name = body.fromRepo.partition("/")
    if not sep:
        raise BadRequest(f"Invalid repo id {body.fromRepo!r}: expected namespace/name")
    repo = _named_in_body(ctx, _type(body.type), namespace, name)
    service.move_repo(ctx, repo, body.toRepo)
    return json_response({"url": service.repo_url(ctx.base_url, repo)})


@router.post("/api/validate-yaml")
def validate_yaml(body: ValidateYamlBody, ctx: ContextDep) -> Response:
    try:
        card = parse_card(body.content, _type(body.repoType), max_bytes=ctx.hub.settings.max_card_bytes)
    except CardError as exc:
        return json_response({"errors": [{"message": str(exc)}], "warnings": []}, status_code=400)
    # An empty block (`---\n{}\n---`, what RepoCard writes for a card without data) warns too.
    warnings = [] if card.has_metadata and card.data else [{"message": MISSING_METADATA}]
    return json_response({"errors": [], "warnings": warnings})


# --- listing (§9.5) ---


@router.get("/api/{repo_type:repotype}")
def list_repos(repo_type: str, request: Request, ctx: ContextDep) -> Response:
    params = request.query_params
    try:
        limit = int(params["limit"]) if params.get("limit") else None
    except ValueError as exc:
        raise BadRequest("limit must be an integer") from exc
    query = listing.ListQuery(
        repo_type=service.TYPE_BY_PLURAL[repo_type],
        search=query_list(request, "search"),
        author=params.get("author"),
        filters=query_list(request, "filter"),
        sort=params.get("sort"),
        limit=limit,
        full=query_bool(request, "full"),
        card_data=query_bool(request, "cardData"),
        config=query_bool(request, "config"),
        expand=query_list(request, "expand"),
        gated=params.get("gated"),
        pipeline_tag=params.get("pipeline_tag"),
        ascending=_ascending(params.get("direction")),
        cursor=decode_cursor(params.get("cursor")),
    )
    items, next_cursor = listing.list_repos(ctx, query)
    headers = next_link(request, ctx.base_url, next_cursor) if next_cursor is not None else None
    return json_response(items, headers=headers)


def _ascending(direction: str | None) -> bool:
    if direction in (None, "", "-1"):
        return False
    if direction == "1":
        return True
    raise BadRequest("direction must be -1 (descending, the default) or 1 (ascending)")


# --- one repo ---


def _info(
    ctx: Context, request: Request, repo_type: str, namespace: str, name: str, revision: str
) -> Response:
    def compute() -> Replay[bytes]:
        repo = _repo(ctx, repo_type, namespace, name)
        at = service.at_revision(ctx, repo, revision)
        properties = query_list(request, "expand") or INFO_PROPERTIES[repo.type]
        view = service.repo_view(ctx, repo, at, properties, blobs=query_bool(request, "blobs"))
        body = bytes(json_response(render(view, properties)).body)
        return Replay(body, pin=at.pin, size=len(body))

    path = request.scope["raw_path"].decode("latin-1")
    headers = request.headers
    key = (
        f"{path}?{request.url.query}",
        headers.get("authorization", "").encode("latin-1"),
        headers.get("host", "").encode("latin-1"),
    )
    return Response(ctx.hub.replays.fetch(key, compute), media_type="application/json")


# Repo info is asked before nearly every download and is all index reads and in-memory git
# objects, under a millisecond: it runs on the event loop, which saves a thread hop (bench/), and
# its answers are replayed while they hold (commonshub.replay).
@router.get("/api/{repo_type:repotype}/{namespace}/{name}")
async def repo_info(
    repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep
) -> Response:
    return _info(ctx, request, repo_type, namespace, name, "main")


@router.get("/api/{repo_type:repotype}/{namespace}/{name}/revision/{revision}")
async def repo_info_at(
    repo_type: str, namespace: Segment, name: Segment, revision: Segment, request: Request, ctx: ContextDep
) -> Response:
    return _info(ctx, request, repo_type, namespace, name, revision)


@router.get("/api/{repo_type:repotype}/{name}")
def repo_without_namespace(repo_type: str, name: str, ctx: ContextDep) -> Response:
    # Every repo here has a namespace; `gpt2`-style ids name nothing, and clients expect RepoNotFound.
    raise RepoNotFound(anonymous=ctx.identity.anonymous)


@router.put("/api/{repo_type:repotype}/{namespace}/{name}/settings")
def repo_settings(
    repo_type: str, namespace: Segment, name: Segment, body: SettingsBody, ctx: ContextDep
) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    private = body.private
    if body.visibility is not None:
        if body.visibility not in ("public", "private", "protected"):
            raise BadRequest("visibility must be public, private or protected")
        private = body.visibility != "public"
    service.update_settings(ctx, repo, private=private, gated=body.gated)
    return json_response({"private": repo.private, "gated": repo.gated or False})


@router.get("/api/{repo_type:repotype}/{namespace}/{name}/auth-check")
def auth_check(repo_type: str, namespace: Segment, name: Segment, ctx: ContextDep) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    service.require_content(ctx, repo)
    return json_response({"ok": True})


@router.get("/api/{repo_type:repotype}/{namespace}/{name}/auth-check/write")
def auth_check_write(repo_type: str, namespace: Segment, name: Segment, ctx: ContextDep) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    service.require_write(ctx, repo)
    return json_response({"ok": True})


# --- files and history (§6) ---


def _tree(
    ctx: Context, request: Request, repo_type: str, namespace: str, name: str, revision: str, path: str
) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    at = service.at_revision(ctx, repo, revision)
    entries = service.tree(ctx, at, path.strip("/"), recursive=query_bool(request, "recursive"))
    expand = query_bool(request, "expand")
    page = TREE_PAGE_EXPANDED if expand else TREE_PAGE
    offset = _offset(request)
    chunk = entries[offset : offset + page]
    last = at.git.last_commits(at.commit, [e.path for e in chunk]) if expand else {}
    xet_hashes = service.xet_hashes(ctx, repo, (e.lfs.oid for e in chunk if e.lfs is not None))
    body = [entry_json(e, last.get(e.path), xet_hashes) for e in chunk]
    more = offset + page < len(entries)
    headers = next_link(request, ctx.base_url, offset + page) if more else None
    return json_response(body, headers=headers)


def _offset(request: Request) -> int:
    cursor = decode_cursor(request.query_params.get("cursor"))
    if cursor is None:
        return 0
    if not isinstance(cursor, int) or cursor < 0:
        raise BadRequest("Invalid cursor")
    return cursor


@router.get("/api/{repo_type:repotype}/{namespace}/{name}/tree/{revision}")
def tree_root(
    repo_type: str, namespace: Segment, name: Segment, revision: Segment, request: Request, ctx: ContextDep
) -> Response:
    return _tree(ctx, request, repo_type, namespace, name, revision, "")


@router.get("/api/{repo_type:repotype}/{namespace}/{name}/tree/{revision}/{path:path}")
def tree_path(
    repo_type: str,
    namespace: Segment,
    name: Segment,
    revision: Segment,
    path: Segment,
    request: Request,
    ctx: ContextDep,
) -> Response:
    return _tree(ctx, request, repo_type, namespace, name, revision, path)


@router.post("/api/{repo_type:repotype}/{namespace}/{name}/paths-info/{revision}")
async def paths_info(
    repo_type: str, namespace: Segment, name: Segment, revision: Segment, request: Request, ctx: ContextDep
) -> Response:
    paths, expand = await _paths_info_body(request)
    repo = _repo(ctx, repo_type, namespace, name)
    at = service.at_revision(ctx, repo, revision)
    entries = [e for p in dict.fromkeys(paths) if (e := at.git.entry(at.commit, p.strip("/"))) and e.path]
    last = at.git.last_commits(at.commit, [e.path for e in entries]) if expand else {}
    xet_hashes = service.xet_hashes(ctx, repo, (e.lfs.oid for e in entries if e.lfs is not None))
    return json_response([entry_json(e, last.get(e.path), xet_hashes) for e in entries])


async def _paths_info_body(request: Request) -> tuple[list[str], bool]:
    """Paths and `expand`, from a form (the Python client) or JSON (other clients)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = orjson.loads(await request.body())  # unlike json, it refuses lone surrogates
        except ValueError as exc:
            raise BadRequest("The body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise BadRequest("Expected a JSON object with `paths`")
        paths, expand = data.get("paths", []), bool(data.get("expand", False))
    else:
        # A urlencoded form, parsed here: Starlette's form parser needs python-multipart, which
        # the hub does not otherwise depend on.
        form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        paths = form.get("paths", []) + form.get("paths[]", [])
        expand = form.get("expand", ["false"])[-1].lower() in ("1", "true")
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise BadRequest("`paths` must be a list of strings")
    if len(paths) > 1000:
        raise BadRequest("At most 1000 paths per request")
    return paths, expand


@router.get("/api/{repo_type:repotype}/{namespace}/{name}/commits/{revision}")
def commits(
    repo_type: str, namespace: Segment, name: Segment, revision: Segment, request: Request, ctx: ContextDep
) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    at = service.at_revision(ctx, repo, revision)
    offset = _offset(request)
    try:
        limit = min(int(request.query_params.get("limit", COMMITS_PAGE)), 1000)
    except ValueError as exc:
        raise BadRequest("limit must be an integer") from exc
    if limit < 1:  # an empty page would link to itself: a client following Link would loop forever
        raise BadRequest("limit must be at least 1")
    page, total = service.history(at, offset=offset, limit=limit)
    formatted = "formatted" in query_list(request, "expand")
    headers = next_link(request, ctx.base_url, offset + limit) if offset + limit < total else None
    return json_response([commit_json(c, formatted=formatted) for c in page], headers=headers)


@router.get("/api/{repo_type:repotype}/{namespace}/{name}/refs")
def refs(repo_type: str, namespace: Segment, name: Segment, request: Request, ctx: ContextDep) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    return json_response(service.list_refs(ctx, repo, include_prs=query_bool(request, "include_prs")))


@router.post("/api/{repo_type:repotype}/{namespace}/{name}/branch/{branch}")
def create_branch(
    repo_type: str,
    namespace: Segment,
    name: Segment,
    branch: Segment,
    ctx: ContextDep,
    body: BranchBody | None = None,
) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    service.create_branch(ctx, repo, branch, body.startingPoint if body else None)
    return json_response({})


@router.delete("/api/{repo_type:repotype}/{namespace}/{name}/branch/{branch}")
def delete_branch(
    repo_type: str, namespace: Segment, name: Segment, branch: Segment, ctx: ContextDep
) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    service.delete_branch(ctx, repo, branch)
    return json_response({})


@router.post("/api/{repo_type:repotype}/{namespace}/{name}/tag/{revision}")
def create_tag(
    repo_type: str, namespace: Segment, name: Segment, revision: Segment, body: TagBody, ctx: ContextDep
) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    service.create_tag(ctx, repo, revision, body.tag, body.message)
    return json_response({})


@router.delete("/api/{repo_type:repotype}/{namespace}/{name}/tag/{tag}")
def delete_tag(repo_type: str, namespace: Segment, name: Segment, tag: Segment, ctx: ContextDep) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    service.delete_tag(ctx, repo, tag)
    return json_response({})


@router.post("/api/{repo_type:repotype}/{namespace}/{name}/super-squash/{branch}")
def super_squash(
    repo_type: str,
    namespace: Segment,
    name: Segment,
    branch: Segment,
    ctx: ContextDep,
    body: SquashBody | None = None,
) -> Response:
    repo = _repo(ctx, repo_type, namespace, name)
    sha = service.super_squash(ctx, repo, branch, body.message if body else None)
    return json_response({"commitId": sha})


# --- downloads (§5): /resolve is repos.resolve.Resolver, ahead of the router (app.FrontDoor) ---


@router.api_route("/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
def resolve_without_namespace(name: str, revision: str, path: str, ctx: ContextDep) -> Response:
    raise RepoNotFound(anonymous=ctx.identity.anonymous)
