"""The error contract (specs/hf-protocol.md §1.6) on every route: the HF error shape, never a 500.

Every refusal carries its status, `X-Error-Code` where the client needs one to pick its exception,
the message in `X-Error-Message` and in a JSON body `{"error": ...}`, and `X-Request-Id`. The last
test sweeps malformed requests over the whole route table: a 500 anywhere is a server bug.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from httpx import Response
from starlette.testclient import TestClient

from tests.conftest import Account

MISSING = "Repository not found"
NO_CODE = object()  # the response must carry no X-Error-Code at all


def assert_hf_error(
    r: Response, status: int, code: str | object | None = None, message: str | None = None
) -> str:
    """Assert the HF error shape; returns the message. `code=None` accepts any code."""
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}"
    assert r.headers.get("x-request-id"), "every response carries X-Request-Id"
    if code is NO_CODE:
        assert "x-error-code" not in r.headers, r.headers.get("x-error-code")
    elif code is not None:
        assert r.headers.get("x-error-code") == code, r.headers.get("x-error-code")
    header = r.headers.get("x-error-message")
    assert header, "every error carries X-Error-Message"
    if r.request.method != "HEAD":
        assert r.headers["content-type"].startswith("application/json")
        body = r.json()
        assert isinstance(body.get("error"), str) and body["error"]
        flat = " ".join(body["error"].split())
        if flat.isascii() and flat.isprintable() and "\\" not in flat and len(flat) < 1000:
            assert flat == header  # the same message, flattened to one header line
    if message is not None:
        assert message in header, header
    return header


def ndjson(*lines: tuple[str, dict[str, Any]], summary: str = "test commit") -> bytes:
    rows = [{"key": "header", "value": {"summary": summary, "description": ""}}]
    rows += [{"key": key, "value": value} for key, value in lines]
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def add_file(path: str, content: bytes) -> tuple[str, dict[str, Any]]:
    return ("file", {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"})


def create_repo(client: TestClient, owner: Account, name: str, repo_type: str = "model", **extra: Any) -> str:
    namespace, _, short = name.rpartition("/")
    body = {"name": short, "organization": namespace or owner.name, "type": repo_type, **extra}
    r = client.post("/api/repos/create", json=body, headers=owner.headers)
    assert r.status_code == 200, r.text
    return f"{namespace or owner.name}/{short}"


def commit(
    client: TestClient,
    account: Account | None,
    repo: str,
    *lines: tuple[str, dict[str, Any]],
    revision: str = "main",
    params: dict[str, str] | None = None,
    plural: str = "models",
) -> Response:
    headers = {"content-type": "application/x-ndjson", **(account.headers if account else {})}
    return client.post(
        f"/api/{plural}/{repo}/commit/{revision}", content=ndjson(*lines), headers=headers, params=params
    )


def head_sha(client: TestClient, account: Account | None, repo: str, revision: str = "main") -> str:
    r = client.get(f"/api/models/{repo}/revision/{revision}", headers=account.headers if account else {})
    assert r.status_code == 200, r.text
    sha: str = r.json()["sha"]
    return sha


# --- one table of the routes that act on a repo (also used by test_permissions) ---


@dataclass(frozen=True)
class Call:
    """One request against a repo; `access` is what it needs: read, content, discuss (signed-in
    readers), write or manage. `allowed` is its status for those it admits."""

    label: str
    method: str
    url: str
    access: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    allowed: int = 200

    def send(self, client: TestClient, headers: dict[str, str]) -> Response:
        extra = dict(self.kwargs)
        extra["headers"] = {**extra.get("headers", {}), **headers}
        return client.request(self.method, self.url, **extra)


def repo_calls(repo: str, *, move_to: str = "") -> list[Call]:
    namespace, _, name = repo.partition("/")
    lfs = {"oid": "a" * 64, "size": 4}
    access = f"/api/models/{repo}/user-access-request"
    return [
        Call("info", "GET", f"/api/models/{repo}", "read"),
        Call("revision", "GET", f"/api/models/{repo}/revision/main", "read"),
        Call("tree", "GET", f"/api/models/{repo}/tree/main", "read"),
        Call("tree-path", "GET", f"/api/models/{repo}/tree/main/folder", "read"),
        Call("paths-info", "POST", f"/api/models/{repo}/paths-info/main", "read", {"data": {"paths": ["a"]}}),
        Call("commits", "GET", f"/api/models/{repo}/commits/main", "read"),
        Call("refs", "GET", f"/api/models/{repo}/refs?include_prs=1", "read"),
        Call("resolve-get", "GET", f"/{repo}/resolve/main/.gitattributes", "content"),
        Call("resolve-head", "HEAD", f"/{repo}/resolve/main/.gitattributes", "content"),
        Call("auth-check", "GET", f"/api/models/{repo}/auth-check", "content"),
        Call("likers", "GET", f"/api/models/{repo}/likers", "read"),
        Call("like", "POST", f"/api/models/{repo}/like", "discuss"),
        Call("unlike", "DELETE", f"/api/models/{repo}/like", "discuss"),
        Call(
            "preupload",
            "POST",
            f"/api/models/{repo}/preupload/main",
            "write",
            {"json": {"files": [{"path": "a.txt", "size": 1, "sample": ""}]}},
        ),
        Call(
            "commit",
            "POST",
            f"/api/models/{repo}/commit/main",
            "write",
            {"content": ndjson(add_file("a.txt", b"a")), "headers": {"content-type": "application/x-ndjson"}},
        ),
        Call(
            "lfs-batch",
            "POST",
            f"/{repo}.git/info/lfs/objects/batch",
            "write",
            {
                "json": {
                    "operation": "upload",
                    "transfers": ["basic"],
                    "objects": [lfs],
                    "ref": {"name": "main"},
                }
            },
        ),
        # Verify only tells whether an object is stored: pull request authors call it too. The
        # table's object was never uploaded: 404 for those who may ask.
        Call("lfs-verify", "POST", f"/{repo}.git/info/lfs/objects/verify", "read", {"json": lfs}, 404),
        Call("branch-create", "POST", f"/api/models/{repo}/branch/feature", "write", {"json": {}}),
        Call("branch-delete", "DELETE", f"/api/models/{repo}/branch/dev", "write"),
        Call("tag-create", "POST", f"/api/models/{repo}/tag/main", "write", {"json": {"tag": "v2"}}),
        Call("tag-delete", "DELETE", f"/api/models/{repo}/tag/v1", "write"),
        Call(
            "super-squash",
            "POST",
            f"/api/models/{repo}/super-squash/main",
            "write",
            {"json": {"message": "s"}},
        ),
        Call("auth-check-write", "GET", f"/api/models/{repo}/auth-check/write", "write"),
        Call("lfs-files", "GET", f"/api/models/{repo}/lfs-files", "write"),
        Call(
            "lfs-files-delete",
            "POST",
            f"/api/models/{repo}/lfs-files/batch",
            "manage",
            {"json": {"deletions": {"sha": [], "rewriteHistory": False}}},
        ),
        # Discussions (§7): the repo has discussion #1 and an open pull request #2, both by its owner.
        Call("discussions", "GET", f"/api/models/{repo}/discussions", "read"),
        Call("discussion", "GET", f"/api/models/{repo}/discussions/1", "read"),
        Call("pr-diff", "GET", f"/api/models/{repo}/discussions/2?diff=1", "read"),
        Call(
            "discussion-create",
            "POST",
            f"/api/models/{repo}/discussions",
            "discuss",
            {"json": {"title": "A question", "description": "Why?"}},
        ),
        Call(
            "discussion-comment",
            "POST",
            f"/api/models/{repo}/discussions/1/comment",
            "discuss",
            {"json": {"comment": "Me too"}},
        ),
        # Renaming and closing someone else's discussion needs write access.
        Call(
            "discussion-title",
            "POST",
            f"/api/models/{repo}/discussions/1/title",
            "write",
            {"json": {"title": "Renamed"}},
        ),
        Call(
            "discussion-status",
            "POST",
            f"/api/models/{repo}/discussions/1/status",
            "write",
            {"json": {"status": "closed"}},
        ),
        Call("pr-merge", "POST", f"/api/models/{repo}/discussions/2/merge", "write"),
        Call("settings", "PUT", f"/api/models/{repo}/settings", "manage", {"json": {"gated": False}}),
        # Access requests (§8). The table's repo is not gated: those admitted get a 400 saying so.
        Call("access-request", "POST", f"{access}/request", "discuss", {"json": {}}, 400),
        Call("access-pending", "GET", f"{access}/pending", "write"),
        Call("access-accepted", "GET", f"{access}/accepted", "write"),
        Call("access-rejected", "GET", f"{access}/rejected", "write"),
        Call(
            "access-handle",
            "POST",
            f"{access}/handle",
            "write",
            {"json": {"user": "bob", "status": "accepted"}},
            400,
        ),
        Call("access-grant", "POST", f"{access}/grant", "write", {"json": {"user": "bob"}}, 400),
        Call(
            "move",
            "POST",
            "/api/repos/move",
            "manage",
            {"json": {"fromRepo": repo, "toRepo": move_to or f"{namespace}/moved", "type": "model"}},
        ),
        Call(
            "delete",
            "DELETE",
            "/api/repos/delete",
            "manage",
            {"json": {"name": name, "organization": namespace, "type": "model"}},
        ),
    ]


def comparable(r: Response) -> tuple[Any, ...]:
    """What a caller can see of an error, request id aside."""
    headers = {k: v for k, v in r.headers.items() if k.lower() not in ("x-request-id", "content-length")}
    return r.status_code, sorted(headers.items()), r.content


# --- unknown repos, revisions and files ---


def test_unknown_repo_is_repo_not_found_on_every_route(client: TestClient, alice: Account) -> None:
    for call in repo_calls("alice/absent"):
        assert_hf_error(call.send(client, alice.headers), 404, "RepoNotFound", MISSING)
        # Anonymous callers get a 401, so that the client tells them to log in (§1.6).
        assert_hf_error(call.send(client, {}), 401, "RepoNotFound", MISSING)


def test_repo_ids_that_cannot_exist_are_repo_not_found(client: TestClient, alice: Account) -> None:
    for url in (
        "/api/models/gpt2",
        "/api/datasets/squad",
        "/api/models/alice/absent/revision/main",
        "/api/datasets/alice/absent/tree/main",
        "/gpt2/resolve/main/config.json",
        "/datasets/alice/absent/resolve/main/data.csv",
        "/spaces/alice/absent/resolve/main/app.py",
    ):
        assert_hf_error(client.get(url, headers=alice.headers), 404, "RepoNotFound", MISSING)
        assert_hf_error(client.get(url), 401, "RepoNotFound", MISSING)
    # The type is part of a repo's identity: a model is not found as a dataset.
    create_repo(client, alice, "alice/m")
    assert_hf_error(client.get("/api/datasets/alice/m", headers=alice.headers), 404, "RepoNotFound")
    assert_hf_error(client.head("/datasets/alice/m/resolve/main/.gitattributes"), 401, "RepoNotFound")


@pytest.fixture
def repo(client: TestClient, alice: Account) -> str:
    """alice/m with a file in a folder, a branch `dev` and a tag `v1`."""
    name = create_repo(client, alice, "alice/m")
    r = commit(client, alice, name, add_file("folder/a.txt", b"a"), add_file("README.md", b"# m\n"))
    assert r.status_code == 200, r.text
    assert client.post(f"/api/models/{name}/branch/dev", json={}, headers=alice.headers).status_code == 200
    assert (
        client.post(f"/api/models/{name}/tag/main", json={"tag": "v1"}, headers=alice.headers).status_code
        == 200
    )
    return name


def revision_calls(repo: str, rev: str, plain: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every route that takes a revision, at `rev` in URLs (percent-encoded), `plain` in bodies."""
    return [
        ("GET", f"/api/models/{repo}/revision/{rev}", {}),
        ("GET", f"/api/models/{repo}/tree/{rev}", {}),
        ("GET", f"/api/models/{repo}/tree/{rev}/folder", {}),
        ("GET", f"/api/models/{repo}/commits/{rev}", {}),
        ("POST", f"/api/models/{repo}/paths-info/{rev}", {"data": {"paths": ["README.md"]}}),
        ("GET", f"/{repo}/resolve/{rev}/README.md", {}),
        ("HEAD", f"/{repo}/resolve/{rev}/README.md", {}),
        ("POST", f"/api/models/{repo}/preupload/{rev}", {"json": {"files": []}}),
        ("POST", f"/api/models/{repo}/preupload/{rev}?create_pr=1", {"json": {"files": []}}),
        (
            "POST",
            f"/api/models/{repo}/commit/{rev}",
            {"content": ndjson(add_file("x.txt", b"x")), "headers": {"content-type": "application/x-ndjson"}},
        ),
        (
            "POST",
            f"/api/models/{repo}/commit/{rev}?create_pr=1",
            {"content": ndjson(add_file("x.txt", b"x")), "headers": {"content-type": "application/x-ndjson"}},
        ),
        ("POST", f"/api/models/{repo}/super-squash/{rev}", {"json": {}}),
        ("POST", f"/api/models/{repo}/tag/{rev}", {"json": {"tag": "t-new"}}),
        ("POST", f"/api/models/{repo}/branch/b-new", {"json": {"startingPoint": plain}}),
        ("DELETE", f"/api/models/{repo}/branch/{rev}", {}),
        ("DELETE", f"/api/models/{repo}/tag/{rev}", {}),
    ]


