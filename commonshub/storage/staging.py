"""The staging area: uploads stream here, are hashed on the way, and enter the store verified.

Nothing in staging is visible to clients. A crash leaves only files here, which fsck removes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from commonshub.errors import BadRequest

# Incoming bytes are handed to a worker thread in pieces this big, so that hashing and writing
# one piece overlaps with receiving the next.
_PIECE = 4 * 1024 * 1024

Hash = Any  # a hashlib hash object (hashlib._Hash is private)


@dataclass
class Staged:
    path: Path
    sha256: str
    size: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class Staging:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def new_path(self, suffix: str = "") -> Path:
        return self.root / f"{os.getpid()}-{secrets.token_hex(8)}{suffix}"

    async def receive(self, chunks: AsyncIterator[bytes], *, limit: int | None = None) -> Staged:
        """Write a stream to a new staging file, hashing it; raise if it passes `limit` bytes."""
        path = self.new_path()
        hasher = hashlib.sha256()
        try:
            with path.open("wb") as out:
                size = await _pump(chunks, out, hasher, limit)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Staged(path=path, sha256=hasher.hexdigest(), size=size)

    async def receive_at(
        self, chunks: AsyncIterator[bytes], path: Path, offset: int, *, limit: int, hasher: Hash | None
    ) -> int:
        """Write a stream into `path` from `offset` on (one part of a larger upload: the file is
        made if missing, never truncated); feeds `hasher` if given; returns the bytes written."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "wb") as out:  # fdopen does not truncate: only O_TRUNC would
            out.seek(offset)
            return await _pump(chunks, out, hasher, limit)

    def receive_file(self, source: BinaryIO) -> Staged:
        """Copy an open file into staging, hashing it (the synchronous counterpart)."""
        path = self.new_path()
        hasher = hashlib.sha256()
        size = 0
        with path.open("wb") as out:
            while piece := source.read(_PIECE):
                _consume(hasher, out, piece)
                size += len(piece)
        return Staged(path=path, sha256=hasher.hexdigest(), size=size)

    def remove_stale(self, older_than: float = 3600.0) -> list[Path]:
        """Delete staging files left by crashed uploads (older than `older_than` seconds)."""
        cutoff = time.time() - older_than
        removed = []
        for path in self.root.rglob("*"):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed


async def _pump(chunks: AsyncIterator[bytes], out: BinaryIO, hasher: Hash | None, limit: int | None) -> int:
    """Copy a stream into `out` (and `hasher`); returns the size. Raises past `limit` bytes.

    Pieces are written by a worker thread while the next piece arrives (double buffering):
    hashlib and file writes release the GIL on large buffers, so the two overlap.
    """
    loop = asyncio.get_running_loop()
    size = 0
    pending: asyncio.Future[None] | None = None
    buffer = bytearray()
    try:
        async for chunk in chunks:
            size += len(chunk)
            if limit is not None and size > limit:
                raise BadRequest(f"The upload is larger than the announced {limit} bytes")
            buffer += chunk
            if len(buffer) >= _PIECE:
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(None, _consume, hasher, out, bytes(buffer))
                buffer.clear()
        if pending is not None:
            await pending
            pending = None
        _consume(hasher, out, bytes(buffer))
    except BaseException:
        if pending is not None:
            with contextlib.suppress(BaseException):
                await pending
        raise
    return size


def _consume(hasher: Hash | None, out: BinaryIO, data: bytes) -> None:
    if hasher is not None:
        hasher.update(data)
    out.write(data)
