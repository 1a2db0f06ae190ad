"""The `commonshub` command line, run for real: administration without a browser, every command
scriptable (no prompt when its flags are given), errors as one clear line and exit status 1."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from commonshub.accounts.service import user_by_name, verify_password
from commonshub.app import create_app
from commonshub.hub import Hub
from commonshub.models import Organization
from commonshub.settings import Settings
from tests.compat.conftest import start_server, stop_server
from tests.conftest import free_port

CLI = str(Path(sys.executable).parent / "commonshub")


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,  # a prompt would fail, not wait
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(data_dir)},
    )


def ok(data_dir: Path, *args: str) -> str:
    result = run(data_dir, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def api(data_dir: Path) -> Iterator[TestClient]:
    """The hub's HTTP API over the same data directory the commands wrote."""
    hub = Hub(Settings(data_dir=data_dir, secret_key="test"))
    with TestClient(create_app(hub.settings, hub=hub), base_url="http://hub.test") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_users_and_tokens_from_the_command_line(data_dir: Path) -> None:
    assert "Database is up to date" in ok(data_dir, "db", "upgrade")
    assert "Database is up to date" in ok(data_dir, "db", "upgrade")  # again: nothing to do
    ok(
        data_dir,
        "user",
        "create",
        "alice",
        "--email",
        "alice@example.org",
        "--fullname",
        "Alice A.",
        "--password",
        "correct horse",
        "--admin",
    )
    ok(data_dir, "user", "create", "bob")
    known = "hf_ScriptedSetupToken0123456789abcd"
    assert ok(data_dir, "token", "create", "alice", "--name", "ci", "--value", known).strip() == known
    random_token = ok(data_dir, "token", "create", "bob", "--role", "read").strip()
    assert re.fullmatch(r"hf_[A-Za-z0-9]{34}", random_token)

    hub = Hub(Settings(data_dir=data_dir, secret_key="test"))
    try:
        with hub.db.session() as session:
            alice = user_by_name(session, "alice")
            assert (alice.email, alice.fullname, alice.is_admin) == ("alice@example.org", "Alice A.", True)
            # Stored hashed: the web UI will check it against what the user types.
            assert alice.password_hash and "correct horse" not in alice.password_hash
            assert verify_password("correct horse", alice.password_hash)
            assert not verify_password("wrong horse", alice.password_hash)
    finally:
        hub.close()


def test_tokens_work_with_their_role_and_stop_when_revoked(data_dir: Path, api: TestClient) -> None:
    ok(data_dir, "user", "create", "alice")
    writer = ok(data_dir, "token", "create", "alice", "--name", "w").strip()
    reader = ok(data_dir, "token", "create", "alice", "--name", "r", "--role", "read").strip()
    assert api.get("/api/whoami-v2", headers=bearer(writer)).json()["auth"]["accessToken"]["role"] == "write"
    create = {"name": "m", "organization": "alice"}
    assert api.post("/api/repos/create", json=create, headers=bearer(reader)).status_code == 403
    assert api.post("/api/repos/create", json=create, headers=bearer(writer)).status_code == 200
    assert "Revoked 1 token" in ok(data_dir, "token", "revoke", "alice", "w")
    assert api.get("/api/whoami-v2", headers=bearer(writer)).status_code == 401
    assert api.get("/api/whoami-v2", headers=bearer(reader)).status_code == 200


