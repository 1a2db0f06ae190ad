"""The Xet binary formats: hashes and their string form, xorbs and shards (specs/xet-protocol.md §1.2 to §1.6).

Pure functions over bytes, with no I/O and nothing from the rest of commonshub. Every parse failure is a
`FormatError` whose message says precisely what is wrong: it goes back to the client as a 400.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import lz4.frame  # type: ignore[import-untyped]
from blake3 import blake3


class FormatError(ValueError):
    """Bytes or a hash string that do not follow the Xet format; the message says what is wrong."""


HASH_SIZE = 32
MAX_CHUNK_SIZE = 128 * 1024  # uncompressed
MAX_COMPRESSED_CHUNK_SIZE = 256 * 1024
MAX_XORB_BYTES = 64 * 1024 * 1024
MAX_XORB_CHUNKS = 8192
MAX_SHARD_BYTES = 64 * 1024 * 1024
SCHEME_NONE, SCHEME_LZ4, SCHEME_BG4_LZ4 = 0, 1, 2

# The client caps a xorb at MAX_XORB_BYTES of *uncompressed* chunk data, and stores a chunk uncompressed
# when compression does not shrink it; so the serialized body may exceed MAX_XORB_BYTES by one 8-byte
# header per chunk, plus a legacy footer (about 40 bytes per chunk). Use this bound for request bodies.
MAX_XORB_SERIALIZED_BYTES = MAX_XORB_BYTES + 1024 * 1024

# Keys of the keyed BLAKE3 hashes, from xet-core (merklehash/data_hash.rs, chunk_verification.rs).
DATA_KEY = bytes(
    [102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28,
     157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41]
)  # fmt: skip
INTERNAL_NODE_KEY = bytes(
    [1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230,
     93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63]
)  # fmt: skip
VERIFICATION_KEY = bytes(
    [127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243,
     164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195]
)  # fmt: skip
_ZERO_HASH = bytes(HASH_SIZE)

# A hash is four little-endian u64 words; its string form prints each word as 16 hex digits, i.e.
# reverses the bytes of each 8-byte group.
_WORDS = struct.Struct("<4Q")
_HEX_HASH = re.compile(r"[0-9a-fA-F]{64}")


# --- hashes ---


def hash_hex(raw: bytes) -> str:
    """The string form of a raw 32-byte hash: each 8-byte word printed as a little-endian u64."""
    if len(raw) != HASH_SIZE:
        raise FormatError(f"a hash has {HASH_SIZE} bytes, not {len(raw)}")
    return f"{raw[7::-1].hex()}{raw[15:7:-1].hex()}{raw[23:15:-1].hex()}{raw[31:23:-1].hex()}"


def parse_hash(text: str) -> bytes:
    """The raw 32 bytes of a hash string (64 hex digits, either case): the inverse of `hash_hex`."""
    if not isinstance(text, str) or not _HEX_HASH.fullmatch(text):
        raise FormatError(f"not a Xet hash (64 hexadecimal digits): {text!r:.80}")
    return _WORDS.pack(*(int(text[i : i + 16], 16) for i in range(0, 64, 16)))


def chunk_hash(data: bytes | bytearray | memoryview) -> bytes:
    """The hash of a chunk's uncompressed bytes."""
    return blake3(data, key=DATA_KEY).digest()


def merkle_root(nodes: Sequence[tuple[bytes, int]]) -> bytes:
    """The root of xet-core's aggregated merkle tree over `(hash, length)` nodes; 32 zero bytes if none.

    Each pass cuts the list into groups (2 to 9 nodes, cut after a node whose hash % 4 == 0; a list
    of at most 2 left is one group) and replaces each group by the keyed hash of its lines
    "{hash string} : {length}\\n", with the summed length, until one node is left.
    """
    if not nodes:
        return _ZERO_HASH
    level = list(nodes)
    while len(level) > 1:
        merged: list[tuple[bytes, int]] = []
        count = len(level)
        i = 0
        while i < count:
            remaining = count - i
            if remaining <= 2:
                end = count
            else:
                end = i + min(9, remaining)
                for j in range(i + 2, end):
                    # hash % 4 reads the last word as a little-endian u64: its low bits are in byte 24.
                    if level[j][0][24] & 3 == 0:
                        end = j + 1
                        break
            group = level[i:end]
            # "{hash_hex(h)} : {size}\n", inlined: this runs once for every node of the tree.
            text = "".join(
                [
                    f"{h[7::-1].hex()}{h[15:7:-1].hex()}{h[23:15:-1].hex()}{h[31:23:-1].hex()} : {size}\n"
                    for h, size in group
                ]
            )
            merged.append((blake3(text.encode(), key=INTERNAL_NODE_KEY).digest(), sum(s for _, s in group)))
            i = end
        level = merged
    return level[0][0]