@pytest.mark.parametrize(
    ("rev", "shown"),
    [
        ("nope", "nope"),
        ("refs%2Fpr%2F7", "refs/pr/7"),
        ("refs%2Fheads%2Fnope", "refs/heads/nope"),
        ("feature%2Fx", "feature/x"),
        ("0" * 40, "0" * 40),
        ("abcdef1", "abcdef1"),
    ],
)
def test_unknown_revision_is_revision_not_found_on_every_route(
    client: TestClient, alice: Account, repo: str, rev: str, shown: str
) -> None:
    before = head_sha(client, alice, repo)
    for method, url, kwargs in revision_calls(repo, rev, shown):
        kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), **alice.headers}}
        r = client.request(method, url, **kwargs)
        assert_hf_error(r, 404, "RevisionNotFound", f"Invalid rev id: {shown}")
    # Nothing was created on the way: no branch, tag or pull request.
    refs = client.get(f"/api/models/{repo}/refs?include_prs=1", headers=alice.headers).json()
    assert sorted(b["name"] for b in refs["branches"]) == ["dev", "main"]
    assert [t["name"] for t in refs["tags"]] == ["v1"]
    assert refs["pullRequests"] == []
    assert head_sha(client, alice, repo) == before


def test_unencoded_pull_request_refs_are_read_as_one_revision(
    client: TestClient, alice: Account, repo: str
) -> None:
    # Some clients send refs/pr/N raw (§1.3): still one revision, and a missing one.
    for url in (f"/api/models/{repo}/revision/refs/pr/3", f"/{repo}/resolve/refs/pr/3/README.md"):
        assert_hf_error(client.get(url, headers=alice.headers), 404, "RevisionNotFound", "refs/pr/3")
    r = commit(client, alice, repo, add_file("p.txt", b"p"), params={"create_pr": "1"})
    assert r.status_code == 200, r.text
    assert r.json()["pullRequestUrl"].endswith("/discussions/1")
    assert client.get(f"/{repo}/resolve/refs/pr/1/p.txt", headers=alice.headers).content == b"p"
    assert client.get(f"/{repo}/resolve/refs%2Fpr%2F1/p.txt", headers=alice.headers).content == b"p"


