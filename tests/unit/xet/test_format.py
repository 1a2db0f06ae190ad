"""The Xet formats: hash strings, the merkle tree, chunk encodings, xorb validation, shards, and the
file ids the real client (hf_xet) computes."""

from __future__ import annotations

import hashlib
import os
import random
import struct
from pathlib import Path

import blake3
import hf_xet
import lz4.frame
import numpy as np
import pytest

from commonshub.xet import chunking
from commonshub.xet.format import (
    DATA_KEY,
    INTERNAL_NODE_KEY,
    MAX_CHUNK_SIZE,
    MAX_XORB_BYTES,
    MAX_XORB_CHUNKS,
    SCHEME_BG4_LZ4,
    SCHEME_LZ4,
    SCHEME_NONE,
    FileRecipe,
    FormatError,
    Shard,
    ShardFooter,
    Term,
    XorbChunk,
    XorbIndex,
    XorbListing,
    _bg4_regroup,
    _bg4_split,
    build_shard,
    build_xorb,
    chunk_hash,
    decode_chunks,
    encode_chunk,
    file_hash,
    hash_hex,
    keyed_hash,
    merkle_root,
    parse_hash,
    parse_shard,
    validate_xorb,
    verification_hash,
    xorb_hash,
)

SCHEMES = [SCHEME_NONE, SCHEME_LZ4, SCHEME_BG4_LZ4]


def header(compressed: int, scheme: int, size: int, version: int = 0) -> bytes:
    return bytes([version]) + compressed.to_bytes(3, "little") + bytes([scheme]) + size.to_bytes(3, "little")


