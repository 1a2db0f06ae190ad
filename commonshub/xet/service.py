"""The Xet CAS (specs/xet-protocol.md): tokens, xorb and shard uploads, reconstruction, dedup.

Everything here is content-addressed and global (a xorb or file is stored once for all repos);
access is per repo. A CAS token names one repo; a file is readable with it only if that repo
links the file (`LfsObject.xet_hash`: uploaded to it through Xet, or copied to it), and a shard
links its files only to the token's repo. Rules of §2.5:

- every xorb is decompressed and hashed before it is stored; every shard term is checked
  against the stored xorbs (bounds, lengths, verification hashes) and the file hash recomputed,
  so a shard cannot claim bytes its sender never had;
- global-dedup answers hide chunk hashes behind a key made for that answer;
- the SHA-256 a shard states is the client's claim. A writer's claim binds only their own repo
  (they could commit any bytes there anyway). A claim from someone who may only open a pull
  request is checked by rebuilding the file before it is linked, since the link is shared with
  the repo's writers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from commonshub.access.grants import has_access
from commonshub.accounts.permissions import Identity, allowed
from commonshub.accounts.service import identity_of_token
from commonshub.db import insert_missing
from commonshub.errors import (
    BadRequest,
    BlobUnavailable,
    Forbidden,
    NotFound,
    RangeNotSatisfiable,
    Unauthorized,
)
from commonshub.hub import Hub
from commonshub.models import LfsObject, Repo, XetDedupChunk, XetFile, XetMeta, XetXorb
from commonshub.xet import format
from commonshub.xet.reconstruction import Plan, Term, merge_fetch_ranges, plan

# Xorbs live under the prefix "default"; the global-dedup query uses "default-merkledb" in the
# spec and "default" in hf_xet 1.8.0 (spec §1.7 #5): both are accepted there.
XORB_PREFIX = "default"
DEDUP_PREFIXES = frozenset({"default", "default-merkledb"})

Scope = Literal["read", "write", "pr"]

# --- the storage generation (§2.6) ---

_generation_lock = threading.Lock()


def cas_url(hub: Hub, base_url: str) -> str:
    """The CAS URL handed to clients. It names the storage generation: clients cache which xorbs
    they uploaded per CAS URL, so a hub whose database or xorb store was replaced must not be
    reached at the URL of the old one (the client would reference xorbs that are gone)."""
    return f"{base_url}/cas/{generation(hub)}"


def generation(hub: Hub) -> str:
    if hub.xet_generation is not None:
        return hub.xet_generation
    with _generation_lock:
        with hub.db.unit_of_work(write=True) as uow:
            # The first process to get here makes the id; every later one reads it.
            insert_missing(uow.session, XetMeta, [{"id": 1, "generation": secrets.token_hex(8)}])
            database_part = uow.session.scalars(select(XetMeta.generation).where(XetMeta.id == 1)).one()
        # Either half changes when its store is replaced by an empty one.
        hub.xet_generation = f"{database_part[:8]}{hub.xorbs.generation()[:8]}"
        return hub.xet_generation


# --- tokens (§1.8) ---


@dataclass(frozen=True)
class CasToken:
    """What a CAS access token allows: `scope` on repo `repo_id`, for whoever holds hub token
    `token_id` (None: anonymous, public repos only), until `expires` (unix seconds)."""

    repo_id: int
    scope: Scope
    token_id: int | None
    expires: int

    @property
    def may_upload(self) -> bool:
        return self.scope in ("write", "pr")


def _sign(secret: bytes, *parts: object) -> str:
    message = ":".join(str(p) for p in ("xet", *parts)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:40]


def issue_token(secret: bytes, token: CasToken) -> str:
    body = f"{token.repo_id}.{token.scope}.{token.token_id or 0}.{token.expires}"
    return f"xet.{body}.{_sign(secret, body)}"


def read_token(secret: bytes, authorization: str | None, *, now: float | None = None) -> CasToken:
    """The token in `Authorization: Bearer …`; a 401 if missing, altered or expired (the client
    then asks the hub for a new one)."""
    scheme, _, value = (authorization or "").partition(" ")
    parts = value.strip().split(".")
    if scheme.lower() != "bearer" or len(parts) != 6 or parts[0] != "xet":
        raise Unauthorized("A Xet CAS token is required: get one from the hub's xet-read-token route")
    body = ".".join(parts[1:5])
    if not hmac.compare_digest(_sign(secret, body), parts[5]):
        raise Unauthorized("This CAS token is not valid")
    try:
        repo_id, token_id, expires = int(parts[1]), int(parts[3]), int(parts[4])
    except ValueError as exc:
        raise Unauthorized("This CAS token is not valid") from exc
    scope = parts[2]
    if scope not in ("read", "write", "pr"):
        raise Unauthorized("This CAS token is not valid")
    if expires < (time.time() if now is None else now):
        raise Unauthorized("This CAS token has expired; ask the hub for a new one")
    return CasToken(repo_id, scope, token_id or None, expires)  # type: ignore[arg-type]


def authorize(session: Session, token: CasToken, *, upload: bool, content: bool = True) -> Repo:
    """The token's repo, if the token still allows this now.

    Checked on every CAS request, not only when the token was issued: revoking the hub token,
    losing access to a private repo or the write role ends the CAS token's rights at once, and so
    does losing access to a gated repo's content (a revoked access request). `content=False` for
    the reads an upload makes (a xorb's size, a dedup query), which reveal no file of the repo.
    """
    if upload and not token.may_upload:
        raise Forbidden("This CAS token is read-only; uploads need a token from xet-write-token")
    identity = Identity()
    if token.token_id is not None:
        found = identity_of_token(session, token.token_id)
        if found is None:
            raise Unauthorized("The hub token this CAS token was issued for was revoked")
        identity = found
    repo = session.get(Repo, token.repo_id)
    if repo is None or not allowed(identity, "repo:read", repo):
        raise NotFound("The repository of this CAS token no longer exists or is not readable")
    if not upload and content and not _may_read_content(session, identity, repo):
        # A 401, as for an expired token: the client asks the hub for a new one, and the hub's
        # answer is the GatedRepo error the user should see.
        raise Unauthorized("You no longer have access to the content of this gated repository")
    if token.scope == "write" and upload and not allowed(identity, "repo:write", repo):
        raise Forbidden("You no longer have write access to this repository")
    if token.scope == "pr" and upload and not allowed(identity, "repo:discuss", repo):
        raise Forbidden("This token may not upload")
    return repo


def _may_read_content(session: Session, identity: Identity, repo: Repo) -> bool:
    if allowed(identity, "repo:content", repo):
        return True
    granted = identity.user_id is not None and has_access(session, repo.id, identity.user_id)
    return granted and allowed(identity, "repo:content", repo, access_granted=True)


# --- xorbs (§1.5) ---


def parse_hash(text: str) -> bytes:
    try:
        return format.parse_hash(text)
    except format.FormatError as exc:
        raise BadRequest(f"Invalid hash {text[:80]!r}: {exc}") from exc


def validate_xorb(xorb: str, data: bytes) -> format.XorbIndex:
    """Decompress and hash every chunk: a 400 unless the bytes are exactly the xorb named."""
    expected = parse_hash(xorb)
    if len(data) > format.MAX_XORB_SERIALIZED_BYTES:
        raise BadRequest(f"A xorb may have at most {format.MAX_XORB_SERIALIZED_BYTES} bytes")
    try:
        return format.validate_xorb(data, expected)
    except format.FormatError as exc:
        raise BadRequest(f"Invalid xorb {xorb}: {exc}") from exc


def store_xorb(hub: Hub, session: Session, xorb: str, data: bytes, index: format.XorbIndex) -> bool:
    """Store a validated xorb: the bytes first (an orphan is harmless), then its row.

    Returns whether it was new. Stored bytes are what reconstruction offsets point into.
    """
    row = session.get(XetXorb, xorb)
    if row is not None and hub.xorbs.size(xorb) == row.size:
        return False
    staged = hub.staging.root / f"xorb-{secrets.token_hex(8)}"
    try:
        staged.write_bytes(data)
        hub.xorbs.put_file(xorb, staged)
    finally:
        staged.unlink(missing_ok=True)
    insert_missing(
        session,
        XetXorb,
        [
            {
                "hash": xorb,
                "size": len(data),
                "raw_size": index.raw_size,
                "num_chunks": len(index.hashes),
                "chunk_index": index.to_bytes(),
            }
        ],
    )
    return True


def stored_xorb_size(session: Session, xorb: str) -> int | None:
    return session.scalar(select(XetXorb.size).where(XetXorb.hash == xorb))


# Xorbs never change, so their indexes are kept (bounded) once read. Whether a xorb is stored is
# always asked of the database: the same process may serve several hubs (tests do).
_INDEXES: OrderedDict[str, format.XorbIndex] = OrderedDict()
_INDEXES_LOCK = threading.Lock()
_MAX_INDEXES = 256


def load_indexes(session: Session, xorbs: Iterable[str]) -> dict[str, format.XorbIndex]:
    """The chunk index of each stored xorb among `xorbs` (missing ones are left out)."""
    wanted = sorted(set(xorbs))
    if not wanted:
        return {}
    present = set(session.scalars(select(XetXorb.hash).where(XetXorb.hash.in_(wanted))))
    found: dict[str, format.XorbIndex] = {}
    with _INDEXES_LOCK:
        for xorb in present:
            index = _INDEXES.get(xorb)
            if index is not None:
                _INDEXES.move_to_end(xorb)
                found[xorb] = index
    missing = sorted(present - set(found))
    if missing:
        rows = session.execute(select(XetXorb.hash, XetXorb.chunk_index).where(XetXorb.hash.in_(missing)))
        with _INDEXES_LOCK:
            for xorb, blob in rows:
                index = format.XorbIndex.from_bytes(bytes(blob))
                found[xorb] = _INDEXES[xorb] = index
                while len(_INDEXES) > _MAX_INDEXES:
                    _INDEXES.popitem(last=False)
    return found


# --- shards (§1.6) ---

_TERM = struct.Struct("<32sIII")


def pack_terms(terms: Sequence[format.Term]) -> bytes:
    return b"".join(_TERM.pack(t.xorb, t.start, t.end, t.unpacked) for t in terms)


def unpack_terms(data: bytes) -> list[Term]:
    return [
        Term(format.hash_hex(xorb), start, end, unpacked)
        for xorb, start, end, unpacked in _TERM.iter_unpack(data)
    ]


@dataclass(frozen=True)
class Registered:
    """A shard's outcome: whether anything in it was new."""

    new: bool


def register_shard(hub: Hub, session: Session, token: CasToken, repo: Repo, data: bytes) -> Registered:
    """Check a shard against the stored xorbs, record its files, link them to the token's repo."""
    if len(data) > format.MAX_SHARD_BYTES:
        raise BadRequest(f"A shard may have at most {format.MAX_SHARD_BYTES} bytes")
    try:
        shard = format.parse_shard(data)
    except format.FormatError as exc:
        raise BadRequest(f"Invalid shard: {exc}") from exc
    named = {format.hash_hex(x.xorb) for x in shard.xorbs}
    named.update(format.hash_hex(t.xorb) for f in shard.files for t in f.terms)
    indexes = load_indexes(session, named)
    unknown = sorted(named - set(indexes))
    if unknown:
        raise BadRequest(f"The shard refers to xorb {unknown[0]}, which is not stored; upload it first")

    dedup_keys: list[dict[str, str]] = []
    for listing in shard.xorbs:
        xorb = format.hash_hex(listing.xorb)
        index = indexes[xorb]
        if len(listing.chunks) != len(index.hashes) or any(
            c.hash != h or c.length != n
            for c, h, n in zip(listing.chunks, index.hashes, index.lengths, strict=False)
        ):
            raise BadRequest(f"The shard's chunk list of xorb {xorb} does not match the stored xorb")
        for chunk in listing.chunks:
            if chunk.flags & 0x8000_0000 or is_dedup_key(chunk.hash):
                dedup_keys.append({"chunk_hash": format.hash_hex(chunk.hash), "xorb_hash": xorb})

    files: list[tuple[format.FileRecipe, str]] = []
    for recipe in shard.files:
        _check_recipe(recipe, indexes)
        files.append((recipe, format.hash_hex(recipe.file_hash)))
        if recipe.terms:  # clients query the first chunk of every file they upload
            first = recipe.terms[0]
            xorb = format.hash_hex(first.xorb)
            dedup_keys.append(
                {"chunk_hash": format.hash_hex(indexes[xorb].hashes[first.start]), "xorb_hash": xorb}
            )

    new = insert_missing(session, XetDedupChunk, _unique(dedup_keys, "chunk_hash")) > 0
    new |= (
        insert_missing(
            session,
            XetFile,
            _unique(
                [{"hash": h, "size": r.size, "terms": pack_terms(r.terms)} for r, h in files],
                "hash",
            ),
        )
        > 0
    )
    for recipe, file_hash in files:
        new |= _link(hub, session, token, repo, recipe, file_hash)
    return Registered(new)


def is_dedup_key(chunk_hash: bytes) -> bool:
    """The chunks clients ask the global-dedup query about, besides each file's first: about one
    in 1,024, picked by hash (spec §1.7 #5). hf_xet 1.8 does not flag them in its shards, so the
    hub picks the same ones itself."""
    return int.from_bytes(chunk_hash[24:32], "little") % 1024 == 0


def _unique(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return list({row[key]: row for row in rows}.values())


def _check_recipe(recipe: format.FileRecipe, indexes: dict[str, format.XorbIndex]) -> None:
    name = format.hash_hex(recipe.file_hash)
    if recipe.verification is None and recipe.terms:
        raise BadRequest(f"File {name} has no verification entries")
    chunks: list[tuple[bytes, int]] = []
    for i, term in enumerate(recipe.terms):
        index = indexes[format.hash_hex(term.xorb)]
        if not 0 <= term.start < term.end <= len(index.hashes):
            raise BadRequest(f"File {name}: term {i} has chunks out of the xorb's range")
        hashes = index.hashes[term.start : term.end]
        lengths = index.lengths[term.start : term.end]
        if sum(lengths) != term.unpacked:
            raise BadRequest(
                f"File {name}: term {i} says {term.unpacked} bytes, its chunks have {sum(lengths)}"
            )
        assert recipe.verification is not None
        if not hmac.compare_digest(format.verification_hash(hashes), recipe.verification[i]):
            raise BadRequest(f"File {name}: term {i} fails verification")
        chunks.extend(zip(hashes, lengths, strict=True))
    if format.file_hash(chunks) != recipe.file_hash:
        raise BadRequest(f"File {name}: its hash does not match its chunks")


def _link(
    hub: Hub, session: Session, token: CasToken, repo: Repo, recipe: format.FileRecipe, file_hash: str
) -> bool:
    """Let `repo` reference the file by its SHA-256, as an LFS upload does (uploads.service)."""
    sha256 = recipe.sha256
    if sha256 is None or token.scope == "pr":
        # No claim to trust: compute it. A reader's claim must be true before it is shared.
        actual = file_sha256(hub, session, file_hash)
        if sha256 is not None and sha256 != actual:
            raise BadRequest(f"File {file_hash}: its content's sha256 is {actual}, not {sha256}")
        sha256 = actual
    existing = session.get(LfsObject, (repo.id, sha256))
    if existing is None:
        return (
            insert_missing(
                session,
                LfsObject,
                [{"repo_id": repo.id, "oid": sha256, "size": recipe.size, "xet_hash": file_hash}],
            )
            > 0
        )
    if existing.size != recipe.size:
        raise BadRequest(f"This repo holds {sha256} with {existing.size} bytes, the shard says {recipe.size}")
    if existing.xet_hash == file_hash or token.scope != "write":
        return False
    session.execute(
        update(LfsObject)
        .where(LfsObject.repo_id == repo.id, LfsObject.oid == sha256)
        .values(xet_hash=file_hash)
    )
    return True


# --- reading files ---


@dataclass(frozen=True)
class Recipe:
    hash: str
    size: int
    terms: list[Term]


def recipe(session: Session, file_hash: str) -> Recipe | None:
    row = session.get(XetFile, file_hash)
    if row is None:
        return None
    return Recipe(file_hash, row.size, unpack_terms(bytes(row.terms)))


def readable_recipe(session: Session, repo: Repo, file_hash: str) -> Recipe:
    """A file the token's repo links; the same 404 whether it exists elsewhere or not at all."""
    parse_hash(file_hash)
    linked = session.scalar(
        select(LfsObject.oid).where(LfsObject.repo_id == repo.id, LfsObject.xet_hash == file_hash).limit(1)
    )
    found = recipe(session, file_hash) if linked is not None else None
    if found is None:
        raise NotFound(f"File {file_hash} not found")
    return found


def plan_range(
    session: Session, file: Recipe, byte_range: tuple[int, int] | None
) -> tuple[Plan, dict[str, format.XorbIndex]]:
    """The plan for inclusive `byte_range` (None: the whole file) and the xorb indexes it uses."""
    start, end = (0, file.size) if byte_range is None else (byte_range[0], byte_range[1] + 1)
    if start >= file.size:
        raise RangeNotSatisfiable(file.size)
    end = min(end, file.size)
    needed = {t.xorb for t in file.terms}
    indexes = load_indexes(session, needed)
    if len(indexes) != len(needed):
        raise BlobUnavailable()  # a xorb row is gone: fsck reports it
    lengths = {xorb: index.lengths for xorb, index in indexes.items()}
    return plan(file.terms, lengths, start, end), indexes


def check_stored(hub: Hub, the_plan: Plan) -> None:
    """A 503 (before any byte is sent) if a xorb the plan reads is missing from storage."""
    if any(hub.xorbs.size(xorb) is None for xorb in the_plan.fetch):
        raise BlobUnavailable()


def file_sha256(hub: Hub, session: Session, file_hash: str) -> str:
    found = recipe(session, file_hash)
    if found is None:
        raise NotFound(f"File {file_hash} not found")
    digest = hashlib.sha256()
    if found.size:
        the_plan, indexes = plan_range(session, found, None)
        for piece in iter_bytes(hub, the_plan, indexes):
            digest.update(piece)
    return digest.hexdigest()


# Decompressed pieces of about this many bytes: memory stays flat for files of any size.
_PIECE_CHUNKS = 64


def iter_bytes(hub: Hub, the_plan: Plan, indexes: dict[str, format.XorbIndex]) -> Iterator[bytes]:
    """The bytes a plan covers, rebuilt from the stored xorbs (for clients without Xet)."""
    skip = the_plan.offset_into_first_range
    remaining = the_plan.length
    for term in the_plan.terms:
        index = indexes[term.xorb]
        with hub.xorbs.open(term.xorb) as f:
            for first in range(term.start, term.end, _PIECE_CHUNKS):
                last = min(first + _PIECE_CHUNKS, term.end)
                f.seek(index.offsets[first])
                raw = f.read(index.offsets[last] - index.offsets[first])
                try:
                    data = b"".join(format.decode_chunks(raw))
                except format.FormatError as exc:
                    raise OSError(f"xorb {term.xorb} is damaged: {exc}") from exc
                if skip:
                    data, skip = data[skip:], max(0, skip - len(data))
                if len(data) > remaining:
                    data = data[:remaining]
                remaining -= len(data)
                if data:
                    yield data
                if remaining <= 0:
                    return


def unique_bytes(session: Session, file_hashes: Sequence[str]) -> int:
    """Bytes of the distinct chunks of these files: what storing them once more would cost."""
    if not file_hashes:
        return 0
    spans: dict[str, list[tuple[int, int]]] = {}
    for blob in session.scalars(select(XetFile.terms).where(XetFile.hash.in_(sorted(set(file_hashes))))):
        for term in unpack_terms(bytes(blob)):
            spans.setdefault(term.xorb, []).append((term.start, term.end))
    indexes = load_indexes(session, spans)
    total = 0
    for xorb, ranges in spans.items():
        lengths = indexes[xorb].lengths if xorb in indexes else ()
        merged = merge_fetch_ranges([Term(xorb, a, b, 0) for a, b in ranges])[xorb]
        total += sum(sum(lengths[a:b]) for a, b in merged)
    return total


# --- reconstruction answers (§1.7 #6, #7, #10) ---


def _fetch_url(secret: bytes, cas: str, xorb: str, ranges: Sequence[tuple[int, int]], expires: int) -> str:
    spec = ",".join(f"{a}-{b}" for a, b in ranges)
    return (
        f"{cas}/fetch/{xorb}?ranges={spec}&expires={expires}&signature={_sign(secret, xorb, spec, expires)}"
    )


def check_fetch(secret: bytes, xorb: str, query: dict[str, str]) -> list[tuple[int, int]]:
    """The inclusive byte ranges a signed xorb URL allows; a 403 if it was altered or expired."""
    try:
        spec, expires, signature = query["ranges"], int(query["expires"]), query["signature"]
        ranges = [(int(a), int(b)) for a, _, b in (r.partition("-") for r in spec.split(","))]
    except (KeyError, ValueError) as exc:
        raise Forbidden("This xorb URL is incomplete") from exc
    if not hmac.compare_digest(_sign(secret, xorb, spec, expires), signature):
        raise Forbidden("This xorb URL is not valid")
    if expires < time.time():
        raise Forbidden("This xorb URL has expired; ask for a new reconstruction")
    return ranges


def _byte_range(index: format.XorbIndex, chunks: tuple[int, int]) -> tuple[int, int]:
    return index.offsets[chunks[0]], index.offsets[chunks[1]] - 1


def _terms_json(the_plan: Plan) -> list[dict[str, Any]]:
    return [
        {"hash": t.xorb, "unpacked_length": t.unpacked, "range": {"start": t.start, "end": t.end}}
        for t in the_plan.terms
    ]


def _fetch_info(
    secret: bytes, cas: str, the_plan: Plan, indexes: dict[str, format.XorbIndex], expires: int
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for xorb, ranges in the_plan.fetch.items():
        entries = []
        for chunks in ranges:
            lo, hi = _byte_range(indexes[xorb], chunks)
            entries.append(
                {
                    "range": {"start": chunks[0], "end": chunks[1]},
                    "url": _fetch_url(secret, cas, xorb, [(lo, hi)], expires),
                    "url_range": {"start": lo, "end": hi},
                }
            )
        out[xorb] = entries
    return out


def reconstruction_v1(
    secret: bytes, cas: str, the_plan: Plan, indexes: dict[str, format.XorbIndex], expires: int
) -> dict[str, Any]:
    return {
        "offset_into_first_range": the_plan.offset_into_first_range,
        "terms": _terms_json(the_plan),
        "fetch_info": _fetch_info(secret, cas, the_plan, indexes, expires),
    }


def reconstruction_v2(
    secret: bytes, cas: str, the_plan: Plan, indexes: dict[str, format.XorbIndex], expires: int
) -> dict[str, Any]:
    """One signed URL per xorb covering all its ranges (the client may fetch them one by one)."""
    xorbs: dict[str, list[dict[str, Any]]] = {}
    for xorb, ranges in the_plan.fetch.items():
        byte_ranges = [_byte_range(indexes[xorb], chunks) for chunks in ranges]
        xorbs[xorb] = [
            {
                "url": _fetch_url(secret, cas, xorb, byte_ranges, expires),
                "ranges": [
                    {"chunks": {"start": c[0], "end": c[1]}, "bytes": {"start": b[0], "end": b[1]}}
                    for c, b in zip(ranges, byte_ranges, strict=True)
                ],
            }
        ]
    return {
        "offset_into_first_range": the_plan.offset_into_first_range,
        "terms": _terms_json(the_plan),
        "xorbs": xorbs,
    }


# --- global deduplication (§1.7 #5) ---

# How long a client may use a dedup answer's keyed hashes.
DEDUP_ANSWER_TTL = 3600


def dedup_shard(session: Session, chunk: str) -> bytes | None:
    """A shard listing the xorb that holds `chunk`, its chunk hashes keyed with a fresh key.

    The client finds its own chunks in it by keying their hashes the same way; the raw hashes,
    which would let anyone forge a shard that claims the xorb's bytes, are never sent.
    """
    parse_hash(chunk)
    xorb = session.scalar(select(XetDedupChunk.xorb_hash).where(XetDedupChunk.chunk_hash == chunk))
    if xorb is None:
        return None
    index = load_indexes(session, [xorb]).get(xorb)
    if index is None:
        return None
    key = secrets.token_bytes(32)
    chunks = []
    start = 0
    for chunk_hash, length in zip(index.hashes, index.lengths, strict=True):
        chunks.append(format.XorbChunk(format.keyed_hash(key, chunk_hash), start, length))
        start += length
    listing = format.XorbListing(format.parse_hash(xorb), tuple(chunks))
    now = int(time.time())
    footer = format.ShardFooter(hmac_key=key, created=now, expiry=now + DEDUP_ANSWER_TTL)
    return format.build_shard([], [listing], footer=footer)
