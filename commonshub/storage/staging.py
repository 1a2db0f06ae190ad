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
from typing import BinaryIO

from commonshub.errors import BadRequest

# Incoming bytes are handed to a worker thread in pieces this big, so that hashing and writing
# one piece overlaps with receiving the next.
_PIECE = 4 * 1024 * 1024


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
        loop = asyncio.get_running_loop()
        hasher = hashlib.sha256()
        size = 0
        pending: asyncio.Future[None] | None = None
        buffer = bytearray()
        with path.open("wb") as out:
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
                out.close()
                path.unlink(missing_ok=True)
                raise
        return Staged(path=path, sha256=hasher.hexdigest(), size=size)

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


def _consume(hasher: hashlib._Hash, out: BinaryIO, data: bytes) -> None:
    # hashlib and file writes release the GIL on large buffers, so this runs beside the loop.
    hasher.update(data)
    out.write(data)
