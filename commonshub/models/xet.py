"""The database's view of the Xet CAS (specs/xet-protocol.md): xorbs, file recipes, dedup keys.

Xorb bytes live in the xorb `BlobStore`; these rows say what each stored xorb holds (its chunk
index: hashes, lengths, offsets) and how each registered file is rebuilt from xorb chunk ranges.
Which repo may use which file is `LfsObject.xet_hash`: files are global and content-addressed,
access to them is per repo.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from commonshub.models.base import Base, CreatedAt


class XetXorb(CreatedAt, Base):
    __tablename__ = "xet_xorbs"

    # The hash in its string form (specs/xet-protocol.md §1.2), as in URLs.
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Bytes as stored (compressed), and bytes once decompressed.
    size: Mapped[int] = mapped_column(BigInteger)
    raw_size: Mapped[int] = mapped_column(BigInteger)
    num_chunks: Mapped[int] = mapped_column(Integer)
    # xet.format.XorbIndex.to_bytes(): chunk hashes, lengths and offsets, read by reconstruction.
    chunk_index: Mapped[bytes] = mapped_column(LargeBinary)


class XetFile(CreatedAt, Base):
    """A file registered by a shard: its size and its recipe (terms over xorb chunk ranges)."""

    __tablename__ = "xet_files"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    # xet.service.pack_terms(): the recipe in file order.
    terms: Mapped[bytes] = mapped_column(LargeBinary)


class XetDedupChunk(Base):
    """A chunk the client marked as a global-dedup key, and the xorb that holds it (§1.7 #5)."""

    __tablename__ = "xet_dedup_chunks"

    chunk_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    xorb_hash: Mapped[str] = mapped_column(ForeignKey("xet_xorbs.hash", ondelete="CASCADE"), index=True)


class XetMeta(Base):
    """One row: the database's half of the storage generation in every CAS URL (§2.6)."""

    __tablename__ = "xet_meta"

    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[str] = mapped_column(String(32))
