"""Uploads: preupload, the commit, and the Git LFS batch API (specs/hf-protocol.md §4).

A commit is applied whole or not at all: its objects are written first (orphans are harmless),
then, under the repo lock, one ref move publishes it with the database rows (repos.service).
LFS bytes are received into staging, hashed on the way, and enter the blob store only after their
size and SHA-256 match what the client announced.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload

from commonshub.accounts.permissions import allowed
from commonshub.community import service as community
from commonshub.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PreconditionFailed,
    RevisionNotFound,
    Unprocessable,
)
from commonshub.gitstore import (
    Change,
    DeleteFolder,
    DeletePath,
    GitRepo,
    PutFile,
    format_pointer,
    is_valid_ref_name,
)
from commonshub.hub import Context
from commonshub.models import Blob, LfsObject, Repo, utcnow
from commonshub.repos import service as repos
from commonshub.repos.cards import CardError, parse_card
from commonshub.responses import format_date
from commonshub.storage import Staged
from commonshub.uploads import ndjson
from commonshub.uploads.patterns import is_ignored, is_lfs

PR_REF = re.compile(r"refs/pr/(\d+)")
# The most parts one multipart upload may have (S3's own limit).
MAX_PARTS = 10_000
_SHA256 = re.compile(r"[0-9a-f]{64}")


# --- who may upload ---


def require_upload(ctx: Context, repo: Repo, *, for_pr: bool) -> None:
    """Writers upload anywhere; anyone who may discuss the repo may upload for a pull request."""
    if for_pr and allowed(ctx.identity, "repo:discuss", repo):
        return
    repos.require_write(ctx, repo)


def _may_commit_to_pr(ctx: Context, repo: Repo, ref: str) -> bool:
    """The author of a pull request may push to it, as its writers may."""
    match = PR_REF.fullmatch(ref)
    if match is None or int(match[1]) > community.MAX_NUM:
        return False
    pr = community.pull_request(ctx, repo, int(match[1]))
    return (
        pr is not None
        and pr.author_id is not None
        and pr.author_id == ctx.identity.user_id
        and allowed(ctx.identity, "repo:discuss", repo)
    )


# --- preupload (§4.2) ---


def _branch_head(git: GitRepo, branch: str) -> str:
    """The head of an existing branch: a pull request's base can be nothing else."""
    ref = branch if branch.startswith("refs/heads/") else f"refs/heads/{branch}"
    head = git.ref_target(ref) if is_valid_ref_name(ref) else None
    if head is None:
        raise RevisionNotFound(branch)
    return head


def _text_at(git: GitRepo, commit: str, path: str) -> str:
    entry = git.entry(commit, path)
    if entry is None or entry.type != "file" or entry.lfs is not None:
        return ""
    return git.read_blob(entry.oid).decode("utf-8", "replace")


def preupload(
    ctx: Context,
    repo: Repo,
    revision: str,
    files: list[dict[str, Any]],
    git_ignore: str | None,
    *,
    create_pr: bool,
) -> list[dict[str, Any]]:
    # The author of a pull request uploads to its ref as they commit to it.
    own_pr = PR_REF.fullmatch(revision) is not None and _may_commit_to_pr(ctx, repo, revision)
    require_upload(ctx, repo, for_pr=create_pr or own_pr)
    git = repos.open_git(ctx, repo)
    commit = _branch_head(git, revision) if create_pr else repos.resolve_revision(git, revision)
    attributes = _text_at(git, commit, ".gitattributes")
    ignore = git_ignore if git_ignore is not None else _text_at(git, commit, ".gitignore")
    threshold = ctx.hub.settings.lfs_size_threshold
    out = []
    for item in files:
        path = ndjson.validate_path(item.get("path"))
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadRequest(f"`size` of {path!r} must be a non-negative integer")
        sample = _sample(item.get("sample"))
        lfs = is_lfs(attributes, path) or size >= threshold or b"\x00" in sample
        mode = "lfs" if lfs else "regular"
        out.append(
            {
                "path": path,
                "uploadMode": mode,
                "shouldIgnore": is_ignored(ignore, path),
                "oid": _remote_oid(git, commit, path, mode),
            }
        )
    return out


def _sample(value: Any) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=True)[:512]
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("`sample` must be base64") from exc