def test_unknown_file_is_entry_not_found_with_the_commit(
    client: TestClient, alice: Account, repo: str
) -> None:
    sha = head_sha(client, alice, repo)
    for method in ("GET", "HEAD"):
        for path in ("nope.txt", "folder", "folder/nope", "README.md/x"):
            r = client.request(method, f"/{repo}/resolve/main/{path}", headers=alice.headers)
            assert_hf_error(r, 404, "EntryNotFound")
            # transformers records "this optional file is absent at <commit>" from this header.
            assert r.headers["x-repo-commit"] == sha
    r = client.get(f"/{repo}/resolve/dev/nope.txt", headers=alice.headers)
    assert_hf_error(r, 404, "EntryNotFound")
    assert r.headers["x-repo-commit"] == head_sha(client, alice, repo, "dev")
    assert_hf_error(
        client.get(f"/api/models/{repo}/tree/main/nope", headers=alice.headers), 404, "EntryNotFound"
    )
    # paths-info leaves missing paths out rather than failing.
    r = client.post(
        f"/api/models/{repo}/paths-info/main", data={"paths": ["nope", "README.md"]}, headers=alice.headers
    )
    assert r.status_code == 200, r.text
    assert [e["path"] for e in r.json()] == ["README.md"]


def test_deleting_a_missing_file_is_entry_not_found(client: TestClient, alice: Account, repo: str) -> None:
    before = head_sha(client, alice, repo)
    r = commit(client, alice, repo, ("deletedFile", {"path": "nope.txt"}))
    assert_hf_error(r, 404, "EntryNotFound", "A file with this name doesn't exist")
    r = commit(client, alice, repo, ("deletedFolder", {"path": "nope/"}))
    assert_hf_error(r, 404, "EntryNotFound")
    assert head_sha(client, alice, repo) == before


