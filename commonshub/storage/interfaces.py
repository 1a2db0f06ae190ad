"""The BlobStore protocol: what the hub needs from wherever bytes live (local now, S3 later)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol


class StagedDeletion(Protocol):
    def publish(self) -> None: ...

    def retract(self) -> None: ...

    def settle(self) -> None: ...


class BlobStore(Protocol):
    def exists(self, oid: str) -> bool: ...

    def size(self, oid: str) -> int | None:
        """The stored blob's size, or None if it is not stored."""

    def open(self, oid: str) -> BinaryIO:
        """Read the blob (raises FileNotFoundError if it is not stored)."""

    def local_path(self, oid: str) -> Path | None:
        """A path the server may hand to the OS for zero-copy sends, if the store is local."""

    def put_file(self, oid: str, source: Path) -> None:
        """Take ownership of `source`, a complete and verified file whose SHA-256 is `oid`.

        The blob becomes visible whole, or not at all.
        """

    def delete(self, oid: str) -> None: ...

    def stage_deletion(self, oid: str) -> StagedDeletion:
        """A deletion that happens with a database commit (a `db.Publisher`)."""

    def generation(self) -> str:
        """A random id made with the store: a store replaced by an empty one has a new id."""

    def oids(self) -> Iterator[str]:
        """Every stored blob (for fsck)."""

    def trashed(self) -> list[str]:
        """Blobs a staged deletion moved aside and that are still there: their deletion's
        transaction is in flight, or its writer died (crash recovery)."""

    def untrash(self, oid: str) -> None:
        """Undo a staged deletion whose transaction never committed."""

    def discard_trashed(self, oid: str) -> None:
        """Finish a staged deletion whose transaction committed."""
