"""Reconstruction planning: which xorb chunk ranges rebuild bytes [start, end) of a file.

Pure (specs/xet-protocol.md §1.7, "rules the reconstruction logic must follow"): the recipe's terms
are trimmed to the chunks that overlap the range, and each xorb's chunk ranges are merged into a
few fetch ranges, every term inside one of them. Clients check `unpacked_length` and
`offset_into_first_range` exactly, so both are computed from the chunk lengths, never estimated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    """Chunks [start, end) of a xorb, `unpacked` bytes once decompressed."""

    xorb: str
    start: int
    end: int
    unpacked: int


@dataclass(frozen=True)
class Plan:
    # Bytes to skip at the start of the first term's data to reach the range's first byte.
    offset_into_first_range: int
    terms: tuple[Term, ...]
    # xorb → merged chunk ranges [start, end), sorted.
    fetch: dict[str, tuple[tuple[int, int], ...]]
    # Bytes the range covers (what the client will keep).
    length: int


def plan(recipe: Sequence[Term], lengths: Mapping[str, Sequence[int]], start: int, end: int) -> Plan:
    """The terms for file bytes [start, end), 0 <= start < end <= file size.

    `lengths` gives each xorb's uncompressed chunk lengths.
    """
    kept: list[Term] = []
    offset = 0
    position = 0  # file offset of the current term's first byte
    for term in recipe:
        term_end = position + term.unpacked
        if term_end <= start:
            position = term_end
            continue
        if position >= end:
            break
        chunks = lengths[term.xorb]
        first, last = term.start, term.end
        chunk_start = position
        # Leading chunks that end before the range starts (only in the first kept term).
        while chunk_start + chunks[first] <= start:
            chunk_start += chunks[first]
            first += 1
        if not kept:
            offset = start - chunk_start
        # Trailing chunks that start at or after the range's end (only in the last kept term).
        chunk_end = term_end
        while chunk_end - chunks[last - 1] >= end:
            chunk_end -= chunks[last - 1]
            last -= 1
        kept.append(Term(term.xorb, first, last, chunk_end - chunk_start))
        position = term_end
    return Plan(offset, tuple(kept), merge_fetch_ranges(kept), end - start)


def merge_fetch_ranges(terms: Sequence[Term]) -> dict[str, tuple[tuple[int, int], ...]]:
    """Per xorb, the union of the terms' chunk ranges as few disjoint ranges (adjacent ones joined)."""
    by_xorb: dict[str, list[tuple[int, int]]] = {}
    for term in terms:
        by_xorb.setdefault(term.xorb, []).append((term.start, term.end))
    merged: dict[str, tuple[tuple[int, int], ...]] = {}
    for xorb, ranges in by_xorb.items():
        out: list[tuple[int, int]] = []
        for lo, hi in sorted(ranges):
            if out and lo <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        merged[xorb] = tuple(out)
    return merged