def _remote_oid(git: GitRepo, commit: str, path: str, mode: str) -> str | None:
    """The current file's id in the answered mode, so the client can skip unchanged files."""
    entry = git.entry(commit, path)
    if entry is None or entry.type != "file":
        return None
    if mode == "regular":
        return entry.oid if entry.lfs is None else None
    if entry.lfs is not None:
        return entry.lfs.oid
    return hashlib.sha256(git.read_blob(entry.oid)).hexdigest()


# --- commit (§4.3) ---


@dataclass(frozen=True)
class CommitResult:
    commit: str
    pr_num: int | None


def commit(
    ctx: Context, repo: Repo, revision: str, payload: ndjson.CommitPayload, *, create_pr: bool
) -> CommitResult:
    identity = ctx.identity
    pr_match = PR_REF.fullmatch(revision)
    if create_pr:
        require_upload(ctx, repo, for_pr=True)
    elif not (pr_match and _may_commit_to_pr(ctx, repo, revision)):
        repos.require_write(ctx, repo)
    git = repos.lock_repo(ctx, repo)

    parent: str | None
    ref: str | None
    if create_pr:
        base_head = _branch_head(git, revision)
        parent = payload.header.parent_commit or base_head
        if git.resolve(parent) != parent:
            raise RevisionNotFound(parent)
        ref = None
    else:
        ref = repos.writable_ref(git, revision)
        if pr_match:
            community.check_open_for_commits(ctx, repo, int(pr_match[1]))
        parent = git.ref_target(ref)
        assert parent is not None
        if payload.header.parent_commit and payload.header.parent_commit != parent:
            raise PreconditionFailed()

    changes = _changes(ctx, repo, git, payload)
    assert identity.name is not None
    sha = git.write_commit(
        parent,
        changes,
        title=payload.header.summary,
        message=payload.header.description,
        author=identity.name,
        email=repos.author_email(identity.name),
        when=utcnow(),
    )
    pr_num = None
    if ref is None:
        pr_num = community.next_number(ctx, repo)
        ref = f"refs/pr/{pr_num}"
        repos.move_ref(ctx, repo, git, ref, sha, old=None)
        community.open_from_commit(
            ctx,
            repo,
            pr_num,
            title=payload.header.summary,
            description=payload.header.description,
            commit=sha,
            target=revision if revision.startswith("refs/heads/") else f"refs/heads/{revision}",
        )
    else:
        repos.move_ref(ctx, repo, git, ref, sha, old=parent)
        if pr_match:
            community.record_commit(ctx, repo, int(pr_match[1]), subject=payload.header.summary, commit=sha)
    # One audit event for the write; a pull request it opened is named in it.
    extra = {"pull_request": pr_num} if pr_num is not None else {}
    repos.event(ctx, "repo:commit", repo, ref=ref, commit=sha, operations=len(payload.operations), **extra)
    return CommitResult(commit=sha, pr_num=pr_num)


def _changes(ctx: Context, repo: Repo, git: GitRepo, payload: ndjson.CommitPayload) -> list[Change]:
    changes: list[Change] = []
    for op in payload.operations:
        match op:
            case ndjson.AddFile(path, content, spooled):
                if path == "README.md":
                    _check_card(ctx, repo, content if content is not None else _read(spooled))
                blob = (
                    git.write_blob(content)
                    if content is not None
                    else git.write_blob_from_path(_must(spooled))
                )
                changes.append(PutFile(path, blob))
            case ndjson.AddLfsFile(path, oid, size):
                stored = repos.linked_size(ctx, repo, oid)
                if stored is None:
                    raise Unprocessable(f"LFS object {oid} ({path}) was not uploaded to this repo")
                if size is not None and size != stored:
                    raise Unprocessable(f"LFS object {oid} ({path}) has {stored} bytes, not {size}")
                changes.append(PutFile(path, git.write_blob(format_pointer(oid, stored))))
            case ndjson.DeleteFile(path):
                changes.append(DeletePath(path))
            case ndjson.DeleteFolder(path):
                changes.append(DeleteFolder(path))
    return changes


def _read(path: Path | None) -> bytes:
    return _must(path).read_bytes()


def _must(path: Path | None) -> Path:
    assert path is not None
    return path


def _check_card(ctx: Context, repo: Repo, content: bytes) -> None:
    try:
        parse_card(content.decode("utf-8", "replace"), repo.type, max_bytes=ctx.hub.settings.max_card_bytes)
    except CardError as exc:
        raise BadRequest(str(exc)) from exc


# --- Git LFS batch API (§4.6) ---


