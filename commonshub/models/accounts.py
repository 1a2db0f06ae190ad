"""People and organizations share one table: they share one namespace, as on the Hub."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commonshub.models.base import Base, CreatedAt, UTCDateTime

ORG_ROLES = ("read", "contributor", "write", "admin")
TOKEN_ROLES = ("read", "write")


def new_uid() -> str:
    """An opaque 24-hex id, the shape of the Hub's `_id` fields."""
    return secrets.token_hex(12)


class Account(CreatedAt, Base):
    """A namespace owner: a user or an organization."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(24), unique=True, default=new_uid)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(96))
    # Lower-cased name: namespaces are case-insensitive, the display keeps its case.
    name_key: Mapped[str] = mapped_column(String(96), unique=True)
    fullname: Mapped[str] = mapped_column(String(200), default="")

    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "account"}


class User(Account):
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # A disabled user's tokens are refused (and the credentials derived from them) until enabled.
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __mapper_args__ = {"polymorphic_identity": "user"}


class Organization(Account):
    __mapper_args__ = {"polymorphic_identity": "org"}


class Membership(CreatedAt, Base):
    """A user's role in an organization: read, contributor, write or admin."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))

    org: Mapped[Organization] = relationship(foreign_keys=[org_id], lazy="raise")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="raise")


class AccessToken(CreatedAt, Base):
    """An API token. Only its SHA-256 is stored: the value is shown once, at creation."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship(lazy="raise")
