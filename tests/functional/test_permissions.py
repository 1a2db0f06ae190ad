"""Private means private; roles mean what commonshub/accounts/permissions.py says (spec §1.6, §8).

Every route that touches a repo refuses a private repo to those who may not read it exactly as it
refuses a repo that does not exist, so a refusal reveals nothing. Revoked tokens are refused before
anything else; read-only tokens never write. Organization roles: `read` sees the org's private
repos, `contributor` creates repos and writes to its own, `write` writes to all, `admin` manages.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from commonshub.accounts.permissions import FINE_GRAINED_PERMISSIONS
from commonshub.accounts.service import create_token, revoke_tokens, user_by_name
from commonshub.hub import Hub
from tests.conftest import Account, add_org, add_user
from tests.functional.test_errors import (
    MISSING,
    NO_CODE,
    Call,
    add_file,
    assert_hf_error,
    commit,
    comparable,
    create_repo,
    head_sha,
    repo_calls,
)

INVALID_TOKEN = "Invalid credentials in Authorization header"


def token(hub: Hub, user: str, name: str, *, role: str = "write", revoked: bool = False) -> Account:
    """Another token of an existing user."""
    with hub.db.unit_of_work(write=True) as uow:
        owner = user_by_name(uow.session, user)
        _, value = create_token(uow.session, owner, name=name, role=role)
        if revoked:
            assert revoke_tokens(uow.session, owner, name) == 1
    return Account(user, value)


@dataclass
class RepoState:
    sha: str
    refs: object
    private: bool
    gated: object


def state(client: TestClient, owner: Account, repo: str) -> RepoState:
    info = client.get(f"/api/models/{repo}", headers=owner.headers)
    assert info.status_code == 200, info.text
    refs = client.get(f"/api/models/{repo}/refs?include_prs=1", headers=owner.headers).json()
    return RepoState(info.json()["sha"], refs, info.json()["private"], info.json()["gated"])


def prepare(client: TestClient, owner: Account, repo: str, **create: object) -> str:
    """A repo with a file, a branch `dev`, a tag `v1`, discussion #1 and an open pull request #2,
    so that every call in the table has a target."""
    name = create_repo(client, owner, repo, **create)
    assert commit(client, owner, name, add_file("folder/a.txt", b"a")).status_code == 200
    assert client.post(f"/api/models/{name}/branch/dev", json={}, headers=owner.headers).status_code == 200
    r = client.post(f"/api/models/{name}/tag/main", json={"tag": "v1"}, headers=owner.headers)
    assert r.status_code == 200
    r = client.post(f"/api/models/{name}/discussions", json={"title": "Question"}, headers=owner.headers)
    assert r.status_code == 200 and r.json()["num"] == 1, r.text
    r = commit(client, owner, name, add_file("pr.txt", b"pr"), params={"create_pr": "1"})
    assert r.status_code == 200 and r.json()["pullRequestUrl"].endswith("/discussions/2"), r.text
    return name


def listed(client: TestClient, headers: dict[str, str], **params: str) -> set[str]:
    r = client.get("/api/models", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return {m["id"] for m in r.json()}


# --- a private repo of alice ---


def test_a_private_repo_looks_missing_to_everyone_else_on_every_route(
    client: TestClient, alice: Account, bob: Account
) -> None:
    secret = prepare(client, alice, "alice/secret", private=True)
    before = state(client, alice, secret)
    for mine, absent in zip(
        repo_calls(secret, move_to="bob/stolen"),
        repo_calls("alice/absent", move_to="bob/stolen"),
        strict=True,
    ):
        r = mine.send(client, bob.headers)
        assert_hf_error(r, 404, "RepoNotFound", MISSING)
        # Indistinguishable from a repo that does not exist: same status, headers and body.
        assert comparable(r) == comparable(absent.send(client, bob.headers)), mine.label
        r = mine.send(client, {})
        assert_hf_error(r, 401, "RepoNotFound", MISSING)
        assert comparable(r) == comparable(absent.send(client, {})), mine.label
    # Nothing bob or the anonymous caller sent changed anything.
    assert state(client, alice, secret) == before
    # Listing and search do not show it either.
    for headers in (bob.headers, {}):
        assert secret not in listed(client, headers)
        assert secret not in listed(client, headers, search="secret")
        assert secret not in listed(client, headers, author="alice", full="true")
    assert secret in listed(client, alice.headers, search="secret")


def test_a_private_repo_that_moved_does_not_reveal_its_new_name(
    client: TestClient, alice: Account, bob: Account
) -> None:
    secret = prepare(client, alice, "alice/secret", private=True)
    r = client.post(
        "/api/repos/move", json={"fromRepo": secret, "toRepo": "alice/hidden"}, headers=alice.headers
    )
    assert r.status_code == 200, r.text
    for url in ("/api/models/alice/secret", "/alice/secret/resolve/main/folder/a.txt"):
        # The owner is sent to the new name; others learn nothing, not even that it moved.
        r = client.get(url, headers=alice.headers, follow_redirects=False)
        assert r.status_code == 307 and "alice/hidden" in r.headers["location"]
        assert_hf_error(client.get(url, headers=bob.headers, follow_redirects=False), 404, "RepoNotFound")
        assert_hf_error(client.get(url, follow_redirects=False), 401, "RepoNotFound")


def test_the_owner_can_use_every_route_of_the_table(client: TestClient, alice: Account) -> None:
    # The counterpart of the refusals: each call in the table is one the owner may make.
    secret = prepare(client, alice, "alice/secret", private=True)
    calls = [c for c in repo_calls(secret, move_to="alice/moved") if c.label != "delete"]
    calls += [c for c in repo_calls("alice/moved") if c.label == "delete"]  # after the move
    for call in calls:
        r = call.send(client, alice.headers)
        assert r.status_code == call.allowed, f"{call.label}: {r.status_code} {r.text}"


def test_a_revoked_token_is_refused_before_anything_else(
    client: TestClient, hub: Hub, alice: Account
) -> None:
    revoked = token(hub, "alice", "old", revoked=True)
    public = prepare(client, alice, "alice/public")
    secret = prepare(client, alice, "alice/secret", private=True)
    calls = repo_calls(secret) + repo_calls(public) + repo_calls("alice/absent")
    calls += [
        Call("whoami", "GET", "/api/whoami-v2", "read"),
        Call("listing", "GET", "/api/models?search=secret", "read"),
        Call("create", "POST", "/api/repos/create", "write", {"json": {"name": "new"}}),
        Call("validate-yaml", "POST", "/api/validate-yaml", "read", {"json": {"content": "# x"}}),
    ]
    for call in calls:
        # No X-Error-Code: the client keys on this exact message (§1.2).
        assert_hf_error(call.send(client, revoked.headers), 401, NO_CODE, INVALID_TOKEN)
    for header in ("Bearer nope", "Basic YWxpY2U6cGFzcw==", "Bearer", "hf_abc"):
        r = client.get(f"/api/models/{public}", headers={"Authorization": header})
        assert_hf_error(r, 401, NO_CODE, INVALID_TOKEN)
        r = client.head(f"/{public}/resolve/main/folder/a.txt", headers={"Authorization": header})
        assert_hf_error(r, 401, NO_CODE, INVALID_TOKEN)
    # The user's other token still works.
    assert client.get(f"/api/models/{secret}", headers=alice.headers).status_code == 200


def test_a_fine_grained_token_for_another_repo_acts_on_no_route(
    client: TestClient, hub: Hub, alice: Account
) -> None:
    prepare(client, alice, "alice/elsewhere", private=True)
    secret = prepare(client, alice, "alice/secret", private=True)
    public = prepare(client, alice, "alice/public")
    with hub.db.unit_of_work(write=True) as uow:
        owner = user_by_name(uow.session, "alice")
        scope = {
            "entity": {"type": "model", "name": "alice/elsewhere"},
            "permissions": list(FINE_GRAINED_PERMISSIONS),
        }
        _, value = create_token(uow.session, owner, name="fg", role="fineGrained", scopes=[scope])
    scoped = Account("alice", value)
    before = state(client, alice, secret), state(client, alice, public)
    for mine, absent in zip(repo_calls(secret), repo_calls("alice/absent"), strict=True):
        # The token's user owns the repo, yet to this token it is not there.
        r = mine.send(client, scoped.headers)
        assert_hf_error(r, 404, "RepoNotFound", MISSING)
        assert comparable(r) == comparable(absent.send(client, scoped.headers)), mine.label
    for call in repo_calls(public):
        r = call.send(client, scoped.headers)
        if call.access in ("read", "content"):
            assert r.status_code in (200, 404), f"{call.label}: {r.text}"
        else:
            assert_hf_error(r, 403, None, "fine-grained token")
    assert (state(client, alice, secret), state(client, alice, public)) == before


def test_a_read_only_token_reads_but_never_writes(client: TestClient, hub: Hub, alice: Account) -> None:
    reader = token(hub, "alice", "ro", role="read")
    secret = prepare(client, alice, "alice/secret", private=True)
    before = state(client, alice, secret)
    for call in repo_calls(secret):
        r = call.send(client, reader.headers)
        if call.access in ("read", "content"):
            assert r.status_code in (200, 404), f"{call.label}: {r.text}"
            if r.status_code == 404:  # lfs-verify of an object never uploaded
                assert call.label == "lfs-verify"
        else:
            assert_hf_error(r, 403, None, "read")
    assert state(client, alice, secret) == before
    # Not even a pull request, nor a new repo.
    r = commit(client, reader, secret, add_file("x.txt", b"x"), params={"create_pr": "1"})
    assert_hf_error(r, 403)
    r = client.post("/api/repos/create", json={"name": "new"}, headers=reader.headers)
    assert_hf_error(r, 403)
    assert state(client, alice, secret) == before


# --- another user on alice's public repo ---


def test_others_may_read_a_public_repo_but_not_write_to_it(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    public = prepare(client, alice, "alice/public")
    before = state(client, alice, public)
    for call in repo_calls(public):
        r = call.send(client, bob.headers)
        if call.access in ("read", "content"):
            assert r.status_code in (200, 404), f"{call.label}: {r.text}"
        elif call.access == "discuss":  # any signed-in reader may take part: like, discuss, ask access
            assert r.status_code == call.allowed, f"{call.label}: {r.text}"
        else:
            assert_hf_error(r, 403, None, "You don't have the rights")
        anonymous = call.send(client, {})
        if call.access in ("read", "content"):
            assert anonymous.status_code in (200, 404), f"{call.label}: {anonymous.text}"
        else:
            assert_hf_error(anonymous, 401)
    # Taking part needs a token that may act: a read-only one may not.
    bob_reader = token(hub, "bob", "ro", role="read")
    discuss = [call for call in repo_calls(public) if call.access == "discuss"]
    assert discuss
    for call in discuss:
        assert_hf_error(call.send(client, bob_reader.headers), 403, None, "read")
    assert state(client, alice, public) == before


def test_others_may_open_a_pull_request_on_a_public_repo(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    public = prepare(client, alice, "alice/public")
    main = head_sha(client, alice, public)
    weights = b"bob's weights"
    oid = hashlib.sha256(weights).hexdigest()
    # preupload and the LFS batch for a pull request (no ref, §4.4) are open to readers.
    r = client.post(
        f"/api/models/{public}/preupload/main?create_pr=1",
        json={"files": [{"path": "w.bin", "size": len(weights), "sample": ""}]},
        headers=bob.headers,
    )
    assert r.status_code == 200, r.text
    body = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(weights)}]}
    r = client.post(f"/{public}.git/info/lfs/objects/batch", json=body, headers=bob.headers)
    assert r.status_code == 200, r.text
    href = r.json()["objects"][0]["actions"]["upload"]["href"]
    assert client.put(href, content=weights).status_code == 200
    lfs = ("lfsFile", {"path": "w.bin", "algo": "sha256", "oid": oid, "size": len(weights)})
    r = commit(client, bob, public, add_file("bob.txt", b"from bob"), lfs, params={"create_pr": "1"})
    assert r.status_code == 200, r.text
    assert r.json()["pullRequestUrl"] == f"http://hub.test/{public}/discussions/3"
    # main did not move; the pull request holds bob's files.
    assert head_sha(client, alice, public) == main
    assert client.get(f"/{public}/resolve/refs%2Fpr%2F3/bob.txt").content == b"from bob"
    assert client.get(f"/{public}/resolve/refs%2Fpr%2F3/w.bin").content == weights
    # bob may push more to his own pull request, but still not to main.
    r = commit(client, bob, public, add_file("more.txt", b"more"), revision="refs%2Fpr%2F3")
    assert r.status_code == 200, r.text
    assert_hf_error(commit(client, bob, public, add_file("x.txt", b"x")), 403)
    # Someone else may not push to bob's pull request; anonymous callers may open none.
    carol = add_user(hub, "carol")
    assert_hf_error(commit(client, carol, public, add_file("c.txt", b"c"), revision="refs%2Fpr%2F3"), 403)
    assert_hf_error(commit(client, None, public, add_file("a.txt", b"a"), params={"create_pr": "1"}), 401)
    assert head_sha(client, alice, public) == main


def test_pull_requests_on_a_private_repo_are_for_those_who_can_read_it(
    client: TestClient, alice: Account, bob: Account
) -> None:
    secret = prepare(client, alice, "alice/secret", private=True)
    r = commit(client, bob, secret, add_file("x.txt", b"x"), params={"create_pr": "1"})
    assert_hf_error(r, 404, "RepoNotFound", MISSING)
    refs = client.get(f"/api/models/{secret}/refs?include_prs=1", headers=alice.headers).json()
    assert [pr["name"] for pr in refs["pullRequests"]] == ["refs/pr/2"]  # alice's own, from prepare


# --- organization roles ---


@pytest.fixture
def org(client: TestClient, hub: Hub) -> dict[str, Account]:
    """acme: reader, contrib, writer, boss (admin); outsider is no member."""
    members = {name: add_user(hub, name) for name in ("reader", "contrib", "writer", "boss", "outsider")}
    add_org(hub, "acme", {"reader": "read", "contrib": "contributor", "writer": "write", "boss": "admin"})
    prepare(client, members["boss"], "acme/private", private=True)
    return members


def can_commit(client: TestClient, who: Account, repo: str) -> int:
    return commit(client, who, repo, add_file(f"{who.name}.txt", who.name.encode())).status_code


def test_org_outsiders_see_nothing_of_private_org_repos(client: TestClient, org: dict[str, Account]) -> None:
    outsider = org["outsider"]
    for call in repo_calls("acme/private", move_to="outsider/x"):
        assert_hf_error(call.send(client, outsider.headers), 404, "RepoNotFound", MISSING)
    assert "acme/private" not in listed(client, outsider.headers, author="acme")
    r = client.post("/api/repos/create", json={"name": "x", "organization": "acme"}, headers=outsider.headers)
    assert_hf_error(r, 403)


def test_org_readers_see_private_repos_but_write_nothing(client: TestClient, org: dict[str, Account]) -> None:
    reader = org["reader"]
    assert client.get("/api/models/acme/private", headers=reader.headers).status_code == 200
    assert client.get("/acme/private/resolve/main/folder/a.txt", headers=reader.headers).content == b"a"
    assert "acme/private" in listed(client, reader.headers, author="acme")
    before = state(client, org["boss"], "acme/private")
    for call in repo_calls("acme/private"):
        if call.access in ("write", "manage"):
            assert_hf_error(call.send(client, reader.headers), 403, None, "You don't have the rights")
    assert state(client, org["boss"], "acme/private") == before
    r = client.post("/api/repos/create", json={"name": "r", "organization": "acme"}, headers=reader.headers)
    assert_hf_error(r, 403)
    # A reader may still propose changes.
    r = commit(client, reader, "acme/private", add_file("idea.txt", b"i"), params={"create_pr": "1"})
    assert r.status_code == 200, r.text


def test_org_contributors_create_repos_and_write_only_to_their_own(
    client: TestClient, org: dict[str, Account]
) -> None:
    contrib = org["contrib"]
    r = client.post(
        "/api/repos/create",
        json={"name": "mine", "organization": "acme", "private": True},
        headers=contrib.headers,
    )
    assert r.status_code == 200, r.text
    assert can_commit(client, contrib, "acme/mine") == 200
    assert client.post("/api/models/acme/mine/branch/b", json={}, headers=contrib.headers).status_code == 200
    # Not to the repos of others in the org, which they can read.
    assert client.get("/api/models/acme/private", headers=contrib.headers).status_code == 200
    assert can_commit(client, contrib, "acme/private") == 403
    r = client.put("/api/models/acme/private/settings", json={"private": False}, headers=contrib.headers)
    assert_hf_error(r, 403)
    # Others of the org with write access may write to the contributor's repo.
    assert can_commit(client, org["writer"], "acme/mine") == 200
    assert can_commit(client, org["reader"], "acme/mine") == 403


def test_org_writers_write_to_every_repo_but_do_not_manage(
    client: TestClient, org: dict[str, Account]
) -> None:
    writer = org["writer"]
    assert can_commit(client, writer, "acme/private") == 200
    r = client.post("/api/models/acme/private/tag/main", json={"tag": "w1"}, headers=writer.headers)
    assert r.status_code == 200, r.text
    r = client.post("/api/repos/create", json={"name": "w", "organization": "acme"}, headers=writer.headers)
    assert r.status_code == 200, r.text
    before = state(client, org["boss"], "acme/private")
    for call in repo_calls("acme/private", move_to="acme/renamed"):
        if call.access == "manage":
            assert_hf_error(call.send(client, writer.headers), 403, None, "You don't have the rights")
    assert state(client, org["boss"], "acme/private") == before


def test_org_admins_manage_every_repo(client: TestClient, hub: Hub, org: dict[str, Account]) -> None:
    boss, contrib = org["boss"], org["contrib"]
    r = client.post("/api/repos/create", json={"name": "c", "organization": "acme"}, headers=contrib.headers)
    assert r.status_code == 200
    r = client.put("/api/models/acme/c/settings", json={"private": True}, headers=boss.headers)
    assert r.status_code == 200, r.text
    assert_hf_error(client.get("/api/models/acme/c", headers=org["outsider"].headers), 404, "RepoNotFound")
    r = client.post("/api/repos/move", json={"fromRepo": "acme/c", "toRepo": "acme/c2"}, headers=boss.headers)
    assert r.status_code == 200, r.text
    r = client.request(
        "DELETE", "/api/repos/delete", json={"name": "c2", "organization": "acme"}, headers=boss.headers
    )
    assert r.status_code == 200, r.text
    assert_hf_error(client.get("/api/models/acme/c2", headers=boss.headers), 404, "RepoNotFound")
    # A read-only token of an admin manages nothing.
    ro = token(hub, "boss", "ro", role="read")
    r = client.put("/api/models/acme/private/settings", json={"private": False}, headers=ro.headers)
    assert_hf_error(r, 403, None, "read")


# --- gated repos (§8) ---


def test_gated_repos_show_metadata_to_all_and_content_to_those_with_access(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    gated = prepare(client, alice, "alice/gated")
    r = client.put(f"/api/models/{gated}/settings", json={"gated": "auto"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert client.get(f"/api/models/{gated}").json()["gated"] == "auto"
    for call in repo_calls(gated):
        if call.access != "read" or call.label == "lfs-verify":
            continue  # (verify answers 404 for the table's object, which was never uploaded)
        for headers in (bob.headers, {}):
            assert call.send(client, headers).status_code == 200, call.label
    assert gated in listed(client, {}, gated="true")
    anonymous = (
        "Access to model alice/gated is restricted. You must have access to it and be authenticated "
        "to access it. Please log in."
    )
    others = (
        "Access to model alice/gated is restricted and you are not in the authorized list. "
        "Visit http://hub.test/alice/gated to ask for access."
    )
    for method in ("GET", "HEAD"):
        url = f"/{gated}/resolve/main/folder/a.txt"
        assert_hf_error(client.request(method, url), 401, "GatedRepo", anonymous)
        assert_hf_error(client.request(method, url, headers=bob.headers), 403, "GatedRepo", others)
        assert client.request(method, url, headers=alice.headers).status_code == 200
    assert_hf_error(client.get(f"/api/models/{gated}/auth-check"), 401, "GatedRepo")
    assert_hf_error(client.get(f"/api/models/{gated}/auth-check", headers=bob.headers), 403, "GatedRepo")
    assert client.get(f"/api/models/{gated}/auth-check", headers=alice.headers).status_code == 200
    # A gated repo that is also private is simply not found by others.
    r = client.put(f"/api/models/{gated}/settings", json={"private": True}, headers=alice.headers)
    assert r.status_code == 200
    assert_hf_error(
        client.get(f"/{gated}/resolve/main/folder/a.txt", headers=bob.headers), 404, "RepoNotFound"
    )
    assert_hf_error(client.get(f"/{gated}/resolve/main/folder/a.txt"), 401, "RepoNotFound")


def test_org_members_with_write_access_read_gated_org_content(
    client: TestClient, org: dict[str, Account]
) -> None:
    boss = org["boss"]
    create_repo(client, boss, "acme/g")
    assert commit(client, boss, "acme/g", add_file("f.txt", b"f")).status_code == 200
    assert (
        client.put("/api/models/acme/g/settings", json={"gated": "manual"}, headers=boss.headers).status_code
        == 200
    )
    assert client.get("/acme/g/resolve/main/f.txt", headers=org["writer"].headers).content == b"f"
    assert_hf_error(
        client.get("/acme/g/resolve/main/f.txt", headers=org["outsider"].headers), 403, "GatedRepo"
    )
