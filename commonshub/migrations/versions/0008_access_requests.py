"""Access requests to gated repos (specs/hf-protocol.md §8).

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from commonshub.models.base import UTCDateTime

revision = "0008"
# 0007 is being written in parallel; the merge re-chains this one onto it.
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(24), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.Column("rejection_reason", sa.String(200), nullable=True),
        sa.Column("granted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), server_default=sa.func.now(), nullable=False),
        sa.Column("created_at", UTCDateTime(), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["repo_id"], ["repos.id"], name="fk_access_requests_repo_id_repos", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts.id"], name="fk_access_requests_user_id_accounts", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["handled_by_id"],
            ["accounts.id"],
            name="fk_access_requests_handled_by_id_accounts",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_access_requests"),
        sa.UniqueConstraint("uid", name="uq_access_requests_uid"),
        sa.UniqueConstraint("repo_id", "user_id", name="uq_access_requests_repo_id_user_id"),
    )
    op.create_index("ix_access_requests_user_id", "access_requests", ["user_id"])
    op.create_index("ix_access_requests_repo_id_status_id", "access_requests", ["repo_id", "status", "id"])


def downgrade() -> None:
    op.drop_table("access_requests")
