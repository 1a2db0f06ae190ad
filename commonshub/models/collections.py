"""Likes and collections (specs/hf-protocol.md §9.1, §9.2).

A like is one row per (user, repo); `Repo.likes` is its count, kept in step in SQL by the writes
that add or remove a row, so listings sort and show it without counting. A collection is an
ordered list of items owned by a user or an organization; its slug is derived from its title and
its `uid`, and only the `uid` names it, so every slug it ever had keeps resolving.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commonshub.models.accounts import Account, new_uid
from commonshub.models.base import Base, CreatedAt, UTCDateTime, utcnow
from commonshub.models.repos import Repo

COLLECTION_ITEM_TYPES = ("model", "dataset", "space", "collection", "paper")


class Like(CreatedAt, Base):
    """A user likes a repo. Both sides cascade: a deleted repo or user takes its likes along."""

    __tablename__ = "likes"

    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    repo_id: Mapped[int] = mapped_column(
        ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Collection(CreatedAt, Base):
    __tablename__ = "collections"
    # Titles are unique per owner, ignoring case: creating one again is the 409 `exists_ok` reads.
    __table_args__ = (UniqueConstraint("owner_id", "title_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The stable end of every slug the collection has, and its `_id`.
    uid: Mapped[str] = mapped_column(String(24), unique=True, default=new_uid)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    title_key: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    theme: Mapped[str] = mapped_column(String(16), default="default")
    # Where the owner placed it among their collections (the `position` of get and create).
    position: Mapped[int] = mapped_column(Integer, default=0)
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    last_updated: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    owner: Mapped[Account] = relationship(foreign_keys=[owner_id], lazy="raise")


class CollectionItem(CreatedAt, Base):
    """One entry of a collection: a repo, another collection, or a paper (by its free id).

    Repo and collection entries cascade with what they name: a deleted repo leaves every
    collection it was in.
    """

    __tablename__ = "collection_items"
    __table_args__ = (UniqueConstraint("collection_id", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The `_id` of the item (`item_object_id` in the client).
    uid: Mapped[str] = mapped_column(String(24), unique=True, default=new_uid)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    # model, dataset, space, collection or paper
    type: Mapped[str] = mapped_column(String(16))
    repo_id: Mapped[int | None] = mapped_column(
        ForeignKey("repos.id", ondelete="CASCADE"), nullable=True, index=True
    )
    target_collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), nullable=True, index=True
    )
    paper_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # "model:<repo id>", "collection:<collection id>", "paper:<paper id>": one row per thing.
    item_key: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)

    repo: Mapped[Repo | None] = relationship(foreign_keys=[repo_id], lazy="raise")
    target: Mapped[Collection | None] = relationship(foreign_keys=[target_collection_id], lazy="raise")
