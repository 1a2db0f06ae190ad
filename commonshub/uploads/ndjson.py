"""The NDJSON commit payload (specs/hf-protocol.md §4.3), parsed as it streams in.

Bodies reach hundreds of MB (regular files travel base64-encoded inside), so lines are read off
the stream one at a time and large contents go to staging files, never all into memory.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from commonshub.errors import BadRequest, PayloadTooLarge, Unprocessable
from commonshub.storage import Staging

# A regular file's base64 line; larger files belong in LFS (preupload says so from 10 MiB).
MAX_LINE = 300 * 1024 * 1024
# Contents above this size wait in a staging file rather than in memory.
SPOOL_ABOVE = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FORBIDDEN_SEGMENTS = frozenset({"", ".", "..", ".git", ".cache"})


@dataclass
class Header:
    summary: str
    description: str
    parent_commit: str | None


@dataclass
class AddFile:
    path: str
    content: bytes | None = None
    spooled: Path | None = None


@dataclass
class AddLfsFile:
    path: str
    oid: str
    size: int | None  # absent when the client copies an LFS file within the repo


@dataclass
class DeleteFile:
    path: str


@dataclass
class DeleteFolder:
    path: str


Operation = AddFile | AddLfsFile | DeleteFile | DeleteFolder


@dataclass
class CommitPayload:
    header: Header
    operations: list[Operation] = field(default_factory=list)

    def discard(self) -> None:
        """Remove the staging files of spooled contents."""
        for op in self.operations:
            if isinstance(op, AddFile) and op.spooled is not None:
                op.spooled.unlink(missing_ok=True)


def validate_path(raw: Any, *, folder: bool = False) -> str:
    """A repo path as given, or a 422: relative, no `.`/`..`/empty segments, not in .git/.cache."""
    if not isinstance(raw, str):
        raise Unprocessable("A path must be a string")
    path: str = raw
    if folder:
        path = path.rstrip("/")
    problem = None
    if not path:
        problem = "it is empty"
    elif path.startswith("/"):
        problem = "it is absolute"
    elif "\\" in path:
        problem = "it contains a backslash"
    elif any(ord(c) < 32 or c == "\x7f" for c in path):
        problem = "it contains control characters"
    elif len(path.encode()) > 1000:
        problem = "it is longer than 1000 bytes"
    elif _FORBIDDEN_SEGMENTS & set(path.split("/")):
        problem = "it has an empty, '.', '..', '.git' or '.cache' segment"
    if problem:
        raise Unprocessable(f"Invalid path {path!r}: {problem}")
    return path


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    buffer = bytearray()
    async for chunk in chunks:
        # Only the new bytes can hold a newline: rescanning the whole buffer for every chunk
        # would make a long line cost quadratic time.
        scan = len(buffer)
        buffer += chunk
        start = 0
        while (end := buffer.find(b"\n", scan)) != -1:
            yield bytes(buffer[start:end])
            start = scan = end + 1
        del buffer[:start]
        if len(buffer) > MAX_LINE:
            raise PayloadTooLarge(
                f"A commit line is larger than {MAX_LINE} bytes; upload files this large with LFS"
            )
    if buffer.strip():
        yield bytes(buffer)


async def parse_commit(chunks: AsyncIterator[bytes], staging: Staging) -> CommitPayload:
    payload: CommitPayload | None = None
    number = 0
    try:
        async for line in _lines(chunks):
            number += 1
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise BadRequest(f"Line {number} of the commit is not valid JSON") from exc
            if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
                raise BadRequest(f"Line {number}: expected an object with `key` and `value`")
            key, value = item.get("key"), item["value"]
            if payload is None:
                if key != "header":
                    raise BadRequest("The first line of a commit must be its header")
                payload = CommitPayload(header=_header(value))
                continue
            payload.operations.append(_operation(number, key, value, staging))
    except BaseException:
        if payload is not None:
            payload.discard()
        raise
    if payload is None:
        raise BadRequest("The commit is empty: it needs at least a header line")
    return payload


def _text(value: dict[str, Any], name: str, *, required: bool = False) -> str:
    raw = value.get(name)
    if raw is None and not required:
        return ""
    if not isinstance(raw, str):
        raise BadRequest(f"`{name}` must be a string")
    if "\x00" in raw:  # git would cut the commit message at the NUL, silently
        raise BadRequest(f"`{name}` cannot contain NUL characters")
    return raw


def _header(value: dict[str, Any]) -> Header:
    summary = _text(value, "summary").strip()
    parent = value.get("parentCommit")
    if parent is not None and (not isinstance(parent, str) or not re.fullmatch(r"[0-9a-f]{40}", parent)):
        raise BadRequest("`parentCommit` must be a 40-character commit id")
    return Header(
        summary=summary or "Upload files", description=_text(value, "description"), parent_commit=parent
    )


def _operation(number: int, key: Any, value: dict[str, Any], staging: Staging) -> Operation:
    if key == "file":
        path = validate_path(value.get("path"))
        encoding = value.get("encoding", "base64")
        if encoding != "base64":
            raise BadRequest(f"Line {number}: unsupported encoding {encoding!r}; use base64")
        content = value.get("content", "")
        if not isinstance(content, str):
            raise BadRequest(f"Line {number}: `content` must be a base64 string")
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest(f"Line {number}: `content` is not valid base64") from exc
        if len(data) > SPOOL_ABOVE:
            spooled = staging.new_path(".commit")
            spooled.write_bytes(data)
            return AddFile(path=path, spooled=spooled)
        return AddFile(path=path, content=data)
    if key == "lfsFile":
        path = validate_path(value.get("path"))
        oid, algo, size = value.get("oid"), value.get("algo", "sha256"), value.get("size")
        if algo != "sha256" or not isinstance(oid, str) or not _SHA256.fullmatch(oid):
            raise BadRequest(f"Line {number}: an lfsFile needs a sha256 `oid`")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise BadRequest(f"Line {number}: `size` must be a non-negative integer")
        return AddLfsFile(path=path, oid=oid, size=size)
    if key == "deletedFile":
        return DeleteFile(path=validate_path(value.get("path")))
    if key == "deletedFolder":
        return DeleteFolder(path=validate_path(value.get("path"), folder=True))
    raise BadRequest(f"Line {number}: unknown operation {key!r}")
