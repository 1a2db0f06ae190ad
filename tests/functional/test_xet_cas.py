"""The Xet CAS attacked over HTTP with hand-built data (specs/xet-protocol.md §1.5 to §1.8, §2.5).

Files are cut into chunks the way the client cuts them (xet.chunking), packed into xorbs and
described by shards with xet.format's builders, then sent as the client sends them: a CAS token
from the hub, xorbs, a shard, an NDJSON commit. Then everything the security model forbids is
tried: bytes that do not match their name, shards that claim what their sender never had, tokens
used beyond their scope, time, repo or hub token, signed URLs used beyond what they sign. Each
refusal is checked for its HF error shape and for leaving nothing behind that could be used later.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import shutil
import struct
import time
import types
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from httpx import Response
from starlette.testclient import TestClient

from commonshub.accounts.service import create_token, revoke_tokens, user_by_name
from commonshub.app import create_app
from commonshub.hub import Hub
from commonshub.repos import fsck
from commonshub.xet import chunking, format, service
from commonshub.xet.format import FileRecipe, Term, XorbChunk, XorbListing
from tests.conftest import Account, add_user, make_settings
from tests.functional.test_errors import assert_hf_error, commit, create_repo, head_sha

KiB = 1024
DEDUP = 0x8000_0000  # a chunk listing's flag: the client offers it for global deduplication
FOOTER = struct.Struct("<9Q32sQQ48xQQQQ")  # a shard footer (spec §1.6), 200 bytes


# --- building Xet data by hand ---


def sample(size: int, seed: int) -> bytes:
    """Random runs (stored as is) and repetitive runs (compressed): a few chunks of each kind."""
    rng = random.Random(seed)
    parts: list[bytes] = []
    total = 0
    while total < size:
        n = rng.randint(16 * KiB, 64 * KiB)
        kind = rng.randrange(3)
        if kind == 0:
            part = rng.randbytes(n)
        elif kind == 1:
            part = b"".join(b"layer %d weight %d; " % (i % 7, rng.randrange(1000)) for i in range(n // 20))
        else:  # float-like: the low bytes vary, the high bytes repeat (what BG4 is for)
            part = b"".join(rng.randbytes(2) + b"\x3f\x80" for _ in range(n // 4))
        parts.append(part)
        total += len(part)
    return b"".join(parts)[:size]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Xorb:
    """A xorb as the client builds it: its raw hash, serialized body and uncompressed chunks."""

    hash: bytes
    body: bytes
    chunks: tuple[bytes, ...]

    @property
    def hex(self) -> str:
        return format.hash_hex(self.hash)

    @property
    def hashes(self) -> list[bytes]:
        return [format.chunk_hash(c) for c in self.chunks]

    def listing(self, flagged: Sequence[int] = ()) -> XorbListing:
        """The shard's listing of this xorb: each chunk's hash, cumulative start and length."""
        entries = []
        start = 0
        for i, c in enumerate(self.chunks):
            entries.append(XorbChunk(format.chunk_hash(c), start, len(c), DEDUP if i in flagged else 0))
            start += len(c)
        return XorbListing(self.hash, tuple(entries))

    def offset(self, chunk: int) -> int:
        """Where chunk `chunk`'s header starts in the serialized body (its end for len(chunks))."""
        pos = 0
        for _ in range(chunk):
            pos += 8 + self.compressed(pos)
        return pos

    def compressed(self, pos: int) -> int:
        """The payload length in the chunk header at `pos`."""
        return int.from_bytes(self.body[pos + 1 : pos + 4], "little")

    def damaged(self, chunk: int = 1) -> bytes:
        """The body with one bit flipped in the middle of chunk `chunk`'s payload."""
        at = self.offset(chunk)
        at += 8 + self.compressed(at) // 2
        return self.body[:at] + bytes([self.body[at] ^ 0x01]) + self.body[at + 1 :]


