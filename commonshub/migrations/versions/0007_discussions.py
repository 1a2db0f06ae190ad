"""Discussions and pull requests, with their ordered events.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from commonshub.models.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "discussions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("repo_id", sa.Integer(), sa.ForeignKey("repos.id", ondelete="CASCADE"), nullable=False),
        sa.Column("num", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column(
            "author_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("is_pull_request", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("target_branch", sa.String(255), nullable=False),
        sa.Column("merge_commit_oid", sa.String(40), nullable=True),
        sa.Column("pinned", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("repo_id", "num", name="uq_discussions_repo_id_num"),
    )
    op.create_index("ix_discussions_author_id", "discussions", ["author_id"])
    op.create_table(
        "discussion_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(24), nullable=False),
        sa.Column(
            "discussion_id",
            sa.Integer(),
            sa.ForeignKey("discussions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column(
            "author_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("uid", name="uq_discussion_events_uid"),
    )
    op.create_index("ix_discussion_events_discussion_id", "discussion_events", ["discussion_id"])


def downgrade() -> None:
    op.drop_table("discussion_events")
    op.drop_table("discussions")
