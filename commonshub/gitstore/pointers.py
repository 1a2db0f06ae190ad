"""Git LFS pointer files: the small text a repo's git tree holds in place of a large file."""

from __future__ import annotations

import re
from dataclasses import dataclass

_POINTER = re.compile(
    rb"version https://git-lfs\.github\.com/spec/v1\n"
    rb"oid sha256:(?P<oid>[0-9a-f]{64})\n"
    rb"size (?P<size>0|[1-9][0-9]{0,18})\n"
)

# A pointer is ~130 bytes; anything much larger is an ordinary file.
MAX_POINTER_SIZE = 200


@dataclass(frozen=True)
class LfsPointer:
    oid: str  # SHA-256 of the content
    size: int  # size of the content
    pointer_size: int  # size of the pointer file itself


def format_pointer(oid: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def parse_pointer(data: bytes) -> LfsPointer | None:
    """The pointer `data` encodes, or None if it is an ordinary file's content."""
    if len(data) > MAX_POINTER_SIZE:
        return None
    match = _POINTER.fullmatch(data)
    if match is None:
        return None
    return LfsPointer(oid=match["oid"].decode(), size=int(match["size"]), pointer_size=len(data))