def make_xorbs(chunks: Sequence[bytes], parts: int = 1) -> list[Xorb]:
    """The distinct chunks (in order of first occurrence) packed into `parts` xorbs (fewer if
    there are fewer chunks)."""
    unique = list({format.chunk_hash(c): bytes(c) for c in chunks}.values())
    per_xorb = max(1, -(-len(unique) // parts))
    out = []
    for i in range(0, len(unique), per_xorb):
        group = tuple(unique[i : i + per_xorb])
        raw, body = format.build_xorb(group)
        out.append(Xorb(raw, body, group))
    return out


def recipe_for(data: bytes, xorbs: Sequence[Xorb], *, claimed_sha256: str | None = None) -> FileRecipe:
    """The recipe of `data` from chunks of `xorbs`: runs of consecutive chunks of one xorb are one
    term, each with the verification hash of its chunks; the sha256 is the real one unless claimed."""
    where = {h: (x, i) for x in xorbs for i, h in enumerate(x.hashes)}
    runs: list[list[Any]] = []  # [xorb, start, end]
    chunks = [bytes(c) for c in chunking.chunk(data)]
    for c in chunks:
        x, i = where[format.chunk_hash(c)]
        if runs and runs[-1][0] is x and runs[-1][2] == i:
            runs[-1][2] = i + 1
        else:
            runs.append([x, i, i + 1])
    terms = tuple(Term(x.hash, sum(map(len, x.chunks[a:b])), a, b) for x, a, b in runs)
    verification = tuple(format.verification_hash(x.hashes[a:b]) for x, a, b in runs)
    file_id = format.file_hash([(format.chunk_hash(c), len(c)) for c in chunks])
    return FileRecipe(file_id, terms, verification, claimed_sha256 or sha256(data))


@dataclass(frozen=True)
class Packed:
    """One file ready to upload: its bytes, the xorbs it needs that are new, and its recipe."""

    data: bytes
    xorbs: tuple[Xorb, ...]
    recipe: FileRecipe

    @property
    def file_id(self) -> str:
        return format.hash_hex(self.recipe.file_hash)

    @property
    def sha256(self) -> str:
        return sha256(self.data)

    def shard(self, *, flagged: Sequence[int] = (), **changes: Any) -> bytes:
        """The footer-less shard the client would send (with the recipe changed as asked); the
        chunks numbered in `flagged` of the first xorb are offered for global deduplication."""
        listings = [x.listing(flagged if i == 0 else ()) for i, x in enumerate(self.xorbs)]
        return format.build_shard([dataclasses.replace(self.recipe, **changes)], listings)


def pack(data: bytes, *, parts: int = 1, known: Sequence[Xorb] = ()) -> Packed:
    """`data` cut into chunks; those not in `known` xorbs packed into `parts` new xorbs."""
    have = {h for x in known for h in x.hashes}
    chunks = [bytes(c) for c in chunking.chunk(data) if format.chunk_hash(c) not in have]
    new = make_xorbs(chunks, parts)
    return Packed(data, tuple(new), recipe_for(data, [*known, *new]))


# --- talking to the hub and its CAS ---


@dataclass
class Cas:
    client: TestClient
    url: str  # casUrl, absolute
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def with_token(self, token: str) -> Cas:
        return Cas(self.client, self.url, token)

    def request(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> Response:
        headers = {**(self.auth if auth else {}), **kwargs.pop("headers", {})}
        return self.client.request(method, self.url + path, headers=headers, **kwargs)

    def post_xorb(self, name: str, body: Any, **kwargs: Any) -> Response:
        return self.request("POST", f"/v1/xorbs/default/{name}", content=body, **kwargs)

    def post_shard(self, body: bytes, *, version: int = 1, **kwargs: Any) -> Response:
        return self.request("POST", f"/v{version}/shards", content=body, **kwargs)

    def reconstruction(
        self, file_id: str, *, version: int = 2, byte_range: tuple[int, int] | None = None, **kwargs: Any
    ) -> Response:
        headers = {"Range": f"bytes={byte_range[0]}-{byte_range[1]}"} if byte_range else {}
        return self.request("GET", f"/v{version}/reconstructions/{file_id}", headers=headers, **kwargs)

    def dedup(self, chunk: bytes | str, prefix: str = "default", **kwargs: Any) -> Response:
        name = chunk if isinstance(chunk, str) else format.hash_hex(chunk)
        return self.request("GET", f"/v1/chunks/{prefix}/{name}", **kwargs)

    def upload(self, packed: Packed, *, shard: bytes | None = None) -> None:
        for x in packed.xorbs:
            r = self.post_xorb(x.hex, x.body)
            assert r.status_code == 200, r.text
        r = self.post_shard(packed.shard() if shard is None else shard)
        assert r.status_code == 200, r.text
        assert r.json()["result"] in (0, 1)


def xet_token(
    client: TestClient,
    account: Account | None,
    repo: str,
    kind: str = "write",
    revision: str = "main",
    **params: str,
) -> Response:
    headers = account.headers if account else {}
    return client.get(f"/api/models/{repo}/xet-{kind}-token/{revision}", headers=headers, params=params)


def cas_for(
    client: TestClient, account: Account | None, repo: str, kind: str = "write", **kwargs: Any
) -> Cas:
    r = xet_token(client, account, repo, kind, **kwargs)
    assert r.status_code == 200, r.text
    body = r.json()
    # The Rust side of the client reads the body, the Python side the headers: they must agree.
    assert r.headers["x-xet-cas-url"] == body["casUrl"]
    assert r.headers["x-xet-access-token"] == body["accessToken"]
    assert r.headers["x-xet-token-expiration"] == str(body["exp"])
    assert time.time() + 600 < body["exp"] <= time.time() + 2 * 86400
    assert urlsplit(body["casUrl"]).path.startswith("/cas/")
    return Cas(client, body["casUrl"], body["accessToken"])


def lfs_line(path: str, packed: Packed) -> tuple[str, dict[str, Any]]:
    return ("lfsFile", {"path": path, "algo": "sha256", "oid": packed.sha256, "size": packed.recipe.size})


def commit_lfs(client: TestClient, account: Account, repo: str, path: str, packed: Packed) -> Response:
    return commit(client, account, repo, lfs_line(path, packed))


def assert_not_committable(client: TestClient, account: Account, repo: str, packed: Packed) -> None:
    """The repo holds nothing under the file's sha256: its commit is refused, main does not move."""
    before = head_sha(client, account, repo)
    assert_hf_error(commit_lfs(client, account, repo, "w.bin", packed), 422, None, packed.sha256)
    assert head_sha(client, account, repo) == before


def xorb_files(hub: Hub) -> list[Path]:
    return [p for p in (hub.settings.data_dir / "xorbs" / "xorb").rglob("*") if p.is_file()]


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(dict(parse_qsl(parts.query)) | changes)))


def fetch(client: TestClient, url: str, lo: int, hi: int) -> bytes:
    """Inclusive bytes [lo, hi] of a signed xorb URL, fetched as the client does: no token."""
    r = client.get(url, headers={"Range": f"bytes={lo}-{hi}"})
    assert r.status_code == 206, r.text
    assert r.headers["content-range"].startswith(f"bytes {lo}-{hi}/")
    assert len(r.content) == hi - lo + 1
    return r.content


def term_bytes(raw: bytes, fetched: tuple[int, int], term: dict[str, Any]) -> bytes:
    """A term's bytes out of the decoded chunks [fetched) of its xorb; checks `unpacked_length`."""
    chunks = format.decode_chunks(raw)
    assert len(chunks) == fetched[1] - fetched[0]
    a, b = term["range"]["start"], term["range"]["end"]
    data = b"".join(chunks[a - fetched[0] : b - fetched[0]])
    assert len(data) == term["unpacked_length"]
    return data


def rebuild_v2(client: TestClient, answer: dict[str, Any]) -> bytes:
    """The bytes a v2 reconstruction answer describes, from its offset on (as hf_xet rebuilds them)."""
    out = []
    for term in answer["terms"]:
        a, b = term["range"]["start"], term["range"]["end"]
        found = [
            (entry["url"], r)
            for entry in answer["xorbs"][term["hash"]]
            for r in entry["ranges"]
            if r["chunks"]["start"] <= a and b <= r["chunks"]["end"]
        ]
        assert found, f"no fetch range covers term {term}"
        url, r = found[0]
        raw = fetch(client, url, r["bytes"]["start"], r["bytes"]["end"])
        out.append(term_bytes(raw, (r["chunks"]["start"], r["chunks"]["end"]), term))
    return b"".join(out)[answer["offset_into_first_range"] :]


def rebuild_v1(client: TestClient, answer: dict[str, Any]) -> bytes:
    out = []
    for term in answer["terms"]:
        a, b = term["range"]["start"], term["range"]["end"]
        found = [
            e
            for e in answer["fetch_info"][term["hash"]]
            if e["range"]["start"] <= a and b <= e["range"]["end"]
        ]
        assert found, f"no fetch range covers term {term}"
        entry = found[0]
        raw = fetch(client, entry["url"], entry["url_range"]["start"], entry["url_range"]["end"])
        out.append(term_bytes(raw, (entry["range"]["start"], entry["range"]["end"]), term))
    return b"".join(out)[answer["offset_into_first_range"] :]


def footer_key(shard: bytes) -> tuple[bytes, int]:
    """The HMAC key and expiry of a shard's footer (its last 200 bytes, spec §1.6)."""
    assert int.from_bytes(shard[40:48], "little") == FOOTER.size  # the header's footer_size
    fields = FOOTER.unpack(shard[-FOOTER.size :])
    assert fields[0] == 1  # footer version
    return fields[9], fields[11]


@pytest.fixture
def repo(client: TestClient, alice: Account) -> str:
    return create_repo(client, alice, "alice/m")


@pytest.fixture
def cas(client: TestClient, alice: Account, repo: str) -> Cas:
    return cas_for(client, alice, repo)


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """A seed of each test's own: no two tests (nor one test on both backends) upload the same
    xorbs, so nothing one test stored can make another pass or fail."""
    return zlib.crc32(request.node.nodeid.encode())


@pytest.fixture
def weights(seed: int) -> Packed:
    """A 320 KiB file: at least three chunks (128 KiB at most each), in two xorbs."""
    packed = pack(sample(320 * KiB, seed), parts=2)
    assert len(packed.xorbs) == 2 and len(packed.xorbs[0].chunks) >= 2
    assert len(packed.recipe.terms) == 2
    return packed


def with_insertion(data: bytes, inserted: bytes) -> tuple[bytes, int]:
    """`data` with `inserted` put in after its first chunk, and where it was put: the chunks
    before stay the same, those after the same once the cuts fall in step again."""
    at = chunking.chunk_boundaries(data)[0]
    return data[:at] + inserted + data[at:], at


def uploaded(client: TestClient, account: Account, repo: str, packed: Packed, path: str = "w.bin") -> str:
    """Upload through the CAS and commit; returns the commit."""
    cas_for(client, account, repo).upload(packed)
    r = commit_lfs(client, account, repo, path, packed)
    assert r.status_code == 200, r.text
    return head_sha(client, account, repo)


def another_token(hub: Hub, user: str, name: str, role: str = "write") -> Account:
    with hub.db.unit_of_work(write=True) as uow:
        _, value = create_token(uow.session, user_by_name(uow.session, user), name=name, role=role)
    return Account(user, value)


# --- the whole flow, by hand ---


def test_upload_commit_and_every_way_to_read_it_back(
    client: TestClient, alice: Account, repo: str, cas: Cas, weights: Packed
) -> None:
    data = weights.data
    for x in weights.xorbs:
        r = cas.post_xorb(x.hex, x.body)
        assert r.status_code == 200, r.text
        assert r.json() == {"was_inserted": True}
    r = cas.post_shard(weights.shard(), version=2)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in r.text.splitlines() if line.strip()]
    assert events[-1]["type"] == "result" and events[-1]["result"] in (0, 1)
    assert all(e["type"] in ("validating", "committing") for e in events[:-1])

    r = commit_lfs(client, alice, repo, "w.bin", weights)
    assert r.status_code == 200, r.text
    sha = head_sha(client, alice, repo)

    # Plain HTTP: the bytes rebuilt from the chunks, whole or a range of them.
    r = client.get(f"/{repo}/resolve/main/w.bin")
    assert r.status_code == 200 and r.content == data
    r = client.get(f"/{repo}/resolve/main/w.bin", headers={"Range": "bytes=70000-200000"})
    assert r.status_code == 206 and r.content == data[70000:200001]
    assert r.headers["content-range"] == f"bytes 70000-200000/{len(data)}"
    # What a Xet client reads to take the Xet path instead.
    r = client.head(f"/{repo}/resolve/main/w.bin")
    assert r.status_code == 200
    assert r.headers["x-xet-hash"] == weights.file_id
    assert r.headers["link"] == f'<http://hub.test/api/models/{repo}/xet-read-token/{sha}>; rel="xet-auth"'
    assert int(r.headers["content-length"]) == len(data)
    assert r.headers["etag"] == f'"{weights.sha256}"'
    (entry,) = [e for e in client.get(f"/api/models/{repo}/tree/main").json() if e["path"] == "w.bin"]
    assert entry["xetHash"] == weights.file_id
    assert entry["lfs"]["oid"] == weights.sha256 and entry["size"] == len(data)

    # Through the CAS with a read token for the commit, as hf_xet does: whole file and ranges.
    reader = cas_for(client, alice, repo, "read", revision=sha)
    for version, rebuild in ((2, rebuild_v2), (1, rebuild_v1)):
        r = reader.reconstruction(weights.file_id, version=version, byte_range=(0, len(data) - 1))
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["offset_into_first_range"] == 0
        assert sum(t["unpacked_length"] for t in answer["terms"]) == len(data)
        assert rebuild(client, answer) == data
        for lo, hi in ((1, 2), (70000, 200000), (len(data) - 10, len(data) - 1), (5, 10**9)):
            r = reader.reconstruction(weights.file_id, version=version, byte_range=(lo, hi))
            assert r.status_code == 200, r.text
            answer = r.json()
            rebuilt = rebuild(client, answer)
            wanted = data[lo : hi + 1]
            assert rebuilt[: len(wanted)] == wanted
            # Trimmed to the chunks that overlap the range: no whole chunk before or after it.
            assert answer["offset_into_first_range"] < chunking.MAX_CHUNK
            assert len(rebuilt) - len(wanted) < chunking.MAX_CHUNK
        r = reader.reconstruction(weights.file_id, version=version, byte_range=(len(data), len(data) + 5))
        assert r.status_code == 416

    # Sending the same data again is harmless: nothing new, and no error.
    for x in weights.xorbs:
        assert cas.post_xorb(x.hex, x.body).json() == {"was_inserted": False}
    r = cas.post_shard(weights.shard())
    assert r.status_code == 200, r.text
    assert r.json()["result"] in (0, 1)
    assert client.get(f"/{repo}/resolve/main/w.bin").content == data


