"""Fixtures every tier shares: the clients' environment, databases (SQLite and a real PostgreSQL),
and hubs built from settings.

The Hugging Face clients read HF_ENDPOINT and friends once, when first imported, so the
environment of the compatibility tests is fixed here, before anything imports them.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


COMPAT_PORT = free_port()
CLIENT_HOME = Path(tempfile.mkdtemp(prefix="commonshub-clients-"))
os.environ.update(
    {
        "HF_ENDPOINT": f"http://127.0.0.1:{COMPAT_PORT}",
        "HF_HOME": str(CLIENT_HOME),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "DISABLE_SAFETENSORS_CONVERSION": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "OPENBLAS_NUM_THREADS": "1",
        "DO_NOT_TRACK": "1",
        # datasets counts loads by pinging an S3 bucket of huggingface.co whatever HF_ENDPOINT
        # says; users who want no traffic beyond their hub turn it off the same way.
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
    }
)
os.environ.pop("HF_TOKEN", None)

import pytest  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from commonshub import db  # noqa: E402
from commonshub.accounts.service import create_org, create_token, create_user, set_membership  # noqa: E402
from commonshub.app import create_app  # noqa: E402
from commonshub.hub import Hub  # noqa: E402
from commonshub.settings import Settings  # noqa: E402


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(CLIENT_HOME, ignore_errors=True)


# --- PostgreSQL: one real server for the session, one database per test ---


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: run `make test`, which installs it")
    return Path(found[-1]).parent


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on loopback; yields its base URL (no database name)."""
    bindir = _pg_bin()
    base = Path(tempfile.mkdtemp(prefix="commonshub-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(base, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    port = free_port()
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    subprocess.run(
        [
            *as_postgres,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(base / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def _pg_admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(
        server.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True
    ) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> str:
    """A migrated database that each test's database is copied from."""
    _pg_admin(postgres_server, "CREATE DATABASE hub_template")
    db.upgrade(f"{postgres_server}/hub_template")
    return "hub_template"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "hub.db"
    db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: every test that uses it runs once on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "hub.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template")
    name = f"t_{uuid.uuid4().hex[:16]}"
    _pg_admin(server, f"CREATE DATABASE {name} TEMPLATE {template}")
    yield f"{server}/{name}"
    _pg_admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A fresh SQLite database, for tests whose subject is not the database."""
    path = tmp_path / "hub.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


# --- hubs and HTTP clients ---


def make_settings(data_dir: Path, database_url: str, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url, secret_key="test-secret", **overrides)  # type: ignore[arg-type]


@pytest.fixture
def hub(tmp_path: Path, database_url: str) -> Iterator[Hub]:
    hub = Hub(make_settings(tmp_path / "data", database_url))
    yield hub
    hub.close()


@pytest.fixture
def client(hub: Hub) -> Iterator[TestClient]:
    with TestClient(create_app(hub.settings, hub=hub), base_url="http://hub.test") as c:
        yield c


@dataclass
class Account:
    name: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def add_user(hub: Hub, name: str, *, admin: bool = False, role: str = "write") -> Account:
    with hub.db.unit_of_work(write=True) as uow:
        user = create_user(uow.session, name, email=f"{name}@example.org", is_admin=admin)
        _, token = create_token(uow.session, user, name=f"{name}-token", role=role)
    return Account(name, token)


def add_org(hub: Hub, name: str, members: dict[str, str]) -> None:
    from commonshub.accounts.service import user_by_name

    with hub.db.unit_of_work(write=True) as uow:
        org = create_org(uow.session, name)
        for user, role in members.items():
            set_membership(uow.session, org, user_by_name(uow.session, user), role)


@pytest.fixture
def alice(hub: Hub) -> Account:
    return add_user(hub, "alice")


@pytest.fixture
def bob(hub: Hub) -> Account:
    return add_user(hub, "bob")


def wait_for(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError("condition not met in time")