# --- invalid query values ---


LISTING_QUERIES = [
    "limit=abc",
    "limit=-1",
    "limit=1.5",
    "sort=bogus",
    "cursor=abc",
    "cursor=!!!",
    "cursor=" + base64.urlsafe_b64encode(b'{"a":1}').decode(),
    "cursor=" + base64.urlsafe_b64encode(b'["x",1]').decode(),
    "cursor=" + base64.urlsafe_b64encode(b"[1,2,3]").decode(),
    "sort=lastModified&cursor=" + base64.urlsafe_b64encode(b'["not a date",1]').decode(),
    "search=%00",
    "author=%00",
    "filter=%00",
]


def test_invalid_listing_queries_are_bad_requests(client: TestClient, alice: Account) -> None:
    for plural in ("models", "datasets", "spaces"):
        for query in LISTING_QUERIES:
            assert_hf_error(client.get(f"/api/{plural}?{query}", headers=alice.headers), 400, "BadRequest")


REPO_CURSORS = [
    "cursor=abc",
    "cursor=!!!",
    "cursor=" + base64.urlsafe_b64encode(b"-5").decode(),
    "cursor=" + base64.urlsafe_b64encode(b'"ten"').decode(),
    "cursor=" + base64.urlsafe_b64encode(b"[1,2]").decode(),
    "cursor=" + base64.urlsafe_b64encode(b'{"a":1}').decode(),
    "cursor=" + base64.urlsafe_b64encode(b"1.5").decode(),
]


