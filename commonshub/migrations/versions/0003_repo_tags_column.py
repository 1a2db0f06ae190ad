"""The tags of each repo's head, on the repo row.

Listings and `model_info` show every repo's tags; reading them from `repo_tags` cost a second
query per page. `repo_tags` stays, for filtering by tag.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import json
from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: rebuilding `repos` (batch mode) would drop the search triggers of 0002.
    op.add_column("repos", sa.Column("tags", sa.JSON(), nullable=True))
    conn = op.get_bind()
    tags: dict[int, list[str]] = defaultdict(list)
    for repo_id, tag in conn.execute(sa.text("SELECT repo_id, tag FROM repo_tags ORDER BY repo_id, tag")):
        tags[repo_id].append(tag)
    for repo_id, values in tags.items():
        conn.execute(
            sa.text("UPDATE repos SET tags = :tags WHERE id = :id"),
            {"tags": json.dumps(values), "id": repo_id},
        )


def downgrade() -> None:
    op.drop_column("repos", "tags")