def test_a_disabled_user_s_tokens_stop_at_once_and_come_back_when_enabled(
    data_dir: Path, api: TestClient
) -> None:
    ok(data_dir, "user", "create", "alice")
    ok(data_dir, "user", "create", "bob")
    token = ok(data_dir, "token", "create", "alice").strip()
    other = ok(data_dir, "token", "create", "bob").strip()
    assert api.post("/api/repos/create", json={"name": "m"}, headers=bearer(token)).status_code == 200
    # A CAS token issued before the user is disabled stops working too.
    cas = api.get("/api/models/alice/m/xet-read-token/main", headers=bearer(token)).json()
    cas_path = cas["casUrl"].removeprefix("http://hub.test") + "/v1/chunks/default/" + "0" * 64
    assert api.get(cas_path, headers=bearer(cas["accessToken"])).status_code == 404  # allowed; no such chunk

    assert "Disabled user alice" in ok(data_dir, "user", "disable", "alice")
    refused = api.get("/api/whoami-v2", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.headers["X-Error-Message"] == "Invalid credentials in Authorization header"
    assert api.get(cas_path, headers=bearer(cas["accessToken"])).status_code == 401
    assert api.get("/api/whoami-v2", headers=bearer(other)).status_code == 200
    # Nothing of theirs is gone: the repo is still there for others to read.
    assert api.get("/api/models/alice/m").status_code == 200

    ok(data_dir, "user", "enable", "alice")
    assert api.get("/api/whoami-v2", headers=bearer(token)).json()["name"] == "alice"


def test_organizations_and_their_members(data_dir: Path, api: TestClient) -> None:
    for name in ("ann", "ben", "cat"):
        ok(data_dir, "user", "create", name)
    tokens = {name: ok(data_dir, "token", "create", name).strip() for name in ("ann", "ben", "cat")}
    ok(
        data_dir,
        "org",
        "create",
        "lab",
        "--fullname",
        "The Lab",
        "--member",
        "ann:admin",
        "--member",
        "ben:read",
    )
    ok(data_dir, "org", "add-member", "lab", "cat:write")
    ok(data_dir, "org", "add-member", "lab", "ben:contributor")  # a new role for a member

    orgs = api.get("/api/whoami-v2", headers=bearer(tokens["ben"])).json()["orgs"]
    assert [(o["name"], o["fullname"], o["roleInOrg"]) for o in orgs] == [("lab", "The Lab", "contributor")]
    # write may create in the org, and ann, an admin, may manage what cat created.
    r = api.post(
        "/api/repos/create",
        json={"name": "m", "organization": "lab", "private": True},
        headers=bearer(tokens["cat"]),
    )
    assert r.status_code == 200, r.text
    r = api.put("/api/models/lab/m/settings", json={"private": False}, headers=bearer(tokens["ann"]))
    assert r.status_code == 200, r.text
    hub = Hub(Settings(data_dir=data_dir, secret_key="test"))
    try:
        with hub.db.session() as session:
            assert (
                session.scalar(select(Organization.fullname).where(Organization.name == "lab")) == "The Lab"
            )
    finally:
        hub.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("user", "create", "alice"), "already taken"),
        (("user", "create", "bad name"), "Invalid name"),
        (("user", "create", "api"), "reserved"),
        (("token", "create", "nobody"), "not found"),
        (("token", "create", "alice", "--role", "admin"), "Unknown token role"),
        (("token", "create", "alice", "--value", "short"), "at least 8"),
        (("org", "create", "lab", "--member", "alice"), "is not USER:ROLE"),
        (("org", "create", "lab", "--member", "alice:owner"), "Unknown role"),
        (("org", "add-member", "nolab", "alice:read"), "not found"),
    ],
)
def test_mistakes_are_one_clear_line_and_status_1(
    data_dir: Path, args: tuple[str, ...], message: str
) -> None:
    ok(data_dir, "user", "create", "alice")
    result = run(data_dir, *args)
    assert result.returncode == 1
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_the_first_start_creates_the_administrator_and_shows_its_token_once(data_dir: Path) -> None:
    log = data_dir.parent / "serve.log"
    port = free_port()
    server = start_server(data_dir, port, log)
    try:
        text = log.read_text()
        assert f"export HF_ENDPOINT=http://127.0.0.1:{port}" in text
        token = re.search(r"export HF_TOKEN=(\S+)", text)
        assert token is not None, text
        me = httpx.get(f"{server.url}/api/whoami-v2", headers=bearer(token[1])).json()
        assert (me["name"], me["isAdmin"], me["auth"]["accessToken"]["role"]) == ("admin", True, "write")
    finally:
        stop_server(server)
    server = start_server(data_dir, port, log)
    stop_server(server)
    assert log.read_text().count("export HF_TOKEN=") == 1