def xorb_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    """The hash of a xorb: the merkle root over its chunks' `(hash, uncompressed length)`."""
    return merkle_root(chunks)


def file_hash(chunks: Sequence[tuple[bytes, int]]) -> bytes:
    """The Xet file id over all the file's chunks `(hash, length)`; an empty file's is 32 zero bytes."""
    if not chunks:
        return _ZERO_HASH
    return blake3(merkle_root(chunks), key=_ZERO_HASH).digest()


def verification_hash(chunk_hashes: Sequence[bytes]) -> bytes:
    """The verification hash of a term: over the raw hashes of the chunks it covers, in order."""
    return blake3(b"".join(chunk_hashes), key=VERIFICATION_KEY).digest()


def keyed_hash(key: bytes, chunk_hash: bytes) -> bytes:
    """A chunk hash as a global-dedup reply shows it, keyed with that reply's HMAC key."""
    return blake3(chunk_hash, key=key).digest()


# --- xorbs ---

# Chunk header as two little-endian u32: version | compressed_len << 8, scheme | uncompressed_len << 8.
_CHUNK_HEADER = struct.Struct("<II")
_HEADER_SIZE = _CHUNK_HEADER.size
_LEGACY_FOOTER = b"XETBLOB"
_FOOTER_FIRST = _LEGACY_FOOTER[0]
_INDEX_HEADER = struct.Struct("<BI")
_INDEX_VERSION = 1


