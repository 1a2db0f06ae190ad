"""Listing and search answer from the database index: search follows creations, renames and
deletions, and gives the same answers whichever way the query is planned."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from commonshub.app import create_app
from commonshub.hub import Hub
from commonshub.repos import listing
from tests.conftest import Account, add_user, make_settings


def _create(client: TestClient, who: Account, name: str, **extra: object) -> None:
    r = client.post(
        "/api/repos/create", json={"name": name, "organization": who.name, **extra}, headers=who.headers
    )
    assert r.status_code == 200, r.text


def _search(client: TestClient, term: str, **params: object) -> list[str]:
    r = client.get("/api/models", params={"search": term, **params})
    assert r.status_code == 200, r.text
    return sorted(item["id"] for item in r.json())


@pytest.mark.parametrize("dense_above", [listing.DENSE_MATCHES, 1])
def test_search_finds_substrings_whichever_way_it_is_planned(
    client: TestClient, alice: Account, monkeypatch: pytest.MonkeyPatch, dense_above: int
) -> None:
    # With the threshold at 1, "llama" counts as a common term and is found by walking the
    # sort order; at the default it is a rare term read through the search index.
    monkeypatch.setattr(listing, "DENSE_MATCHES", dense_above)
    for name in ("tiny-llama", "Llama-2-chat", "bert-base", "my_llama_v2", "llama-v3"):
        _create(client, alice, name)
    llamas = ["alice/Llama-2-chat", "alice/llama-v3", "alice/my_llama_v2", "alice/tiny-llama"]
    assert _search(client, "llama") == llamas
    assert _search(client, "LLAMA-2") == ["alice/Llama-2-chat"]
    assert _search(client, "ll") == llamas
    assert _search(client, "a_v") == ["alice/my_llama_v2"]  # _ is a character, not a wildcard
    assert _search(client, "zzz-nothing") == []
    newest = client.get("/api/models", params={"search": "llama", "sort": "createdAt", "limit": 2}).json()
    assert [item["id"] for item in newest] == ["alice/llama-v3", "alice/my_llama_v2"]


def test_search_follows_renames_and_deletions(client: TestClient, alice: Account) -> None:
    _create(client, alice, "old-name")
    r = client.post(
        "/api/repos/move",
        json={"fromRepo": "alice/old-name", "toRepo": "alice/shiny-model"},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    assert _search(client, "old-name") == []
    assert _search(client, "shiny") == ["alice/shiny-model"]
    r = client.request(
        "DELETE",
        "/api/repos/delete",
        json={"name": "shiny-model", "organization": "alice"},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    assert _search(client, "shiny") == []


def test_search_hides_private_repos_from_others(client: TestClient, alice: Account, bob: Account) -> None:
    _create(client, alice, "secret-llama", private=True)
    assert _search(client, "secret") == []
    r = client.get("/api/models", params={"search": "secret"}, headers=bob.headers)
    assert r.json() == []
    r = client.get("/api/models", params={"search": "secret"}, headers=alice.headers)
    assert [item["id"] for item in r.json()] == ["alice/secret-llama"]


def test_a_space_is_tagged_with_the_sdk_it_was_created_with(client: TestClient, alice: Account) -> None:
    _create(client, alice, "demo", type="space", sdk="gradio")
    _create(client, alice, "site", type="space", sdk="static")
    r = client.get("/api/spaces", params={"filter": "gradio"})
    assert [item["id"] for item in r.json()] == ["alice/demo"]
    assert "gradio" in client.get("/api/spaces/alice/demo").json()["tags"]


def test_direction_orders_pages_both_ways(tmp_path: Path, sqlite_url: str) -> None:
    hub = Hub(make_settings(tmp_path / "data", sqlite_url, list_page_size=2))
    try:
        with TestClient(create_app(hub.settings, hub=hub), base_url="http://hub.test") as client:
            alice = add_user(hub, "alice")
            names = ["first", "second", "third", "fourth", "fifth"]
            for name in names:
                _create(client, alice, name)

            def walk(**params: object) -> list[str]:
                url: str | None = "/api/models"
                seen: list[str] = []
                while url:
                    r = client.get(url, params=params if url == "/api/models" else None)
                    assert r.status_code == 200, r.text
                    seen += [item["id"].split("/")[1] for item in r.json()]
                    url = r.links.get("next", {}).get("url")
                return seen

            assert walk(sort="createdAt", direction=1) == names
            assert walk(sort="createdAt") == names[::-1]
            assert walk(sort="createdAt", direction=-1) == names[::-1]
            r = client.get("/api/models", params={"direction": "up"})
            assert (r.status_code, r.headers["x-error-code"]) == (400, "BadRequest")
    finally:
        hub.close()
