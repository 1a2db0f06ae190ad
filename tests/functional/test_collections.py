"""Likes and collections over HTTP (specs/hf-protocol.md §9.1, §9.2), on SQLite and PostgreSQL.

The client-facing lifecycle is in tests/compat/test_collections.py; here are the edges: bad input
gets the HF error shape, counts stay exact under concurrent likes, deleted and private repos do
not leak through collections, and every write leaves one audit event.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from commonshub.collections import endpoints
from commonshub.hub import Hub
from commonshub.models import Event
from tests.conftest import Account, add_org, add_user
from tests.functional.test_errors import assert_hf_error, create_repo
from tests.functional.test_permissions import token


def likes_of(client: TestClient, repo: str, headers: dict[str, str] | None = None) -> int:
    r = client.get(f"/api/models/{repo}", headers=headers or {})
    assert r.status_code == 200, r.text
    count: int = r.json()["likes"]
    return count


def events(hub: Hub, prefix: str) -> list[str]:
    with hub.db.unit_of_work() as uow:
        return [e for e in uow.session.scalars(select(Event.tag)) if e.startswith(prefix)]


def new_collection(client: TestClient, who: Account, title: str, **extra: Any) -> dict[str, Any]:
    r = client.post(
        "/api/collections", json={"title": title, "namespace": who.name, **extra}, headers=who.headers
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def add(
    client: TestClient, who: Account, slug: str, item_id: str, item_type: str = "model", **extra: Any
) -> Any:
    return client.post(
        f"/api/collections/{slug}/items",
        json={"item": {"id": item_id, "type": item_type}, **extra},
        headers=who.headers,
    )


# --- likes ---


def test_likes_are_idempotent_and_counted(client: TestClient, hub: Hub, alice: Account, bob: Account) -> None:
    repo = create_repo(client, alice, "alice/m")
    for _ in range(2):  # liking twice is one like
        r = client.post(f"/api/models/{repo}/like", headers=bob.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {"likes": 1}
    assert client.post(f"/api/models/{repo}/like", headers=alice.headers).json() == {"likes": 2}
    assert likes_of(client, repo) == 2
    listed = client.get("/api/models", params={"search": "alice/m"}).json()
    assert [m["likes"] for m in listed] == [2]
    likers = client.get(f"/api/models/{repo}/likers").json()
    assert [(u["user"], u["fullname"]) for u in likers] == [("bob", "bob"), ("alice", "alice")]
    mine = client.get("/api/users/bob/likes").json()
    assert [like["repo"] for like in mine] == [{"name": "alice/m", "type": "model"}]
    assert mine[0]["createdAt"].endswith("Z")
    for _ in range(2):  # unliking twice is one unlike
        assert client.delete(f"/api/models/{repo}/like", headers=bob.headers).json() == {"likes": 1}
    assert likes_of(client, repo) == 1
    assert client.get("/api/users/bob/likes").json() == []
    # One event per change, none for the repeats.
    assert events(hub, "repo:like") == ["repo:like", "repo:like"]
    assert events(hub, "repo:unlike") == ["repo:unlike"]


def test_likes_need_a_signed_in_reader_with_a_token_that_acts(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    repo = create_repo(client, alice, "alice/m")
    secret = create_repo(client, alice, "alice/secret", private=True)
    assert_hf_error(client.post(f"/api/models/{repo}/like"), 401)
    reader = token(hub, "bob", "ro", role="read")
    assert_hf_error(client.post(f"/api/models/{repo}/like", headers=reader.headers), 403, None, "read")
    for method in ("POST", "DELETE"):
        for url in (
            f"/api/models/{secret}/like",
            "/api/models/alice/absent/like",
            "/api/datasets/alice/m/like",
        ):
            assert_hf_error(client.request(method, url, headers=bob.headers), 404, "RepoNotFound")
            assert_hf_error(client.request(method, url), 401, "RepoNotFound")
    assert_hf_error(client.get(f"/api/models/{secret}/likers", headers=bob.headers), 404, "RepoNotFound")
    assert likes_of(client, repo) == 0
    # The owner likes their private repo; others do not see it among the owner's likes.
    assert client.post(f"/api/models/{secret}/like", headers=alice.headers).status_code == 200
    assert client.post(f"/api/models/{repo}/like", headers=alice.headers).status_code == 200
    seen = {like["repo"]["name"] for like in client.get("/api/users/alice/likes", headers=bob.headers).json()}
    assert seen == {repo}
    seen = {
        like["repo"]["name"] for like in client.get("/api/users/alice/likes", headers=alice.headers).json()
    }
    assert seen == {repo, secret}
    assert_hf_error(client.get("/api/users/nobody/likes"), 404)


def test_concurrent_likes_keep_the_count_exact(client: TestClient, hub: Hub, alice: Account) -> None:
    repo = create_repo(client, alice, "alice/m")
    users = [add_user(hub, f"fan{i}") for i in range(12)]
    barrier = threading.Barrier(len(users) * 2)
    failures: list[str] = []

    def fan(user: Account, method: str) -> None:
        barrier.wait()
        # Every fan likes twice at once (one of the two must find the like there), and the first
        # four then take it back, also twice at once.
        r = client.request(method, f"/api/models/{repo}/like", headers=user.headers)
        if r.status_code != 200:
            failures.append(f"{user.name} {method}: {r.status_code} {r.text}")

    threads = [threading.Thread(target=fan, args=(u, "POST")) for u in users for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert likes_of(client, repo) == len(users)
    barrier = threading.Barrier(8)
    threads = [threading.Thread(target=fan, args=(u, "DELETE")) for u in users[:4] for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert likes_of(client, repo) == len(users) - 4
    likers = client.get(f"/api/models/{repo}/likers").json()
    assert sorted(u["user"] for u in likers) == sorted(u.name for u in users[4:])


def test_likes_and_likers_are_paginated(
    client: TestClient, hub: Hub, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endpoints, "LIKES_PAGE", 2)
    monkeypatch.setattr(endpoints, "LIKERS_PAGE", 2)
    repos = [create_repo(client, alice, f"alice/m{i}") for i in range(5)]
    fans = [add_user(hub, f"fan{i}") for i in range(5)]
    for repo in repos:
        assert client.post(f"/api/models/{repo}/like", headers=alice.headers).status_code == 200
    for fan in fans:
        assert client.post(f"/api/models/{repos[0]}/like", headers=fan.headers).status_code == 200

    def walk(url: str) -> list[Any]:
        out: list[Any] = []
        pages = 0
        while url:
            r = client.get(url)
            assert r.status_code == 200, r.text
            out += r.json()
            pages += 1
            link = r.headers.get("link", "")
            assert not link or link.startswith("<http://hub.test/")  # absolute (§1.5)
            url = link[1 : link.index(">")] if link else ""
        assert pages == 3
        return out

    assert sorted(like["repo"]["name"] for like in walk("/api/users/alice/likes")) == sorted(repos)
    assert [u["user"] for u in walk(f"/api/models/{repos[0]}/likers")] == ["alice"] + [f.name for f in fans]


# --- collections: bad input ---


def test_bad_collection_requests_get_hf_errors(client: TestClient, alice: Account, bob: Account) -> None:
    create_repo(client, alice, "alice/m")
    made = new_collection(client, alice, "Mine")
    slug = made["slug"]
    cases: list[tuple[str, str, dict[str, Any], int]] = [
        (
            "POST",
            "/api/collections",
            {"content": b"not json", "headers": {"content-type": "application/json"}},
            400,
        ),
        ("POST", "/api/collections", {"json": {}}, 400),
        ("POST", "/api/collections", {"json": {"title": "   "}}, 400),
        ("POST", "/api/collections", {"json": {"title": "x" * 201}}, 400),
        ("POST", "/api/collections", {"json": {"title": 5}}, 400),
        ("POST", "/api/collections", {"json": {"title": "t", "private": "yes"}}, 400),
        (
            "POST",
            "/api/collections",
            {"content": b'{"title": "\\ud800"}', "headers": {"content-type": "application/json"}},
            400,
        ),
        ("POST", "/api/collections", {"json": {"title": "t", "namespace": "nobody"}}, 404),
        ("POST", "/api/collections", {"json": {"title": "t", "namespace": "bob"}}, 403),
        ("POST", "/api/collections", {"json": {"title": "t", "description": "\x00"}}, 400),
        ("PATCH", f"/api/collections/{slug}", {"json": {"position": -1}}, 400),
        ("PATCH", f"/api/collections/{slug}", {"json": {"position": 10**30}}, 400),
        ("PATCH", f"/api/collections/{slug}", {"json": {"position": "first"}}, 400),
        ("PATCH", f"/api/collections/{slug}", {"json": {"theme": "<script>"}}, 400),
        ("PATCH", f"/api/collections/{slug}", {"json": {"title": ""}}, 400),
        (
            "PATCH",
            f"/api/collections/{slug}",
            {"content": b"[1,2]", "headers": {"content-type": "application/json"}},
            400,
        ),
        (
            "POST",
            f"/api/collections/{slug}/items",
            {"json": {"item": {"id": "alice/m", "type": "kernel"}}},
            400,
        ),
        (
            "POST",
            f"/api/collections/{slug}/items",
            {"json": {"item": {"id": "alice/m", "type": "bucket"}}},
            400,
        ),
        ("POST", f"/api/collections/{slug}/items", {"json": {"item": {"id": "alice/m"}}}, 400),
        ("POST", f"/api/collections/{slug}/items", {"json": {"item": "alice/m"}}, 400),
        (
            "POST",
            f"/api/collections/{slug}/items",
            {"json": {"item": {"id": "alice/m", "type": "dataset"}}},
            404,
        ),
        (
            "POST",
            f"/api/collections/{slug}/items",
            {"json": {"item": {"id": "no-slash", "type": "model"}}},
            404,
        ),
        ("POST", f"/api/collections/{slug}/items", {"json": {"item": {"id": "x", "type": "paper"}}}, 400),
        (
            "POST",
            f"/api/collections/{slug}/items",
            {"json": {"item": {"id": slug, "type": "collection"}}},
            400,
        ),
        (
            "POST",
            f"/api/collections/{slug}/items",
            {"json": {"item": {"id": "alice/m", "type": "model"}, "note": "n" * 501}},
            400,
        ),
        ("PATCH", f"/api/collections/{slug}/items/{'0' * 24}", {"json": {"note": "x"}}, 404),
        ("DELETE", f"/api/collections/{slug}/items/nope", {}, 404),
        # NUL in text, ids and paths (PostgreSQL refuses it in a query): refused before the database.
        ("POST", "/api/collections", {"json": {"title": "a\x00b"}}, 400),
        (
            "POST",
            f"/api/collections/{slug}/items",
            {"json": {"item": {"id": "\x00", "type": "collection"}}},
            404,
        ),
        (
            "POST",
            f"/api/collections/{slug}/items",
            {"json": {"item": {"id": "a/\x00", "type": "model"}}},
            404,
        ),
        ("PATCH", f"/api/collections/{slug}/items/%00", {"json": {"note": "x"}}, 404),
        ("GET", "/api/collections?owner=%00&item=models/alice/%00", {}, 200),
        ("GET", "/api/collections/alice/mine-000000000000000000000000", {}, 404),
        ("GET", f"/api/collections/bob/{slug.split('/')[1]}", {}, 404),  # the owner is part of the slug
        ("GET", "/api/collections?sort=bogus", {}, 400),
        ("GET", "/api/collections?limit=0", {}, 400),
        ("GET", "/api/collections?limit=abc", {}, 400),
        ("GET", "/api/collections?item=bogus/x", {}, 400),
        ("GET", "/api/collections?cursor=!!!", {}, 400),
        ("GET", "/api/collections?cursor=LTE", {}, 400),  # -1
        ("GET", "/api/collections?cursor=OTk5OTk5OTk5OTk5OTk5OTk5OQ", {}, 400),  # huge offset
    ]
    for method, url, kwargs, status in cases:
        headers = {**kwargs.pop("headers", {}), **alice.headers}
        r = client.request(method, url, headers=headers, **kwargs)
        if status == 200:
            assert r.status_code == 200 and r.json() == [], r.text
        else:
            assert_hf_error(r, status)
    # A huge limit is only a cap.
    r = client.get("/api/collections?limit=99999999999999999999")
    assert r.status_code == 200 and [c["slug"] for c in r.json()] == [slug]
    # Nothing above changed the collection.
    after = client.get(f"/api/collections/{slug}", headers=alice.headers).json()
    assert after["items"] == [] and after["title"] == "Mine" and after["theme"] == "default"


def test_creating_a_collection_twice_is_a_conflict_naming_the_first(
    client: TestClient, alice: Account
) -> None:
    made = new_collection(client, alice, "Reading list")
    assert made["position"] == 0 and made["owner"]["name"] == "alice" and made["owner"]["type"] == "user"
    assert made["slug"].startswith("alice/reading-list-")
    r = client.post("/api/collections", json={"title": "reading LIST"}, headers=alice.headers)
    assert_hf_error(r, 409)
    assert r.json()["slug"] == made["slug"]
    # Renaming onto another's title is refused the same way.
    other = new_collection(client, alice, "Other")
    assert other["position"] == 1
    r = client.patch(
        f"/api/collections/{other['slug']}", json={"title": "Reading list"}, headers=alice.headers
    )
    assert_hf_error(r, 409)


# --- collections: what others see ---


def test_a_deleted_repo_leaves_every_collection(client: TestClient, hub: Hub, alice: Account) -> None:
    first = create_repo(client, alice, "alice/first")
    second = create_repo(client, alice, "alice/second")
    slug = new_collection(client, alice, "Two")["slug"]
    for repo in (first, second):
        assert add(client, alice, slug, repo).status_code == 200
    r = client.request("DELETE", "/api/repos/delete", json={"name": "first"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    items = client.get(f"/api/collections/{slug}").json()["items"]
    assert [(i["id"], i["position"]) for i in items] == [(second, 0)]
    # A new repo under the old name is not the old item.
    create_repo(client, alice, "alice/first")
    assert [i["id"] for i in client.get(f"/api/collections/{slug}").json()["items"]] == [second]
    assert client.get("/api/collections", params={"item": f"models/{first}"}).json() == []


def test_a_private_repo_in_a_public_collection_is_not_revealed(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    public = create_repo(client, alice, "alice/public")
    secret = create_repo(client, alice, "alice/secret", private=True)
    slug = new_collection(client, alice, "Mixed")["slug"]
    assert add(client, alice, slug, secret, note="*hidden*").status_code == 200
    added = add(client, alice, slug, public)
    assert added.status_code == 200
    assert [i["id"] for i in added.json()["items"]] == [secret, public]
    for headers in (bob.headers, {}):
        shown = client.get(f"/api/collections/{slug}", headers=headers)
        assert shown.status_code == 200
        assert [(i["id"], i["position"]) for i in shown.json()["items"]] == [(public, 0)]
        assert "secret" not in shown.text and "hidden" not in shown.text
        listed = client.get("/api/collections", params={"owner": "alice"}, headers=headers).json()
        assert "secret" not in str(listed)
        assert (
            client.get("/api/collections", params={"item": f"models/{secret}"}, headers=headers).json() == []
        )
    # bob cannot add what he cannot read, and cannot touch alice's items either.
    bobs = new_collection(client, bob, "Bob's")["slug"]
    assert_hf_error(add(client, bob, bobs, secret), 404, "RepoNotFound")
    secret_item = added.json()["items"][0]["_id"]
    r = client.patch(f"/api/collections/{slug}/items/{secret_item}", json={"note": "x"}, headers=bob.headers)
    assert_hf_error(r, 404)
    assert client.get("/api/collections", params={"item": f"models/{secret}"}, headers=alice.headers).json()


def test_private_collections_are_missing_to_others_and_org_collections_to_outsiders(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    mine = new_collection(client, alice, "Secret plans", private=True)["slug"]
    for headers in (bob.headers, {}):
        assert_hf_error(client.get(f"/api/collections/{mine}", headers=headers), 404)
        assert client.get("/api/collections", params={"owner": "alice"}, headers=headers).json() == []
    assert_hf_error(client.delete(f"/api/collections/{mine}", headers=bob.headers), 404)
    # A read-only token of the owner reads it, and changes nothing.
    reader = token(hub, "alice", "ro", role="read")
    assert client.get(f"/api/collections/{mine}", headers=reader.headers).status_code == 200
    assert_hf_error(client.delete(f"/api/collections/{mine}", headers=reader.headers), 403, None, "read")
    # An org's private collection: members read it, contributors and up change it.
    add_user(hub, "carol")
    member = add_user(hub, "dave")
    add_org(hub, "acme", {"alice": "contributor", "dave": "read"})
    org = new_collection(client, alice, "Org picks", private=True, namespace="acme")
    assert org["owner"] == {**org["owner"], "name": "acme", "type": "org"}
    assert client.get(f"/api/collections/{org['slug']}", headers=member.headers).status_code == 200
    r = client.patch(f"/api/collections/{org['slug']}", json={"title": "x"}, headers=member.headers)
    assert_hf_error(r, 403)
    assert_hf_error(client.get(f"/api/collections/{org['slug']}", headers=bob.headers), 404)
    listed = client.get("/api/collections", params={"owner": "acme"}, headers=member.headers).json()
    assert [c["slug"] for c in listed] == [org["slug"]] and "position" not in listed[0]


def test_items_move_and_renumber(client: TestClient, hub: Hub, alice: Account) -> None:
    repos = [create_repo(client, alice, f"alice/m{i}") for i in range(4)]
    slug = new_collection(client, alice, "Order")["slug"]
    for repo in repos:
        assert add(client, alice, slug, repo).status_code == 200
    assert_hf_error(add(client, alice, slug, repos[0]), 409)
    items = client.get(f"/api/collections/{slug}").json()["items"]
    ids = {i["id"]: i["_id"] for i in items}

    def order() -> list[str]:
        got = client.get(f"/api/collections/{slug}").json()["items"]
        assert [i["position"] for i in got] == list(range(len(got)))
        return [i["id"] for i in got]

    r = client.patch(
        f"/api/collections/{slug}/items/{ids[repos[3]]}", json={"position": 0}, headers=alice.headers
    )
    assert r.status_code == 200, r.text
    assert order() == [repos[3], repos[0], repos[1], repos[2]]
    r = client.patch(
        f"/api/collections/{slug}/items/{ids[repos[3]]}", json={"position": 99}, headers=alice.headers
    )
    assert order() == repos
    r = client.delete(f"/api/collections/{slug}/items/{ids[repos[1]]}", headers=alice.headers)
    assert r.status_code == 200
    assert_hf_error(
        client.delete(f"/api/collections/{slug}/items/{ids[repos[1]]}", headers=alice.headers), 404
    )
    assert order() == [repos[0], repos[2], repos[3]]
    # Notes are shown as text and as sanitized HTML.
    note = "**bold** <script>alert(1)</script> [link](javascript:alert(1))"
    r = client.patch(
        f"/api/collections/{slug}/items/{ids[repos[0]]}", json={"note": note}, headers=alice.headers
    )
    assert r.status_code == 200
    shown = client.get(f"/api/collections/{slug}").json()["items"][0]["note"]
    assert shown["text"] == note
    assert "<strong>bold</strong>" in shown["html"]
    # Raw HTML is escaped and a javascript: link stays text, never a tag or an href.
    assert "<script" not in shown["html"] and "&lt;script&gt;" in shown["html"]
    assert "href" not in shown["html"]
    tags = events(hub, "collection:")
    assert tags.count("collection:item:add") == 4 and tags.count("collection:item:update") == 3
    assert tags.count("collection:item:delete") == 1 and tags.count("collection:create") == 1