def sample(size: int, seed: int = 0) -> bytes:
    """Bytes of every kind the client meets: random, text-like, float32 weights."""
    rng = np.random.default_rng(seed)
    third = size // 3
    floats = (rng.standard_normal(third // 4 + 1, dtype=np.float32) * 0.02).tobytes()
    text = b"".join(b"layer %d weight %d; " % (i % 7, i) for i in range(third // 10 + 1))
    return (rng.bytes(third) + text[:third] + floats)[:size].ljust(size, b"\0")


# --- hashes and their string form ---


def test_hash_string_reverses_the_bytes_of_each_word() -> None:
    raw = bytes(range(32))
    text = "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
    assert hash_hex(raw) == text
    assert parse_hash(text) == raw
    assert parse_hash(text.upper()) == raw


def test_hash_string_matches_xet_core() -> None:
    # data_hash.rs, test_hash_hex_string_endianness.
    raw = bytes([22, 175, 58, 132, 4, 75, 131, 214, 190, 153, 138, 66, 226, 3, 153, 242,
                 204, 86, 80, 234, 249, 153, 80, 99, 159, 80, 65, 138, 236, 231, 149, 78])  # fmt: skip
    assert hash_hex(raw) == "d6834b04843aaf16f29903e2428a99be635099f9ea5056cc4e95e7ec8a41509f"


def test_hash_string_round_trip() -> None:
    for _ in range(100):
        raw = os.urandom(32)
        assert parse_hash(hash_hex(raw)) == raw


@pytest.mark.parametrize(
    "text", ["", "ab" * 31, "ab" * 33, "g" * 64, " " + "a" * 63, "a" * 63 + "\n", "0x" + "a" * 62, "a_" * 32]
)
def test_parse_hash_rejects_what_is_not_64_hex_digits(text: str) -> None:
    with pytest.raises(FormatError, match="not a Xet hash"):
        parse_hash(text)


def test_hash_hex_rejects_a_wrong_size() -> None:
    with pytest.raises(FormatError):
        hash_hex(b"\0" * 31)


def test_keyed_hashes() -> None:
    assert chunk_hash(b"x") == blake3.blake3(b"x", key=DATA_KEY).digest()
    hashes = [os.urandom(32) for _ in range(3)]
    assert verification_hash(hashes) != verification_hash(hashes[:2])
    key = os.urandom(32)
    assert keyed_hash(key, hashes[0]) == blake3.blake3(hashes[0], key=key).digest()
    assert keyed_hash(key, hashes[0]) != keyed_hash(bytes(32), hashes[0])


# --- the merkle tree ---

# Leaves and roots of xet-core's reference test (aggregated_hashes.rs, test_correctness).
LEAF = {
    0: "0000000000000000000000000000000000000000000000000000000000000000",
    1: "cfc5d07f6f03c29bbf424132963fe08d19a37d5757aaf520bf08119f05cd56d6",
    2: "c3e67584b5c4fc2a89837ec39e40f2c8a6bb0b2987ac94cd4b31e5fbdd210a72",
    3: "0d2beb91b9196929a5ddec9f6e306924ddf4a24268e3e59fd8464738d525af37",
    4: "adf8773496a9b7319b2e50dc98093f344053b17d8ad37100b9c07d9805988784",
    5: "4ac202caf347fc1e9c874b1ef6a1c5e619141eb775a6f43f0f0124ccd0060d9e",
    6: "b3b28636f65c149ea52eb1f94669466f70f033b54cea792824c696ba6ef3c389",
    7: "0e2c1a002aae913d2c0fc8ddfa4e9e14b7b311b3b0d458726d5d9f6a6318013c",
}
REFERENCE = [
    # (leaf numbers, xorb hash, file hash)
    ([], "0" * 64, "0" * 64),
    ([1], LEAF[1], "8e16257caa3fe079d484d872a8975264b2ff683b0d6db9028cc7c0f968a45661"),
    ([1, 0], "e8660f81494ca836a58e395c1395ef97870ed71e2b113eec1fab6b3361f46dd6", None),
    (
        [1, 2, 3],
        "71ec1275fca074724e2dd666921b3277c7cee603e4d025bcab2d4050015be2bc",
        "54e55dccc6653c612bdb5576c5d3cb34bb31bc4e100248abccf4c908b3ef7715",
    ),
    ([1, 2, 1, 2, 3, 4], "52c826f99507aa05d0b45e9837fa1709e0485425cfbcb1e80db3905cf98b3ee9", None),
    ([3, 4, 5, 5, 5], "2c1fd1eca47e284512fcb40fcf45a1874939f9b91c774d46aeba5d004d9d263d", None),
    (list(range(8)), "f62abe77e3fb9c954fe52b0028027ddc90c064c45951a4fd2211d87e5c0011db", None),
    (
        [i % 8 for i in range(64)],
        "6554007c9b5d0a5e7918f79596a1b68815c1407535585435f5735db761f21b88",
        "a8640ab81d48854e00078e12b1ea8be5d90be0ffb5f73a15b7009981d093ddd8",
    ),
]


@pytest.mark.parametrize(("leaves", "root", "file_id"), REFERENCE)
def test_merkle_matches_xet_core_reference_vectors(leaves: list[int], root: str, file_id: str | None) -> None:
    nodes = [(parse_hash(LEAF[i]), 100 * i) for i in leaves]
    assert hash_hex(merkle_root(nodes)) == root
    assert xorb_hash(nodes) == merkle_root(nodes)
    if file_id is not None:
        assert hash_hex(file_hash(nodes)) == file_id


def reference_root(nodes: list[tuple[bytes, int]]) -> bytes:
    """The tree of spec §1.3, written the obvious way."""
    if not nodes:
        return bytes(32)
    while len(nodes) > 1:
        parents = []
        while nodes:
            if len(nodes) <= 2:
                size = len(nodes)
            else:
                size = min(9, len(nodes))
                for i in range(2, min(9, len(nodes))):
                    if int.from_bytes(nodes[i][0][24:32], "little") % 4 == 0:
                        size = i + 1
                        break
            group, nodes = nodes[:size], nodes[size:]
            text = "".join(f"{hash_hex(h)} : {n}\n" for h, n in group)
            parents.append(
                (blake3.blake3(text.encode(), key=INTERNAL_NODE_KEY).digest(), sum(n for _, n in group))
            )
        nodes = parents
    return nodes[0][0]


def test_merkle_matches_a_plain_reference_on_0_1_2_and_many_nodes() -> None:
    rng = random.Random(7)
    for count in [0, 1, 2, 3, 8, 9, 10, 17, 63, 64, 65, 300, 1000]:
        nodes = [(rng.randbytes(32), rng.randrange(1 << 17)) for _ in range(count)]
        assert merkle_root(nodes) == reference_root(nodes), count


def test_merkle_groups_are_cut_as_the_rule_says() -> None:
    # hash % 4 reads byte 24 (the low byte of the last little-endian word): steer it.
    def leaf(cut: bool) -> tuple[bytes, int]:
        raw = bytearray(os.urandom(32))
        raw[24] = (raw[24] & ~3) | (0 if cut else 1)
        return bytes(raw), 10

    for pattern in [
        "",
        "c",
        "cc",
        "ccc",
        "nnnnnnnnnnnn",
        "ncnc",
        "nncnnnnnnnnnnnnc",
        "nnnnnnnnc" * 5,
        "cccccccccc",
    ]:
        nodes = [leaf(p == "c") for p in pattern]
        assert merkle_root(nodes) == reference_root(nodes), pattern

    # Nine leaves and no cut: one group of nine, i.e. the root is the hash of all nine lines.
    nodes = [leaf(False) for _ in range(9)]
    text = "".join(f"{hash_hex(h)} : {n}\n" for h, n in nodes)
    assert merkle_root(nodes) == blake3.blake3(text.encode(), key=INTERNAL_NODE_KEY).digest()
    # A cut at the third leaf: groups of 3 and 2, then one root over the two parents.
    nodes = [leaf(False), leaf(False), leaf(True), leaf(False), leaf(False)]
    assert merkle_root(nodes) == reference_root(nodes)


def test_file_hash_of_nothing_is_zero() -> None:
    assert file_hash([]) == bytes(32)
    assert xorb_hash([]) == bytes(32)


# --- chunk encodings ---


@pytest.mark.parametrize(
    "size", [0, 1, 2, 3, 4, 5, 6, 7, 8, 1001, 1002, 1003, 1004, 65536, 65537, 65538, 65539]
)
def test_bg4_round_trip(size: int) -> None:
    data = os.urandom(size)
    grouped = _bg4_split(data)
    assert grouped == b"".join(bytes(data[j] for j in range(i, size, 4)) for i in range(4))
    assert _bg4_regroup(grouped, size) == data


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("size", [0, 1, 4099, 65536, MAX_CHUNK_SIZE])
def test_each_scheme_round_trips(scheme: int, size: int) -> None:
    data = sample(size, seed=size)
    encoded = encode_chunk(data, scheme)
    assert encoded[4] == scheme
    assert int.from_bytes(encoded[5:8], "little") == size
    assert decode_chunks(encoded) == [data]


def test_decode_chunks_of_a_run_of_chunks() -> None:
    chunks = [sample(n, seed=n) for n in (10, 20000, 7, 131072)]
    encoded = b"".join(encode_chunk(c, SCHEMES[i % 3]) for i, c in enumerate(chunks))
    assert decode_chunks(encoded) == chunks
    assert decode_chunks(memoryview(encoded)) == chunks
    assert decode_chunks(b"") == []


@pytest.mark.parametrize(
    "bad", [b"\x01" + bytes(7), header(5, 0, 5) + b"abc", header(3, 9, 3) + b"abc", b"\0\0\0"]
)
def test_decode_chunks_rejects_malformed_input(bad: bytes) -> None:
    with pytest.raises(FormatError):
        decode_chunks(bad)


def test_encode_chunk_rejects_oversize_and_unknown_scheme() -> None:
    with pytest.raises(FormatError):
        encode_chunk(bytes(MAX_CHUNK_SIZE + 1), SCHEME_NONE)
    with pytest.raises(FormatError):
        encode_chunk(b"abc", 3)


# --- xorbs ---


def some_chunks() -> list[bytes]:
    return [bytes(c) for c in chunking.chunk(sample(600_000, seed=3))] + [b"x", b""]


def test_build_and_validate_a_xorb() -> None:
    chunks = some_chunks()
    raw_hash, body = build_xorb(chunks)
    assert raw_hash == xorb_hash([(chunk_hash(c), len(c)) for c in chunks])
    index = validate_xorb(body, raw_hash)
    assert index.hashes == tuple(chunk_hash(c) for c in chunks)
    assert index.lengths == tuple(len(c) for c in chunks)
    assert index.raw_size == sum(map(len, chunks))
    assert index.offsets[0] == 0
    assert index.offsets[-1] == len(body)
    assert len(index.offsets) == len(chunks) + 1
    for i, chunk in enumerate(chunks):
        assert decode_chunks(body[index.offsets[i] : index.offsets[i + 1]]) == [chunk]
    assert decode_chunks(body[index.offsets[1] : index.offsets[4]]) == chunks[1:4]
    # "Smallest of the three" really mixes the schemes on such data.
    assert {body[o + 4] for o in index.offsets[:-1]} == set(SCHEMES)
    assert validate_xorb(memoryview(body), raw_hash) == index


@pytest.mark.parametrize("scheme", SCHEMES)
def test_xorb_with_one_scheme(scheme: int) -> None:
    chunks = some_chunks()
    raw_hash, body = build_xorb(chunks, scheme)
    assert validate_xorb(body, raw_hash).lengths == tuple(map(len, chunks))


def test_xorb_index_serialization() -> None:
    raw_hash, body = build_xorb(some_chunks())
    index = validate_xorb(body, raw_hash)
    data = index.to_bytes()
    assert len(data) < 50 * len(index.hashes)
    assert XorbIndex.from_bytes(data) == index
    for bad in [data[:-1], data + b"\0", b"", b"\x02" + data[1:]]:
        with pytest.raises(FormatError):
            XorbIndex.from_bytes(bad)


def test_legacy_footer_is_accepted_and_ignored() -> None:
    chunks = some_chunks()
    raw_hash, body = build_xorb(chunks)
    footer = b"XETBLOB" + b"\x01" + os.urandom(300) + struct.pack("<I", 308)
    index = validate_xorb(body + footer, raw_hash)
    assert index == validate_xorb(body, raw_hash)
    assert index.offsets[-1] == len(body)
    assert decode_chunks(body + footer) == chunks


def expect_rejected(body: bytes, raw_hash: bytes, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        validate_xorb(body, raw_hash)


def test_xorb_rejects_a_wrong_hash() -> None:
    raw_hash, body = build_xorb(some_chunks())
    expect_rejected(body, bytes(32), "xorb hash mismatch")
    expect_rejected(body, raw_hash[:-1] + bytes([raw_hash[-1] ^ 1]), "hash mismatch")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_xorb_rejects_a_flipped_payload_byte(scheme: int) -> None:
    chunks = [sample(70000, seed=s) for s in range(3)]
    raw_hash, body = build_xorb(chunks, scheme)
    index = validate_xorb(body, raw_hash)
    for at in [index.offsets[1] + 8 + 100, index.offsets[2] - 1, index.offsets[-1] - 30]:
        tampered = bytearray(body)
        tampered[at] ^= 0x40
        with pytest.raises(FormatError):
            validate_xorb(bytes(tampered), raw_hash)


def test_xorb_rejects_truncation() -> None:
    raw_hash, body = build_xorb([sample(30000, seed=1), sample(30000, seed=2)], SCHEME_LZ4)
    index = validate_xorb(body, raw_hash)
    expect_rejected(body[:-1], raw_hash, "truncated")
    expect_rejected(body[: index.offsets[1] + 5], raw_hash, "truncated chunk header")
    expect_rejected(body[: index.offsets[1] + 20], raw_hash, "truncated")
    expect_rejected(body[: index.offsets[1]], raw_hash, "hash mismatch")


def test_xorb_rejects_trailing_garbage() -> None:
    raw_hash, body = build_xorb(some_chunks())
    expect_rejected(body + b"garbage", raw_hash, "unknown chunk header version")
    expect_rejected(body + b"\0\0\0", raw_hash, "truncated chunk header")
    expect_rejected(body + b"XETBLO", raw_hash, "unknown chunk header version")


def test_xorb_rejects_oversize_chunks() -> None:
    big = bytes(MAX_CHUNK_SIZE + 1)
    body = header(len(big), SCHEME_NONE, len(big)) + big
    expect_rejected(body, xorb_hash([(chunk_hash(big), len(big))]), "uncompressed, the limit is 131072")
    payload = os.urandom(256 * 1024 + 1)
    expect_rejected(
        header(len(payload), SCHEME_LZ4, 100) + payload, bytes(32), "compressed, the limit is 262144"
    )


def test_xorb_rejects_bad_headers_and_frames() -> None:
    data = sample(5000)
    frame = lz4.frame.compress(data)
    good_hash = xorb_hash([(chunk_hash(data), len(data))])
    validate_xorb(header(len(frame), SCHEME_LZ4, len(data)) + frame, good_hash)
    cases = [
        (header(len(data), 3, len(data)) + data, "unknown compression scheme 3"),
        (header(len(data), SCHEME_NONE, len(data), version=1) + data, "unknown chunk header version 1"),
        (header(len(data), SCHEME_NONE, len(data) - 1) + data, "stored uncompressed"),
        (header(len(frame), SCHEME_LZ4, len(data) + 1) + frame, "decompresses to 5000 bytes"),
        (header(len(frame), SCHEME_LZ4, len(data) - 1) + frame, "more than"),
        (header(len(frame) + 2, SCHEME_LZ4, len(data)) + frame + b"\0\0", "after the end of its LZ4 frame"),
        (header(len(data), SCHEME_LZ4, len(data)) + data, "invalid LZ4 frame"),
        (header(len(frame) - 4, SCHEME_BG4_LZ4, len(data)) + frame[:-4], "truncated LZ4 frame"),
    ]
    for body, match in cases:
        expect_rejected(body, good_hash, match)


def test_xorb_rejects_zero_chunks() -> None:
    expect_rejected(b"", bytes(32), "no chunks")
    expect_rejected(b"XETBLOB\x01" + bytes(40), bytes(32), "no chunks")


def test_xorb_chunk_count_limit() -> None:
    chunks = [bytes([i % 256]) for i in range(MAX_XORB_CHUNKS)]
    raw_hash, body = build_xorb(chunks, SCHEME_NONE)
    assert len(validate_xorb(body, raw_hash).hashes) == MAX_XORB_CHUNKS
    expect_rejected(body + encode_chunk(b"x", SCHEME_NONE), raw_hash, "more than 8192 chunks")


def test_xorb_size_limit_counts_uncompressed_bytes() -> None:
    zeros = bytes(MAX_CHUNK_SIZE)
    encoded = encode_chunk(zeros, SCHEME_LZ4)
    count = MAX_XORB_BYTES // MAX_CHUNK_SIZE
    nodes = [(chunk_hash(zeros), MAX_CHUNK_SIZE)] * count
    assert validate_xorb(encoded * count, xorb_hash(nodes)).raw_size == MAX_XORB_BYTES
    expect_rejected(encoded * (count + 1), bytes(32), "more than 67108864 bytes uncompressed")


# --- shards ---


def a_recipe(i: int, *, verification: bool = True, sha256: bool = True) -> FileRecipe:
    terms = (Term(os.urandom(32), 1000 + i, 0, 3), Term(os.urandom(32), 77, 5, 6, flags=0))
    return FileRecipe(
        file_hash=os.urandom(32),
        terms=terms,
        verification=tuple(os.urandom(32) for _ in terms) if verification else None,
        sha256=hashlib.sha256(b"file %d" % i).hexdigest() if sha256 else None,
    )


def a_listing(count: int, flags: int = 0) -> XorbListing:
    chunks = []
    start = 0
    for j in range(count):
        length = 1000 + 17 * j
        chunks.append(XorbChunk(os.urandom(32), start, length, flags=(1 << 31) if j % 3 == 0 else 0))
        start += length
    return XorbListing(os.urandom(32), tuple(chunks), flags=flags)


def test_shard_round_trip_without_footer() -> None:
    files = (
        a_recipe(0),
        a_recipe(1, verification=False),
        a_recipe(2, sha256=False),
        a_recipe(3, verification=False, sha256=False),
    )
    xorbs = (a_listing(3), a_listing(1, flags=5))
    data = build_shard(files, xorbs)
    assert struct.unpack_from("<QQ", data, 32) == (2, 0)
    shard = parse_shard(data)
    assert shard == Shard(files, xorbs)
    assert shard.files[0].size == 1077
    assert shard.xorbs[0].raw_bytes == 1000 + 1017 + 1034
    assert parse_shard(memoryview(data)) == shard


def test_shard_stores_the_sha256_word_swapped() -> None:
    recipe = a_recipe(0, verification=False)
    assert recipe.sha256 is not None
    data = build_shard([recipe], [])
    metadata_at = 48 + 48 * 3
    assert data[metadata_at : metadata_at + 32] == parse_hash(recipe.sha256)
    assert data[metadata_at : metadata_at + 32] != bytes.fromhex(recipe.sha256)
    assert struct.unpack_from("<I", data, 48 + 32)[0] == 1 << 30
    assert parse_shard(data).files[0].sha256 == recipe.sha256


def test_shard_round_trip_with_footer() -> None:
    files, xorbs = (a_recipe(0),), (a_listing(4),)
    key = os.urandom(32)
    data = build_shard(
        files, xorbs, footer=ShardFooter(hmac_key=key, created=1_700_000_000, expiry=1_700_003_600)
    )
    assert struct.unpack_from("<QQ", data, 32) == (2, 200)
    assert parse_shard(data) == Shard(files, xorbs)
    footer_at = len(data) - 200
    fields = struct.unpack_from("<9Q32sQQ48xQQQQ", data, footer_at)
    version, file_info, xorb_info = fields[:3]
    assert (version, file_info) == (1, 48)
    assert data[xorb_info : xorb_info + 32] == xorbs[0].xorb
    assert fields[3:9] == (footer_at, 0) * 3
    assert fields[9:12] == (key, 1_700_000_000, 1_700_003_600)
    assert fields[12:] == (0, files[0].size, xorbs[0].raw_bytes, footer_at)


def test_shard_with_lookup_tables_before_the_footer() -> None:
    # xet-core's own stored shards fill the gap before the footer with sorted lookup tables.
    data = bytearray(build_shard([a_recipe(0)], [a_listing(2)], footer=ShardFooter(bytes(32), 0, 0)))
    footer_at = len(data) - 200
    tables = os.urandom(12 + 2 * 12 + 2 * 16)
    footer = bytearray(data[footer_at:])
    struct.pack_into("<6Q", footer, 24, footer_at, 1, footer_at + 12, 2, footer_at + 36, 2)
    struct.pack_into("<Q", footer, 192, footer_at + len(tables))
    shard = parse_shard(bytes(data[:footer_at]) + tables + bytes(footer))
    assert shard == parse_shard(bytes(data))
    struct.pack_into("<Q", footer, 32, 3)  # one file lookup entry more than the gap holds
    with pytest.raises(FormatError, match="lookup tables"):
        parse_shard(bytes(data[:footer_at]) + tables + bytes(footer))


def test_empty_shard() -> None:
    assert parse_shard(build_shard([], [])) == Shard((), ())


def shard_error(data: bytes | bytearray, match: str) -> None:
    with pytest.raises(FormatError, match=match):
        parse_shard(bytes(data))


def test_shard_rejects_a_bad_magic_or_version() -> None:
    data = bytearray(build_shard([a_recipe(0)], [a_listing(2)]))
    data[3] ^= 1
    shard_error(data, "magic")
    data = bytearray(build_shard([a_recipe(0)], [a_listing(2)]))
    struct.pack_into("<Q", data, 32, 3)
    shard_error(data, "unknown version 3")
    struct.pack_into("<QQ", data, 32, 2, 100)
    shard_error(data, "footer_size is 100")


def test_shard_rejects_every_truncation() -> None:
    data = build_shard([a_recipe(0)], [a_listing(2)])
    for end in range(len(data)):
        with pytest.raises(FormatError):
            parse_shard(data[:end])
    with_footer = build_shard([a_recipe(0)], [a_listing(2)], footer=ShardFooter(bytes(32), 0, 0))
    for end in range(0, len(with_footer), 7):
        with pytest.raises(FormatError):
            parse_shard(with_footer[:end])


def test_shard_rejects_counts_larger_than_the_data() -> None:
    data = bytearray(build_shard([a_recipe(0)], [a_listing(2)]))
    struct.pack_into("<I", data, 48 + 36, 0xFFFFFFFF)
    shard_error(data, "claims 4294967295 records")
    data = bytearray(build_shard([], [a_listing(2)]))
    struct.pack_into("<I", data, 96 + 36, 8000)
    shard_error(data, "claims 8000 records")
    struct.pack_into("<I", data, 96 + 36, 9000)
    shard_error(data, "1 to 8192")


def test_shard_rejects_a_missing_or_malformed_bookend() -> None:
    data = build_shard([a_recipe(0)], [a_listing(2)])
    shard_error(data[:-48], "xorb info section ends .* without its bookend")
    bad = bytearray(data)
    bad[-1] = 1
    shard_error(bad, "malformed xorb info bookend")
    no_files_bookend = build_shard([], [])[:48]
    shard_error(no_files_bookend, "file info section ends")


def test_shard_rejects_trailing_garbage() -> None:
    data = build_shard([a_recipe(0)], [a_listing(2)])
    shard_error(data + b"\0", "trailing garbage")
    shard_error(data + bytes(48), "trailing garbage")
    with_footer = build_shard([a_recipe(0)], [a_listing(2)], footer=ShardFooter(bytes(32), 0, 0))
    shard_error(with_footer[:-200] + b"\0" * 8 + with_footer[-200:], "footer")


def test_shard_rejects_inconsistent_records() -> None:
    listing = a_listing(3)
    broken = XorbListing(
        listing.xorb, (listing.chunks[0], XorbChunk(os.urandom(32), 5, 10), listing.chunks[2])
    )
    shard_error(build_shard([], [broken]), "chunk 1 starts at 5, not 1000")
    data = bytearray(build_shard([], [listing]))
    struct.pack_into("<I", data, 96 + 40, 12)
    shard_error(data, "bytes_in_cas is 12")
    recipe = a_recipe(0)
    shard_error(
        build_shard([FileRecipe(recipe.file_hash, (Term(os.urandom(32), 5, 3, 3),), None, None)], []),
        r"chunk range \[3, 3\)",
    )
    data = bytearray(build_shard([recipe], []))
    struct.pack_into("<I", data, 48 + 32, (1 << 31) | 1)
    shard_error(data, "unknown flags")


def test_build_shard_rejects_bad_values() -> None:
    recipe = a_recipe(0)
    with pytest.raises(FormatError):
        build_shard(
            [
                FileRecipe(
                    recipe.file_hash,
                    recipe.terms,
                    recipe.verification[:1] if recipe.verification else None,
                    None,
                )
            ],
            [],
        )
    with pytest.raises(FormatError):
        build_shard([FileRecipe(b"short", recipe.terms, None, None)], [])
    with pytest.raises(FormatError):
        build_shard([FileRecipe(recipe.file_hash, (Term(os.urandom(32), 1 << 32, 0, 1),), None, None)], [])


# --- the real client's file ids ---


def mixed_file(size: int) -> bytes:
    """Random stretches and repetitive ones, so the chunker meets both mask hits and forced cuts."""
    rng = np.random.default_rng(size)
    parts = []
    total = 0
    while total < size:
        length = int(rng.integers(1, 400_000))
        kind = total // 300_000 % 3
        if kind == 0:
            part = rng.bytes(length)
        elif kind == 1:
            part = bytes(length)
        else:
            part = (b"commons hub %d " % length) * (length // 14 + 1)
        parts.append(part[:length])
        total += length
    return b"".join(parts)[:size]


@pytest.mark.parametrize(
    "size", [0, 1, 7 * 1024, 8 * 1024, 8 * 1024 + 1, 128 * 1024 + 1, 5 * 1024 * 1024 + 123]
)
def test_file_ids_match_hf_xet(tmp_path: Path, size: int) -> None:
    data = mixed_file(size) if size > 64 else os.urandom(size)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    (info,) = hf_xet.hash_files([str(path)])
    chunks = chunking.chunk(data)
    assert hash_hex(file_hash([(chunk_hash(c), len(c)) for c in chunks])) == info.hash
