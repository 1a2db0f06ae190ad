"""Rate limits through HTTP: 429 in the HF error shape, per token and per address, on every route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from commonshub.app import create_app
from commonshub.hub import Hub
from tests.conftest import Account, add_user, make_settings


@pytest.fixture
def limited(
    tmp_path: Path, sqlite_url: str, request: pytest.FixtureRequest
) -> Iterator[tuple[Hub, TestClient]]:
    overrides = getattr(request, "param", {})
    settings = make_settings(
        tmp_path / "data",
        sqlite_url,
        rate_limit_anonymous=3,
        rate_limit_token=5,
        rate_limit_window=60,
        **overrides,
    )
    hub = Hub(settings)
    with TestClient(create_app(settings, hub=hub), base_url="http://hub.test") as client:
        yield hub, client
    hub.close()


def test_anonymous_requests_past_the_limit_get_429_with_when_to_retry(
    limited: tuple[Hub, TestClient],
) -> None:
    hub, client = limited
    alice = add_user(hub, "alice")
    client.post("/api/repos/create", json={"name": "m"}, headers=alice.headers)
    urls = ["/api/models", "/api/models/alice/m", "/alice/m/resolve/main/.gitattributes"]
    assert [client.get(url).status_code for url in urls] == [200, 200, 200]
    for url in urls:  # the resolve path, answered ahead of the framework, is limited too
        refused = client.get(url, headers={"X-Amzn-Trace-Id": "trace-1"})
        assert refused.status_code == 429
        assert refused.headers["X-Error-Code"] == "RateLimited"
        assert "at most 3 every 60 s" in refused.json()["error"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["RateLimit-Policy"] == '"fixed window";"api";q=3;w=60'
        assert refused.headers["X-Request-Id"] == "trace-1"
    head = client.head("/alice/m/resolve/main/.gitattributes")
    assert head.status_code == 429 and head.content == b""


def test_each_token_has_its_own_count(limited: tuple[Hub, TestClient]) -> None:
    hub, client = limited
    alice, bob = add_user(hub, "alice"), add_user(hub, "bob")
    assert all(client.get("/api/whoami-v2", headers=alice.headers).status_code == 200 for _ in range(5))
    assert client.get("/api/whoami-v2", headers=alice.headers).status_code == 429
    assert client.get("/api/whoami-v2", headers=bob.headers).status_code == 200
    # An address's anonymous allowance is not used by its token requests.
    assert client.get("/api/models").status_code == 200


def test_the_proxy_header_names_the_address_only_when_configured(limited: tuple[Hub, TestClient]) -> None:
    _, client = limited
    statuses = [client.get("/api/models", headers={"X-Real-IP": f"10.0.0.{i}"}).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]  # ignored: every request comes from the test client


@pytest.mark.parametrize("limited", [{"client_ip_header": "X-Real-IP"}], indirect=True)
def test_behind_a_proxy_each_client_address_has_its_own_count(limited: tuple[Hub, TestClient]) -> None:
    _, client = limited
    for i in range(4):
        assert client.get("/api/models", headers={"X-Real-IP": f"10.0.0.{i}"}).status_code == 200
    for _ in range(2):
        assert client.get("/api/models", headers={"X-Real-IP": "10.0.0.9"}).status_code == 200
    assert client.get("/api/models", headers={"X-Real-IP": "10.0.0.9"}).status_code == 200
    assert client.get("/api/models", headers={"X-Real-IP": "10.0.0.9"}).status_code == 429


def test_no_limit_by_default(client: TestClient, alice: Account) -> None:
    assert all(client.get("/api/models").status_code == 200 for _ in range(50))
