"""Migrations are code (STYLE.md habit 6): they build exactly the schema the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from commonshub.db import include_object, make_engine
from commonshub.models import Base


def test_migrations_build_the_schema_the_models_declare(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": include_object}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()