def test_a_shard_s_result_says_whether_it_was_new(cas: Cas, weights: Packed) -> None:
    """`result` is 1 for a shard that registered something, 0 for one already known (spec §1.7)."""
    for x in weights.xorbs:
        assert cas.post_xorb(x.hex, x.body).json() == {"was_inserted": True}
    for version, new in ((2, 1), (2, 0), (1, 0)):
        r = cas.post_shard(weights.shard(), version=version)
        assert r.status_code == 200, r.text
        result = r.json() if version == 1 else json.loads(r.text.splitlines()[-1])
        assert result["result"] == new, f"v{version}: {r.text}"
    r = cas.post_shard(part_of(weights).shard(), version=1)
    assert r.json() == {"result": 1}


def test_a_file_deduplicated_against_an_earlier_upload_needs_only_a_shard(
    client: TestClient, alice: Account, repo: str, cas: Cas, weights: Packed, seed: int
) -> None:
    cas.upload(weights)
    # A second version that shares chunks: only its new chunks travel, in a new xorb.
    data, at = with_insertion(weights.data, sample(40 * KiB, seed + 1))
    second = pack(data, known=weights.xorbs)
    assert len(second.xorbs) == 1
    assert 0 < sum(map(len, second.xorbs[0].chunks)) <= len(data) - at
    assert second.recipe.terms[0].xorb == weights.xorbs[0].hash
    cas.upload(second)
    assert commit_lfs(client, alice, repo, "v2.bin", second).status_code == 200
    assert client.get(f"/{repo}/resolve/main/v2.bin").content == data
    # The same file in another repo of hers: a shard with no xorb at all.
    other = create_repo(client, alice, "alice/other")
    again = Packed(data, (), second.recipe)
    cas_for(client, alice, other).upload(again)
    assert commit_lfs(client, alice, other, "v2.bin", again).status_code == 200
    assert client.get(f"/{other}/resolve/main/v2.bin").content == data


