"""Git LFS pointer files: what `git lfs` writes, what the hub writes, and what is only a small file."""

from __future__ import annotations

import hashlib

import pytest

from commonshub.gitstore.pointers import MAX_POINTER_SIZE, LfsPointer, format_pointer, parse_pointer

OID = hashlib.sha256(b"weights").hexdigest()

# Exactly what `git lfs pointer --file=...` prints (spec: git-lfs/docs/spec.md).
GIT_LFS_POINTER = f"version https://git-lfs.github.com/spec/v1\noid sha256:{OID}\nsize 12345\n".encode()


def test_format_is_byte_for_byte_what_git_lfs_writes() -> None:
    assert format_pointer(OID, 12345) == GIT_LFS_POINTER


def test_parse_a_git_lfs_pointer() -> None:
    assert parse_pointer(GIT_LFS_POINTER) == LfsPointer(
        oid=OID, size=12345, pointer_size=len(GIT_LFS_POINTER)
    )


@pytest.mark.parametrize("size", [0, 1, 10 * 1024**3, 10**18, 10**19 - 1])
def test_round_trip(size: int) -> None:
    data = format_pointer(OID, size)
    pointer = parse_pointer(data)
    assert pointer == LfsPointer(oid=OID, size=size, pointer_size=len(data))
    assert format_pointer(pointer.oid, pointer.size) == data


def test_pointer_size_is_what_the_api_reports() -> None:
    # specs/hf-protocol.md §1.4: pointerSize is the pointer's length, about 130 bytes.
    pointer = parse_pointer(format_pointer(OID, 5000))
    assert pointer is not None
    assert 128 <= pointer.pointer_size <= MAX_POINTER_SIZE


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world\n",
        GIT_LFS_POINTER.rstrip(b"\n"),  # no final newline
        GIT_LFS_POINTER.replace(b"\n", b"\r\n"),  # CRLF: a text file that looks like a pointer
        GIT_LFS_POINTER + b"\n",
        b" " + GIT_LFS_POINTER,
        GIT_LFS_POINTER.replace(OID.encode(), OID.upper().encode()),
        GIT_LFS_POINTER.replace(OID.encode(), OID[:63].encode()),
        GIT_LFS_POINTER.replace(b"sha256:", b"sha1:"),
        GIT_LFS_POINTER.replace(b"spec/v1", b"spec/v2"),
        GIT_LFS_POINTER.replace(b"https://", b"http://"),
        GIT_LFS_POINTER.replace(b"size 12345", b"size -1"),
        GIT_LFS_POINTER.replace(b"size 12345", b"size 012345"),
        GIT_LFS_POINTER.replace(b"size 12345", b"size 1e5"),
        GIT_LFS_POINTER.replace(b"size 12345", b"size "),
        GIT_LFS_POINTER.replace(b"size 12345", b"size 12345678901234567890"),  # 20 digits
        # Lines out of order.
        f"version https://git-lfs.github.com/spec/v1\nsize 1\noid sha256:{OID}\n".encode(),
        # Extension lines are valid for git-lfs, but no Hub client writes them.
        GIT_LFS_POINTER + b"ext-0-foo sha256:" + OID.encode() + b"\n",
    ],
)
def test_anything_else_is_an_ordinary_file(data: bytes) -> None:
    assert parse_pointer(data) is None


def test_large_files_are_never_parsed_as_pointers() -> None:
    padded = GIT_LFS_POINTER + b" " * (MAX_POINTER_SIZE + 1 - len(GIT_LFS_POINTER))
    assert len(padded) > MAX_POINTER_SIZE
    assert parse_pointer(padded) is None
    assert parse_pointer(b"\x00" * 10_000_000) is None