def test_invalid_cursors_on_paginated_repo_routes_are_bad_requests(
    client: TestClient, alice: Account, repo: str
) -> None:
    for route in ("tree/main", "tree/main/folder", "commits/main", "lfs-files"):
        for query in REPO_CURSORS:
            r = client.get(f"/api/models/{repo}/{route}?{query}", headers=alice.headers)
            assert_hf_error(r, 400, "BadRequest", "cursor")


def test_invalid_commit_page_sizes_are_bad_requests(client: TestClient, alice: Account, repo: str) -> None:
    # limit=0 would be a page that never advances: a client following Link would loop forever.
    for limit in ("abc", "0", "-3", "1e3"):
        r = client.get(f"/api/models/{repo}/commits/main?limit={limit}", headers=alice.headers)
        assert_hf_error(r, 400, "BadRequest", "limit")


def test_valid_queries_still_work(client: TestClient, alice: Account, repo: str) -> None:
    # The counterpart of the tests above: the same parameters, well-formed, are answered.
    r = client.get("/api/models?limit=1&sort=createdAt", headers=alice.headers)
    assert r.status_code == 200 and [m["id"] for m in r.json()] == ["alice/m"]
    page = client.get(f"/api/models/{repo}/commits/main?limit=1", headers=alice.headers)
    assert page.status_code == 200 and len(page.json()) == 1
    link = re.fullmatch(r'<([^>]+)>; rel="next"', page.headers["link"])
    assert link is not None
    second = client.get(link[1], headers=alice.headers)
    assert second.status_code == 200 and second.json()[0]["id"] != page.json()[0]["id"]


# --- methods and routes that do not exist ---


WRONG_METHODS = [
    ("DELETE", "/api/whoami-v2", "GET"),
    ("GET", "/api/repos/create", "POST"),
    ("PUT", "/api/repos/move", "POST"),
    ("PATCH", "/api/models/alice/m/settings", "PUT"),
    ("PUT", "/api/models/alice/m/commit/main", "POST"),
    ("GET", "/api/models/alice/m/preupload/main", "POST"),
    ("GET", "/api/validate-yaml", "POST"),
    ("GET", "/alice/m.git/info/lfs/objects/batch", "POST"),
]


def test_wrong_methods_are_405_with_allow(client: TestClient, alice: Account) -> None:
    for method, url, allowed in WRONG_METHODS:
        r = client.request(method, url, headers=alice.headers)
        assert_hf_error(r, 405, "MethodNotAllowed")
        assert allowed in r.headers["allow"]


def test_unknown_routes_are_404_in_the_error_shape(client: TestClient, alice: Account) -> None:
    for method, url in [
        ("GET", "/nope"),
        ("GET", "/api/nope"),
        ("GET", "/api/models/alice/m/nope"),
        ("GET", "/api/kernels/alice/m"),
        ("POST", "/api/models/alice/m/revision/main/extra"),
        ("HEAD", "/api/nope"),
        ("DELETE", "/api/repos/nope"),
    ]:
        assert_hf_error(client.request(method, url, headers=alice.headers), 404)


# --- the sweep: malformed requests over the whole route table, no 500 anywhere ---


def fastapi_app(asgi: Any) -> FastAPI:
    while not isinstance(asgi, FastAPI):
        asgi = asgi.app  # through the ASGI middlewares and ahead-of-router routes
    return asgi


def api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):  # an included router
            yield from api_routes(route.original_router.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "routes"):
            yield from api_routes(route.routes, prefix + getattr(route, "path", ""))


