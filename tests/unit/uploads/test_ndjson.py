"""The NDJSON commit payload, parsed as it streams in (specs/hf-protocol.md §4.3), and path rules."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from commonshub.errors import BadRequest, PayloadTooLarge, Unprocessable
from commonshub.storage import Staging
from commonshub.uploads import ndjson
from commonshub.uploads.ndjson import (
    AddFile,
    AddLfsFile,
    CommitPayload,
    DeleteFile,
    DeleteFolder,
    parse_commit,
    validate_path,
)

OID = "a" * 64
PARENT = "0123456789abcdef0123456789abcdef01234567"


def line(key: str, **value: Any) -> bytes:
    return json.dumps({"key": key, "value": value}, ensure_ascii=False).encode() + b"\n"


def header(**value: Any) -> bytes:
    return line("header", **{"summary": "Add files", "description": "", **value})


def add(path: str, content: bytes) -> bytes:
    return line("file", path=path, content=base64.b64encode(content).decode(), encoding="base64")


def split_every(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)] or [b""]


async def stream(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@pytest.fixture
def staging(tmp_path: Path) -> Staging:
    return Staging(tmp_path / "staging")


def parse(chunks: list[bytes] | bytes, staging: Staging) -> CommitPayload:
    if isinstance(chunks, bytes):
        chunks = [chunks]
    return asyncio.run(parse_commit(stream(chunks), staging))


def staged_files(staging: Staging) -> list[Path]:
    return [p for p in staging.root.rglob("*") if p.is_file()]


A_COMMIT = (
    header(summary="Upload model", description="weights and notes", parentCommit=PARENT)
    + add("notes/ünïcödé 名前.txt", "héllo wörld — 世界\n".encode())
    + line("lfsFile", path="model.safetensors", algo="sha256", oid=OID, size=1234)
    + line("lfsFile", path="copy.safetensors", algo="sha256", oid=OID)
    + line("deletedFile", path="old.txt")
    + line("deletedFolder", path="logs/")
)


def check_a_commit(payload: CommitPayload) -> None:
    assert payload.header.summary == "Upload model"
    assert payload.header.description == "weights and notes"
    assert payload.header.parent_commit == PARENT
    assert payload.operations == [
        AddFile(path="notes/ünïcödé 名前.txt", content="héllo wörld — 世界\n".encode()),
        AddLfsFile(path="model.safetensors", oid=OID, size=1234),
        AddLfsFile(path="copy.safetensors", oid=OID, size=None),  # an LFS copy carries no size
        DeleteFile(path="old.txt"),
        DeleteFolder(path="logs"),
    ]


def test_whole_body_in_one_chunk(staging: Staging) -> None:
    check_a_commit(parse(A_COMMIT, staging))


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1000])
def test_chunks_split_anywhere(staging: Staging, size: int) -> None:
    # Chunk edges fall inside lines, inside JSON strings, inside multi-byte UTF-8 characters and
    # right on the newlines.
    check_a_commit(parse(split_every(A_COMMIT, size), staging))


def test_every_single_split_point(staging: Staging) -> None:
    for cut in range(1, len(A_COMMIT)):
        check_a_commit(parse([A_COMMIT[:cut], A_COMMIT[cut:]], staging))


def test_empty_chunks_are_harmless(staging: Staging) -> None:
    chunks = [b""] + [piece for c in split_every(A_COMMIT, 5) for piece in (c, b"")]
    check_a_commit(parse(chunks, staging))


def test_last_line_without_a_newline(staging: Staging) -> None:
    check_a_commit(parse(A_COMMIT.rstrip(b"\n"), staging))


def test_crlf_line_endings_and_blank_lines(staging: Staging) -> None:
    body = b"\r\n\n" + A_COMMIT.replace(b"\n", b"\r\n\r\n") + b"   \n"
    check_a_commit(parse(split_every(body, 3), staging))


def test_header_defaults(staging: Staging) -> None:
    payload = parse(line("header") + line("deletedFile", path="a"), staging)
    assert payload.header.summary == "Upload files"
    assert payload.header.description == ""
    assert payload.header.parent_commit is None


def test_blank_summary_falls_back_to_the_default_title(staging: Staging) -> None:
    assert parse(header(summary="   \n"), staging).header.summary == "Upload files"


def test_summary_is_trimmed(staging: Staging) -> None:
    assert parse(header(summary="  Fix typo \n"), staging).header.summary == "Fix typo"


def test_header_only_is_a_commit_without_operations(staging: Staging) -> None:
    assert parse(header(), staging).operations == []


def test_later_lines_keep_their_order_on_the_same_path(staging: Staging) -> None:
    payload = parse(
        header() + add("a.txt", b"1") + line("deletedFile", path="a.txt") + add("a.txt", b"2"), staging
    )
    assert payload.operations == [AddFile("a.txt", b"1"), DeleteFile("a.txt"), AddFile("a.txt", b"2")]


def test_empty_file_content(staging: Staging) -> None:
    payload = parse(header() + line("file", path="empty.txt", content="", encoding="base64"), staging)
    assert payload.operations == [AddFile("empty.txt", b"")]
    payload = parse(header() + line("file", path="empty.txt"), staging)
    assert payload.operations == [AddFile("empty.txt", b"")]


def test_binary_content_round_trips(staging: Staging) -> None:
    data = bytes(range(256)) * 4
    assert parse(header() + add("blob.dat", data), staging).operations == [AddFile("blob.dat", data)]


def test_large_contents_wait_in_staging_not_in_memory(staging: Staging) -> None:
    data = bytes(range(256)) * (ndjson.SPOOL_ABOVE // 256 + 1)
    payload = parse(split_every(header() + add("big.bin", data), 65536), staging)
    (op,) = payload.operations
    assert isinstance(op, AddFile) and op.content is None and op.spooled is not None
    assert op.spooled.read_bytes() == data
    payload.discard()
    assert staged_files(staging) == []


def test_spooled_contents_are_removed_when_a_later_line_is_bad(staging: Staging) -> None:
    data = b"x" * (ndjson.SPOOL_ABOVE + 1)
    body = header() + add("big.bin", data) + b"{not json\n"
    with pytest.raises(BadRequest, match="Line 3"):
        parse(body, staging)
    assert staged_files(staging) == []


def test_a_line_longer_than_the_limit_is_refused(staging: Staging, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ndjson, "MAX_LINE", 1000)
    body = header() + add("a.txt", b"x" * 2000)
    with pytest.raises(PayloadTooLarge, match="LFS"):
        parse(split_every(body, 100), staging)


def test_a_long_line_within_the_limit_is_fine(staging: Staging, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ndjson, "MAX_LINE", 1000)
    body = header() + add("a.txt", b"x" * 600)
    assert parse(split_every(body, 100), staging).operations == [AddFile("a.txt", b"x" * 600)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"{not json\n", "Line 1 of the commit is not valid JSON"),
        (b"[1, 2]\n", "Line 1: expected an object"),
        (b'{"key": "header"}\n', "Line 1: expected an object"),
        (b'{"key": "header", "value": "x"}\n', "Line 1: expected an object"),
        (line("deletedFile", path="a"), "first line of a commit must be its header"),
        (line("header", summary=7), "`summary` must be a string"),
        (line("header", description=["a"]), "`description` must be a string"),
        (line("header", parentCommit="main"), "parentCommit"),
        (line("header", parentCommit=PARENT.upper()), "parentCommit"),
        (line("header", parentCommit=PARENT[:7]), "parentCommit"),
        (header() + line("copy", path="a"), "Line 2: unknown operation 'copy'"),
        (header() + line("file", path="a", content="aGk=", encoding="utf-8"), "unsupported encoding"),
        (header() + line("file", path="a", content=5), "base64 string"),
        (header() + line("file", path="a", content="not base64!"), "not valid base64"),
        (header() + line("lfsFile", path="a", oid="b" * 63, size=1), "sha256"),
        (header() + line("lfsFile", path="a", oid=OID.upper(), size=1), "sha256"),
        (header() + line("lfsFile", path="a", oid=OID, algo="sha1", size=1), "sha256"),
        (header() + line("lfsFile", path="a", size=1), "sha256"),
        (header() + line("lfsFile", path="a", oid=OID, size=-1), "non-negative"),
        (header() + line("lfsFile", path="a", oid=OID, size="12"), "non-negative"),
        (header() + line("lfsFile", path="a", oid=OID, size=True), "non-negative"),
        (header() + line("lfsFile", path="a", oid=OID, size=1.5), "non-negative"),
        (header() + b"\xff\xfe\n", "Line 2 of the commit is not valid JSON"),
    ],
)
def test_malformed_payloads_are_400s_naming_the_line(staging: Staging, body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message) as info:
        parse(body, staging)
    assert info.value.status_code == 400
    assert staged_files(staging) == []


@pytest.mark.parametrize(
    "op",
    [
        line("file", path="../etc/passwd", content=""),
        line("lfsFile", path="/abs.bin", oid=OID, size=1),
        line("deletedFile", path=".git/config"),
        line("deletedFolder", path=""),
        line("deletedFolder", path="/"),
        line("deletedFile"),
    ],
)
def test_bad_paths_in_any_operation_are_422s(staging: Staging, op: bytes) -> None:
    with pytest.raises(Unprocessable) as info:
        parse(header() + op, staging)
    assert info.value.status_code == 422


# --- validate_path ---


@pytest.mark.parametrize(
    "path",
    [
        "README.md",
        ".gitattributes",
        ".gitignore",
        ".github/workflows/ci.yml",
        "a/.gitkeep",
        "data/train-00000-of-00001.parquet",
        "dir with spaces/file name.txt",
        "données/été 名前.csv",
        "...",  # only "." and ".." are special
        ".cached/x",  # only a segment named exactly .cache is refused
        "x.git/y",
        "a" * 1000,
    ],
)
def test_valid_paths_are_kept_as_given(path: str) -> None:
    assert validate_path(path) == path


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("a\\..\\b", "backslash"),
        ("C:\\model.bin", "backslash"),
        ("a/../../b", "'..'"),
        ("..", "'..'"),
        ("./a", "'.'"),
        ("a/./b", "'.'"),
        ("a//b", "empty"),
        ("a/", "empty"),
        (".git/config", ".git"),
        ("sub/.git/HEAD", ".git"),
        (".cache/huggingface/download/x", ".cache"),
        ("a/.cache/b", ".cache"),
        ("a\x00b", "control"),
        ("line\nbreak", "control"),
        ("tab\there", "control"),
        ("del\x7f", "control"),
        ("a" * 1001, "1000 bytes"),
        ("é" * 501, "1000 bytes"),  # bytes, not characters: 1002 bytes of UTF-8
    ],
)
def test_invalid_paths_are_422s_saying_why(path: str, why: str) -> None:
    with pytest.raises(Unprocessable, match=why) as info:
        validate_path(path)
    assert info.value.status_code == 422
    assert info.value.code == "InvalidInput"


@pytest.mark.parametrize("raw", [None, 3, ["a"], {"path": "a"}, b"a"])
def test_a_path_must_be_a_string(raw: object) -> None:
    with pytest.raises(Unprocessable, match="string"):
        validate_path(raw)


def test_folder_paths_may_end_with_slashes() -> None:
    assert validate_path("logs/", folder=True) == "logs"
    assert validate_path("a/b//", folder=True) == "a/b"
    with pytest.raises(Unprocessable):
        validate_path("logs/", folder=False)
    with pytest.raises(Unprocessable, match="empty"):
        validate_path("///", folder=True)


def test_unicode_path_length_is_measured_in_bytes() -> None:
    assert validate_path("é" * 500) == "é" * 500