# --- xorbs: checked in full before anything is stored ---


def bad_xorbs(weights: Packed) -> Iterator[tuple[str, str, Any, str]]:
    """(label, name in the URL, body, what the message says) for bodies that must be refused."""
    good, other = weights.xorbs
    yield "tampered", good.hex, good.damaged(), ""
    yield "wrong hash", good.hex, other.body, "hash"
    yield "truncated", good.hex, good.body[:-1], "truncated"
    yield "cut at a chunk boundary", good.hex, good.body[: good.offset(len(good.chunks) - 1)], "hash"
    yield "trailing garbage", good.hex, good.body + b"trailing garbage", ""
    yield "trailing garbage like a chunk header", good.hex, good.body + b"\x00garbage", ""
    yield "empty", good.hex, b"", ""
    yield "oversized", good.hex, good.body + bytes(format.MAX_XORB_SERIALIZED_BYTES), "at most"

    def streamed() -> Iterator[bytes]:  # no Content-Length: the limit holds while it arrives
        yield good.body
        for _ in range(format.MAX_XORB_SERIALIZED_BYTES // (4 * 1024 * KiB) + 1):
            yield bytes(4 * 1024 * KiB)

    yield "oversized and streamed", good.hex, streamed(), "at most"


def test_bad_xorbs_are_400_and_nothing_is_stored(
    hub: Hub, cas: Cas, weights: Packed, subtests: pytest.Subtests
) -> None:
    good = weights.xorbs[0]
    for label, name, body, message in bad_xorbs(weights):
        with subtests.test(label):
            assert_hf_error(cas.post_xorb(name, body), 400, None, message or None)
            assert xorb_files(hub) == []
            # The hash is still unknown: no shard may list it, HEAD does not know it.
            assert cas.request("HEAD", f"/v1/xorbs/default/{good.hex}").status_code == 404
            r = cas.post_shard(format.build_shard([], [good.listing()]))
            assert_hf_error(r, 400, None, good.hex)
    # The right bytes under the right name are then taken.
    assert cas.post_xorb(good.hex, good.body).json() == {"was_inserted": True}
    assert [p.name for p in xorb_files(hub)] == [good.hex]
    assert [p.read_bytes() for p in xorb_files(hub)] == [good.body]


def test_a_xorb_under_a_name_that_is_not_a_hash_is_400(cas: Cas, weights: Packed) -> None:
    good = weights.xorbs[0]
    for name in ("abc", good.hex[:-1] + "g", good.hex + "0"):
        assert_hf_error(cas.post_xorb(name, good.body), 400)
    assert_hf_error(cas.request("POST", f"/v1/xorbs/other/{good.hex}", content=good.body), 404)


# --- shards: every term checked against the stored xorbs ---


def part_of(packed: Packed) -> Packed:
    """A file made of the first chunk of `packed`'s first xorb: its xorb is already known."""
    data = packed.xorbs[0].chunks[0]
    assert len(chunking.chunk(data)) == 1
    return Packed(data, (), recipe_for(data, packed.xorbs))


def bad_shards(weights: Packed) -> Iterator[tuple[str, bytes, str]]:
    """(label, shard, what the message names) for shards that must be refused; the xorbs of
    `weights` are stored when they are sent, except the one made up here."""
    recipe = weights.recipe
    missing = make_xorbs([b"never uploaded " * 700])[0]
    first = recipe.terms[0]
    yield (
        "unknown xorb",
        format.build_shard([], [*(x.listing() for x in weights.xorbs), missing.listing()]),
        missing.hex,
    )
    yield (
        "a term in an unknown xorb",
        weights.shard(terms=(dataclasses.replace(first, xorb=missing.hash), *recipe.terms[1:])),
        missing.hex,
    )
    assert recipe.verification is not None
    wrong = (format.verification_hash([bytes(32)]), *recipe.verification[1:])
    yield "wrong verification hash", weights.shard(verification=wrong), "verification"
    yield "no verification", weights.shard(verification=None), "verification"
    yield "wrong file hash", weights.shard(file_hash=bytes(32)), "hash"
    x0 = weights.xorbs[0]
    empty_range = Term(x0.hash, 0, 1, 1)
    yield "an empty chunk range", weights.shard(terms=(empty_range, *recipe.terms[1:])), "range"
    n = len(x0.chunks)
    out_of_bounds = Term(x0.hash, sum(map(len, x0.chunks)) + 1, 0, n + 1)
    yield (
        "chunks out of range",
        weights.shard(
            terms=(out_of_bounds, *recipe.terms[1:]),
            verification=(format.verification_hash(x0.hashes), *recipe.verification[1:]),
        ),
        "range",
    )
    yield (
        "wrong unpacked length",
        weights.shard(terms=(dataclasses.replace(first, unpacked=first.unpacked + 1), *recipe.terms[1:])),
        "bytes",
    )
    listing = x0.listing()
    lying = dataclasses.replace(
        listing,
        chunks=(dataclasses.replace(listing.chunks[0], hash=bytes(32)), *listing.chunks[1:]),
    )
    yield "listing that does not match the xorb", format.build_shard([recipe], [lying]), x0.hex
    yield "garbage", b"garbage, not a shard" * 10, "shard"
    yield "trailing garbage", weights.shard() + b"\x00" * 48, "shard"
    yield "empty", b"", "shard"
    # One good file and one bad one: the good one is not registered either.
    yield (
        "a good file beside a bad one",
        format.build_shard(
            [part_of(weights).recipe, dataclasses.replace(recipe, file_hash=bytes(32))],
            [x.listing() for x in weights.xorbs],
        ),
        "hash",
    )


def test_bad_shards_are_400_and_register_nothing(
    client: TestClient, alice: Account, repo: str, cas: Cas, weights: Packed, subtests: pytest.Subtests
) -> None:
    for x in weights.xorbs:
        assert cas.post_xorb(x.hex, x.body).status_code == 200
    for label, shard, message in bad_shards(weights):
        with subtests.test(label):
            for version in (1, 2):
                assert_hf_error(cas.post_shard(shard, version=version), 400, None, message)
            # Nothing of it is usable: the file cannot be committed, the CAS does not know it.
            assert_not_committable(client, alice, repo, weights)
            assert_hf_error(cas.reconstruction(weights.file_id), 404)
            assert_hf_error(cas.request("HEAD", f"/v1/files/{weights.file_id}"), 404)
    # Including the good file of the mixed shard.
    assert_not_committable(client, alice, repo, part_of(weights))
    # The real shard is then taken, and the file committed.
    cas.upload(Packed(weights.data, (), weights.recipe))
    assert commit_lfs(client, alice, repo, "w.bin", weights).status_code == 200


def test_a_shard_cannot_claim_a_file_its_sender_does_not_have(
    client: TestClient, alice: Account, bob: Account, weights: Packed
) -> None:
    """Bob learnt the hashes of Alice's private file (its file id, its xorbs, the terms' chunk
    ranges and lengths: all that a reconstruction answer shows), but not the chunk hashes."""
    secret = create_repo(client, alice, "alice/secret", private=True)
    uploaded(client, alice, secret, weights)
    leaked = cas_for(client, alice, secret, "read").reconstruction(weights.file_id).json()
    mine = create_repo(client, bob, "bob/mine")
    cas = cas_for(client, bob, mine)
    terms = tuple(
        Term(format.parse_hash(t["hash"]), t["unpacked_length"], t["range"]["start"], t["range"]["end"])
        for t in leaked["terms"]
    )
    assert terms == weights.recipe.terms
    guesses = [
        # Verification over what he knows instead of the chunk hashes.
        tuple(format.verification_hash([t.xorb]) for t in terms),
        tuple(format.verification_hash([weights.recipe.file_hash]) for _ in terms),
        tuple(bytes(32) for _ in terms),
        None,
    ]
    for verification in guesses:
        forged = FileRecipe(weights.recipe.file_hash, terms, verification, weights.sha256)
        for version in (1, 2):
            r = cas.post_shard(format.build_shard([forged], []), version=version)
            assert_hf_error(r, 400, None, "verification")
    # So his repo holds nothing of it: no commit, no reconstruction, no plain download.
    assert_not_committable(client, bob, mine, weights)
    reader = cas_for(client, bob, mine, "read")
    for version in (1, 2):
        assert_hf_error(reader.reconstruction(weights.file_id, version=version), 404)
    assert_hf_error(reader.request("HEAD", f"/v1/files/{weights.file_id}"), 404)


def test_a_xorb_stored_by_another_hub_is_unknown_here(
    client: TestClient,
    alice: Account,
    repo: str,
    cas: Cas,
    weights: Packed,
    tmp_path: Path,
    sqlite_template: Path,
) -> None:
    """Two hubs in one process (as in these tests, or an admin command beside the server) share
    no storage: what one stored is not "stored" for the other's shard checks."""
    cas.upload(weights)
    database = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, database)
    other = Hub(make_settings(tmp_path / "other", f"sqlite:///{database}"))
    try:
        carol = add_user(other, "carol")
        with TestClient(create_app(other.settings, hub=other), base_url="http://hub.test") as there:
            theirs = create_repo(there, carol, "carol/m")
            r = cas_for(there, carol, theirs).post_shard(weights.shard())
            assert_hf_error(r, 400, None, "not stored")
            assert_not_committable(there, carol, theirs, weights)
    finally:
        other.close()


