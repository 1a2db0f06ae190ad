"""The database's view of repositories: an index over git and the blob store.

Git and the blob store are the truth for content. These rows index what listing, search and
`model_info` need without walking git: the repo, the files of the head of `main`, the card
metadata and tags, download counts. `RefUpdate` is the reflog that ties each ref move to the
database transaction that published it (see db.UnitOfWork and gitstore journals).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commonshub.models.accounts import Account, new_uid
from commonshub.models.base import Base, CreatedAt, UTCDateTime, utcnow

REPO_TYPES = ("model", "dataset", "space")


class Repo(CreatedAt, Base):
    __tablename__ = "repos"
    __table_args__ = (
        UniqueConstraint("type", "key"),
        Index("ix_repos_type_downloads", "type", "downloads"),
        Index("ix_repos_type_likes", "type", "likes"),
        Index("ix_repos_type_last_modified", "type", "last_modified"),
        Index("ix_repos_type_created_at", "type", "created_at"),
        Index("ix_repos_type_trending_score", "type", "trending_score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Opaque id: the `_id` of the API and the name of the git directory, so renames move nothing.
    uid: Mapped[str] = mapped_column(String(24), unique=True, default=new_uid)
    type: Mapped[str] = mapped_column(String(8))
    namespace_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(96))
    # "namespace/name" lower-cased: repo ids are matched case-insensitively.
    key: Mapped[str] = mapped_column(String(200))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    gated: Mapped[str | None] = mapped_column(String(8), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    sdk: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), nullable=True)
    last_modified: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The commit of `main` that repo_files, card_data and the tags describe.
    head_sha: Mapped[str | None] = mapped_column(String(40), nullable=True)
    card_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The tags of the head of main, as shown; RepoTag holds the same for filtering by tag.
    tags: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # The parsed config.json subset of a model (architectures, model_type).
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    library_name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    pipeline_tag: Mapped[str | None] = mapped_column(String(100), nullable=True)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    downloads_all_time: Mapped[int] = mapped_column(BigInteger, default=0)
    trending_score: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    # Bytes of the distinct LFS objects this repo holds plus the size of its git directory.
    used_storage: Mapped[int] = mapped_column(BigInteger, default=0)
    # The last number given to a discussion or pull request (refs/pr/N share the counter).
    discussion_count: Mapped[int] = mapped_column(Integer, default=0)

    namespace: Mapped[Account] = relationship(foreign_keys=[namespace_id], lazy="raise")

    @property
    def repo_id(self) -> str:
        return f"{self.namespace.name}/{self.name}"


class RepoTag(Base):
    __tablename__ = "repo_tags"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class RepoFile(Base):
    """A file at the head of `main` (the siblings of `model_info`)."""

    __tablename__ = "repo_files"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    blob_id: Mapped[str] = mapped_column(String(40))
    lfs_oid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    lfs_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RepoRedirect(CreatedAt, Base):
    """An old name of a moved repo; requests under it are redirected with a 307."""

    __tablename__ = "repo_redirects"

    type: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)


class Blob(CreatedAt, Base):
    """A large file's bytes in the blob store, keyed by SHA-256, stored once for all repos."""

    __tablename__ = "blobs"

    oid: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)


class LfsObject(CreatedAt, Base):
    """A large file a repo may reference: uploaded to it (by LFS or Xet), or copied to it.

    A commit may only point at objects linked to its repo, so knowing a hash is not enough to
    claim someone else's file. The bytes are a `Blob` (LFS uploads), a Xet file (`xet_hash`,
    rebuilt from xorbs), or both.
    """

    __tablename__ = "lfs_objects"
    __table_args__ = (Index("ix_lfs_objects_repo_id_xet_hash", "repo_id", "xet_hash"),)

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    # The SHA-256 of the content. Not a key of `blobs`: a Xet upload has no blob.
    oid: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    xet_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class RefUpdate(CreatedAt, Base):
    """The reflog: one row per ref move, written in the transaction that publishes it."""

    __tablename__ = "ref_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(String(255))
    old_sha: Mapped[str | None] = mapped_column(String(40), nullable=True)
    new_sha: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Names the gitstore journal entry of this move, so recovery can tell if it was committed.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), nullable=True)


class DownloadDay(Base):
    __tablename__ = "download_days"

    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