# Values for each path parameter, already percent-encoded: valid ones, and ones meant to break things.
_HASHES = ["0" * 64, "F" * 64, "g" * 64, "%00", "ab", "0" * 65, "x" * 300]
PATH_VALUES: dict[str, list[str]] = {
    "repo_type": ["models", "datasets", "spaces"],
    # The Xet CAS (tests/functional/test_xet_cas.py goes deeper, with valid CAS tokens).
    "generation": ["0" * 16, "%00", "..", "x" * 300],
    "prefix": ["default", "default-merkledb", "%00", "x" * 300],
    "xorb": _HASHES,
    "chunk": _HASHES,
    "file_id": _HASHES,
    "namespace": ["alice", "bob", "ALICE", "nobody", "%00", "%2E%2E", "a%20b", "%C3%A9", "%ff", "x" * 300],
    "name": ["m", "absent", "M", "m.git", "%00", "%2E%2E", "%ff", "a%2Fb", "x" * 300],
    "revision": [
        "main",
        "nope",
        "refs%2Fpr%2F1",
        "refs%2Fpr%2F99999999999999999999",
        "%00",
        "main%00",
        "..",
        "main~1",
        "0" * 40,
        "abcde",
        "%ff",
        "%0A",
        "a%2F%2Fb",
        "x" * 300,
    ],
    "path": [
        "README.md",
        "folder",
        "folder/a.txt",
        "nope",
        "a/../b",
        "..%2F..%2Fetc%2Fpasswd",
        "%00",
        "%2F",
        "x" * 2000,
        ".git/config",
        "%ff%fe",
        "a%5Cb",
    ],
    "topic": ["x", "a/b"],
    "repo_id": ["1", "0", "-1", "abc", "99999999999999999999999"],
    "oid": ["a" * 64, "zz", "%00", "A" * 64],
    "part": ["1", "0", "-1", "abc", "99999999999"],
    "org": ["acme", "alice", "nobody", "%00", "x" * 300],
    "token_id": ["1", "0", "-1", "abc", "99999999999999999999999"],
    "uid": ["0" * 24, "%00", "x" * 300],
    # Discussions (§7): the sweep's repo has pull request #1.
    "num": ["1", "2", "0", "-1", "abc", "1.5", "99999999999999999999", "%00", "%ff"],
    "action": [
        "disable",
        "enable",
        "comment",
        "title",
        "status",
        "merge",
        "edit",
        "hide",
        "nope",
        "%00",
        "x" * 300,
    ],
    "comment_id": ["0" * 24, "A" * 24, "zz", "%00", "%ff", "x" * 300],
    # Likes and collections (a collection's slug is {namespace}/{slug}).
    "user": ["alice", "nobody", "ALICE", "%00", "%ff", "x" * 300],
    "slug": ["c-" + "0" * 24, "0" * 24, "-", "%00", "%ff", "a-" + "g" * 24, "x" * 300],
    "item_id": ["0" * 24, "%00", "x" * 300, "%ff"],
}
for _alias in ("branch", "tag"):
    PATH_VALUES[_alias] = PATH_VALUES["revision"]

QUERIES = [
    "",
    "limit=abc",
    "limit=-5",
    "limit=0",
    "limit=99999999999999999999",
    "cursor=!!!",
    "cursor=" + base64.urlsafe_b64encode(b'{"x":1}').decode(),
    "cursor=" + base64.urlsafe_b64encode(b"[1,2]").decode(),
    "cursor=" + base64.urlsafe_b64encode(b'"abc"').decode(),
    "cursor=" + base64.urlsafe_b64encode(b"-7").decode(),
    "sort=bogus",
    "sort=lastModified&cursor=" + base64.urlsafe_b64encode(b'[5,"x"]').decode(),
    "expand=bogus&expand[]=siblings",
    "recursive=maybe&expand=true",
    "create_pr=1",
    "create_pr=yes&hot_reload=1",
    "full=true&cardData=true&config=true&blobs=true",
    "filter=%00&search=%25&author=%00",
    "pipeline_tag=%00&search=%00",
    "search=%E2%80%8B%22%27&author=ALICE&filter=license%3Amit",
    "gated=maybe",
    "include_prs=1",
    "size=abc&chunk=x&expires=y&signature=z",
    "size=1&chunk=0&expires=99999999999&signature=" + "0" * 64,
    "type=repo:&actor=%00&since=yesterday",
    "since=2026-01-01T00:00:00&limit=1001",
]