def _sign(secret: bytes, *parts: object) -> str:
    message = ":".join(str(p) for p in parts).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class UploadGrant:
    """What a signed upload URL allows: `size` bytes with SHA-256 `oid`, into repo `repo_id`."""

    repo_id: int
    oid: str
    size: int
    chunk: int  # 0 for a single-request upload
    expires: int


def grant_params(ctx: Context, grant: UploadGrant) -> str:
    signature = _sign(ctx.hub.secret, grant.repo_id, grant.oid, grant.size, grant.chunk, grant.expires)
    return urlencode(
        {"size": grant.size, "chunk": grant.chunk, "expires": grant.expires, "signature": signature}
    )


def check_grant(secret: bytes, repo_id: int, oid: str, query: dict[str, str]) -> UploadGrant:
    """The grant a signed URL carries; a 403 if it was altered or has expired."""
    try:
        grant = UploadGrant(repo_id, oid, int(query["size"]), int(query["chunk"]), int(query["expires"]))
        signature = query["signature"]
    except (KeyError, ValueError) as exc:
        raise Forbidden("This upload URL is incomplete") from exc
    expected = _sign(secret, grant.repo_id, grant.oid, grant.size, grant.chunk, grant.expires)
    if not hmac.compare_digest(expected, signature):
        raise Forbidden("This upload URL is not valid")
    if grant.expires < time.time():
        raise Forbidden("This upload URL has expired; ask the batch API for a new one")
    return grant


def lfs_batch(
    ctx: Context, repo: Repo, operation: Any, objects: Any, ref: str | None, lfs_base: str
) -> dict[str, Any]:
    if operation != "upload":
        raise BadRequest("Only the upload operation is supported; download files from /resolve")
    if not isinstance(objects, list) or len(objects) > 1000:
        raise BadRequest("`objects` must be a list of at most 1000 objects")
    # Objects for a pull request (no ref, or refs/pr/N) may come from readers: only a commit
    # makes them visible, and committing checks the rights to that ref.
    require_upload(ctx, repo, for_pr=ref is None or PR_REF.fullmatch(ref) is not None)
    settings = ctx.hub.settings
    expires = int(time.time()) + settings.lfs_upload_url_ttl
    out = []
    for item in objects:
        oid = item.get("oid") if isinstance(item, dict) else None
        size = item.get("size") if isinstance(item, dict) else None
        if not isinstance(oid, str) or not _SHA256.fullmatch(oid):
            out.append(
                {"oid": str(oid), "size": 0, "error": {"code": 422, "message": "oid must be a sha256"}}
            )
            continue
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            out.append({"oid": oid, "size": 0, "error": {"code": 422, "message": "size must be an integer"}})
            continue
        if repos.linked_size(ctx, repo, oid) == size:
            out.append({"oid": oid, "size": size})  # already here: nothing to send
            continue
        chunk = settings.lfs_multipart_chunk_size if size >= settings.lfs_multipart_threshold else 0
        if chunk and math.ceil(size / chunk) > MAX_PARTS:
            # Each part gets its own URL in this answer: an absurd size must not build millions.
            limit = MAX_PARTS * chunk
            out.append({"oid": oid, "size": size, "error": {"code": 422, "message": f"size exceeds {limit}"}})
            continue
        query = grant_params(ctx, UploadGrant(repo.id, oid, size, chunk, expires))
        href = f"{ctx.base_url}/api/lfs/{repo.id}/{oid}?{query}"
        header: dict[str, str] = {}
        if chunk:
            header["chunk_size"] = str(chunk)
            for part in range(1, math.ceil(size / chunk) + 1):
                header[str(part)] = f"{ctx.base_url}/api/lfs/{repo.id}/{oid}/{part}?{query}"
        out.append(
            {
                "oid": oid,
                "size": size,
                "authenticated": True,
                "actions": {
                    "upload": {"href": href, "header": header, "expires_in": settings.lfs_upload_url_ttl},
                    "verify": {"href": f"{lfs_base}/verify", "header": {}},
                },
            }
        )
    return {"transfer": "basic", "objects": out, "hash_algo": "sha256"}


def store_upload(ctx: Context, grant: UploadGrant, staged: Staged) -> None:
    """Move a received upload into the blob store, if it is exactly what was announced."""
    try:
        if staged.size != grant.size:
            raise BadRequest(f"Expected {grant.size} bytes, received {staged.size}")
        if staged.sha256 != grant.oid:
            raise BadRequest(f"The content's sha256 is {staged.sha256}, not {grant.oid}")
        repo = ctx.session.get(Repo, grant.repo_id, options=[joinedload(Repo.namespace)])
        if repo is None:
            raise NotFound("This repository no longer exists")
        ctx.hub.blobs.put_file(grant.oid, staged.path)
        link_object(ctx, repo, grant.oid, grant.size)
    finally:
        staged.discard()