# --- global deduplication: chunk hashes never shown raw ---


def spec_dedup_key(chunk: bytes) -> bool:
    """Chunks clients query besides each file's first: hash % 1024 == 0 (spec §1.7 #5)."""
    return int.from_bytes(chunk[24:32], "little") % 1024 == 0


def test_the_dedup_query_hides_chunk_hashes_behind_a_fresh_key(
    client: TestClient, alice: Account, repo: str, cas: Cas, weights: Packed
) -> None:
    x0, x1 = weights.xorbs
    for x in weights.xorbs:
        assert cas.post_xorb(x.hex, x.body).status_code == 200
    # Chunk 1 of the first xorb is flagged by the client; chunk 0 is the file's first chunk.
    assert cas.post_shard(weights.shard(flagged=[1])).status_code == 200
    raw = x0.hashes
    keys = set()
    for chunk, prefix in ((raw[1], "default"), (raw[1], "default-merkledb"), (raw[0], "default")):
        r = cas.dedup(chunk, prefix)
        assert r.status_code == 200, r.text
        answer = r.content
        shard = format.parse_shard(answer)
        assert shard.files == ()
        (listing,) = shard.xorbs
        assert listing.xorb == x0.hash
        key, expiry = footer_key(answer)
        assert key != bytes(32)
        assert time.time() < expiry <= time.time() + 7 * 86400
        keys.add(key)
        got = [c.hash for c in listing.chunks]
        assert got == [format.keyed_hash(key, h) for h in raw]
        assert not set(got) & set(raw)
        assert not any(h in answer for h in raw)  # not anywhere in the bytes either
        assert [(c.byte_start, c.length) for c in listing.chunks] == [
            (c.byte_start, c.length) for c in x0.listing().chunks
        ]
    assert len(keys) == 3  # a key made for each answer
    # A read token of any repo may ask (xorbs are global), anonymous ones of a public repo too.
    other = create_repo(client, alice, "alice/other")
    assert cas_for(client, alice, other, "read").dedup(raw[1]).status_code == 200
    assert cas_for(client, None, other, "read").dedup(raw[1]).status_code == 200
    # A chunk nobody offered for dedup, or an unknown one: 404. Without a token: 401.
    unoffered = [h for h in x1.hashes if not spec_dedup_key(h)]
    assert unoffered
    assert_hf_error(cas.dedup(unoffered[0]), 404)
    assert_hf_error(cas.dedup(bytes(32)), 404)
    assert_hf_error(cas.dedup(raw[1], auth=False), 401)
    assert_hf_error(cas.dedup(raw[1], "other"), 404)
    assert_hf_error(cas.dedup("not-a-hash"), 400)


def test_keyed_hashes_of_a_dedup_answer_do_not_verify_a_forged_shard(
    client: TestClient, alice: Account, bob: Account, weights: Packed
) -> None:
    secret = create_repo(client, alice, "alice/secret", private=True)
    # Every chunk offered for dedup: Bob can see all of them, keyed.
    everything = [x.listing(range(len(x.chunks))) for x in weights.xorbs]
    cas_for(client, alice, secret).upload(weights, shard=format.build_shard([weights.recipe], everything))
    mine = create_repo(client, bob, "bob/mine")
    cas = cas_for(client, bob, mine)
    keyed: dict[bytes, list[bytes]] = {}
    for x in weights.xorbs:
        r = cas.dedup(x.hashes[0])
        assert r.status_code == 200
        keyed[x.hash] = [c.hash for c in format.parse_shard(r.content).xorbs[0].chunks]
    terms = weights.recipe.terms
    forged = dataclasses.replace(
        weights.recipe,
        verification=tuple(format.verification_hash(keyed[t.xorb][t.start : t.end]) for t in terms),
    )
    assert_hf_error(cas.post_shard(format.build_shard([forged], [])), 400, None, "verification")
    assert_not_committable(client, bob, mine, weights)