_WRONG_TYPES = {
    key: value
    for key, value in zip(
        [
            "name",
            "organization",
            "type",
            "fromRepo",
            "toRepo",
            "private",
            "visibility",
            "gated",
            "startingPoint",
            "tag",
            "message",
            "content",
            "repoType",
            "files",
            "paths",
            "objects",
            "operation",
            "ref",
            "oid",
            "size",
            "parts",
            "deletions",
            "gitIgnore",
            "expand",
            "sdk",
            "user",
            "requestId",
            "status",
            "rejectionReason",
            "fields",
            "title",
            "description",
            "pullRequest",
            "comment",
        ],
        [
            *(
                5,
                [],
                {},
                5,
                None,
                "maybe",
                3,
                [],
                7,
                {},
                3,
                5,
                1,
                {},
                "x",
                {},
                5,
                3,
                1,
                "x",
                "x",
                [],
                5,
                [1],
                9,
            ),
            *([], 5, True, {}, "x"),
            *([], 5, "yes", {}),
        ],
        strict=True,
    )
}
_WRONG_VALUES = {
    "name": "..",
    "organization": "nobody",
    "type": "kernel",
    "fromRepo": "alice/m",
    "toRepo": "alice/../x",
    "private": True,
    "visibility": "bogus",
    "gated": "bogus",
    "startingPoint": "..",
    "tag": "bad tag",
    "message": "\x00",
    "content": "---\n- a\n---\n",
    "repoType": "bogus",
    "files": [{"path": "../x", "size": -1, "sample": "%%%"}, {"path": None}, "x"],
    "paths": ["\x00", "../", "", "/", "a" * 5000],
    "objects": [{"oid": "x", "size": -1}, {"oid": "a" * 64, "size": 2**62}, None],
    "operation": "upload",
    "ref": {"name": "\x00"},
    "oid": "a" * 64,
    "size": -1,
    "parts": [{"partNumber": "1", "etag": 5}, {"partNumber": 1}, None],
    "deletions": {"sha": ["x", 5], "rewriteHistory": "yes"},
    "gitIgnore": "*\n!",
    "sdk": "bogus",
    "role": "owner",
    "scoped": [{"entity": {"type": "kernel", "name": "%00"}, "permissions": ["everything"]}],
    "expiresInDays": -3,
    "expiresAt": "1999-01-01T00:00:00Z",
    "username": "../admin",
    "email": "not-an-address",
    "password": "short",
    "invitation": "nope",
    "secret": "nope",
    "user": "nobody",
    "requestId": "0" * 24,
    "status": "approved",
    "rejectionReason": "x" * 500,
    "fields": {"x" * 300: ["y"]},
    "title": "\x00" * 300,
    "description": "d" * 100_000,
    "pullRequest": True,
    "comment": "",
}
# Collections and their items.
_WRONG_TYPES |= {"title": [], "namespace": 5, "description": {}, "theme": 3, "position": "x", "item": "x"}
_WRONG_TYPES |= {"note": []}
_WRONG_VALUES |= {
    "title": "",
    "namespace": "nobody",
    "description": "\x00",
    "theme": "<b>",
    "position": 10**30,
    "item": {"id": "alice/m", "type": "kernel"},
    "note": "n" * 600,
}
# A lone surrogate is valid JSON ("\ud800") but no text a database or git can store.
_SURROGATES: dict[str, Any] = {key: "\ud800" for key in _WRONG_TYPES}
_SURROGATES |= {
    "files": [{"path": "a\ud800", "size": 1}],
    "paths": ["\ud800"],
    "objects": [{"oid": "\ud800", "size": 1}],
    "ref": {"name": "\ud800"},
    "fromRepo": "alice/\ud800",
    "toRepo": "\ud800/x",
    "organization": "\ud800",
    "deletions": {"sha": ["\ud800"]},
}
BODIES: list[tuple[bytes, str | None]] = [
    (b"", None),
    (b"{", "application/json"),
    (b"null", "application/json"),
    (b"[]", "application/json"),
    (b'"text"', "application/json"),
    (b'{"a": 1}', "application/json"),
    (b'{"name": "\xff\xfe"}', "application/json"),
    (json.dumps(_WRONG_TYPES).encode(), "application/json"),
    (json.dumps(_WRONG_VALUES).encode(), "application/json"),
    (json.dumps(_WRONG_VALUES).encode(), "application/vnd.git-lfs+json"),
    (json.dumps(_SURROGATES).encode(), "application/json"),
    (json.dumps({**_SURROGATES, "name": "m", "organization": "alice"}).encode(), "application/json"),
    (json.dumps({**_SURROGATES, "fromRepo": "alice/m"}).encode(), "application/json"),
    (
        json.dumps({"name": "ok", "organization": "\ud800", "fromRepo": "alice/m"}).encode(),
        "application/json",
    ),
    (b"nope\n", "application/x-ndjson"),
    (b'{"key":"header","value":{}}\n{"key":"file","value":{"path":"../x"}}\n', "application/x-ndjson"),
    (
        b'{"key":"header","value":{}}\n{"key":"lfsFile","value":{"path":"x","oid":"' + b"a" * 64 + b'"}}\n',
        None,
    ),
    (b"paths=%00&paths=..&paths=&expand=maybe", "application/x-www-form-urlencoded"),
    (b"paths=%ff%fe&expand", "application/x-www-form-urlencoded"),
    (
        b"--x\r\nContent-Disposition: form-data; name=paths\r\n\r\na\r\n--x--\r\n",
        "multipart/form-data; boundary=x",
    ),
    (b"\x00\x01\x02\xff" * 64, "application/octet-stream"),
]