@dataclass(frozen=True, slots=True)
class XorbIndex:
    """What the server keeps about a stored xorb."""

    hashes: tuple[bytes, ...]  # raw chunk hashes, in order
    lengths: tuple[int, ...]  # uncompressed length of each chunk
    # len(hashes) + 1 offsets into the stored bytes: where each chunk's header starts, then where the
    # last chunk ends (where a legacy footer would start).
    offsets: tuple[int, ...]

    def to_bytes(self) -> bytes:
        """A compact serialization, for a database column."""
        count = len(self.hashes)
        return b"".join(
            [
                _INDEX_HEADER.pack(_INDEX_VERSION, count),
                *self.hashes,
                struct.pack(f"<{count}I", *self.lengths),
                struct.pack(f"<{count + 1}I", *self.offsets),
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> XorbIndex:
        """The inverse of `to_bytes`."""
        if len(data) < _INDEX_HEADER.size:
            raise FormatError("xorb index: truncated header")
        version, count = _INDEX_HEADER.unpack_from(data)
        if version != _INDEX_VERSION:
            raise FormatError(f"xorb index: unknown version {version}")
        start = _INDEX_HEADER.size
        expected = start + count * (HASH_SIZE + 4) + (count + 1) * 4
        if len(data) != expected:
            raise FormatError(f"xorb index: {len(data)} bytes where {count} chunks take {expected}")
        lengths_at = start + count * HASH_SIZE
        hashes = tuple(data[p : p + HASH_SIZE] for p in range(start, lengths_at, HASH_SIZE))
        lengths = struct.unpack_from(f"<{count}I", data, lengths_at)
        offsets = struct.unpack_from(f"<{count + 1}I", data, lengths_at + 4 * count)
        return cls(hashes, lengths, offsets)

    @property
    def raw_size(self) -> int:
        """The xorb's uncompressed size: the sum of its chunk lengths."""
        return sum(self.lengths)


def _lz4_decompress(payload: memoryview, expected: int, where: str) -> bytes:
    # An LZ4 frame can expand ~255-fold: never produce more than the header claims, and require the
    # frame to end exactly there. The low-level call reads the memoryview in place (LZ4FrameDecompressor
    # would copy it first).
    context = lz4.frame.create_decompression_context()
    try:
        out: bytes
        out, used, ended = lz4.frame.decompress_chunk(context, payload, max_length=expected)
    except RuntimeError as exc:
        raise FormatError(f"{where}: invalid LZ4 frame ({exc})") from None
    if not ended:
        if used < len(payload):
            raise FormatError(f"{where}: decompresses to more than the {expected} bytes its header says")
        raise FormatError(f"{where}: truncated LZ4 frame")
    if used != len(payload):
        raise FormatError(f"{where}: {len(payload) - used} bytes after the end of its LZ4 frame")
    if len(out) != expected:
        raise FormatError(f"{where}: decompresses to {len(out)} bytes, its header says {expected}")
    return out


def _bg4_split(data: bytes) -> bytes:
    """ByteGrouping4: byte i goes to stream i % 4; the streams are concatenated."""
    return b"".join([data[i::4] for i in range(4)])


def _bg4_regroup(grouped: bytes | memoryview, size: int) -> bytearray:
    """The inverse of `_bg4_split`: streams 0 .. size % 4 - 1 hold one byte more than the others."""
    # Extended-slice assignment into a bytearray is a C loop: faster than numpy's strided copies here.
    out = bytearray(size)
    view = memoryview(grouped)
    base, extra = divmod(size, 4)
    pos = 0
    for i in range(4):
        length = base + 1 if i < extra else base
        out[i::4] = view[pos : pos + length]
        pos += length
    return out


def _chunk_at(view: memoryview, pos: int, index: int) -> tuple[int, int, bytes | bytearray | memoryview]:
    """Parse and decompress the chunk whose header starts at `pos`: (end, uncompressed length, data)."""
    where = f"chunk {index} (at byte {pos})"
    if view[pos] != 0:
        raise FormatError(f"{where}: unknown chunk header version {view[pos]}")
    if len(view) - pos < _HEADER_SIZE:
        raise FormatError(f"{where}: truncated chunk header ({len(view) - pos} of {_HEADER_SIZE} bytes)")
    first, second = _CHUNK_HEADER.unpack_from(view, pos)
    compressed, scheme, size = first >> 8, second & 0xFF, second >> 8
    if size > MAX_CHUNK_SIZE:
        raise FormatError(f"{where}: {size} bytes uncompressed, the limit is {MAX_CHUNK_SIZE}")
    if compressed > MAX_COMPRESSED_CHUNK_SIZE:
        raise FormatError(f"{where}: {compressed} bytes compressed, the limit is {MAX_COMPRESSED_CHUNK_SIZE}")
    start = pos + _HEADER_SIZE
    end = start + compressed
    if end > len(view):
        raise FormatError(f"{where}: truncated ({len(view) - start} of {compressed} payload bytes)")
    payload = view[start:end]
    if scheme == SCHEME_NONE:
        if compressed != size:
            raise FormatError(
                f"{where}: stored uncompressed, yet {compressed} bytes where its header says {size}"
            )
        return end, size, payload
    if scheme == SCHEME_LZ4:
        return end, size, _lz4_decompress(payload, size, where)
    if scheme == SCHEME_BG4_LZ4:
        return end, size, _bg4_regroup(_lz4_decompress(payload, size, where), size)
    raise FormatError(f"{where}: unknown compression scheme {scheme}")


def _byte_view(data: bytes | bytearray | memoryview) -> memoryview:
    view = memoryview(data)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def validate_xorb(data: bytes | memoryview, expected_hash: bytes) -> XorbIndex:
    """Check a xorb body in full and index it; `FormatError` on anything wrong.

    Every chunk header is parsed and every chunk decompressed and hashed, within the limits (chunk,
    chunk count, total size); a legacy `XETBLOB` footer ends the chunks and is ignored; anything else
    left over is an error; the merkle root of the chunks must be `expected_hash`.
    """
    view = _byte_view(data)
    if len(view) > MAX_XORB_SERIALIZED_BYTES:
        raise FormatError(f"xorb of {len(view)} bytes, the limit is {MAX_XORB_SERIALIZED_BYTES}")
    hashes: list[bytes] = []
    lengths: list[int] = []
    offsets: list[int] = []
    total = 0
    pos = 0
    end_of_data = len(view)
    while pos < end_of_data:
        # A chunk header starts with version 0, the legacy footer with "X".
        if view[pos] == _FOOTER_FIRST and view[pos : pos + len(_LEGACY_FOOTER)] == _LEGACY_FOOTER:
            break
        if len(hashes) == MAX_XORB_CHUNKS:
            raise FormatError(f"xorb has more than {MAX_XORB_CHUNKS} chunks")
        end, size, chunk = _chunk_at(view, pos, len(hashes))
        total += size
        if total > MAX_XORB_BYTES:
            raise FormatError(f"xorb holds more than {MAX_XORB_BYTES} bytes uncompressed")
        hashes.append(blake3(chunk, key=DATA_KEY).digest())
        lengths.append(size)
        offsets.append(pos)
        pos = end
    if not hashes:
        raise FormatError("xorb has no chunks")
    offsets.append(pos)
    root = merkle_root(list(zip(hashes, lengths, strict=True)))
    if root != expected_hash:
        expected = hash_hex(expected_hash) if len(expected_hash) == HASH_SIZE else repr(expected_hash)
        raise FormatError(
            f"xorb hash mismatch: its {len(hashes)} chunks hash to {hash_hex(root)}, not {expected}"
        )
    return XorbIndex(tuple(hashes), tuple(lengths), tuple(offsets))


def decode_chunks(data: bytes | memoryview) -> list[bytes]:
    """The uncompressed contents of a run of whole serialized chunks, in order.

    For example the stored bytes `[offsets[s]:offsets[e]]` of a xorb. A legacy footer ends the run.
    """
    view = _byte_view(data)
    out: list[bytes] = []
    pos = 0
    while pos < len(view):
        if view[pos : pos + len(_LEGACY_FOOTER)] == _LEGACY_FOOTER:
            break
        pos, _, chunk = _chunk_at(view, pos, len(out))
        out.append(chunk if isinstance(chunk, bytes) else bytes(chunk))
    return out


def encode_chunk(data: bytes, scheme: int) -> bytes:
    """One serialized chunk (header and payload) of `data`, compressed with `scheme`."""
    if len(data) > MAX_CHUNK_SIZE:
        raise FormatError(f"a chunk has at most {MAX_CHUNK_SIZE} bytes, not {len(data)}")
    data = bytes(data)
    if scheme == SCHEME_NONE:
        payload = data
    elif scheme == SCHEME_LZ4:
        payload = lz4.frame.compress(data)
    elif scheme == SCHEME_BG4_LZ4:
        payload = lz4.frame.compress(_bg4_split(data))
    else:
        raise FormatError(f"unknown compression scheme {scheme}")
    return _CHUNK_HEADER.pack(len(payload) << 8, scheme | len(data) << 8) + payload


def _smallest_encoding(data: bytes) -> bytes:
    # As the client does: compress, but store as is unless compression actually shrinks the chunk.
    best = encode_chunk(data, SCHEME_NONE)
    for scheme in (SCHEME_LZ4, SCHEME_BG4_LZ4):
        candidate = encode_chunk(data, scheme)
        if len(candidate) < len(best):
            best = candidate
    return best


def build_xorb(chunks: Sequence[bytes], scheme: int | None = None) -> tuple[bytes, bytes]:
    """A footer-less xorb of `chunks`: (raw xorb hash, serialized bytes). For tests and benchmarks.

    `scheme=None` picks, per chunk, the smallest of the three encodings.
    """
    parts = [_smallest_encoding(c) if scheme is None else encode_chunk(c, scheme) for c in chunks]
    return xorb_hash([(chunk_hash(c), len(c)) for c in chunks]), b"".join(parts)


# --- shards ---

_SHARD_TAG = b"HFRepoMetaData\x00" + bytes(
    [85, 105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169]
)
_SHARD_VERSION = 2
_FOOTER_VERSION = 1
_RECORD = 48  # every shard record has 48 bytes
_SHARD_HEADER = struct.Struct("<32sQQ")
_FILE_HEADER = struct.Struct("<32sIIQ")  # file hash, flags, num_entries, reserved
_TERM = struct.Struct("<32sIIII")  # xorb hash, cas flags, unpacked bytes, chunk start, chunk end
_HASH_ENTRY = struct.Struct("<32s16x")  # a verification range hash, or the FileMetadataExt sha256
_XORB_HEADER = struct.Struct("<32sIIII")  # xorb hash, flags, num_chunks, bytes_in_cas, bytes_on_disk
_XORB_ENTRY = struct.Struct("<32sIIII")  # chunk hash, byte_start, unpacked length, flags, reserved
# version, file_info_offset, xorb_info_offset, 3 x (lookup offset, count), hmac key, created, expiry,
# 6 reserved, stored_bytes_on_disk, materialized_bytes, stored_bytes, footer_offset.
_FOOTER = struct.Struct("<9Q32sQQ48xQQQQ")
_FOOTER_SIZE = _FOOTER.size
_BOOKEND = b"\xff" * HASH_SIZE + bytes(_RECORD - HASH_SIZE)
_WITH_VERIFICATION = 1 << 31
_WITH_METADATA_EXT = 1 << 30
_LOOKUP_ENTRY_SIZES = (12, 12, 16)  # file and xorb lookups (u64, u32); chunk lookup (u64, u32, u32)


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a file recipe: the chunks [start, end) of a xorb."""

    xorb: bytes
    unpacked: int
    start: int
    end: int
    flags: int = 0


@dataclass(frozen=True, slots=True)
class FileRecipe:
    """A file as a shard describes it."""

    file_hash: bytes
    terms: tuple[Term, ...]
    verification: tuple[bytes, ...] | None  # one range hash per term (flags bit 31)
    sha256: str | None  # the usual sha256 hex digest (flags bit 30)

    @property
    def size(self) -> int:
        """The file's size: the sum of its terms' unpacked bytes."""
        return sum(t.unpacked for t in self.terms)


@dataclass(frozen=True, slots=True)
class XorbChunk:
    """One chunk of a shard's xorb listing; `byte_start` is its uncompressed offset in the xorb."""

    hash: bytes
    byte_start: int
    length: int
    flags: int = 0


@dataclass(frozen=True, slots=True)
class XorbListing:
    """A xorb's chunk list, as a shard carries it."""

    xorb: bytes
    chunks: tuple[XorbChunk, ...]
    flags: int = 0
    bytes_on_disk: int = 0

    @property
    def raw_bytes(self) -> int:
        """The xorb's uncompressed size."""
        return sum(c.length for c in self.chunks)


@dataclass(frozen=True, slots=True)
class Shard:
    """The file recipes and xorb listings of a shard."""

    files: tuple[FileRecipe, ...]
    xorbs: tuple[XorbListing, ...]


@dataclass(frozen=True, slots=True)
class ShardFooter:
    """The footer of a stored shard or a global-dedup reply."""

    hmac_key: bytes  # 32 bytes; all zeros means the chunk hashes are not keyed
    created: int  # unix seconds
    expiry: int  # unix seconds


def _records(view: memoryview, pos: int, count: int, limit: int, what: str) -> memoryview:
    # Check a claimed count against the bytes that are there before slicing or allocating anything.
    available = (limit - pos) // _RECORD
    if count > available:
        raise FormatError(
            f"shard: {what} at byte {pos} claims {count} records, only {available} fit in the data"
        )
    return view[pos : pos + count * _RECORD]


def _is_bookend(view: memoryview, pos: int, section: str) -> bool:
    if view[pos : pos + HASH_SIZE] != _BOOKEND[:HASH_SIZE]:
        return False
    if view[pos : pos + _RECORD] != _BOOKEND:
        raise FormatError(
            f"shard: malformed {section} bookend at byte {pos} (its last 16 bytes must be zero)"
        )
    return True


def _parse_files(view: memoryview, pos: int, limit: int) -> tuple[list[FileRecipe], int]:
    files: list[FileRecipe] = []
    while True:
        if pos + _RECORD > limit:
            raise FormatError(f"shard: the file info section ends at byte {pos} without its bookend")
        if _is_bookend(view, pos, "file info"):
            return files, pos + _RECORD
        where = f"file {len(files)} (at byte {pos})"
        file_hash, flags, count, _ = _FILE_HEADER.unpack_from(view, pos)
        if flags & ~(_WITH_VERIFICATION | _WITH_METADATA_EXT):
            raise FormatError(f"shard: {where}: unknown flags {flags:#010x}")
        pos += _RECORD
        terms = []
        for i, (xorb, cas_flags, unpacked, start, end) in enumerate(
            _TERM.iter_unpack(_records(view, pos, count, limit, f"{where} terms"))
        ):
            if not start < end <= MAX_XORB_CHUNKS:
                raise FormatError(f"shard: {where}: term {i} has the chunk range [{start}, {end})")
            terms.append(Term(xorb, unpacked, start, end, cas_flags))
        pos += count * _RECORD
        verification = None
        if flags & _WITH_VERIFICATION:
            records = _records(view, pos, count, limit, f"{where} verification entries")
            verification = tuple(h for (h,) in _HASH_ENTRY.iter_unpack(records))
            pos += count * _RECORD
        sha256 = None
        if flags & _WITH_METADATA_EXT:
            (raw,) = _HASH_ENTRY.unpack(_records(view, pos, 1, limit, f"{where} metadata"))
            # The sha256 is stored as a hash value: its string form is the usual hex digest.
            sha256 = hash_hex(raw)
            pos += _RECORD
        files.append(FileRecipe(file_hash, tuple(terms), verification, sha256))


def _parse_xorbs(view: memoryview, pos: int, limit: int) -> tuple[list[XorbListing], int]:
    xorbs: list[XorbListing] = []
    while True:
        if pos + _RECORD > limit:
            raise FormatError(f"shard: the xorb info section ends at byte {pos} without its bookend")
        if _is_bookend(view, pos, "xorb info"):
            return xorbs, pos + _RECORD
        where = f"xorb listing {len(xorbs)} (at byte {pos})"
        xorb, flags, count, bytes_in_cas, bytes_on_disk = _XORB_HEADER.unpack_from(view, pos)
        if not 0 < count <= MAX_XORB_CHUNKS:
            raise FormatError(f"shard: {where}: {count} chunks, a xorb has 1 to {MAX_XORB_CHUNKS}")
        pos += _RECORD
        chunks = []
        cumulative = 0
        for i, (hash_, byte_start, length, chunk_flags, _) in enumerate(
            _XORB_ENTRY.iter_unpack(_records(view, pos, count, limit, f"{where} chunks"))
        ):
            if byte_start != cumulative:
                raise FormatError(f"shard: {where}: chunk {i} starts at {byte_start}, not {cumulative}")
            if length > MAX_CHUNK_SIZE:
                raise FormatError(
                    f"shard: {where}: chunk {i} has {length} bytes, the limit is {MAX_CHUNK_SIZE}"
                )
            chunks.append(XorbChunk(hash_, byte_start, length, chunk_flags))
            cumulative += length
        if bytes_in_cas != cumulative:
            raise FormatError(
                f"shard: {where}: bytes_in_cas is {bytes_in_cas}, its chunks add up to {cumulative}"
            )
        pos += count * _RECORD
        xorbs.append(XorbListing(xorb, tuple(chunks), flags, bytes_on_disk))


def _check_footer(view: memoryview, xorb_info_at: int, lookups_at: int) -> None:
    footer_at = len(view) - _FOOTER_SIZE
    fields = _FOOTER.unpack_from(view, footer_at)
    version, file_info, xorb_info = fields[0:3]
    lookups = fields[3:9]
    footer_offset = fields[-1]
    if version != _FOOTER_VERSION:
        raise FormatError(f"shard: unknown footer version {version}")
    if (file_info, xorb_info, footer_offset) != (_SHARD_HEADER.size, xorb_info_at, footer_at):
        raise FormatError("shard: the footer's section offsets do not match the sections")
    # The lookup tables (sorted truncated hashes) may fill the gap before the footer, one after another.
    pos = lookups_at
    for (offset, count), entry_size in zip(
        zip(lookups[0::2], lookups[1::2], strict=True), _LOOKUP_ENTRY_SIZES, strict=True
    ):
        if offset != pos or count > (footer_at - pos) // entry_size:
            raise FormatError(
                "shard: the footer's lookup tables do not fit between the sections and the footer"
            )
        pos += count * entry_size
    if pos != footer_at:
        raise FormatError(f"shard: {footer_at - pos} unexplained bytes before the footer")


def parse_shard(data: bytes | memoryview) -> Shard:
    """The file recipes and xorb listings of a shard, checked structurally; `FormatError` if malformed.

    Checks the header, record counts against the bytes present, bookends, flags, the chunk offsets and
    totals of xorb listings, and the footer's layout if there is one (its contents are ignored);
    anything after the last section is an error. Whether the xorbs exist and the hashes agree is the
    caller's business.
    """
    view = _byte_view(data)
    if len(view) > MAX_SHARD_BYTES:
        raise FormatError(f"shard of {len(view)} bytes, the limit is {MAX_SHARD_BYTES}")
    if len(view) < _SHARD_HEADER.size:
        raise FormatError(f"shard: truncated header ({len(view)} bytes)")
    tag, version, footer_size = _SHARD_HEADER.unpack_from(view)
    if tag != _SHARD_TAG:
        raise FormatError("shard: wrong magic tag (not a Xet shard)")
    if version != _SHARD_VERSION:
        raise FormatError(f"shard: unknown version {version}")
    if footer_size not in (0, _FOOTER_SIZE):
        raise FormatError(f"shard: footer_size is {footer_size}, expected 0 or {_FOOTER_SIZE}")
    limit = len(view) - footer_size
    if limit < _SHARD_HEADER.size:
        raise FormatError("shard: too short for its footer")
    files, xorb_info_at = _parse_files(view, _SHARD_HEADER.size, limit)
    xorbs, end = _parse_xorbs(view, xorb_info_at, limit)
    if footer_size:
        _check_footer(view, xorb_info_at, end)
    elif end != len(view):
        raise FormatError(f"shard: {len(view) - end} bytes of trailing garbage after byte {end}")
    return Shard(tuple(files), tuple(xorbs))


def _hash_field(value: bytes, what: str) -> bytes:
    if len(value) != HASH_SIZE:
        raise FormatError(f"{what} has {len(value)} bytes, not {HASH_SIZE}")
    return value


def build_shard(
    files: Sequence[FileRecipe], xorbs: Sequence[XorbListing], *, footer: ShardFooter | None = None
) -> bytes:
    """Serialize a shard.

    Without a footer: the upload form (header footer_size 0), as hf_xet sends it. With one: the stored
    and global-dedup-reply form, whose lookup tables are all empty (spec §1.6). Flags bits 31 and 30
    are set when a recipe has verification hashes and a sha256.
    """
    parts = [_SHARD_HEADER.pack(_SHARD_TAG, _SHARD_VERSION, _FOOTER_SIZE if footer else 0)]
    try:
        for recipe in files:
            flags = (_WITH_VERIFICATION if recipe.verification is not None else 0) | (
                _WITH_METADATA_EXT if recipe.sha256 is not None else 0
            )
            file_id = _hash_field(recipe.file_hash, "file hash")
            parts.append(_FILE_HEADER.pack(file_id, flags, len(recipe.terms), 0))
            parts += [
                _TERM.pack(_hash_field(t.xorb, "xorb hash"), t.flags, t.unpacked, t.start, t.end)
                for t in recipe.terms
            ]
            if recipe.verification is not None:
                if len(recipe.verification) != len(recipe.terms):
                    raise FormatError("a recipe needs exactly one verification hash per term")
                parts += [_HASH_ENTRY.pack(_hash_field(h, "verification hash")) for h in recipe.verification]
            if recipe.sha256 is not None:
                parts.append(_HASH_ENTRY.pack(parse_hash(recipe.sha256)))
        parts.append(_BOOKEND)
        xorb_info_at = sum(map(len, parts))
        for listing in xorbs:
            count = len(listing.chunks)
            header = (
                _hash_field(listing.xorb, "xorb hash"),
                listing.flags,
                count,
                listing.raw_bytes,
                listing.bytes_on_disk,
            )
            parts.append(_XORB_HEADER.pack(*header))
            parts += [
                _XORB_ENTRY.pack(_hash_field(c.hash, "chunk hash"), c.byte_start, c.length, c.flags, 0)
                for c in listing.chunks
            ]
        parts.append(_BOOKEND)
        if footer is not None:
            footer_at = sum(map(len, parts))
            parts.append(
                _FOOTER.pack(
                    _FOOTER_VERSION,
                    _SHARD_HEADER.size,
                    xorb_info_at,
                    *(footer_at, 0) * 3,
                    _hash_field(footer.hmac_key, "HMAC key"),
                    footer.created,
                    footer.expiry,
                    sum(x.bytes_on_disk for x in xorbs),
                    sum(f.size for f in files),
                    sum(x.raw_bytes for x in xorbs),
                    footer_at,
                )
            )
    except struct.error as exc:
        raise FormatError(f"shard: a value does not fit its field ({exc})") from None
    return b"".join(parts)