# --- tokens: scope, expiry and the hub token behind them ---


def test_cas_routes_need_a_valid_token(
    client: TestClient, hub: Hub, alice: Account, repo: str, weights: Packed, subtests: pytest.Subtests
) -> None:
    uploaded(client, alice, repo, weights)
    x = weights.xorbs[0]
    reader = cas_for(client, alice, repo, "read")
    real = service.read_token(hub.secret, f"Bearer {reader.token}")
    body, _, signature = reader.token.rpartition(".")
    forged = [
        "",
        "hf_not_a_cas_token",
        reader.token.replace(".read.", ".write."),  # a read token made a write token
        f"{body}.{'0' * len(signature)}",
        reader.token + "x",
        service.issue_token(b"another hub's secret", dataclasses.replace(real, scope="write")),
        # Expired (a token of a minute ago, signed by the hub).
        service.issue_token(hub.secret, dataclasses.replace(real, expires=int(time.time()) - 60)),
    ]
    calls = [
        ("POST", f"/v1/xorbs/default/{x.hex}", {"content": x.body}),
        ("POST", "/v1/shards", {"content": weights.shard()}),
        ("POST", "/v2/shards", {"content": weights.shard()}),
        ("GET", f"/v2/reconstructions/{weights.file_id}", {}),
        ("GET", f"/v1/reconstructions/{weights.file_id}", {}),
        ("GET", f"/v1/reconstructions?file_id={weights.file_id}", {}),
        ("POST", "/v1/reconstructions", {"json": [{"prefix": "default", "hash": weights.file_id}]}),
        ("HEAD", f"/v1/files/{weights.file_id}", {}),
        ("HEAD", f"/v1/xorbs/default/{x.hex}", {}),
        ("GET", f"/v1/chunks/default/{format.hash_hex(x.hashes[0])}", {}),
    ]
    for method, path, kwargs in calls:
        with subtests.test(f"{method} {path}"):
            assert_hf_error(reader.request(method, path, auth=False, **kwargs), 401)
            for token in forged:
                assert_hf_error(reader.with_token(token).request(method, path, **kwargs), 401)
            r = reader.request(method, path, headers={"Authorization": f"Basic {reader.token}"}, **kwargs)
            assert_hf_error(r, 401)
    # A read token, valid as it is, may not upload.
    for method, path, kwargs in calls[:3]:
        assert_hf_error(reader.request(method, path, **kwargs), 403, None, "read-only")
    # The same expiry one minute ahead instead is accepted: it is the expiry that was refused.
    fresh = service.issue_token(hub.secret, dataclasses.replace(real, expires=int(time.time()) + 60))
    assert reader.with_token(fresh).reconstruction(weights.file_id).status_code == 200


def test_revoking_the_hub_token_ends_its_cas_tokens_at_once(
    client: TestClient, hub: Hub, alice: Account, repo: str, weights: Packed
) -> None:
    uploaded(client, alice, repo, weights)
    laptop = another_token(hub, "alice", "laptop")
    writer = cas_for(client, laptop, repo)
    reader = cas_for(client, laptop, repo, "read")
    x = weights.xorbs[0]
    assert writer.post_xorb(x.hex, x.body).status_code == 200
    assert reader.reconstruction(weights.file_id).status_code == 200
    with hub.db.unit_of_work(write=True) as uow:
        assert revoke_tokens(uow.session, user_by_name(uow.session, "alice"), "laptop") == 1
    assert_hf_error(writer.post_xorb(x.hex, x.body), 401)
    assert_hf_error(writer.post_shard(weights.shard()), 401)
    assert_hf_error(reader.reconstruction(weights.file_id), 401)
    assert_hf_error(reader.dedup(x.hashes[0]), 401)
    # Her other token, and CAS tokens issued for it, still work.
    assert cas_for(client, alice, repo, "read").reconstruction(weights.file_id).status_code == 200


def test_who_gets_which_token(client: TestClient, hub: Hub, alice: Account, bob: Account) -> None:
    secret = create_repo(client, alice, "alice/secret", private=True)
    public = create_repo(client, alice, "alice/public")
    # A private repo: its owner gets both tokens; others are told it does not exist.
    cas_for(client, alice, secret, "read")
    cas_for(client, alice, secret, "write")
    for kind in ("read", "write"):
        assert_hf_error(xet_token(client, None, secret, kind), 401, "RepoNotFound")
        assert_hf_error(xet_token(client, bob, secret, kind), 404, "RepoNotFound")
        assert_hf_error(xet_token(client, bob, secret, kind, "None", create_pr="1"), 404, "RepoNotFound")
        assert_hf_error(xet_token(client, alice, "alice/absent", kind), 404, "RepoNotFound")
    assert_hf_error(xet_token(client, alice, secret, "read", "nope"), 404, "RevisionNotFound")
    # A read-only hub token reads, and may not upload, not even for a pull request.
    ro = another_token(hub, "alice", "ro", role="read")
    cas_for(client, ro, secret, "read")
    assert_hf_error(xet_token(client, ro, secret, "write"), 403)
    assert_hf_error(xet_token(client, ro, public, "write", "None", create_pr="1"), 403)
    # Bob on Alice's public repo: reads; uploads only for a pull request.
    cas_for(client, bob, public, "read")
    cas_for(client, None, public, "read")
    assert_hf_error(xet_token(client, bob, public, "write"), 403)
    assert_hf_error(xet_token(client, None, public, "write", "None", create_pr="1"), 401)
    pr = cas_for(client, bob, public, "write", revision="None", create_pr="1")
    assert service.read_token(hub.secret, f"Bearer {pr.token}").scope == "pr"
    x = make_xorbs([sample(20 * KiB, seed=5)])[0]
    assert pr.post_xorb(x.hex, x.body).json() == {"was_inserted": True}
    # Alice's own token for a pull request is a full write token: she is a writer.
    mine = cas_for(client, alice, public, "write", revision="None", create_pr="1")
    assert service.read_token(hub.secret, f"Bearer {mine.token}").scope == "write"