def _fill(path: str, chosen: dict[str, str]) -> str:
    def value(m: re.Match[str]) -> str:
        name = m[1]
        assert name in PATH_VALUES, f"add fuzz values for path parameter {name!r} ({path})"
        return chosen.get(name, PATH_VALUES[name][0])

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def _params(path: str) -> list[str]:
    return re.findall(r"\{(\w+)(?::\w+)?\}", path)


def test_malformed_requests_over_the_route_table_never_get_a_500(
    client: TestClient, alice: Account, bob: Account, repo: str
) -> None:
    r = commit(client, alice, repo, add_file("p.txt", b"p"), params={"create_pr": "1"})
    assert r.status_code == 200, r.text
    identities = [
        alice.headers,
        bob.headers,
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        {"Authorization": "Bearer "},
    ]
    routes = [(path, sorted(route.methods)) for path, route in api_routes(fastapi_app(client.app).routes)]
    # /resolve may be answered ahead of the router; sweep it whether or not it is in the table.
    routes += [
        (f"{prefix}/{{namespace}}/{{name}}/resolve/{{revision}}/{{path:path}}", ["GET", "HEAD"])
        for prefix in ("", "/datasets", "/spaces")
    ]
    assert len(routes) > 30
    sweep = TestClient(client.app, base_url="http://hub.test", raise_server_exceptions=False)
    rnd = random.Random(20261124)
    failures: list[str] = []
    sent = 0
    for path, methods in routes:
        # A method the route lacks is answered before anything is parsed: one request is enough.
        r = sweep.request("PATCH", _fill(path, {}), headers=alice.headers)
        sent += 1
        if r.status_code >= 500 or not r.headers.get("x-request-id"):
            failures.append(f"{r.status_code} PATCH {_fill(path, {})}: {r.text[:200]}")
        for method in methods:
            has_body = method not in ("GET", "HEAD")
            # Each malformed part once, the others valid (alice's repo, main, no query, no body),
            # so that the request gets past the lookups to the code that parses that part.
            cases: list[tuple[dict[str, str], str, tuple[bytes, str | None], dict[str, str]]] = [
                ({}, "", (b"", None), alice.headers)
            ]
            # Queries matter to reads; writes get a few, and every body instead.
            queries = rnd.sample(QUERIES, 5) if has_body else QUERIES
            cases += [({}, query, rnd.choice(BODIES), alice.headers) for query in queries]
            if has_body:
                cases += [({}, rnd.choice(QUERIES), body, alice.headers) for body in BODIES]
            for name in _params(path):
                values = PATH_VALUES[name][1:]
                if name in ("namespace", "name"):  # one lookup reads them all: a few per route
                    values = rnd.sample(values, 4)
                for value in values:
                    cases.append(
                        ({name: value}, rnd.choice(QUERIES), rnd.choice(BODIES), rnd.choice(identities))
                    )
            cases += [
                ({}, rnd.choice(QUERIES), rnd.choice(BODIES), who) for who in rnd.sample(identities[1:], 2)
            ]
            for chosen, query, (body, content_type), caller in cases:
                url = _fill(path, chosen)
                headers = dict(caller)
                if content_type:
                    headers["content-type"] = content_type
                target = f"{url}?{query}" if query else url
                r = sweep.request(method, target, content=body if has_body else None, headers=headers)
                sent += 1
                where = f"{method} {target} body={body[:60]!r} auth={headers.get('Authorization', '')[:12]}"
                if r.status_code >= 500 or not r.headers.get("x-request-id"):
                    failures.append(f"{r.status_code} {where}: {r.text[:200]}")
                elif r.status_code >= 400:
                    try:
                        assert_hf_error(r, r.status_code)
                    except AssertionError as exc:
                        failures.append(f"bad error shape {where}: {exc}")
    assert sent > 1000
    assert not failures, f"{len(failures)} of {sent} requests failed:\n" + "\n".join(failures[:40])
