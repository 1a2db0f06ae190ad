"""CPU cost of validating uploaded Xet xorbs (specs/xet-protocol.md §1.5): limit 2 s of CPU per GiB.

A xorb upload is checked in full before it is stored: every chunk header parsed, every chunk
decompressed (LZ4, or ByteGrouping4 + LZ4) and BLAKE3-hashed, the merkle root recomputed and compared
with the hash the client named. This measures the process CPU time (`time.process_time`) that
`commonshub.xet.format.validate_xorb` spends on about 1 GiB of xorbs, in this one process, no server.

The xorbs are built in memory the way the client builds them: data that mixes float32 "weights"
(where ByteGrouping4 wins), text (LZ4) and random bytes (stored uncompressed) in ~1 MiB pieces, cut
into content-defined chunks, each chunk stored with the smallest of the three encodings, packed into
xorbs of at most 64 MiB and 8,192 chunks. The figure is CPU seconds per GiB of xorb bytes as
received (compressed); the detail line also gives it per GiB of uncompressed data.

Run: .venv/bin/python bench/bench_xet_validate.py [--size-mib 1024] [--runs 3]
"""

from __future__ import annotations

import time

import numpy as np
from common import Figure, GiB, MiB, base_arguments, log, median, report

from commonshub.xet import chunking, format

LIMIT_S_PER_GIB = 2.0
PIECE = 1 * MiB
SEGMENT = 16 * MiB


def make_segment(rng: np.random.Generator, words: np.ndarray, size: int) -> bytes:
    """`size` bytes of ~1 MiB pieces: 45% float32 weights, 30% text, 25% random bytes."""
    pieces = []
    for _ in range(0, size, PIECE):
        kind = rng.random()
        if kind < 0.45:
            scale = float(rng.uniform(0.01, 1.0))
            piece = (rng.standard_normal(PIECE // 4, dtype=np.float32) * scale).tobytes()
        elif kind < 0.75:
            piece = " ".join(rng.choice(words, PIECE // 4)).encode()[:PIECE]
        else:
            piece = rng.bytes(PIECE)
        pieces.append(piece)
    return b"".join(pieces)[:size]


def build_xorbs(size: int) -> list[tuple[bytes, bytes]]:
    """(hash, body) of xorbs holding `size` bytes of data, packed as the client packs them."""
    rng = np.random.default_rng(20261125)
    words = np.array(
        [f"w{rng.integers(0, 1 << 20):x}" for _ in range(5000)] + ["the", "of", "and", "a"] * 500
    )
    xorbs: list[tuple[bytes, bytes]] = []
    pending: list[bytes] = []
    pending_bytes = 0
    for _ in range(0, size, SEGMENT):
        for piece in chunking.chunk(make_segment(rng, words, SEGMENT)):
            if pending_bytes + len(piece) > format.MAX_XORB_BYTES or len(pending) == format.MAX_XORB_CHUNKS:
                xorbs.append(format.build_xorb(pending))
                pending, pending_bytes = [], 0
            pending.append(bytes(piece))
            pending_bytes += len(piece)
    if pending:
        xorbs.append(format.build_xorb(pending))
    return xorbs


def main() -> None:
    parser = base_arguments(__doc__ or "")
    parser.add_argument("--size-mib", type=int, default=1024, help="Data to validate (default 1024).")
    parser.add_argument("--runs", type=int, default=3, help="Validation passes over all the xorbs.")
    args = parser.parse_args()

    log(f"building {args.size_mib} MiB of xorbs")
    started = time.perf_counter()
    xorbs = build_xorbs(args.size_mib * MiB)
    body_bytes = sum(len(body) for _, body in xorbs)
    log(
        f"built {len(xorbs)} xorbs ({body_bytes / MiB:,.0f} MiB serialized) in {time.perf_counter() - started:.0f} s"
    )

    raw_bytes = 0
    schemes = [0, 0, 0]
    for xorb, body in xorbs:
        index = format.validate_xorb(body, xorb)
        raw_bytes += index.raw_size
        for offset in index.offsets[:-1]:
            schemes[body[offset + 4]] += 1

    per_body: list[float] = []
    per_raw: list[float] = []
    for run in range(args.runs):
        cpu = time.process_time()
        for xorb, body in xorbs:
            format.validate_xorb(body, xorb)
        cpu = time.process_time() - cpu
        per_body.append(cpu / (body_bytes / GiB))
        per_raw.append(cpu / (raw_bytes / GiB))
        log(f"run {run + 1}: {cpu:.2f} s CPU")

    seconds = median(per_body)
    print(f"xet validate: {seconds:.2f} s CPU per GiB (limit {LIMIT_S_PER_GIB:.2f})")
    detail = (
        f"{args.runs} run{'s' if args.runs != 1 else ''} over {len(xorbs)} xorbs, {body_bytes / MiB:,.0f} MiB serialized, "
        f"{raw_bytes / MiB:,.0f} MiB uncompressed ({median(per_raw):.2f} s CPU per GiB uncompressed); "
        f"chunks: {schemes[0]} stored, {schemes[1]} LZ4, {schemes[2]} BG4+LZ4"
    )
    figure = Figure(
        name=f"Xet xorb validation of {args.size_mib} MiB (CPU per GiB received)",
        ours=seconds,
        baseline=LIMIT_S_PER_GIB,
        unit="s",
        goal=1.0,
        higher_is_better=False,
        baseline_label="the limit",
        detail=detail,
    )
    report([figure], args.json)


if __name__ == "__main__":
    main()
