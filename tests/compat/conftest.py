"""The compatibility tier: the real clients against a real `commonshub serve` on loopback.

One server runs for the session, on the port HF_ENDPOINT names (tests/conftest.py). Tests share it
and keep out of each other's way by giving every repo a unique name (`repo_name`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import COMPAT_PORT

BIN = Path(sys.executable).parent


@dataclass
class LiveHub:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path

    def signal(self, sig: int) -> None:
        """Signal the whole server: its supervisor and its worker processes (one process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def wait_gone(self, timeout: float = 30) -> None:
        """Wait until every process of the server has exited (and let go of its port)."""
        self.process.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)
        raise AssertionError("the server's worker processes did not exit")

    def cli(self, *args: str) -> str:
        """Run the `commonshub` CLI against this hub's data; returns its output."""
        result = subprocess.run(
            [str(BIN / "commonshub"), *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            env=server_env(self.data_dir),
        )
        if result.returncode != 0:
            raise AssertionError(f"commonshub {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def user(self, name: str, *, role: str = "write", admin: bool = False) -> str:
        """A new user and a token for it (the token's value)."""
        self.cli("user", "create", name, "--email", f"{name}@example.org", *(["--admin"] if admin else []))
        return self.cli("token", "create", name, "--role", role).strip()


def server_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONSHUB_")}
    env["COMMONSHUB_DATA_DIR"] = str(data_dir)
    env["COMMONSHUB_DOWNLOAD_FLUSH_INTERVAL"] = "0.2"
    return env


def start_server(data_dir: Path, port: int, log: Path, extra_env: dict[str, str] | None = None) -> LiveHub:
    env = server_env(data_dir) | (extra_env or {})
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(BIN / "commonshub"), "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: signals reach its workers too
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/agent-harnesses", timeout=1).status_code == 200:
                return LiveHub(url, data_dir, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    LiveHub(url, data_dir, process, log).signal(signal.SIGKILL)
    raise AssertionError(f"the server did not start:\n{log.read_text()}")


def stop_server(hub: LiveHub) -> None:
    hub.signal(signal.SIGTERM)
    try:
        hub.wait_gone(timeout=15)
    except (subprocess.TimeoutExpired, AssertionError):
        hub.signal(signal.SIGKILL)
        hub.wait_gone()


@pytest.fixture(scope="session")
def live_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    data_dir = tmp_path_factory.mktemp("live-hub")
    hub = start_server(data_dir, COMPAT_PORT, data_dir / "server.log")
    yield hub
    stop_server(hub)
    errors = [line for line in hub.log.read_text().splitlines() if "Traceback" in line or " 500 " in line]
    assert not errors, f"the server logged errors:\n{hub.log.read_text()[-5000:]}"


@dataclass
class Client:
    name: str
    token: str


@pytest.fixture(scope="session")
def owner(live_hub: LiveHub) -> Client:
    """The main compat user, with a write token."""
    return Client("compat-owner", live_hub.user("compat-owner"))


@pytest.fixture(scope="session")
def other(live_hub: LiveHub) -> Client:
    """A second user, who owns none of the owner's repos."""
    return Client("compat-other", live_hub.user("compat-other"))


@pytest.fixture
def repo_name(owner: Client) -> str:
    return f"{owner.name}/r-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def api(owner: Client) -> object:
    from huggingface_hub import HfApi

    return HfApi(token=owner.token)


@pytest.fixture
def lfs_uploads(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process's client uploads through the Git LFS batch API, as with HF_HUB_DISABLE_XET=1
    (which the client reads into this constant at import), for tests whose subject is the blob store."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)


# --- a guard that the clients reach nothing but loopback ---

_LOOPBACK_HOSTS = frozenset({"localhost", "::1", "ip6-localhost"})
# datasets looks for the hub's dataset viewer at `datasets-server.<the hub's host>` (derived from
# HF_ENDPOINT): a name in the hub's own namespace, which falls back cleanly while the hub has no viewer.
_HUB_SUBDOMAIN_SUFFIX = f".{urlsplit(os.environ['HF_ENDPOINT']).hostname}"
# Hosts the clients tried to reach outside loopback while a `loopback_only` test ran; None otherwise.
_outside_hosts: list[str] | None = None


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    # A host of None (getaddrinfo for a local bind) names no remote machine.
    return (
        not isinstance(host, str)
        or host in _LOOPBACK_HOSTS
        or host.startswith("127.")
        or host.endswith(_HUB_SUBDOMAIN_SUFFIX)
    )


def _record_outside_hosts(event: str, args: tuple[object, ...]) -> None:
    if _outside_hosts is None:
        return
    if event == "socket.getaddrinfo" and not _is_loopback(args[0]):
        _outside_hosts.append(f"resolve {args[0]!r}")
    elif event == "socket.connect" and isinstance(args[1], tuple) and not _is_loopback(args[1][0]):
        _outside_hosts.append(f"connect {args[1]!r}")


# An audit hook cannot be removed, so it is installed once and only records while a test asks it to.
sys.addaudithook(_record_outside_hosts)


@pytest.fixture
def loopback_only() -> Iterator[None]:
    """Fails the test if anything in this process resolved or connected to a host that is not loopback
    (the clients must reach the hub and nothing else, whatever their own defaults)."""
    global _outside_hosts
    _outside_hosts = []
    try:
        yield
        assert not _outside_hosts, f"the clients reached beyond loopback: {_outside_hosts}"
    finally:
        _outside_hosts = None