def test_cas_rights_follow_the_repo_not_the_token_issue_time(
    client: TestClient, alice: Account, bob: Account, weights: Packed
) -> None:
    public = create_repo(client, alice, "alice/public")
    uploaded(client, alice, public, weights)
    reader = cas_for(client, bob, public, "read")
    pr = cas_for(client, bob, public, "write", revision="None", create_pr="1")
    anonymous = cas_for(client, None, public, "read")
    assert reader.reconstruction(weights.file_id).status_code == 200
    r = client.put(f"/api/models/{public}/settings", json={"private": True}, headers=alice.headers)
    assert r.status_code == 200, r.text
    # The repo turned private: tokens issued before no longer read or upload.
    for cas in (reader, anonymous, pr):
        assert_hf_error(cas.reconstruction(weights.file_id), 404)
    x = weights.xorbs[0]
    assert_hf_error(pr.post_xorb(x.hex, x.body), 404)


def test_a_token_reads_only_the_files_its_repo_holds(
    client: TestClient, alice: Account, weights: Packed
) -> None:
    a = create_repo(client, alice, "alice/a")
    b = create_repo(client, alice, "alice/b")
    uploaded(client, alice, b, weights)
    for cas in (cas_for(client, alice, a, "read"), cas_for(client, alice, a, "write")):
        for file_id in (weights.file_id, format.hash_hex(b"\x01" * 32)):
            # The same answer whether the file exists elsewhere or not at all.
            for version in (1, 2):
                assert_hf_error(cas.reconstruction(file_id, version=version), 404)
                assert_hf_error(cas.reconstruction(file_id, version=version, byte_range=(0, 9)), 404)
            assert_hf_error(cas.request("GET", f"/v1/reconstructions?file_id={file_id}"), 404)
            assert_hf_error(
                cas.request("POST", "/v1/reconstructions", json=[{"prefix": "default", "hash": file_id}]),
                404,
            )
            assert_hf_error(cas.request("HEAD", f"/v1/files/{file_id}"), 404)
    # With a token of the repo that holds it, all of them answer.
    cas = cas_for(client, alice, b, "read")
    assert cas.reconstruction(weights.file_id, version=1).status_code == 200
    r = cas.request("GET", f"/v1/reconstructions?file_id={weights.file_id}")
    assert r.status_code == 200 and list(r.json()["files"]) == [weights.file_id]
    r = cas.request("POST", "/v1/reconstructions", json=[{"prefix": "default", "hash": weights.file_id}])
    assert r.status_code == 200 and list(r.json()["files"]) == [weights.file_id]
    r = cas.request("HEAD", f"/v1/files/{weights.file_id}")
    assert r.status_code == 200 and int(r.headers["content-length"]) == len(weights.data)


def test_an_uploaded_file_is_readable_with_a_token_of_its_repo_before_the_commit(
    client: TestClient, alice: Account, repo: str, cas: Cas, weights: Packed
) -> None:
    cas.upload(weights)
    reader = cas_for(client, alice, repo, "read")
    r = reader.reconstruction(weights.file_id)
    assert r.status_code == 200
    assert rebuild_v2(client, r.json()) == weights.data


# --- the sha256 a shard states ---


def test_a_pull_request_uploader_cannot_lie_about_the_sha256(
    client: TestClient, alice: Account, bob: Account, weights: Packed
) -> None:
    public = create_repo(client, alice, "alice/public")
    decoy = b"what the repo's writers think they are merging"
    pr = cas_for(client, bob, public, "write", revision="None", create_pr="1")
    for x in weights.xorbs:
        assert pr.post_xorb(x.hex, x.body).status_code == 200
    for version in (1, 2):
        r = pr.post_shard(weights.shard(sha256=sha256(decoy)), version=version)
        assert_hf_error(r, 400, None, "sha256")
    # Nothing links the decoy's sha256 to these bytes in Alice's repo.
    lie = Packed(decoy, (), weights.recipe)
    assert_not_committable(client, alice, public, lie)
    r = commit(client, bob, public, lfs_line("w.bin", lie), params={"create_pr": "1"})
    assert_hf_error(r, 422, None, sha256(decoy))
    # The true claim is taken, and Bob's pull request can then use it.
    assert pr.post_shard(weights.shard()).status_code == 200
    r = commit(client, bob, public, lfs_line("w.bin", weights), params={"create_pr": "1"})
    assert r.status_code == 200, r.text
    pr_ref = r.json()["pullRequestUrl"].rsplit("/", 1)[-1]
    got = client.get(f"/{public}/resolve/refs%2Fpr%2F{pr_ref}/w.bin")
    assert got.status_code == 200 and got.content == weights.data


def test_a_writer_s_claim_binds_only_their_own_repo(
    client: TestClient, alice: Account, bob: Account, weights: Packed
) -> None:
    mine = create_repo(client, alice, "alice/mine")
    decoy = b"a claim only alice's own repo believes"
    cas = cas_for(client, alice, mine)
    for x in weights.xorbs:
        assert cas.post_xorb(x.hex, x.body).status_code == 200
    # A writer's claim is not checked: they could commit any bytes to their repo anyway.
    assert cas.post_shard(weights.shard(sha256=sha256(decoy))).status_code == 200
    lie = Packed(decoy, (), weights.recipe)
    assert commit_lfs(client, alice, mine, "claimed.bin", lie).status_code == 200
    # But no other repo takes the claim for true.
    theirs = create_repo(client, bob, "bob/theirs")
    assert_not_committable(client, bob, theirs, lie)
    assert_not_committable(client, bob, theirs, weights)


# --- signed xorb URLs ---


