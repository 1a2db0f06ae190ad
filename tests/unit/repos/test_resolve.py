"""parse_range: the byte range a `Range` header asks for (specs/hf-protocol.md §5.1, RFC 9110 §14).

Clients rely on it for safetensors headers (`bytes=0-100000`), resumed downloads (`bytes=N-`) and
HfFileSystem block reads; a range starting past the end is a 416, which HfFileSystem reads as EOF.
"""

from __future__ import annotations

import pytest

from commonshub.errors import RangeNotSatisfiable
from commonshub.repos.resolve import parse_range

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # bytes=a-b: inclusive on both ends
        ("bytes=0-99", (0, 99)),
        ("bytes=0-0", (0, 0)),
        ("bytes=10-19", (10, 19)),
        ("bytes=999-999", (999, 999)),
        ("bytes=0-999", (0, 999)),
        # an end beyond the file is cut at the last byte
        ("bytes=0-100000", (0, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=0-99999999999999999999999", (0, 999)),
        # bytes=a-: from a to the end (resumed downloads)
        ("bytes=10-", (10, 999)),
        ("bytes=0-", (0, 999)),
        ("bytes=999-", (999, 999)),
        # bytes=-n: the last n bytes; more than the file is the whole file
        ("bytes=-100", (900, 999)),
        ("bytes=-1", (999, 999)),
        ("bytes=-1000", (0, 999)),
        ("bytes=-5000", (0, 999)),
        # surrounding whitespace is tolerated
        ("  bytes=5-6  ", (5, 6)),
    ],
)
def test_satisfiable_ranges(header: str, expected: tuple[int, int]) -> None:
    assert parse_range(header, SIZE) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        # malformed headers are ignored: the whole file is sent (RFC 9110 allows it)
        "bytes=",
        "bytes=-",
        "bytes=a-b",
        "bytes=5",
        "bytes=1.5-2",
        "bytes=+1-2",
        "bytes=-1-2",
        "bytes 0-5",
        "items=0-5",
        "0-5",
        "bytes=0-5,10-20",  # several ranges: not supported, the whole file instead
        "bytes=0-5, 10-20",
        "bytes=5-2",  # an end before the start is invalid, so ignored
    ],
)
def test_absent_or_malformed_ranges_mean_the_whole_file(header: str | None) -> None:
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=1000-", SIZE),  # starts at the end
        ("bytes=1000-1000", SIZE),
        ("bytes=5000-6000", SIZE),
        ("bytes=99999999999999999999-", SIZE),
        ("bytes=-0", SIZE),  # the last zero bytes: nothing to send
        ("bytes=0-", 0),  # an empty file has no byte 0
        ("bytes=0-0", 0),
        ("bytes=-5", 0),
    ],
)
def test_ranges_past_the_end_are_416_with_the_size(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        parse_range(header, size)
    error = caught.value
    assert error.status_code == 416
    # Content-Range: bytes */size tells the client how long the file is.
    assert error.headers == {"Content-Range": f"bytes */{size}"}


def test_every_satisfiable_range_lies_within_the_file() -> None:
    # Exhaustive over a small file: start <= end < size, and the range is what was asked for.
    for size in range(1, 12):
        for start in range(0, size + 3):
            for end in range(0, size + 3):
                header = f"bytes={start}-{end}"
                if start >= size:
                    with pytest.raises(RangeNotSatisfiable):
                        parse_range(header, size)
                    continue
                got = parse_range(header, size)
                if end < start:
                    assert got is None
                else:
                    assert got == (start, min(end, size - 1))
        for suffix in range(1, size + 3):
            assert parse_range(f"bytes=-{suffix}", size) == (max(0, size - suffix), size - 1)
