"""`/resolve`: a file's bytes and the headers the clients cache by (specs/hf-protocol.md §5.1).

LFS files are served straight from the blob store (the spec's "direct" option: no redirect, so
HEAD and GET carry the same metadata); regular files come from git.

This is the hot path: every file every client downloads. It is answered ahead of the framework
(`Resolver`, called from app.FrontDoor), in two steps. The cold step runs the ordinary service
code (lookup, permissions, revision, tree entry) and produces an `Answer`: status, headers, and
where the bytes are; answers are replayed while they hold (commonshub.replay). The hot step adds
Content-Length and Range and sends.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from urllib.parse import quote, unquote

import anyio
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from commonshub.dependencies import identify, public_base_url
from commonshub.errors import BlobUnavailable, EntryNotFound, HubError, RangeNotSatisfiable
from commonshub.gitstore import TreeEntry
from commonshub.hub import Context, Hub
from commonshub.models import Repo
from commonshub.replay import Pin, Replay
from commonshub.repos.service import (
    RepoMoved,
    Resolved,
    at_revision,
    file_entry,
    find_repo,
    link,
    require_content,
)
from commonshub.responses import hub_error_response, internal_error_response, send_file_range
from commonshub.xet import service as xet

log = logging.getLogger(__name__)

_PATH = re.compile(r"/(?:(datasets|spaces)/)?([^/]+)/([^/]+)/resolve/([^/]+)/(.+)")
_TYPE_OF_PREFIX = {None: "model", "datasets": "dataset", "spaces": "space"}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")

# Files every client fetches to learn about a repo rather than to use it: not downloads.
_NOT_DOWNLOADS = frozenset({"README.md", ".gitattributes"})


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a `Range` header asks for, or None for the whole file.

    Malformed and multi-range headers are ignored (RFC 9110 allows sending the whole file);
    a range that starts past the end is a 416.
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None or (not match[1] and not match[2]):
        return None
    if match[1]:
        start = int(match[1])
        end = int(match[2]) if match[2] else size - 1
        if start >= size:
            raise RangeNotSatisfiable(size)
        if end < start:
            return None
        return start, min(end, size - 1)
    suffix = int(match[2])
    if suffix == 0 or size == 0:
        raise RangeNotSatisfiable(size)
    return max(0, size - suffix), size - 1


def content_disposition(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"inline; filename*=UTF-8''{quote(name)}; filename=\"{ascii_name}\";"


def is_download(repo: Repo, path: str) -> bool:
    """Whether fetching `path` counts as a download of the repo (see docs/compatibility.md)."""
    if path in _NOT_DOWNLOADS:
        return False
    if repo.config is not None:  # a model with a config.json: that file stands for the model
        return path == "config.json"
    return True


@dataclass(frozen=True)
class Answer:
    """What /resolve answers for one URL and caller, minus the per-request Range."""

    status: int
    headers: list[tuple[bytes, bytes]]  # all but Content-Length and Content-Range
    body: bytes = b""  # a regular file's content, or an error's JSON
    blob: Path | None = None  # an LFS file's content
    xet_file: str | None = None  # or the Xet file that rebuilds it
    size: int = 0  # the content's full size
    is_file: bool = False  # Range applies
    counts_for: int | None = None  # the repo a GET of the whole file counts a download of
    pin: Pin | None = None  # the ref the revision went through (commonshub.replay)
    cacheable: bool = True

    @cached_property
    def whole_headers(self) -> list[tuple[bytes, bytes]]:
        """Headers of a GET of the whole body from memory (regular files, errors)."""
        return [*self.headers, (b"content-length", b"%d" % len(self.body))]

    @cached_property
    def head_headers(self) -> list[tuple[bytes, bytes]]:
        """Headers of a HEAD: a file's full length; an error's body is not sent, so 0."""
        return [*self.headers, (b"content-length", b"%d" % (self.size if self.is_file else 0))]

    def as_replay(self) -> Replay[Answer]:
        return Replay(self, pin=self.pin, size=len(self.body), keep=self.cacheable)


# Regular files larger than this are read from git each time rather than kept in memory.
MAX_KEPT_BODY = 1024 * 1024


def _header_list(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def file_answer(ctx: Context, repo: Repo, at: Resolved, entry: TreeEntry) -> Answer:
    headers = {
        "X-Repo-Commit": at.commit,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(entry.path),
        "Content-Type": mimetypes.guess_type(entry.path)[0] or "application/octet-stream",
    }
    counts_for = repo.id if is_download(repo, entry.path) else None
    if entry.lfs is not None:
        held = link(ctx, repo, entry.lfs.oid)
        if held is None:
            # Its owner deleted this LFS object (without rewriting history): the pointer remains,
            # the content is gone for this repo even if another repo holds the same bytes.
            raise EntryNotFound("This file's content was deleted from the repository", commit=at.commit)
        etag = f'"{entry.lfs.oid}"'
        headers.update({"ETag": etag, "X-Linked-Etag": etag, "X-Linked-Size": str(entry.lfs.size)})
        if held.xet_hash is not None:
            # Clients with Xet fetch the chunks from the CAS instead (specs/xet-protocol.md §2.3).
            token_route = f"{ctx.base_url}/api/{repo.type}s/{repo.repo_id}/xet-read-token/{at.commit}"
            headers.update({"X-Xet-Hash": held.xet_hash, "Link": f'<{token_route}>; rel="xet-auth"'})
        blob = ctx.hub.blobs.local_path(entry.lfs.oid)
        if blob is not None and blob.is_file():
            return Answer(
                200,
                _header_list(headers),
                blob=blob,
                size=entry.lfs.size,
                is_file=True,
                counts_for=counts_for,
            )
        if held.xet_hash is None:
            raise BlobUnavailable()
        return Answer(
            200,
            _header_list(headers),
            xet_file=held.xet_hash,
            size=entry.lfs.size,
            is_file=True,
            counts_for=counts_for,
        )
    headers["ETag"] = f'"{entry.oid}"'
    data = at.git.read_blob(entry.oid)
    return Answer(
        200,
        _header_list(headers),
        body=data,
        size=len(data),
        is_file=True,
        counts_for=counts_for,
        cacheable=len(data) <= MAX_KEPT_BODY,
    )


def error_answer(exc: HubError, *, cacheable: bool = True) -> Answer:
    response = hub_error_response(exc)
    headers = [(k, v) for k, v in response.raw_headers if k != b"content-length"]
    return Answer(exc.status_code, headers, body=bytes(response.body), cacheable=cacheable)


@dataclass
class Resolver:
    """Answers `GET`/`HEAD /{P}{id}/resolve/{rev}/{path}` ahead of the framework (app.FrontDoor
    hands it those requests). Runs on the event loop: lookups are index reads and in-memory git
    objects; only large bodies are read off the loop."""

    hub: Hub

    @staticmethod
    def match(path: str) -> re.Match[str] | None:
        return _PATH.fullmatch(path)

    async def handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        match: re.Match[str],
        request_id: Callable[[bytes | None], tuple[bytes, bytes]],
    ) -> None:
        authorization = host = b""
        range_header = trace = None
        for name, value in scope["headers"]:  # one pass over the headers: this runs for every file
            if name == b"authorization":
                authorization = value
            elif name == b"host":
                host = value
            elif name == b"range":
                range_header = value.decode("latin-1")
            elif name == b"x-amzn-trace-id":
                trace = value
        answer = self.hub.replays.fetch(
            # The host too: answers carry absolute links (the Xet token route) built from it.
            (scope["path"], authorization, host),
            lambda: self.compute(Request(scope, receive), *match.groups()).as_replay(),
        )
        await self.send(answer, scope, send, range_header, request_id(trace))

    def compute(
        self, request: Request, prefix: str | None, namespace: str, name: str, revision: str, path: str
    ) -> Answer:
        """The cold path: the ordinary service code, producing an answer to replay."""
        try:
            identity = identify(self.hub, request.headers.get("authorization"))
            with self.hub.db.unit_of_work() as uow:
                ctx = Context(self.hub, uow, identity, public_base_url(self.hub, request))
                repo = find_repo(ctx, _TYPE_OF_PREFIX[prefix], unquote(namespace), unquote(name))
                require_content(ctx, repo)
                at = at_revision(ctx, repo, unquote(revision))
                try:
                    answer = file_answer(ctx, repo, at, file_entry(at, unquote(path)))
                except EntryNotFound as exc:
                    answer = error_answer(exc)  # no such file at this commit: as lasting as a file
                # The answer holds while the ref it went through still points at this commit.
                return replace(answer, pin=at.pin)
        except HubError as exc:
            return error_answer(exc)
        except RepoMoved as exc:
            location = exc.location(request.scope["raw_path"].decode("latin-1"), request.url.query)
            return Answer(307, [(b"location", location.encode("latin-1"))])
        except Exception:
            log.exception("unexpected error on %s %s", request.method, request.url.path)
            response = internal_error_response()
            return Answer(
                500,
                [(k, v) for k, v in response.raw_headers if k != b"content-length"],
                body=bytes(response.body),
                cacheable=False,
            )

    async def send(
        self,
        answer: Answer,
        scope: Scope,
        send: Send,
        range_header: str | None,
        request_id: tuple[bytes, bytes],
    ) -> None:
        head = scope["method"] == "HEAD"
        streamed = answer.blob is not None or answer.xet_file is not None
        if range_header is None and not (answer.is_file and streamed):
            # The common case, a whole file from memory or an error: headers made once per answer.
            if not head and answer.counts_for is not None:
                self.hub.downloads.count(answer.counts_for)
            headers = answer.head_headers if head else answer.whole_headers
            await send(
                {"type": "http.response.start", "status": answer.status, "headers": [*headers, request_id]}
            )
            await send({"type": "http.response.body", "body": b"" if head else answer.body})
            return
        status, start, stop = answer.status, 0, len(answer.body)
        headers = [*answer.headers, request_id]
        if answer.is_file:
            try:
                byte_range = parse_range(range_header, answer.size)
            except RangeNotSatisfiable as exc:
                await self.send(error_answer(exc, cacheable=False), scope, send, None, request_id)
                return
            start, stop = (byte_range[0], byte_range[1] + 1) if byte_range else (0, answer.size)
            if byte_range:
                status = 206
                headers.append((b"content-range", f"bytes {start}-{stop - 1}/{answer.size}".encode()))
            if answer.blob is not None and not answer.blob.is_file():
                await self.send(
                    error_answer(BlobUnavailable(), cacheable=False), scope, send, None, request_id
                )
                return
            if not head and start == 0 and answer.counts_for is not None:
                self.hub.downloads.count(answer.counts_for)
        pieces = None
        if answer.xet_file is not None and not head:
            try:
                pieces = await anyio.to_thread.run_sync(_xet_pieces, self.hub, answer.xet_file, start, stop)
            except HubError as exc:
                await self.send(error_answer(exc, cacheable=False), scope, send, None, request_id)
                return
        length = 0 if head and not answer.is_file else stop - start
        headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if head:
            await send({"type": "http.response.body", "body": b""})
        elif answer.blob is not None:
            await send_file_range(answer.blob, start, stop, send)
        elif pieces is not None:
            await _send_pieces(pieces, send)
        else:
            await send({"type": "http.response.body", "body": answer.body[start:stop]})


def _xet_pieces(hub: Hub, file_hash: str, start: int, stop: int) -> Iterator[bytes]:
    """Bytes [start, stop) of a Xet file, rebuilt from its xorbs, for clients without Xet.

    Planned and checked before the first byte (so a missing xorb is a 503, not a cut body).
    """
    with hub.db.session() as session:
        recipe = xet.recipe(session, file_hash)
        if recipe is None:
            raise BlobUnavailable()
        if stop == start:
            return iter(())
        plan, indexes = xet.plan_range(session, recipe, (start, stop - 1))
    xet.check_stored(hub, plan)
    return xet.iter_bytes(hub, plan, indexes)


async def _send_pieces(pieces: Iterator[bytes], send: Send) -> None:
    try:
        while (piece := await anyio.to_thread.run_sync(next, pieces, None)) is not None:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
    except OSError:
        # Damaged or vanished storage after the headers went out: the body ends short, which
        # the client's size check reports; fsck finds the cause.
        log.exception("a Xet file could not be rebuilt")
    await send({"type": "http.response.body", "body": b"", "more_body": False})
