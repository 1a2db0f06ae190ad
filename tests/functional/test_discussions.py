"""Discussions and pull requests over HTTP (specs/hf-protocol.md §7), on SQLite and PostgreSQL.

The real client's view is tested in tests/compat/test_discussions.py; here: what a client cannot
easily send (bad input, other users, racing merges) and what the database must hold afterwards.
"""

from __future__ import annotations

import json
import threading
from html.parser import HTMLParser
from typing import Any

import pytest
from starlette.testclient import TestClient

from commonshub.hub import Hub
from commonshub.markdown import render_markdown
from tests.conftest import Account, add_user
from tests.functional.test_errors import add_file, assert_hf_error, commit, create_repo, head_sha

URL = "/api/models/{repo}/discussions"


def discussions(repo: str) -> str:
    return URL.format(repo=repo)


def open_discussion(
    client: TestClient, who: Account, repo: str, title: str = "A question", *, pr: bool = False
) -> int:
    r = client.post(
        discussions(repo),
        json={"title": title, "description": "Some **words**", "pullRequest": pr},
        headers=who.headers,
    )
    assert r.status_code == 200, r.text
    num: int = r.json()["num"]
    return num


def details(client: TestClient, who: Account, repo: str, num: int, **params: str) -> dict[str, Any]:
    r = client.get(f"{discussions(repo)}/{num}", params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def open_pr(client: TestClient, who: Account, repo: str, *files: tuple[str, bytes], title: str = "pr") -> int:
    """A pull request opened by a commit (`create_pr=1`) adding `files`; its number."""
    lines = [{"key": "header", "value": {"summary": title, "description": "adds files"}}]
    lines += [{"key": key, "value": value} for key, value in (add_file(p, c) for p, c in files)]
    r = client.post(
        f"/api/models/{repo}/commit/main?create_pr=1",
        content=b"".join(json.dumps(line).encode() + b"\n" for line in lines),
        headers={"content-type": "application/x-ndjson", **who.headers},
    )
    assert r.status_code == 200, r.text
    url: str = r.json()["pullRequestUrl"]
    return int(url.rsplit("/", 1)[1])


def merge(client: TestClient, who: Account, repo: str, num: int) -> Any:
    return client.post(f"{discussions(repo)}/{num}/merge", headers=who.headers)


def read(client: TestClient, who: Account, repo: str, path: str, revision: str = "main") -> bytes | None:
    r = client.get(f"/{repo}/resolve/{revision}/{path}", headers=who.headers)
    return r.content if r.status_code == 200 else None


@pytest.fixture
def repo(client: TestClient, alice: Account) -> str:
    name = create_repo(client, alice, "alice/m")
    assert commit(client, alice, name, add_file("README.md", b"# m\n")).status_code == 200
    return name


# --- the thread ---


def test_a_discussion_is_a_thread_of_events_in_order(
    client: TestClient, alice: Account, bob: Account, repo: str
) -> None:
    num = open_discussion(client, bob, repo)
    assert num == 1
    base = f"{discussions(repo)}/{num}"
    r = client.post(f"{base}/comment", json={"comment": "Hi <script>x()</script>"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    message = r.json()["newMessage"]
    assert len(message["id"]) == 24 and message["id"] == message["id"].lower()
    assert "<script>" not in message["data"]["latest"]["html"]
    r = client.post(f"{base}/title", json={"title": "  Better title "}, headers=bob.headers)
    assert r.json()["newTitle"]["data"] == {"from": "A question", "to": "Better title"}
    r = client.post(f"{base}/status", json={"status": "closed", "comment": "done"}, headers=bob.headers)
    assert r.json()["newStatus"]["data"] == {"status": "closed"}
    d = details(client, bob, repo, num)
    assert d["status"] == "closed" and d["title"] == "Better title" and d["author"]["name"] == "bob"
    assert [e["type"] for e in d["events"]] == [
        "comment",
        "comment",
        "title-change",
        "comment",
        "status-change",
    ]
    assert [e["author"]["name"] for e in d["events"]] == ["bob", "alice", "bob", "bob", "bob"]
    assert d["events"][0]["data"]["latest"]["html"] == "<p>Some <strong>words</strong></p>\n"
    assert "changes" not in d and "diff" not in d
    # Editing keeps the id and the history, newest first.
    first = d["events"][0]["id"]
    r = client.post(f"{base}/comment/{first.upper()}/edit", json={"content": "new"}, headers=bob.headers)
    assert r.status_code == 200, r.text
    edited = r.json()["updatedComment"]
    assert edited["id"] == first and edited["data"]["edited"] is True and edited["data"]["numEdits"] == 1
    assert [h["raw"] for h in edited["data"]["history"]] == ["new", "Some **words**"]
    assert details(client, bob, repo, num)["events"][0] == edited
    # Hiding: the text no longer shows.
    r = client.post(f"{base}/comment/{first}/hide", headers=alice.headers)
    hidden = r.json()["updatedComment"]
    assert hidden["data"]["hidden"] is True and hidden["data"]["latest"]["raw"] == ""
    assert_hf_error(
        client.post(f"{base}/comment/{first}/edit", json={"content": "x"}, headers=bob.headers), 400
    )


class Tags(HTMLParser):
    """The elements and attributes a browser would build from some HTML."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def test_comment_html_is_sanitized() -> None:
    html = render_markdown(
        "<script>alert(1)</script> [a](javascript:alert(1)) <a href='javascript:alert(2)'>b</a> "
        "[c](JaVaScRiPt:alert(4)) <img src=x onerror=alert(3)> [ok](https://example.org) **bold**"
    )
    tags = Tags(html).found
    names = [tag for tag, _ in tags]
    assert "script" not in names and "img" not in names
    assert names.count("a") == 1 and "strong" in names
    for _, attrs in tags:
        assert not any(k.startswith("on") for k in attrs)
        assert not (attrs.get("href") or "").lower().strip().startswith("javascript")
    assert ("a", {"href": "https://example.org", "rel": "noopener noreferrer"}) in tags


def test_listing_filters_orders_and_pages(
    client: TestClient, alice: Account, bob: Account, repo: str
) -> None:
    pr = open_pr(client, alice, repo, ("a.txt", b"a"))  # 1, open
    draft = open_discussion(client, alice, repo, "draft", pr=True)  # 2, draft
    for i in range(60):
        open_discussion(client, bob if i % 2 else alice, repo, f"d{i}")  # 3..62
    closed = 3
    assert client.post(
        f"{discussions(repo)}/{closed}/status", json={"status": "closed"}, headers=alice.headers
    )
    assert merge(client, alice, repo, pr).status_code == 200
    r = client.get(discussions(repo), headers=alice.headers)
    page = r.json()
    assert page["count"] == 62 and page["start"] == 0 and page["numClosedDiscussions"] == 2
    assert [d["num"] for d in page["discussions"]] == list(range(62, 12, -1))
    second = client.get(discussions(repo), params={"p": 1}).json()
    assert second["start"] == 50 and [d["num"] for d in second["discussions"]] == list(range(12, 0, -1))
    opened = client.get(discussions(repo), params={"status": "open", "type": "pull_request"}).json()
    assert [d["num"] for d in opened["discussions"]] == [draft]
    closed_list = client.get(discussions(repo), params={"status": "closed"}).json()
    assert [d["num"] for d in closed_list["discussions"]] == [closed, pr]
    by_bob = client.get(discussions(repo), params={"author": "BOB"}).json()
    assert by_bob["count"] == 30 and {d["author"]["name"] for d in by_bob["discussions"]} == {"bob"}
    assert client.get(discussions(repo), params={"author": "nobody"}).json()["discussions"] == []
    assert client.get(discussions(repo), params={"p": 10**30}).json()["discussions"] == []


# --- bad input never gets a 500 ---


def test_bad_input_is_refused_in_the_error_shape(client: TestClient, alice: Account, repo: str) -> None:
    num = open_discussion(client, alice, repo)
    base = f"{discussions(repo)}/{num}"
    for body in (
        {},
        {"title": ""},
        {"title": "   "},
        {"title": 5},
        {"title": "x" * 1000},
        {"title": "a\x00"},
    ):
        assert_hf_error(client.post(discussions(repo), json=body, headers=alice.headers), 400, "BadRequest")
    assert_hf_error(
        client.post(discussions(repo), json={"title": "t", "pullRequest": "yes"}, headers=alice.headers), 400
    )
    for raw in (b"", b"{", b"[]", b"null", b"\xff\xfe", b'"\\ud800"'):
        r = client.post(
            discussions(repo), content=raw, headers={**alice.headers, "content-type": "application/json"}
        )
        assert_hf_error(r, 400, "BadRequest")
        r = client.post(f"{base}/comment", content=raw, headers=alice.headers)
        assert_hf_error(r, 400, "BadRequest")
    assert_hf_error(client.post(f"{base}/comment", json={"comment": 3}, headers=alice.headers), 400)
    assert_hf_error(client.post(f"{base}/status", json={"status": "merged"}, headers=alice.headers), 400)
    assert_hf_error(client.post(f"{base}/nope", json={}, headers=alice.headers), 404, "NotFound")
    assert_hf_error(client.post(f"{base}/comment/{'0' * 24}/nope", json={}, headers=alice.headers), 404)
    assert_hf_error(
        client.post(f"{base}/comment/{'0' * 24}/edit", json={"content": "x"}, headers=alice.headers), 404
    )
    assert_hf_error(client.post(f"{base}/comment/zz/hide", headers=alice.headers), 404, "NotFound")
    for unknown in ("99", "0", "-1", "abc", "99999999999999999999", "1.5", "%00"):
        r = client.get(f"{discussions(repo)}/{unknown}", headers=alice.headers)
        assert_hf_error(r, 404, "NotFound")
        r = client.post(
            f"{discussions(repo)}/{unknown}/comment", json={"comment": "x"}, headers=alice.headers
        )
        assert_hf_error(r, 404, "NotFound")
    for query in ("p=-1", "p=abc", "p=1.5", "type=bogus", "status=merged", "status=%00"):
        assert_hf_error(client.get(f"{discussions(repo)}?{query}", headers=alice.headers), 400, "BadRequest")
    assert client.get(f"{discussions(repo)}?author=%00", headers=alice.headers).json()["count"] == 0
    # A discussion is no pull request: nothing to merge.
    assert_hf_error(merge(client, alice, repo, num), 400, "BadRequest", "not a pull request")


# --- who may do what ---


def test_private_repo_discussions_are_not_found_by_others(
    client: TestClient, alice: Account, bob: Account
) -> None:
    secret = create_repo(client, alice, "alice/secret", private=True)
    num = open_discussion(client, alice, secret)
    for who, status in ((bob.headers, 404), ({}, 401)):
        assert_hf_error(client.get(discussions(secret), headers=who), status, "RepoNotFound")
        assert_hf_error(client.get(f"{discussions(secret)}/{num}", headers=who), status, "RepoNotFound")
        r = client.post(f"{discussions(secret)}/{num}/comment", json={"comment": "x"}, headers=who)
        assert_hf_error(r, status, "RepoNotFound")
        r = client.post(discussions(secret), json={"title": "x"}, headers=who)
        assert_hf_error(r, status, "RepoNotFound")


def test_authors_and_writers(client: TestClient, hub: Hub, alice: Account, bob: Account, repo: str) -> None:
    carol = add_user(hub, "carol")
    num = open_discussion(client, bob, repo)
    base = f"{discussions(repo)}/{num}"
    first = details(client, bob, repo, num)["events"][0]["id"]
    # Another reader may comment, but not rename, close, edit or hide others' words.
    assert (
        client.post(f"{base}/comment", json={"comment": "me too"}, headers=carol.headers).status_code == 200
    )
    assert_hf_error(client.post(f"{base}/title", json={"title": "x"}, headers=carol.headers), 403)
    assert_hf_error(client.post(f"{base}/status", json={"status": "closed"}, headers=carol.headers), 403)
    r = client.post(f"{base}/comment/{first}/edit", json={"content": "x"}, headers=carol.headers)
    assert_hf_error(r, 403)
    assert_hf_error(client.post(f"{base}/comment/{first}/hide", headers=carol.headers), 403)
    # The repo's writer may.
    assert client.post(f"{base}/title", json={"title": "By alice"}, headers=alice.headers).status_code == 200
    assert client.post(f"{base}/comment/{first}/hide", headers=alice.headers).status_code == 200
    # Anonymous callers may read, not write.
    assert client.get(base).status_code == 200
    assert_hf_error(client.post(f"{base}/comment", json={"comment": "x"}), 401)
    # Only writers merge; the author of a pull request pushes to it.
    pr = open_pr(client, bob, repo, ("bob.txt", b"bob"))
    assert_hf_error(merge(client, bob, repo, pr), 403)
    r = commit(client, bob, repo, add_file("more.txt", b"more"), revision=f"refs%2Fpr%2F{pr}")
    assert r.status_code == 200, r.text
    assert_hf_error(commit(client, carol, repo, add_file("c.txt", b"c"), revision=f"refs%2Fpr%2F{pr}"), 403)
    assert merge(client, alice, repo, pr).status_code == 200
    assert read(client, alice, repo, "more.txt") == b"more"


# --- pull requests ---


def test_pull_request_lifecycle(client: TestClient, alice: Account, bob: Account, repo: str) -> None:
    num = open_discussion(client, bob, repo, "empty", pr=True)
    d = details(client, bob, repo, num, diff="1")
    assert d["status"] == "draft" and d["isPullRequest"] is True
    assert d["changes"] == {"base": "refs/heads/main"} and d["filesWithConflicts"] == [] and d["diff"] == ""
    assert head_sha(client, bob, repo, f"refs%2Fpr%2F{num}") == head_sha(client, bob, repo)
    assert_hf_error(merge(client, alice, repo, num), 400, "BadRequest", "draft")
    # A commit opens it.
    r = commit(client, bob, repo, add_file("new.txt", b"hello\n"), revision=f"refs%2Fpr%2F{num}")
    assert r.status_code == 200, r.text
    d = details(client, bob, repo, num, diff="1")
    assert d["status"] == "open"
    assert d["events"][-1]["type"] == "commit" and d["events"][-1]["data"]["oid"] == r.json()["commitOid"]
    assert "+++ b/new.txt" in d["diff"] and "+hello" in d["diff"]
    before = head_sha(client, alice, repo)
    r = merge(client, alice, repo, num)
    assert r.status_code == 200, r.text
    d = details(client, alice, repo, num)
    assert d["status"] == "merged" and d["changes"]["mergeCommitId"] == head_sha(client, alice, repo)
    assert d["events"][-1]["data"] == {"status": "merged"}
    info = client.get(f"/api/models/{repo}/commits/main", headers=alice.headers).json()
    assert info[0]["title"] == "empty" and info[1]["id"] == before  # one parent: main's head
    # The index follows main.
    siblings = client.get(f"/api/models/{repo}", headers=alice.headers).json()["siblings"]
    assert "new.txt" in {s["rfilename"] for s in siblings}
    # A merged pull request takes no commits, merges no more and cannot be reopened.
    r = commit(client, bob, repo, add_file("late.txt", b"x"), revision=f"refs%2Fpr%2F{num}")
    assert_hf_error(r, 400, "BadRequest", "merged")
    assert_hf_error(merge(client, alice, repo, num), 400)
    assert_hf_error(
        client.post(f"{discussions(repo)}/{num}/status", json={"status": "open"}, headers=alice.headers), 400
    )
    # A closed one takes no commits until reopened.
    other = open_pr(client, bob, repo, ("o.txt", b"o"))
    assert (
        client.post(
            f"{discussions(repo)}/{other}/status", json={"status": "closed"}, headers=bob.headers
        ).status_code
        == 200
    )
    r = commit(client, bob, repo, add_file("o2.txt", b"x"), revision=f"refs%2Fpr%2F{other}")
    assert_hf_error(r, 400, "BadRequest", "closed")


def test_create_pr_commit_opens_a_pull_request(
    client: TestClient, alice: Account, bob: Account, repo: str
) -> None:
    num = open_pr(client, bob, repo, ("x.txt", b"x"), title="Add x")
    d = details(client, bob, repo, num)
    assert d["status"] == "open" and d["title"] == "Add x" and d["author"]["name"] == "bob"
    assert [e["type"] for e in d["events"]] == ["comment", "commit"]
    assert d["events"][0]["data"]["latest"]["raw"] == "adds files"
    assert d["events"][1]["data"]["subject"] == "Add x"
    # The counter is shared: the next discussion takes the next number.
    assert open_discussion(client, alice, repo) == num + 1


def test_a_conflict_is_a_409_that_changes_nothing(client: TestClient, alice: Account, repo: str) -> None:
    first = open_pr(client, alice, repo, ("same.txt", b"one\n"))
    second = open_pr(client, alice, repo, ("same.txt", b"two\n"))
    assert merge(client, alice, repo, first).status_code == 200
    before = head_sha(client, alice, repo)
    assert details(client, alice, repo, second)["filesWithConflicts"] == ["same.txt"]
    r = merge(client, alice, repo, second)
    assert_hf_error(r, 409, None, "same.txt")
    assert head_sha(client, alice, repo) == before
    assert details(client, alice, repo, second)["status"] == "open"
    assert read(client, alice, repo, "same.txt") == b"one\n"


def test_concurrent_merges_lose_nothing(client: TestClient, alice: Account, repo: str) -> None:
    count = 6
    prs = [open_pr(client, alice, repo, (f"file-{i}.txt", f"{i}".encode())) for i in range(count)]
    clash = [open_pr(client, alice, repo, ("clash.txt", f"{i}".encode())) for i in range(2)]
    statuses: dict[int, int] = {}
    barrier = threading.Barrier(len(prs) + len(clash))

    def run(num: int) -> None:
        barrier.wait()
        statuses[num] = merge(client, alice, repo, num).status_code

    threads = [threading.Thread(target=run, args=(n,)) for n in prs + clash]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(statuses[n] == 200 for n in prs), statuses
    assert sorted(statuses[n] for n in clash) == [200, 409], statuses
    for i in range(count):
        assert read(client, alice, repo, f"file-{i}.txt") == f"{i}".encode()
    history = client.get(f"/api/models/{repo}/commits/main", headers=alice.headers).json()
    merged = [d for d in client.get(discussions(repo), params={"status": "closed"}).json()["discussions"]]
    assert len(merged) == count + 1
    # Each pull request merged exactly once: one merge commit each on main.
    commits = {c["id"] for c in history}
    for d in merged:
        assert details(client, alice, repo, d["num"])["changes"]["mergeCommitId"] in commits
    assert len(history) == 2 + count + 1  # initial, README, one per merge
    # Merging again is refused.
    assert_hf_error(merge(client, alice, repo, prs[0]), 400)


def test_a_pull_request_against_another_branch_merges_into_it(
    client: TestClient, alice: Account, repo: str
) -> None:
    assert client.post(f"/api/models/{repo}/branch/dev", json={}, headers=alice.headers).status_code == 200
    main = head_sha(client, alice, repo)
    r = commit(client, alice, repo, add_file("dev.txt", b"d"), revision="dev", params={"create_pr": "1"})
    assert r.status_code == 200, r.text
    assert details(client, alice, repo, 1)["changes"]["base"] == "refs/heads/dev"
    assert merge(client, alice, repo, 1).status_code == 200
    assert read(client, alice, repo, "dev.txt", "dev") == b"d"
    assert head_sha(client, alice, repo) == main
