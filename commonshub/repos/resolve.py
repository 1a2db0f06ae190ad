"""`/resolve`: a file's bytes and the headers the clients cache by (specs/hf-protocol.md §5.1).

LFS files are served straight from the blob store (the spec's "direct" option: no redirect, so
HEAD and GET carry the same metadata). Regular files come from git.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from commonshub.errors import HubError, RangeNotSatisfiable
from commonshub.gitstore import TreeEntry
from commonshub.hub import Context
from commonshub.models import Repo
from commonshub.repos.service import Resolved

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_CHUNK = 1024 * 1024

# Files every client fetches to learn about a repo rather than to use it: not downloads.
_NOT_DOWNLOADS = frozenset({"README.md", ".gitattributes"})


class BlobUnavailable(HubError):
    status = 503
    code = "BlobUnavailable"


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


def serve_file(ctx: Context, request: Request, repo: Repo, at: Resolved, entry: TreeEntry) -> Response:
    headers = {
        "X-Repo-Commit": at.commit,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(entry.path),
    }
    media_type = mimetypes.guess_type(entry.path)[0] or "application/octet-stream"
    if entry.lfs is not None:
        etag = f'"{entry.lfs.oid}"'
        headers.update({"ETag": etag, "X-Linked-Etag": etag, "X-Linked-Size": str(entry.lfs.size)})
        path = ctx.hub.blobs.local_path(entry.lfs.oid)
        if path is None or not path.is_file():
            raise BlobUnavailable(
                "This file's content is missing from storage; an operator can find it with `commonshub fsck`"
            )
        data: bytes | None = None
        size = entry.lfs.size
    else:
        headers["ETag"] = f'"{entry.oid}"'
        data = at.git.read_blob(entry.oid)
        size = len(data)
        path = None

    byte_range = parse_range(request.headers.get("range"), size)
    start, end = byte_range if byte_range else (0, size - 1)
    status = 206 if byte_range else 200
    if byte_range:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)

    if request.method == "GET" and start == 0 and is_download(repo, entry.path):
        ctx.hub.downloads.count(repo.id)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    if data is not None:
        return Response(data[start : end + 1], status_code=status, headers=headers, media_type=media_type)
    assert path is not None
    return FileRegionResponse(path, start, end + 1, status, headers, media_type, whole=byte_range is None)


class FileRegionResponse(Response):
    """Bytes [start, stop) of a file, read in large pieces off the event loop.

    A whole file goes out through the server's `pathsend` extension when it offers one (Granian
    does), which sends it without copying it through Python.
    """

    def __init__(
        self,
        path: Path,
        start: int,
        stop: int,
        status: int,
        headers: dict[str, str],
        media_type: str,
        *,
        whole: bool,
    ) -> None:
        super().__init__(status_code=status, headers=headers, media_type=media_type)
        self.path, self.start, self.stop, self.whole = path, start, stop, whole

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        if self.whole and "http.response.pathsend" in scope.get("extensions", {}):
            await send({"type": "http.response.pathsend", "path": str(self.path)})
            return
        with self.path.open("rb") as f:
            f.seek(self.start)
            remaining = self.stop - self.start
            while remaining > 0:
                chunk = await anyio.to_thread.run_sync(f.read, min(_CHUNK, remaining))
                if not chunk:
                    break  # the blob is shorter than its pointer says; the client's size check reports it
                remaining -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        if remaining > 0 or self.stop == self.start:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