def link_object(ctx: Context, repo: Repo, oid: str, size: int) -> None:
    """Record that `repo` may reference blob `oid` (and that the blob exists)."""
    session = ctx.session
    if session.get(Blob, oid) is None:
        session.add(Blob(oid=oid, size=size))
        session.flush()
    if session.get(LfsObject, (repo.id, oid)) is None:
        session.add(LfsObject(repo_id=repo.id, oid=oid, size=size))
        repos.event(ctx, "repo:lfs:upload", repo, oid=oid, size=size)


def parts_dir(ctx: Context, grant: UploadGrant) -> Path:
    return ctx.hub.staging.root / "parts" / f"{grant.repo_id}-{grant.oid}"


def check_part(grant: UploadGrant, part: int) -> int:
    """The size part `part` of a multipart upload must have."""
    if grant.chunk <= 0:
        raise BadRequest("This upload is not a multipart upload")
    count = math.ceil(grant.size / grant.chunk)
    if not 1 <= part <= count:
        raise BadRequest(f"Part {part} is out of range 1..{count}")
    return min(grant.chunk, grant.size - (part - 1) * grant.chunk)


# A running SHA-256 of each multipart upload's bytes received in order so far, so that completion
# need not read the whole object again. Per process: an upload whose parts arrive out of order,
# or at several worker processes, is hashed once more at completion instead.
_RUNNING: dict[str, tuple[Any, int]] = {}


async def receive_part(ctx: Context, grant: UploadGrant, part: int, chunks: AsyncIterator[bytes]) -> str:
    """Write one part in place, at its offset in the object; returns its ETag."""
    expected = check_part(grant, part)
    directory = parts_dir(ctx, grant)
    directory.mkdir(parents=True, exist_ok=True)
    offset = (part - 1) * grant.chunk
    key = str(directory)
    running = (hashlib.sha256(), 0) if part == 1 else _RUNNING.get(key)
    if running is not None and offset < running[1]:
        del _RUNNING[key]  # a part sent again: the running hash covered its old bytes
        running = None
    hasher = running[0].copy() if running is not None and running[1] == offset else None
    written = await ctx.hub.staging.receive_at(
        chunks, directory / "data", offset, limit=expected, hasher=hasher
    )
    if written != expected:
        raise BadRequest(f"Part {part} must have {expected} bytes, received {written}")
    if hasher is not None:
        if len(_RUNNING) > 1000:
            _RUNNING.clear()
        _RUNNING[key] = (hasher, offset + written)
    etag = secrets.token_hex(16)
    (directory / f"{part}.etag").write_text(etag)
    return etag


def complete_multipart(ctx: Context, grant: UploadGrant, parts: Any) -> None:
    """Check that every part arrived, then store the object like any upload (its SHA-256 checked)."""
    directory = parts_dir(ctx, grant)
    count = math.ceil(grant.size / grant.chunk) if grant.chunk else 0
    if not isinstance(parts, list) or len(parts) != count:
        raise BadRequest(f"Expected {count} parts")
    by_number = {}
    for p in parts:
        if not isinstance(p, dict) or not isinstance(p.get("partNumber"), int):
            raise BadRequest("Each part needs a partNumber and an etag")
        by_number[p["partNumber"]] = str(p.get("etag", "")).strip('"')
    for number in range(1, count + 1):
        etag_file = directory / f"{number}.etag"
        if not etag_file.exists():
            raise BadRequest(f"Part {number} was not uploaded")
        if by_number.get(number) != etag_file.read_text():
            raise BadRequest(f"Part {number}'s etag does not match the uploaded part")
    data = directory / "data"
    running = _RUNNING.pop(str(directory), None)
    size = data.stat().st_size
    if running is not None and running[1] == size:
        digest = running[0].hexdigest()
    else:
        with data.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
    try:
        store_upload(ctx, grant, Staged(path=data, sha256=digest, size=size))
    finally:
        # Stored, or refused for good (its bytes do not hash to the oid): either way the parts
        # are done with, and a client that tries again starts the upload over.
        shutil.rmtree(directory, ignore_errors=True)


