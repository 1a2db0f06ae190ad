"""People and organizations share one table: they share one namespace, as on the Hub."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, LargeBinary, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from commonshub.models.base import Base, CreatedAt, UTCDateTime

ORG_ROLES = ("read", "contributor", "write", "admin")
TOKEN_ROLES = ("read", "write", "fineGrained")


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
    # "read", "write" or "fineGrained"
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Updated at most every few minutes (accounts.service.LAST_USED_STEP), off the request path.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Fine-grained tokens: [{"kind": "repo"|"namespace", "id": <repo or account id>,
    # "permissions": [...]}]. By id, so a rename keeps the token's reach.
    scopes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)

    user: Mapped[User] = relationship(lazy="raise")


class Invitation(CreatedAt, Base):
    """An invitation to join the hub (`org_id` empty) or an organization with a role.

    Sent to an e-mail address or to an existing user; accepted with its secret, which is stored
    hashed like a token.
    """

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(24), unique=True, default=new_uid)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    accepted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Avatar(Base):
    """A user's or organization's picture: small (accounts.service.MAX_AVATAR_BYTES), so it lives
    in the database, which every server of a scale-out deployment shares."""

    __tablename__ = "avatars"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    # The first hex digits of its SHA-256, in the URL, so a new picture is a new URL for caches.
    version: Mapped[str] = mapped_column(String(16))
    data: Mapped[bytes] = mapped_column(LargeBinary)