def test_signed_urls_allow_what_they_sign_and_nothing_else(
    client: TestClient, alice: Account, repo: str, weights: Packed, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploaded(client, alice, repo, weights)
    reader = cas_for(client, alice, repo, "read")
    answer = reader.reconstruction(weights.file_id).json()
    x0, x1 = weights.xorbs
    (entry,) = answer["xorbs"][x0.hex]
    url = entry["url"]
    (signed,) = entry["ranges"]
    lo, hi = signed["bytes"]["start"], signed["bytes"]["end"]
    assert (lo, hi) == (0, len(x0.body) - 1)
    body = x0.body
    # The whole signed range, without a Range header or with one; a part of it; two parts at once.
    r = client.get(url)
    assert r.status_code == 206 and r.content == body
    assert fetch(client, url, lo, hi) == body
    assert fetch(client, url, 3, 100) == body[3:101]
    r = client.get(url, headers={"Range": "bytes=0-9,100-119"})
    assert r.status_code == 206
    content_type = r.headers["content-type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    boundary = content_type.split("boundary=", 1)[1].encode()
    parts = r.content.split(b"--" + boundary)
    assert parts[-1].strip() == b"--"
    got = []
    for part in parts[1:-1]:
        head, _, data = part.strip(b"\r\n").partition(b"\r\n\r\n")
        got.append((head.split(b"Content-Range: ")[1].split(b"\r\n")[0], data.removesuffix(b"\r\n")))
    total = len(body)
    assert got == [
        (f"bytes 0-9/{total}".encode(), body[0:10]),
        (f"bytes 100-119/{total}".encode(), body[100:120]),
    ]
    assert int(r.headers["content-length"]) == len(r.content)
    # Outside what it signs: another range, another xorb, an altered signature or range list.
    assert_hf_error(client.get(url, headers={"Range": f"bytes={hi - 5}-{hi + 5}"}), 403)
    assert_hf_error(client.get(url, headers={"Range": f"bytes=0-9,{hi + 1}-{hi + 2}"}), 403)
    other = urlsplit(url)._replace(path=urlsplit(url).path.replace(x0.hex, x1.hex)).geturl()
    assert_hf_error(client.get(other, headers={"Range": "bytes=0-9"}), 403)
    signature = dict(parse_qsl(urlsplit(url).query))["signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert_hf_error(client.get(with_query(url, signature=flipped)), 403)
    assert_hf_error(client.get(with_query(url, ranges=f"0-{hi + 1000}")), 403)
    assert_hf_error(client.get(with_query(url, expires=str(int(time.time()) + 10**6))), 403)
    assert_hf_error(client.get(url.split("?")[0]), 403)
    # A URL issued two hours ago has expired.
    real_time = time.time
    monkeypatch.setattr(
        "commonshub.xet.endpoints.time", types.SimpleNamespace(time=lambda: real_time() - 7200)
    )
    old = reader.reconstruction(weights.file_id).json()["xorbs"][x0.hex][0]["url"]
    monkeypatch.undo()
    assert_hf_error(client.get(old, headers={"Range": "bytes=0-9"}), 403, None, "expired")


def test_a_cas_url_of_another_generation_is_404(
    client: TestClient, alice: Account, repo: str, cas: Cas, weights: Packed
) -> None:
    uploaded(client, alice, repo, weights)
    reader = cas_for(client, alice, repo, "read")
    url = reader.reconstruction(weights.file_id).json()["xorbs"][weights.xorbs[0].hex][0]["url"]
    generation = urlsplit(cas.url).path.split("/")[2]
    stale = generation[::-1] if generation[::-1] != generation else "0" * len(generation)
    x = weights.xorbs[0]
    writer = Cas(client, cas.url.replace(f"/cas/{generation}", f"/cas/{stale}"), cas.token)
    reader = Cas(client, writer.url, reader.token)
    assert_hf_error(writer.post_xorb(x.hex, x.body), 404)
    assert_hf_error(writer.post_shard(weights.shard()), 404)
    assert_hf_error(reader.reconstruction(weights.file_id), 404)
    assert_hf_error(reader.dedup(x.hashes[0]), 404)
    assert_hf_error(client.get(url.replace(f"/cas/{generation}", f"/cas/{stale}")), 404)


# --- fsck and storage accounting ---


def quarantine_first_xorb(hub: Hub, weights: Packed) -> Path:
    """Damage the first xorb on disk and let fsck find it and move it aside; returns its path."""
    x0 = weights.xorbs[0]
    (path,) = [p for p in xorb_files(hub) if p.name == x0.hex]
    path.write_bytes(x0.damaged())
    problems = fsck.check(hub, repair=False)
    assert [(p.kind, p.subject, p.repaired) for p in problems] == [("corrupt-xorb", x0.hex, False)]
    assert path.read_bytes() == x0.damaged()
    problems = fsck.check(hub, repair=True)
    assert [(p.kind, p.subject, p.repaired) for p in problems] == [("corrupt-xorb", x0.hex, True)]
    assert not path.exists()
    return path


def test_fsck_finds_a_damaged_xorb_and_quarantines_it(
    client: TestClient, hub: Hub, alice: Account, repo: str, weights: Packed
) -> None:
    uploaded(client, alice, repo, weights)
    assert fsck.check(hub, repair=False) == []
    x0, x1 = weights.xorbs
    quarantine_first_xorb(hub, weights)
    # Xet clients are told the xorb is missing, not sent damaged bytes; the other xorb still serves.
    reader = cas_for(client, alice, repo, "read")
    answer = reader.reconstruction(weights.file_id).json()
    assert_hf_error(client.get(answer["xorbs"][x0.hex][0]["url"]), 404)
    assert client.get(answer["xorbs"][x1.hex][0]["url"]).content == x1.body
    assert [p.kind for p in fsck.check(hub, repair=False)] == ["missing-xorb"]
    # Uploading the xorb again heals it.
    assert cas_for(client, alice, repo).post_xorb(x0.hex, x0.body).json() == {"was_inserted": True}
    assert fsck.check(hub, repair=False) == []
    assert client.get(f"/{repo}/resolve/main/w.bin").content == weights.data
    assert rebuild_v2(client, reader.reconstruction(weights.file_id).json()) == weights.data


def test_resolve_of_a_file_whose_xorb_is_gone_is_an_error_not_a_short_body(
    client: TestClient, hub: Hub, alice: Account, repo: str, weights: Packed
) -> None:
    uploaded(client, alice, repo, weights)
    quarantine_first_xorb(hub, weights)
    # As for an LFS file whose blob is gone: 503 BlobUnavailable in the HF error shape, before any
    # byte is sent; not a 200 whose body stops short (or a 500).
    for headers in ({}, {"Range": "bytes=0-99"}):
        assert_hf_error(client.get(f"/{repo}/resolve/main/w.bin", headers=headers), 503, "BlobUnavailable")


def test_used_storage_counts_shared_chunks_once(
    client: TestClient, alice: Account, repo: str, cas: Cas, weights: Packed, seed: int
) -> None:
    data, _ = with_insertion(weights.data, sample(30 * KiB, seed + 1))
    second = pack(data, known=weights.xorbs)
    cas.upload(weights)
    cas.upload(second)
    assert commit_lfs(client, alice, repo, "v1.bin", weights).status_code == 200
    assert commit_lfs(client, alice, repo, "v2.bin", second).status_code == 200
    r = client.get(f"/api/models/{repo}", params={"expand[]": "usedStorage"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    used = r.json()["usedStorage"]
    a, b = len(weights.data), len(data)
    assert max(a, b) <= used < a + b
    # Exactly: each distinct chunk once, plus the repo's regular files.
    distinct = {format.chunk_hash(c): len(c) for x in (*weights.xorbs, *second.xorbs) for c in x.chunks}
    tree = client.get(f"/api/models/{repo}/tree/main", headers=alice.headers).json()
    regular = sum(e["size"] for e in tree if e["type"] == "file" and "lfs" not in e)
    assert used == sum(distinct.values()) + regular
