"""Discussions and pull requests (specs/hf-protocol.md §7): one numbered thread per row, and its events.

A repo numbers its discussions and pull requests with one counter (`Repo.discussion_count`); a pull
request number N owns the git ref `refs/pr/N`. The thread is an ordered list of events (comments,
status and title changes, commits pushed to the pull request), each with an opaque id the client
uses to edit or hide a comment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from commonshub.models.accounts import new_uid
from commonshub.models.base import Base, CreatedAt

DISCUSSION_STATUSES = ("draft", "open", "closed", "merged")
EVENT_TYPES = ("comment", "status-change", "commit", "title-change")


class Discussion(CreatedAt, Base):
    __tablename__ = "discussions"
    __table_args__ = (UniqueConstraint("repo_id", "num"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"))
    num: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    # NULL once the author's account is deleted: the client then shows "deleted".
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    is_pull_request: Mapped[bool] = mapped_column(Boolean, default=False)
    # draft, open, closed or merged (pull requests only).
    status: Mapped[str] = mapped_column(String(8))
    # The branch a pull request merges into.
    target_branch: Mapped[str] = mapped_column(String(255), default="refs/heads/main")
    merge_commit_oid: Mapped[str | None] = mapped_column(String(40), nullable=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DiscussionEvent(CreatedAt, Base):
    """One entry of a thread, in order of `id`.

    `data` by type: comment `{"history": [{"raw", "html", "updatedAt", "authorId"}, …]}` (newest
    revision first, the first one is the current text); status-change `{"status"}`; commit
    `{"subject", "oid"}`; title-change `{"from", "to"}`.
    """

    __tablename__ = "discussion_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id clients see (24 lowercase hex: the client lower-cases comment ids it sends back).
    uid: Mapped[str] = mapped_column(String(24), unique=True, default=new_uid)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
