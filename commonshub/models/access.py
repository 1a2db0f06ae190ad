"""Access to gated repos (specs/hf-protocol.md §8): one access request per user and repo."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint, false, func
from sqlalchemy.orm import Mapped, mapped_column

from commonshub.models.accounts import new_uid
from commonshub.models.base import Base, CreatedAt, UTCDateTime, utcnow

ACCESS_STATUSES = ("pending", "accepted", "rejected")


class AccessRequest(CreatedAt, Base):
    """A user's request to download a gated repo's files, and what its managers decided.

    `accepted` gives access; `pending` and `rejected` do not. A manager may move a request between
    the three at any time, which is also how access is revoked. The row outlives a change of the
    repo's `gated` setting, so re-gating a repo restores the decisions made before.
    """

    __tablename__ = "access_requests"
    __table_args__ = (
        # Also the index of the access check on every download of a gated repo (access.grants).
        UniqueConstraint("repo_id", "user_id"),
        # The managers' lists, one per status, in request order.
        Index("ix_access_requests_repo_id_status_id", "repo_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The `requestId` clients see: opaque, so ids do not reveal how many requests a repo has.
    uid: Mapped[str] = mapped_column(String(24), unique=True, default=new_uid)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # "pending", "accepted" or "rejected"
    status: Mapped[str] = mapped_column(String(16))
    # The answers to the card's `extra_gated_fields` form, by field label.
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Granted by a manager without the user asking: the user filled no form and shared no e-mail.
    granted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    handled_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=func.now(), default=utcnow, onupdate=utcnow
    )
