"""Xet: xorbs, file recipes, dedup keys, and which repo may use which Xet file.

`lfs_objects.oid` no longer refers to `blobs`: a file uploaded through Xet has no blob, only a
Xet file (`lfs_objects.xet_hash`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import commonshub.models.base
from commonshub.models.base import NAMING_CONVENTION

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at",
        commonshub.models.base.UTCDateTime(timezone=True),
        server_default=sa.text("(CURRENT_TIMESTAMP)"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "xet_xorbs",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("raw_size", sa.BigInteger(), nullable=False),
        sa.Column("num_chunks", sa.Integer(), nullable=False),
        sa.Column("chunk_index", sa.LargeBinary(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_xet_xorbs")),
    )
    op.create_table(
        "xet_files",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("terms", sa.LargeBinary(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_xet_files")),
    )
    op.create_table(
        "xet_dedup_chunks",
        sa.Column("chunk_hash", sa.String(length=64), nullable=False),
        sa.Column("xorb_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["xorb_hash"],
            ["xet_xorbs.hash"],
            name=op.f("fk_xet_dedup_chunks_xorb_hash_xet_xorbs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chunk_hash", name=op.f("pk_xet_dedup_chunks")),
    )
    op.create_index(op.f("ix_xet_dedup_chunks_xorb_hash"), "xet_dedup_chunks", ["xorb_hash"], unique=False)
    op.create_table(
        "xet_meta",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xet_meta")),
    )
    with op.batch_alter_table("lfs_objects", naming_convention=NAMING_CONVENTION) as batch_op:
        batch_op.drop_constraint("fk_lfs_objects_oid_blobs", type_="foreignkey")
        batch_op.add_column(sa.Column("xet_hash", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_lfs_objects_repo_id_xet_hash", ["repo_id", "xet_hash"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lfs_objects", naming_convention=NAMING_CONVENTION) as batch_op:
        batch_op.drop_index("ix_lfs_objects_repo_id_xet_hash")
        batch_op.drop_column("xet_hash")
        batch_op.create_foreign_key("fk_lfs_objects_oid_blobs", "blobs", ["oid"], ["oid"])
    op.drop_table("xet_meta")
    op.drop_index(op.f("ix_xet_dedup_chunks_xorb_hash"), table_name="xet_dedup_chunks")
    op.drop_table("xet_dedup_chunks")
    op.drop_table("xet_files")
    op.drop_table("xet_xorbs")
