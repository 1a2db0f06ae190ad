"""The audit log: one append-only event per write, tagged "subject:action"."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from commonshub.models.base import Base, CreatedAt


class Event(CreatedAt, Base):
    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    # No foreign key: the history of a deleted repo outlives it.
    repo_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # The organization the event concerns (a repo's owner or the org itself), for org admins.
    namespace_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # From where: the client's address (settings.client_ip_header decides which one to trust).
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
