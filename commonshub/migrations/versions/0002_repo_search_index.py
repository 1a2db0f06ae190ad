"""A trigram index for substring search of repo ids.

`search=` is a case-insensitive substring of the repo id; without an index every search reads
every repo. SQLite: an FTS5 table with the trigram tokenizer, kept in step with `repos` by
triggers. PostgreSQL: a pg_trgm GIN index, which serves `LIKE '%term%'` directly.

A later migration must not rebuild `repos` on SQLite (Alembic's batch mode copies the table and
drops the old one, and these triggers with it), or must create them again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE repo_search USING fts5(key, tokenize='trigram', content='repos', content_rowid='id')"
        )
        op.execute(
            "CREATE TRIGGER repo_search_insert AFTER INSERT ON repos BEGIN "
            "INSERT INTO repo_search(rowid, key) VALUES (new.id, new.key); END"
        )
        op.execute(
            "CREATE TRIGGER repo_search_delete AFTER DELETE ON repos BEGIN "
            "INSERT INTO repo_search(repo_search, rowid, key) VALUES ('delete', old.id, old.key); END"
        )
        op.execute(
            "CREATE TRIGGER repo_search_update AFTER UPDATE OF key ON repos BEGIN "
            "INSERT INTO repo_search(repo_search, rowid, key) VALUES ('delete', old.id, old.key); "
            "INSERT INTO repo_search(rowid, key) VALUES (new.id, new.key); END"
        )
        op.execute("INSERT INTO repo_search(repo_search) VALUES ('rebuild')")
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_repos_key_trgm ON repos USING gin (key gin_trgm_ops)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("repo_search_insert", "repo_search_delete", "repo_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS repo_search")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_repos_key_trgm")
