"""Content-defined chunking: the client's rules, its exact cuts, and stability under insertions."""

from __future__ import annotations

import os
from pathlib import Path

import hf_xet
import numpy as np
import pytest

from commonshub.xet import chunking
from commonshub.xet.chunking import _TABLE, MAX_CHUNK, MIN_CHUNK, chunk, chunk_boundaries
from commonshub.xet.format import chunk_hash, file_hash, hash_hex

MASK = 0xFFFF_0000_0000_0000
U64 = (1 << 64) - 1
TABLE = [int(v) for v in _TABLE]


def client_boundaries(data: bytes) -> list[int]:
    """xet-core's Chunker.next_boundary over the whole data, one byte at a time (the scalar gearhash)."""
    ends = []
    start = 0
    while start < len(data):
        h = 0
        # The client does not hash the first MIN_CHUNK - 64 - 1 bytes of a chunk.
        i = start + MIN_CHUNK - 64 - 1
        end = min(start + MAX_CHUNK, len(data))
        while i < end:
            h = ((h << 1) + TABLE[data[i]]) & U64
            i += 1
            if h & MASK == 0 and i - start >= MIN_CHUNK:
                end = i
                break
        ends.append(end)
        start = end
    return ends


def mixed(size: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    parts = [rng.bytes(size // 2), bytes(size // 4), b"abcdefgh" * (size // 32), rng.bytes(size // 8)]
    return b"".join(parts)[:size]


def test_gear_table_is_the_gearhash_crates() -> None:
    assert len(TABLE) == 256 and len(set(TABLE)) == 256
    assert TABLE[0] == 0xB088D3A9E840F559
    assert TABLE[17] == 0x00005082119EA468
    assert TABLE[255] == 0x63C7A906C1DD187B


@pytest.mark.parametrize("seed", [1, 2])
def test_cuts_equal_the_clients_byte_by_byte_algorithm(seed: int) -> None:
    data = mixed(1_500_000, seed)
    assert chunk_boundaries(data) == client_boundaries(data)


def test_boundaries_respect_min_and_max() -> None:
    for data in [os.urandom(3_000_000), bytes(1_000_000), mixed(2_000_000, 3)]:
        ends = chunk_boundaries(data)
        assert ends[-1] == len(data)
        sizes = np.diff([0, *ends])
        assert all(MIN_CHUNK <= s <= MAX_CHUNK for s in sizes[:-1])
        assert 0 < sizes[-1] <= MAX_CHUNK
    # Zeros never satisfy the mask: every cut is forced at the maximum.
    assert chunk_boundaries(bytes(4 * MAX_CHUNK + 5)) == [MAX_CHUNK * k for k in range(1, 5)] + [
        4 * MAX_CHUNK + 5
    ]


def test_small_inputs_are_one_chunk() -> None:
    assert chunk_boundaries(b"") == []
    assert chunk(b"") == []
    assert chunk_boundaries(b"x") == [1]
    assert chunk_boundaries(os.urandom(MIN_CHUNK)) == [MIN_CHUNK]


def test_deterministic_whatever_the_buffer_type() -> None:
    data = os.urandom(1_000_000)
    ends = chunk_boundaries(data)
    assert chunk_boundaries(data) == ends
    assert chunk_boundaries(bytearray(data)) == ends
    assert chunk_boundaries(memoryview(data)) == ends
    assert chunk_boundaries(np.frombuffer(data, dtype=np.uint32).data) == ends
    pieces = chunk(data)
    assert b"".join(pieces) == data
    assert [len(p) for p in pieces] == np.diff([0, *ends]).tolist()


def test_block_edges_do_not_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    data = mixed(1_000_000, 4)
    expected = chunk_boundaries(data)
    for block in [1000, 4096, 1 << 20]:
        monkeypatch.setattr(chunking, "_BLOCK", block)
        assert chunk_boundaries(data) == expected


def test_an_insertion_only_moves_the_first_chunks() -> None:
    rng = np.random.default_rng(5)
    data = rng.bytes(4_000_000)
    before = chunk_boundaries(data)
    inserted = rng.bytes(1234)
    after = chunk_boundaries(inserted + data)
    shifted = [end + len(inserted) for end in before]
    # Once a cut falls where it fell before, every later cut does too.
    resync = next(i for i, end in enumerate(after) if end in shifted)
    assert len(before) > 30
    assert resync <= 2
    assert after[resync:] == shifted[shifted.index(after[resync]) :]
    assert len(after) - resync >= len(before) - 2


@pytest.mark.parametrize("size", [3 * MAX_CHUNK, 2_500_000])
def test_file_ids_match_hf_xet(tmp_path: Path, size: int) -> None:
    # Long zero runs force cuts at the maximum; the text and random parts cut on the mask.
    data = mixed(size, size)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    (info,) = hf_xet.hash_files([str(path)])
    pieces = chunk(data)
    assert hash_hex(file_hash([(chunk_hash(p), len(p)) for p in pieces])) == info.hash
