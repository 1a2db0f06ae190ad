"""Blobs in a local directory: <root>/<kind>/<2 hex>/<2 hex>/<oid> (kind: sha256, or xorb)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_OID = re.compile(r"[0-9a-f]{64}")


class LocalBlobStore:
    def __init__(self, root: Path, kind: str = "sha256") -> None:
        self.root = root
        self.kind = kind
        (root / kind).mkdir(parents=True, exist_ok=True)

    def _path(self, oid: str) -> Path:
        if not _OID.fullmatch(oid):
            raise ValueError(f"not a {self.kind} id: {oid!r}")
        return self.root / self.kind / oid[:2] / oid[2:4] / oid

    def generation(self) -> str:
        marker = self.root / "generation"
        try:
            return marker.read_text().strip()
        except FileNotFoundError:
            pass
        tmp = marker.with_name(f"generation.{secrets.token_hex(4)}")
        tmp.write_text(secrets.token_hex(8))
        try:
            os.link(tmp, marker)  # the first writer wins; later ones read its id
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return marker.read_text().strip()

    def exists(self, oid: str) -> bool:
        return self._path(oid).is_file()

    def size(self, oid: str) -> int | None:
        try:
            return self._path(oid).stat().st_size
        except FileNotFoundError:
            return None

    def open(self, oid: str) -> BinaryIO:
        return self._path(oid).open("rb")

    def local_path(self, oid: str) -> Path | None:
        return self._path(oid)

    def put_file(self, oid: str, source: Path) -> None:
        dest = self._path(oid)
        if dest.exists():
            source.unlink(missing_ok=True)  # same content is already stored
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, dest)  # atomic: readers see the whole file or none
        except OSError:
            # The staging area is on another file system: copy beside the target, then rename.
            tmp = dest.with_name(dest.name + ".incoming")
            shutil.copyfile(source, tmp)
            os.replace(tmp, dest)
            source.unlink(missing_ok=True)

    def delete(self, oid: str) -> None:
        self._path(oid).unlink(missing_ok=True)

    def stage_deletion(self, oid: str) -> _StagedDeletion:
        return _StagedDeletion(self._path(oid), self.root / "trash" / oid)

    def trashed(self) -> list[str]:
        trash = self.root / "trash"
        return sorted(p.name for p in trash.iterdir() if _OID.fullmatch(p.name)) if trash.is_dir() else []

    def untrash(self, oid: str) -> None:
        aside, home = self.root / "trash" / oid, self._path(oid)
        if home.exists():
            aside.unlink(missing_ok=True)
            return
        home.parent.mkdir(parents=True, exist_ok=True)
        os.replace(aside, home)

    def discard_trashed(self, oid: str) -> None:
        if _OID.fullmatch(oid):
            (self.root / "trash" / oid).unlink(missing_ok=True)

    def oids(self) -> Iterator[str]:
        for path in sorted((self.root / self.kind).glob("*/*/*")):
            if _OID.fullmatch(path.name):
                yield path.name


class _StagedDeletion:
    """The blob moves aside when the transaction publishes, and is deleted once it committed."""

    def __init__(self, path: Path, aside: Path) -> None:
        self.path, self.aside = path, aside
        self._moved = False

    def publish(self) -> None:
        if self.path.exists():
            self.aside.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path, self.aside)
            self._moved = True

    def retract(self) -> None:
        if self._moved:
            os.replace(self.aside, self.path)
            self._moved = False

    def settle(self) -> None:
        if self._moved:
            self.aside.unlink(missing_ok=True)
