"""Repo lifecycle and refs under bad input (specs/hf-protocol.md §3, §6.5, §6.6): invalid JSON bodies
and invalid names on create, move, settings, branch and tag are refused in the HF error shape, in
the order the client relies on, and leave the repo as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import Account
from tests.functional.test_errors import add_file, assert_hf_error, commit, create_repo, head_sha

JSON = {"content-type": "application/json"}

# Bodies that are not the JSON object each route expects.
NOT_AN_OBJECT = [
    b"",
    b"{",
    b"{'name': 'x'}",
    b"null",
    b"[]",
    b'"text"',
    b"5",
    b"\xff\xfe",
    b'{"a": 1}{"b": 2}',
]


def refs(client: TestClient, account: Account, repo: str) -> dict[str, Any]:
    r = client.get(f"/api/models/{repo}/refs?include_prs=1", headers=account.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def models(client: TestClient, account: Account) -> list[dict[str, Any]]:
    r = client.get("/api/models?full=true", headers=account.headers)
    assert r.status_code == 200, r.text
    listing: list[dict[str, Any]] = r.json()
    return sorted(listing, key=lambda m: m["id"])


def snapshot(client: TestClient, account: Account, repo: str) -> tuple[Any, ...]:
    info = client.get(f"/api/models/{repo}", headers=account.headers).json()
    return info["sha"], info["private"], info["gated"], refs(client, account, repo), models(client, account)


@pytest.fixture
def repo(client: TestClient, alice: Account) -> str:
    name = create_repo(client, alice, "alice/m")
    assert commit(client, alice, name, add_file("a.txt", b"a")).status_code == 200
    assert client.post(f"/api/models/{name}/branch/dev", json={}, headers=alice.headers).status_code == 200
    assert (
        client.post(f"/api/models/{name}/tag/main", json={"tag": "v1"}, headers=alice.headers).status_code
        == 200
    )
    return name


# --- invalid JSON bodies ---


def test_invalid_json_bodies_are_400_and_change_nothing(
    client: TestClient, alice: Account, repo: str
) -> None:
    before = snapshot(client, alice, repo)
    routes = [
        ("POST", "/api/repos/create"),
        ("POST", "/api/repos/move"),
        ("DELETE", "/api/repos/delete"),
        ("PUT", f"/api/models/{repo}/settings"),
        ("POST", f"/api/models/{repo}/tag/main"),
        ("POST", "/api/validate-yaml"),
    ]
    for method, url in routes:
        for body in NOT_AN_OBJECT:
            if body == b'{"a": 1}' and url.endswith("/settings"):
                continue
            r = client.request(method, url, content=body, headers={**JSON, **alice.headers})
            assert_hf_error(r, 400, "BadRequest")
    # Branch and super-squash bodies are optional (none, or null), but one that is sent must be an object.
    for url in (f"/api/models/{repo}/branch/feature", f"/api/models/{repo}/super-squash/main"):
        for body in NOT_AN_OBJECT:
            if body in (b"", b"null", b'{"a": 1}'):
                continue
            r = client.post(url, content=body, headers={**JSON, **alice.headers})
            assert_hf_error(r, 400, "BadRequest")
    assert snapshot(client, alice, repo) == before


WRONG_FIELDS: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/api/repos/create", {}, "name"),
    ("POST", "/api/repos/create", {"name": 5}, "name"),
    ("POST", "/api/repos/create", {"name": ["m2"]}, "name"),
    ("POST", "/api/repos/create", {"name": "m2", "private": "maybe"}, "private"),
    ("POST", "/api/repos/create", {"name": "m2", "organization": 5}, "organization"),
    ("POST", "/api/repos/create", {"name": "m2", "type": ["model"]}, "type"),
    ("POST", "/api/repos/move", {"fromRepo": "alice/m"}, "toRepo"),
    ("POST", "/api/repos/move", {"fromRepo": 5, "toRepo": "alice/n"}, "fromRepo"),
    ("POST", "/api/repos/move", {"fromRepo": "alice/m", "toRepo": None}, "toRepo"),
    ("DELETE", "/api/repos/delete", {"organization": "alice"}, "name"),
    ("DELETE", "/api/repos/delete", {"name": {"x": 1}}, "name"),
    ("PUT", "/api/models/alice/m/settings", {"private": "sometimes"}, "private"),
    ("PUT", "/api/models/alice/m/settings", {"private": [True]}, "private"),
    ("PUT", "/api/models/alice/m/settings", {"gated": ["auto"]}, "gated"),
    ("PUT", "/api/models/alice/m/settings", {"visibility": 1}, "visibility"),
    ("POST", "/api/models/alice/m/branch/feature", {"startingPoint": 5}, "startingPoint"),
    ("POST", "/api/models/alice/m/tag/main", {}, "tag"),
    ("POST", "/api/models/alice/m/tag/main", {"tag": 1}, "tag"),
    ("POST", "/api/models/alice/m/tag/main", {"tag": "v2", "message": ["m"]}, "message"),
    ("POST", "/api/models/alice/m/super-squash/main", {"message": 5}, "message"),
]


def test_wrongly_typed_fields_are_400_naming_the_field(client: TestClient, alice: Account, repo: str) -> None:
    before = snapshot(client, alice, repo)
    for method, url, body, field in WRONG_FIELDS:
        r = client.request(method, url, json=body, headers=alice.headers)
        assert_hf_error(r, 400, "BadRequest", field)
    assert snapshot(client, alice, repo) == before


def test_unknown_fields_are_ignored(client: TestClient, alice: Account) -> None:
    # Clients send more than a hub without Spaces hardware reads (hardware, secrets…).
    body = {
        "name": "space",
        "type": "space",
        "sdk": "gradio",
        "hardware": "cpu-basic",
        "secrets": [{"key": "k"}],
    }
    r = client.post("/api/repos/create", json=body, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["url"] == "http://hub.test/spaces/alice/space"


# --- invalid values ---


BAD_CREATIONS: list[tuple[dict[str, Any], int, str]] = [
    ({"name": "a b"}, 400, "Invalid repo name"),
    ({"name": ""}, 400, "Invalid repo name"),
    ({"name": "x" * 97}, 400, "Invalid repo name"),
    ({"name": "a/b"}, 400, "Invalid repo name"),
    ({"name": "a--b"}, 400, "Invalid repo name"),
    ({"name": "a..b"}, 400, "Invalid repo name"),
    ({"name": "x.git"}, 400, "Invalid repo name"),
    ({"name": "-x"}, 400, "Invalid repo name"),
    ({"name": "x\u0000"}, 400, "Invalid repo name"),
    ({"name": "ok", "type": "kernel"}, 400, "kernel"),
    ({"name": "ok", "type": "space"}, 400, "sdk"),
    ({"name": "ok", "type": "space", "sdk": "bogus"}, 400, "sdk"),
    ({"name": "ok", "visibility": "bogus"}, 400, "visibility"),
    ({"name": "ok", "organization": "nobody"}, 404, "nobody"),
    ({"name": "ok", "organization": "no\u0000body"}, 404, ""),
    ({"name": "ok", "organization": "bob"}, 403, "You don't have the rights"),
]


def test_invalid_repo_creations_are_refused(
    client: TestClient, alice: Account, bob: Account, subtests: pytest.Subtests
) -> None:
    for body, status, message in BAD_CREATIONS:
        with subtests.test(repr(body)):
            r = client.post("/api/repos/create", json=body, headers=alice.headers)
            assert_hf_error(r, status, None, message)
    assert models(client, alice) == []
    assert models(client, bob) == []


def test_creating_an_existing_repo_is_409_with_its_url(client: TestClient, alice: Account, repo: str) -> None:
    for name in ("m", "M"):  # ids match case-insensitively (§1.3)
        r = client.post("/api/repos/create", json={"name": name}, headers=alice.headers)
        assert_hf_error(r, 409)
        assert r.json()["url"] == "http://hub.test/alice/m"  # exist_ok reads it (§0.4)
    # The same name as another type is another repo.
    r = client.post("/api/repos/create", json={"name": "m", "type": "dataset"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["url"] == "http://hub.test/datasets/alice/m"


BAD_MOVES = [
    ("alice", 400, "namespace/name"),
    ("alice/a/b", 400, "namespace/name"),
    ("alice/a b", 400, "Invalid repo name"),
    ("alice/x.git", 400, "Invalid repo name"),
    ("/m2", 404, "Namespace"),
    ("nobody/m2", 404, "nobody"),
    ("bob/m2", 403, "bob"),
    ("alice/taken", 409, "already exists"),
]


def test_invalid_moves_are_refused_and_change_nothing(
    client: TestClient, alice: Account, bob: Account, repo: str, subtests: pytest.Subtests
) -> None:
    create_repo(client, alice, "alice/taken")
    before = snapshot(client, alice, repo)
    for to, status, message in BAD_MOVES:
        with subtests.test(to):
            r = client.post("/api/repos/move", json={"fromRepo": repo, "toRepo": to}, headers=alice.headers)
            assert_hf_error(r, status, None, message)
    assert snapshot(client, alice, repo) == before


def test_a_renamed_repos_old_name_cannot_be_deleted_or_moved(
    client: TestClient, alice: Account, repo: str
) -> None:
    r = client.post(
        "/api/repos/move", json={"fromRepo": repo, "toRepo": "alice/renamed"}, headers=alice.headers
    )
    assert r.status_code == 200, r.text
    # URLs under the old name redirect; a name in a body cannot be redirected, so it names nothing.
    r = client.get(f"/api/models/{repo}", headers=alice.headers, follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/api/models/alice/renamed"
    for method, url, body in (
        ("DELETE", "/api/repos/delete", {"name": "m", "organization": "alice"}),
        ("POST", "/api/repos/move", {"fromRepo": repo, "toRepo": "alice/other"}),
    ):
        r = client.request(method, url, json=body, headers=alice.headers, follow_redirects=False)
        assert_hf_error(r, 404, "RepoNotFound")
    assert client.get("/api/models/alice/renamed", headers=alice.headers).status_code == 200


def test_invalid_settings_are_400_and_change_nothing(client: TestClient, alice: Account, repo: str) -> None:
    before = snapshot(client, alice, repo)
    for body, message in (
        ({"visibility": "bogus"}, "visibility"),
        ({"visibility": ""}, "visibility"),
        ({"gated": "bogus"}, "gated"),
        ({"gated": True}, "gated"),
        ({"private": True, "gated": "sometimes"}, "gated"),  # refused whole: private did not change
    ):
        r = client.put(f"/api/models/{repo}/settings", json=body, headers=alice.headers)
        assert_hf_error(r, 400, "BadRequest", message)
    assert snapshot(client, alice, repo) == before


# --- branches and tags ---


BAD_BRANCHES = [
    "refs%2Fpr%2F5",
    "refs%2Fheads%2Fx",
    "a%20b",
    "a..b",
    "x.lock",
    "a%2F",
    "%2Fa",
    "a%2F%2Fb",
    "a~b",
    "a%5Eb",
    "a:b",
    "a%3Fb",
    "a*b",
    "a%5Bb",
    "a%5Cb",
    "a%00b",
    "a%01b",
    "x" * 300,
]


def test_invalid_branch_names_are_400_and_create_nothing(
    client: TestClient, alice: Account, repo: str, subtests: pytest.Subtests
) -> None:
    before = refs(client, alice, repo)
    for branch in BAD_BRANCHES:
        with subtests.test(branch[:40]):
            r = client.post(f"/api/models/{repo}/branch/{branch}", json={}, headers=alice.headers)
            assert_hf_error(r, 400, "BadRequest", "Invalid reference for a branch")
            # Deleting such a branch finds nothing to delete.
            assert_hf_error(client.delete(f"/api/models/{repo}/branch/{branch}", headers=alice.headers), 404)
    assert refs(client, alice, repo) == before


def test_branch_errors_follow_the_spec(client: TestClient, alice: Account, repo: str) -> None:
    before = refs(client, alice, repo)
    r = client.post(f"/api/models/{repo}/branch/dev", json={}, headers=alice.headers)
    assert_hf_error(r, 409, None, "Reference refs/heads/dev already exists")
    r = client.post(f"/api/models/{repo}/branch/main", json={"startingPoint": "dev"}, headers=alice.headers)
    assert_hf_error(r, 409, None, "refs/heads/main")
    r = client.post(f"/api/models/{repo}/branch/new", json={"startingPoint": "nope"}, headers=alice.headers)
    assert_hf_error(r, 404, "RevisionNotFound", "nope")
    assert_hf_error(
        client.delete(f"/api/models/{repo}/branch/main", headers=alice.headers), 403, None, "main"
    )
    # A tag is not a branch.
    assert_hf_error(
        client.delete(f"/api/models/{repo}/branch/v1", headers=alice.headers), 404, "RevisionNotFound"
    )
    assert refs(client, alice, repo) == before
    # A branch may share its name with a tag, and start from a tag.
    r = client.post(f"/api/models/{repo}/branch/v1", json={"startingPoint": "v1"}, headers=alice.headers)
    assert r.status_code == 200, r.text


BAD_TAGS = ["a b", "", "..", "a..b", "refs/tags/x", "x.lock", "a~1", "a:b", "a\u0000b", "x" * 300]


def test_invalid_tag_names_are_400_and_create_nothing(
    client: TestClient, alice: Account, repo: str, subtests: pytest.Subtests
) -> None:
    before = refs(client, alice, repo)
    for tag in BAD_TAGS:
        with subtests.test(repr(tag)[:40]):
            r = client.post(f"/api/models/{repo}/tag/main", json={"tag": tag}, headers=alice.headers)
            assert_hf_error(r, 400, "BadRequest", "Invalid tag name")
    assert refs(client, alice, repo) == before


def test_tag_errors_are_checked_in_the_order_the_client_relies_on(
    client: TestClient, alice: Account, repo: str
) -> None:
    before = refs(client, alice, repo)
    # First the revision (404), then the name (400), then the conflict (409) (§6.6).
    r = client.post(f"/api/models/{repo}/tag/nope", json={"tag": "bad name"}, headers=alice.headers)
    assert_hf_error(r, 404, "RevisionNotFound")
    r = client.post(f"/api/models/{repo}/tag/main", json={"tag": "bad name"}, headers=alice.headers)
    assert_hf_error(r, 400, "BadRequest")
    r = client.post(f"/api/models/{repo}/tag/main", json={"tag": "v1"}, headers=alice.headers)
    assert_hf_error(r, 409, None, "v1")
    assert_hf_error(
        client.delete(f"/api/models/{repo}/tag/nope", headers=alice.headers), 404, "RevisionNotFound"
    )
    # A branch is not a tag.
    assert_hf_error(client.delete(f"/api/models/{repo}/tag/main", headers=alice.headers), 404)
    assert refs(client, alice, repo) == before
    # A short commit id is a valid revision to tag.
    sha = head_sha(client, alice, repo)
    r = client.post(f"/api/models/{repo}/tag/{sha[:7]}", json={"tag": "short"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert head_sha(client, alice, repo, "short") == sha


def test_commits_to_tags_and_commit_ids_are_refused(client: TestClient, alice: Account, repo: str) -> None:
    before = snapshot(client, alice, repo)
    sha = head_sha(client, alice, repo)
    for revision in ("v1", sha, sha[:7]):
        r = commit(client, alice, repo, add_file("x.txt", b"x"), revision=revision)
        assert_hf_error(r, 400, "BadRequest", "branches")
        r = client.post(f"/api/models/{repo}/super-squash/{revision}", json={}, headers=alice.headers)
        assert_hf_error(r, 400, "BadRequest")
    # A pull request from a commit id is refused as the spec's tests expect (§4.5).
    r = commit(client, alice, repo, add_file("x.txt", b"x"), revision=sha, params={"create_pr": "1"})
    assert_hf_error(r, 404, "RevisionNotFound")
    assert snapshot(client, alice, repo) == before
