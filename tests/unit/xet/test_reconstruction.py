"""Reconstruction planning, checked against the bytes it claims to select.

Each test builds a file from xorbs of known chunks and checks that concatenating the planned
terms' chunks, skipping `offset_into_first_range` and keeping the range's length, gives exactly
the requested bytes: the check the real client makes.
"""

from __future__ import annotations

import random

import pytest

from commonshub.xet.reconstruction import Term, merge_fetch_ranges, plan

# Two xorbs of chunks with distinct contents; chunk i of xorb x is bytes([x, i]) * length.
LENGTHS = {"a": [5, 3, 7, 1, 4], "b": [2, 6, 6, 2]}


def chunk(xorb: str, i: int) -> bytes:
    return bytes([ord(xorb), i]) * (LENGTHS[xorb][i] // 2) + bytes([ord(xorb)]) * (LENGTHS[xorb][i] % 2)


def term(xorb: str, start: int, end: int) -> Term:
    return Term(xorb, start, end, sum(LENGTHS[xorb][start:end]))


# A recipe with the dedup shapes real files have: a xorb used twice, overlapping chunk ranges.
RECIPE = [term("a", 0, 3), term("b", 1, 4), term("a", 1, 5), term("a", 2, 3), term("b", 0, 1)]


def content(terms: list[Term]) -> bytes:
    return b"".join(chunk(t.xorb, i) for t in terms for i in range(t.start, t.end))


FILE = content(RECIPE)


def rebuilt(start: int, end: int) -> bytes:
    p = plan(RECIPE, LENGTHS, start, end)
    for t in p.terms:
        # The client checks each term's length against its chunks.
        assert t.unpacked == sum(LENGTHS[t.xorb][t.start : t.end])
        # Every term lies inside one fetch range of its xorb.
        assert any(lo <= t.start and t.end <= hi for lo, hi in p.fetch[t.xorb])
    data = content(list(p.terms))
    assert p.length == end - start
    return data[p.offset_into_first_range : p.offset_into_first_range + p.length]


def test_whole_file() -> None:
    p = plan(RECIPE, LENGTHS, 0, len(FILE))
    assert p.offset_into_first_range == 0
    assert list(p.terms) == RECIPE
    assert rebuilt(0, len(FILE)) == FILE


def test_every_range_of_the_file() -> None:
    for start in range(len(FILE)):
        for end in range(start + 1, len(FILE) + 1):
            assert rebuilt(start, end) == FILE[start:end], (start, end)


def test_ranges_trim_to_the_chunks_they_touch() -> None:
    # Byte 6 is in chunk 1 of xorb a (bytes 5..7): the term starts there, 1 byte in.
    p = plan(RECIPE, LENGTHS, 6, 7)
    assert p.terms == (Term("a", 1, 2, 3),)
    assert p.offset_into_first_range == 1


def test_fetch_ranges_merge_overlapping_and_adjacent_terms() -> None:
    terms = [
        Term("x", 4, 6, 0),
        Term("x", 0, 2, 0),
        Term("x", 2, 3, 0),
        Term("x", 5, 8, 0),
        Term("y", 1, 2, 0),
    ]
    assert merge_fetch_ranges(terms) == {"x": ((0, 3), (4, 8)), "y": ((1, 2),)}


@pytest.mark.parametrize("seed", range(20))
def test_random_recipes(seed: int) -> None:
    rng = random.Random(seed)
    lengths = {x: [rng.randint(1, 9) for _ in range(rng.randint(1, 12))] for x in "pqr"}
    recipe = []
    for _ in range(rng.randint(1, 8)):
        x = rng.choice("pqr")
        a = rng.randrange(len(lengths[x]))
        b = rng.randint(a + 1, len(lengths[x]))
        recipe.append(Term(x, a, b, sum(lengths[x][a:b])))

    def data_of(terms: list[Term] | tuple[Term, ...]) -> bytes:
        return b"".join(
            bytes([ord(t.xorb) * 16 + i & 255]) * lengths[t.xorb][i]
            for t in terms
            for i in range(t.start, t.end)
        )

    whole = data_of(recipe)
    for _ in range(30):
        start = rng.randrange(len(whole))
        end = rng.randint(start + 1, len(whole))
        p = plan(recipe, lengths, start, end)
        data = data_of(p.terms)
        assert data[p.offset_into_first_range :][: end - start] == whole[start:end]