def verify(ctx: Context, repo: Repo, oid: Any, size: Any) -> None:
    if not isinstance(oid, str) or not _SHA256.fullmatch(oid):
        raise BadRequest("oid must be a sha256")
    if repos.linked_size(ctx, repo, oid) != size:
        raise NotFound(f"Object {oid} is not stored with size {size}")


# --- LFS file management (§6.8) ---


def list_lfs_files(ctx: Context, repo: Repo) -> list[dict[str, Any]]:
    """The LFS objects stored for a repo, each with a file name and ref that points at it."""
    repos.require_write(ctx, repo)
    pointers = repos.open_git(ctx, repo).lfs_objects()
    rows = ctx.session.execute(
        select(LfsObject.oid, LfsObject.size, LfsObject.created_at)
        .where(LfsObject.repo_id == repo.id)
        .order_by(LfsObject.created_at.desc(), LfsObject.oid)
    )
    out = []
    for oid, size, pushed_at in rows:
        filename, ref, pointer = pointers.get(oid, (None, None, None))
        out.append(
            {
                "fileOid": oid,
                "filename": filename,
                "oid": pointer,
                "pushedAt": format_date(pushed_at),
                "ref": ref,
                "size": size,
            }
        )
    return out


def delete_lfs_files(ctx: Context, repo: Repo, oids: Any, *, rewrite_history: bool) -> None:
    """Delete LFS objects from a repo; with `rewrite_history`, also the files that point at them.

    Rewriting keeps every other commit as it was, so refs whose history held none of these files
    keep their commit ids. The bytes leave the blob store when no other repo holds them.
    """
    repos.require_manage(ctx, repo)
    if not isinstance(oids, list) or not all(isinstance(o, str) and _SHA256.fullmatch(o) for o in oids):
        raise BadRequest("`deletions.sha` must be a list of sha256 ids")
    git = repos.lock_repo(ctx, repo)
    session = ctx.session
    sizes = dict(
        session.execute(
            select(LfsObject.oid, LfsObject.size).where(LfsObject.repo_id == repo.id, LfsObject.oid.in_(oids))
        ).all()  # a Result has keys(), so dict() would take it for a mapping
    )
    missing = sorted(set(oids) - set(sizes))
    if missing:
        raise NotFound(f"LFS object {missing[0]} is not stored for this repo")
    if rewrite_history:
        drop = {git.blob_id(format_pointer(oid, size)) for oid, size in sizes.items()}
        for ref, target in git.refs():
            if git.raw_ref(ref) != target:
                continue  # an annotated tag: it names its commit for good
            rewritten = git.write_rewrite(target, drop)
            if rewritten != target:
                repos.move_ref(ctx, repo, git, ref, rewritten, old=target)
    session.execute(delete(LfsObject).where(LfsObject.repo_id == repo.id, LfsObject.oid.in_(list(sizes))))
    repos.forget_blobs(ctx, sizes)
    repos.event(ctx, "repo:lfs:delete", repo, oids=sorted(sizes), rewrite_history=rewrite_history)


def duplicate_lfs_files(ctx: Context, source: Repo, target: Repo, files: Any) -> list[dict[str, str]]:
    """Let `target` reference LFS files of `source` (a cross-repo `CommitOperationCopy`).

    Only links are made: the bytes are shared already. The caller must read the source and write
    the target; each file must be one the source holds under that SHA-256 and Xet hash. Returns
    the failures, one per file that could not be copied.
    """
    repos.require_content(ctx, source)
    repos.require_write(ctx, target)
    if not isinstance(files, list) or len(files) > 1000:
        raise BadRequest("`files` must be a list of at most 1000 {xetHash, sha256, filename}")
    failed: list[dict[str, str]] = []
    for item in files:
        sha256 = item.get("sha256") if isinstance(item, dict) else None
        xet_hash = item.get("xetHash") if isinstance(item, dict) else None
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            failed.append({"sha256": str(sha256), "error": "sha256 must be a sha256"})
            continue
        held = repos.link(ctx, source, sha256)
        if held is None or held.xet_hash is None or held.xet_hash != xet_hash:
            failed.append({"sha256": sha256, "error": "The source repo holds no such Xet file"})
            continue
        if repos.link(ctx, target, sha256) is None:
            ctx.session.add(LfsObject(repo_id=target.id, oid=sha256, size=held.size, xet_hash=held.xet_hash))
            ctx.session.flush()
            repos.event(ctx, "repo:lfs:upload", target, oid=sha256, size=held.size, copied_from=source.uid)
    return failed
