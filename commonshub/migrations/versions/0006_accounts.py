"""Fine-grained and expiring tokens with their last use, invitations, avatars, audit "from where".

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from commonshub.models.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_tokens") as batch_op:
        batch_op.alter_column("role", type_=sa.String(16), existing_type=sa.String(8))
        batch_op.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
    op.create_table(
        "avatars",
        sa.Column(
            "account_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("version", sa.String(16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("namespace_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ip", sa.String(64), nullable=True))
        batch_op.create_index("ix_events_namespace_id", ["namespace_id"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(24), nullable=False),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column(
            "invited_by_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column(
            "accepted_by_id", sa.Integer(), sa.ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("uid", name="uq_invitations_uid"),
        sa.UniqueConstraint("secret_hash", name="uq_invitations_secret_hash"),
    )
    op.create_index("ix_invitations_org_id", "invitations", ["org_id"])
    op.create_index("ix_invitations_user_id", "invitations", ["user_id"])


def downgrade() -> None:
    op.drop_table("invitations")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_index("ix_events_namespace_id")
        batch_op.drop_column("ip")
        batch_op.drop_column("namespace_id")
    op.drop_table("avatars")
    with op.batch_alter_table("access_tokens") as batch_op:
        batch_op.drop_column("scopes")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
        batch_op.alter_column("role", type_=sa.String(8), existing_type=sa.String(16))
