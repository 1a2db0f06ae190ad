"""The database: engine, sessions, the request's unit of work, migrations.

This is the only module that commits (STYLE.md habit 4). A request's `UnitOfWork` owns its
transaction, the per-repo locks it took, and the git ref moves it publishes: on commit the refs
move (each journaled, see gitstore) and then the database commits, under the same locks, so
readers never see a ref without its rows for long, and a crash between the two is repaired from
the journal.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class Publisher(Protocol):
    """A change outside the database that becomes visible together with a commit."""

    def publish(self) -> None:
        """Make the change visible; called just before the database commits."""

    def retract(self) -> None:
        """Undo `publish` because the database commit failed."""

    def settle(self) -> None:
        """The outcome is final (committed or retracted): forget any recovery record."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, pool_size=20, max_overflow=20)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # We issue BEGIN ourselves (below); the driver's implicit transactions would get in the way.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    # A write transaction that starts as a reader fails at its first write if another writer
    # committed meanwhile (SQLITE_BUSY_SNAPSHOT, which busy_timeout cannot wait out). Writers
    # therefore take the write lock when they begin.
    if conn.get_execution_options().get("hub_write"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


class UnitOfWork:
    """One request's transaction, with the locks and publishers that commit with it."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._held = contextlib.ExitStack()
        self._publishers: list[Publisher] = []

    def hold(self, context: contextlib.AbstractContextManager[T]) -> T:
        """Enter `context` (a lock) until the transaction ends."""
        return self._held.enter_context(context)

    def publish_on_commit(self, publisher: Publisher) -> None:
        self._publishers.append(publisher)

    def commit(self) -> None:
        published: list[Publisher] = []
        try:
            self.session.flush()
            for publisher in self._publishers:
                publisher.publish()
                published.append(publisher)
            self.session.commit()
        except BaseException:
            for publisher in reversed(published):
                publisher.retract()
            self.session.rollback()
            raise
        finally:
            self._finish(published)

    def rollback(self) -> None:
        try:
            self.session.rollback()
        finally:
            self._finish([])

    def close(self) -> None:
        self.session.close()

    def _finish(self, published: list[Publisher]) -> None:
        try:
            for publisher in published:
                publisher.settle()
        finally:
            self._publishers.clear()
            self._held.close()


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._readers = sessionmaker(self.engine, expire_on_commit=False)
        self._writers = sessionmaker(self.engine.execution_options(hub_write=True), expire_on_commit=False)
        self._version_conn: sqlite3.Connection | None = None
        self._version_lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def data_version(self) -> int | None:
        """A number that changes whenever any connection commits: SQLite's `PRAGMA data_version`.

        Caches that are only valid while nothing was written check it (a microsecond, no
        transaction). It is read on one connection of its own that never writes, so commits from
        this process count too, and so values can be compared across threads (each connection
        counts from its own start). None on PostgreSQL, which has no such counter: nothing is cached.
        """
        if not self.is_sqlite or not self.engine.url.database:
            return None
        with self._version_lock:
            if self._version_conn is None:
                self._version_conn = sqlite3.connect(self.engine.url.database, check_same_thread=False)
            row = self._version_conn.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def session(self, *, write: bool = False) -> Session:
        return (self._writers if write else self._readers)()

    def start(self, *, write: bool = False) -> UnitOfWork:
        """A unit of work; the caller commits or rolls it back, then closes it."""
        return UnitOfWork(self.session(write=write))

    @contextlib.contextmanager
    def unit_of_work(self, *, write: bool = False) -> Iterator[UnitOfWork]:
        """A transaction that commits when the block ends normally and rolls back otherwise."""
        uow = self.start(write=write)
        try:
            yield uow
        except BaseException:
            uow.rollback()
            raise
        else:
            uow.commit()
        finally:
            uow.close()

    def dispose(self) -> None:
        if self._version_conn is not None:
            self._version_conn.close()
            self._version_conn = None
        self.engine.dispose()


def insert_missing(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> int:
    """Insert the rows whose key is not there yet; returns how many were new.

    For content-addressed rows that concurrent writers may both add (a xorb two clients upload
    at once): the second insert is a no-op, not an integrity error.
    """
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql_insert if dialect == "postgresql" else sqlite_insert
    keys = model.__table__.primary_key.columns
    # Counted from RETURNING: psycopg reports no rowcount for ON CONFLICT DO NOTHING.
    statement = insert(model).values(rows).on_conflict_do_nothing().returning(*keys)
    return len(session.execute(statement).all())


# Schema objects that migrations make by hand, outside the models: the search index (0002).
UNMODELLED = ("repo_search", "ix_repos_key_trgm")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Whether Alembic compares a schema object with the models (not the unmodelled ones)."""
    return not (name or "").startswith(UNMODELLED)


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser treats % as interpolation; URLs may contain percent-encoded passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to `revision` (`commonshub db upgrade`)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
