"""Accounts through the API: tokens (fine-grained, expiring, listed with their last use), sign-up,
organizations with invitations and roles, pictures, disabling users, and the audit log.

Each test acts as several users against the real app (SQLite and PostgreSQL) and checks what each of
them would see.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from commonshub.accounts.service import check_password, create_token, user_by_name
from commonshub.hub import Hub
from commonshub.models import AccessToken, Event, utcnow
from commonshub.settings import Settings
from tests.conftest import Account, add_org, add_user, make_settings
from tests.functional.test_errors import add_file, assert_hf_error, commit, create_repo

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
INVALID_TOKEN = "Invalid credentials in Authorization header"


def new_token(client: TestClient, who: Account, **body: Any) -> dict[str, Any]:
    r = client.post("/api/settings/tokens", json={"name": "t", **body}, headers=who.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


# --- fine-grained tokens ---


@pytest.fixture
def repos(client: TestClient, alice: Account) -> None:
    for name, private in (("alice/a", True), ("alice/b", True), ("alice/open", False)):
        create_repo(client, alice, name, private=private)
        assert commit(client, alice, name, add_file("f.txt", name.encode())).status_code == 200


def test_a_fine_grained_token_reaches_only_the_repos_it_names(
    client: TestClient, alice: Account, repos: None
) -> None:
    scoped = [{"entity": {"type": "model", "name": "alice/a"}, "permissions": ["repo.content.read"]}]
    reader = bearer(new_token(client, alice, role="fineGrained", scoped=scoped)["token"])
    assert client.get("/alice/a/resolve/main/f.txt", headers=reader).content == b"alice/a"
    # Another private repo of the same user is, to this token, not there.
    assert_hf_error(client.get("/api/models/alice/b", headers=reader), 404, "RepoNotFound")
    assert_hf_error(client.get("/alice/b/resolve/main/f.txt", headers=reader), 404, "RepoNotFound")
    # Public repos stay readable, as without any token.
    assert client.get("/alice/open/resolve/main/f.txt", headers=reader).content == b"alice/open"
    ids = {m["id"] for m in client.get("/api/models?author=alice", headers=reader).json()}
    assert ids == {"alice/a", "alice/open"}
    # Reading is all it may do.
    r = commit(client, Account("alice", reader["Authorization"][7:]), "alice/a", add_file("x.txt", b"x"))
    assert_hf_error(r, 403, None, "fine-grained token")
    r = client.post("/api/repos/create", json={"name": "new"}, headers=reader)
    assert_hf_error(r, 403)
    # No token can mint tokens but a write token.
    assert_hf_error(client.get("/api/settings/tokens", headers=reader), 403)
    r = client.post("/api/settings/tokens", json={"name": "more", "role": "write"}, headers=reader)
    assert_hf_error(r, 403)


def test_a_fine_grained_writer_writes_where_scoped_and_keeps_its_reach_after_a_rename(
    client: TestClient, alice: Account, repos: None
) -> None:
    scoped = [{"entity": {"type": "model", "name": "alice/a"}, "permissions": ["repo.write"]}]
    writer = Account("alice", new_token(client, alice, role="fineGrained", scoped=scoped)["token"])
    assert commit(client, writer, "alice/a", add_file("w.txt", b"w")).status_code == 200
    assert_hf_error(commit(client, writer, "alice/b", add_file("w.txt", b"w")), 404, "RepoNotFound")
    assert_hf_error(commit(client, writer, "alice/open", add_file("w.txt", b"w")), 403)
    # Not settings: that is repo.manage.
    r = client.put("/api/models/alice/a/settings", json={"private": False}, headers=writer.headers)
    assert_hf_error(r, 403)
    r = client.post(
        "/api/repos/move", json={"fromRepo": "alice/a", "toRepo": "alice/a2"}, headers=alice.headers
    )
    assert r.status_code == 200, r.text
    assert commit(client, writer, "alice/a2", add_file("w2.txt", b"w")).status_code == 200
    who = client.get("/api/whoami-v2", headers=writer.headers).json()
    assert who["auth"]["accessToken"]["role"] == "fineGrained"
    scoped_now = who["auth"]["accessToken"]["fineGrained"]["scoped"]
    assert [(s["entity"]["type"], s["entity"]["name"], s["permissions"]) for s in scoped_now] == [
        ("model", "alice/a2", ["repo.write"])
    ]


def test_an_org_scoped_token_acts_on_the_org_within_the_member_s_role(client: TestClient, hub: Hub) -> None:
    writer = add_user(hub, "writer")
    add_org(hub, "acme", {"writer": "write"})
    create_repo(client, writer, "acme/x", private=True)
    scoped = [{"entity": {"type": "org", "name": "acme"}, "permissions": ["repo.write"]}]
    token = Account("writer", new_token(client, writer, role="fineGrained", scoped=scoped)["token"])
    assert commit(client, token, "acme/x", add_file("a.txt", b"a")).status_code == 200
    r = client.post("/api/repos/create", json={"name": "y", "organization": "acme"}, headers=token.headers)
    assert r.status_code == 200, r.text
    # The user's own namespace is outside the scope.
    assert_hf_error(client.post("/api/repos/create", json={"name": "z"}, headers=token.headers), 403)
    # The role still caps the token: managing needs org admin.
    r = client.put("/api/models/acme/x/settings", json={"private": False}, headers=token.headers)
    assert_hf_error(r, 403)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"role": "fineGrained"}, "scope"),
        (
            {
                "role": "read",
                "scoped": [{"entity": {"type": "model", "name": "alice/a"}, "permissions": ["x"]}],
            },
            "scope",
        ),
        (
            {
                "role": "fineGrained",
                "scoped": [{"entity": {"type": "model", "name": "alice/zz"}, "permissions": ["repo.write"]}],
            },
            "No model",
        ),
        (
            {
                "role": "fineGrained",
                "scoped": [
                    {"entity": {"type": "model", "name": "alice/a"}, "permissions": ["account.manage"]}
                ],
            },
            "Unknown permission",
        ),
        (
            {
                "role": "fineGrained",
                "scoped": [{"entity": {"type": "kernel", "name": "a"}, "permissions": ["repo.write"]}],
            },
            "entity type",
        ),
        ({"role": "fineGrained", "scoped": ["repo"]}, "scoped.0"),
        ({"role": "owner"}, "Unknown token role"),
        ({"expiresInDays": 0}, "expiresInDays"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "future"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_token_requests_are_refused_clearly(
    client: TestClient, alice: Account, repos: None, body: dict[str, Any], message: str
) -> None:
    r = client.post("/api/settings/tokens", json={"name": "t", **body}, headers=alice.headers)
    assert r.status_code in (400, 404), r.text
    assert message in r.headers["x-error-message"]
    assert [t["displayName"] for t in client.get("/api/settings/tokens", headers=alice.headers).json()] == [
        "alice-token"
    ]


# --- listing, last use, revocation, expiry ---


def test_tokens_are_listed_with_their_last_use_and_revoked_at_once(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    made = new_token(client, alice, name="laptop", role="read", expiresInDays=30)
    assert made["token"].startswith("hf_") and made["role"] == "read"
    listed = {t["displayName"]: t for t in client.get("/api/settings/tokens", headers=alice.headers).json()}
    assert set(listed) == {"alice-token", "laptop"}
    assert "token" not in listed["laptop"] and listed["laptop"]["lastUsedAt"] is None
    assert listed["laptop"]["expiresAt"] is not None and listed["laptop"]["expired"] is False
    # Only the hash is stored.
    with hub.db.session() as session:
        stored = session.scalars(select(AccessToken.token_hash)).all()
    assert made["token"] not in stored and all(len(h) == 64 for h in stored)
    assert client.get("/api/whoami-v2", headers=bearer(made["token"])).status_code == 200
    hub.token_use.flush()
    listed = {t["displayName"]: t for t in client.get("/api/settings/tokens", headers=alice.headers).json()}
    assert listed["laptop"]["lastUsedAt"] is not None
    # bob can neither see nor revoke alice's token.
    assert "laptop" not in {
        t["displayName"] for t in client.get("/api/settings/tokens", headers=bob.headers).json()
    }
    assert_hf_error(client.delete(f"/api/settings/tokens/{made['id']}", headers=bob.headers), 404)
    assert client.delete(f"/api/settings/tokens/{made['id']}", headers=alice.headers).status_code == 200
    assert_hf_error(client.get("/api/whoami-v2", headers=bearer(made["token"])), 401, None, INVALID_TOKEN)
    assert_hf_error(client.delete(f"/api/settings/tokens/{made['id']}", headers=alice.headers), 404)
    # A read token cannot manage tokens.
    reader = new_token(client, alice, name="r", role="read")
    assert_hf_error(
        client.get("/api/settings/tokens", headers=bearer(reader["token"])), 403, None, "read access"
    )


def test_an_expired_token_is_refused_on_the_next_request(
    client: TestClient, hub: Hub, alice: Account
) -> None:
    with hub.db.unit_of_work(write=True) as uow:
        _, value = create_token(
            uow.session,
            user_by_name(uow.session, "alice"),
            name="soon",
            expires_at=utcnow() + timedelta(seconds=1.5),
        )
    assert client.get("/api/whoami-v2", headers=bearer(value)).status_code == 200
    # Nothing commits in between: the identity the hub remembers must not outlive the expiry.
    time.sleep(1.6)
    assert_hf_error(client.get("/api/whoami-v2", headers=bearer(value)), 401, None, INVALID_TOKEN)
    assert_hf_error(client.get("/api/models", headers=bearer(value)), 401, None, INVALID_TOKEN)
    listed = {t["displayName"]: t for t in client.get("/api/settings/tokens", headers=alice.headers).json()}
    assert listed["soon"]["expired"] is True


# --- sign-up ---


def signup(client: TestClient, name: str, **extra: Any) -> Any:
    body = {"username": name, "email": f"{name}@example.org", "password": "correct horse"} | extra
    return client.post("/api/signup", json=body)


def test_sign_up_is_by_invitation_by_default(client: TestClient, hub: Hub) -> None:
    admin = add_user(hub, "root", admin=True)
    assert_hf_error(signup(client, "carol"), 403, None, "invitation")
    r = client.post("/api/admin/invitations", json={"email": "carol@example.org"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    r = signup(client, "carol", invitation=secret)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert client.get("/api/whoami-v2", headers=bearer(token)).json()["name"] == "carol"
    # An invitation works once.
    assert_hf_error(signup(client, "dave", invitation=secret), 404)
    with hub.db.session() as session:
        carol = user_by_name(session, "carol")
        assert carol.password_hash is not None and carol.password_hash.startswith("$argon2id$")
        assert check_password(session, carol, "correct horse")
        assert not check_password(session, carol, "wrong horse")
    # Only site admins invite to the hub.
    assert_hf_error(client.post("/api/admin/invitations", json={}, headers=bearer(token)), 403)


@pytest.fixture
def open_client(tmp_path: Any, database_url: str) -> Any:
    from commonshub.app import create_app

    hub = Hub(make_settings(tmp_path / "open", database_url, signup="open"))
    with TestClient(create_app(hub.settings, hub=hub), base_url="http://hub.test") as c:
        yield c
    hub.close()


def test_open_sign_up_checks_what_it_is_given(open_client: TestClient) -> None:
    assert signup(open_client, "erin").status_code == 200
    assert_hf_error(signup(open_client, "erin", email="other@example.org"), 409, None, "taken")
    assert_hf_error(signup(open_client, "erin2", email="ERIN@example.org"), 409, None, "e-mail")
    assert_hf_error(signup(open_client, "frank", password="short"), 400, None, "8 characters")
    assert_hf_error(signup(open_client, "frank", email="frank"), 400, None, "e-mail")
    assert_hf_error(signup(open_client, "api"), 400, None, "reserved")
    assert_hf_error(signup(open_client, "-x-"), 400)


def test_closed_sign_up_refuses_everyone(tmp_path: Any, database_url: str) -> None:
    from commonshub.app import create_app

    hub = Hub(make_settings(tmp_path / "closed", database_url, signup="closed"))
    with TestClient(create_app(hub.settings, hub=hub), base_url="http://hub.test") as c:
        assert_hf_error(signup(c, "gina"), 403, None, "closed")
    hub.close()
    assert Settings().signup == "invite"


# --- organizations, roles, invitations ---


def test_an_org_is_founded_and_its_members_managed_by_its_admins(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    carol = add_user(hub, "carol")
    r = client.post("/api/organizations", json={"name": "lab", "fullname": "The Lab"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert_hf_error(client.post("/api/organizations", json={"name": "lab"}, headers=bob.headers), 409)
    # alice invites bob by name; carol cannot accept bob's invitation.
    r = client.post(
        "/api/organizations/lab/invitations", json={"user": "bob", "role": "write"}, headers=alice.headers
    )
    assert r.status_code == 200, r.text
    assert "secret" not in r.json()
    invitation = r.json()["id"]
    assert [
        i["organization"] for i in client.get("/api/settings/invitations", headers=bob.headers).json()
    ] == ["lab"]
    assert_hf_error(client.post(f"/api/settings/invitations/{invitation}/accept", headers=carol.headers), 404)
    r = client.post(f"/api/settings/invitations/{invitation}/accept", headers=bob.headers)
    assert r.status_code == 200 and r.json() == {"organization": "lab", "role": "write"}
    orgs = client.get("/api/whoami-v2", headers=bob.headers).json()["orgs"]
    assert [(o["name"], o["roleInOrg"]) for o in orgs] == [("lab", "write")]
    # bob writes to the org's repos but does not manage its members.
    create_repo(client, alice, "lab/m", private=True)
    assert commit(client, bob, "lab/m", add_file("b.txt", b"b")).status_code == 200
    r = client.put("/api/organizations/lab/members/alice", json={"role": "read"}, headers=bob.headers)
    assert_hf_error(r, 403)
    r = client.post("/api/organizations/lab/invitations", json={"user": "carol"}, headers=bob.headers)
    assert_hf_error(r, 403)
    # An address invitation: a secret, for whoever holds it.
    r = client.post(
        "/api/organizations/lab/invitations",
        json={"email": "c@example.org", "role": "read"},
        headers=alice.headers,
    )
    secret = r.json()["secret"]
    assert r.json()["url"].endswith(f"/join?invitation={secret}")
    assert (
        client.post("/api/invitations/accept", json={"secret": secret}, headers=carol.headers).status_code
        == 200
    )
    assert_hf_error(
        client.post("/api/invitations/accept", json={"secret": secret}, headers=carol.headers), 404
    )
    assert client.get("/api/models/lab/m", headers=carol.headers).status_code == 200
    assert_hf_error(commit(client, carol, "lab/m", add_file("c.txt", b"c")), 403)
    # Roles change; the last admin stays.
    r = client.put("/api/organizations/lab/members/carol", json={"role": "admin"}, headers=alice.headers)
    assert r.status_code == 200
    r = client.put("/api/organizations/lab/members/carol", json={"role": "owner"}, headers=alice.headers)
    assert_hf_error(r, 400, None, "Unknown role")
    assert client.delete("/api/organizations/lab/members/alice", headers=carol.headers).status_code == 200
    assert_hf_error(
        client.delete("/api/organizations/lab/members/carol", headers=carol.headers), 409, None, "admin"
    )
    # Members are public; their roles are for members.
    public = client.get("/api/organizations/lab/members").json()
    assert [m["user"] for m in public] == ["bob", "carol"] and "role" not in public[0]
    assert [m["role"] for m in client.get("/api/organizations/lab/members", headers=bob.headers).json()] == [
        "write",
        "admin",
    ]
    # A member may leave; then the private repo is gone for them.
    assert client.delete("/api/organizations/lab/members/bob", headers=bob.headers).status_code == 200
    assert_hf_error(client.get("/api/models/lab/m", headers=bob.headers), 404, "RepoNotFound")
    assert_hf_error(client.get("/api/models/lab/m", headers=alice.headers), 404, "RepoNotFound")
    assert_hf_error(client.delete("/api/organizations/lab/members/carol"), 401)


def test_invitations_are_withdrawn_and_expire(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    add_org(hub, "lab", {"alice": "admin"})
    r = client.post("/api/organizations/lab/invitations", json={"user": "bob"}, headers=alice.headers)
    invitation = r.json()["id"]
    assert [
        i["id"] for i in client.get("/api/organizations/lab/invitations", headers=alice.headers).json()
    ] == [invitation]
    assert_hf_error(client.get("/api/organizations/lab/invitations", headers=bob.headers), 403)
    assert (
        client.delete(f"/api/organizations/lab/invitations/{invitation}", headers=alice.headers).status_code
        == 200
    )
    assert_hf_error(client.post(f"/api/settings/invitations/{invitation}/accept", headers=bob.headers), 404)
    r = client.post("/api/organizations/lab/invitations", json={"user": "bob"}, headers=alice.headers)
    from commonshub.models import Invitation

    with hub.db.unit_of_work(write=True) as uow:
        uow.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert_hf_error(
        client.post(f"/api/settings/invitations/{r.json()['id']}/accept", headers=bob.headers), 404
    )
    # Inviting a member again is pointless, and said so.
    r = client.post("/api/organizations/lab/invitations", json={"user": "alice"}, headers=alice.headers)
    assert_hf_error(r, 409, None, "already a member")


def test_signing_up_with_an_org_invitation_joins_the_org(
    client: TestClient, hub: Hub, alice: Account
) -> None:
    add_org(hub, "lab", {"alice": "admin"})
    r = client.post(
        "/api/organizations/lab/invitations",
        json={"email": "n@example.org", "role": "contributor"},
        headers=alice.headers,
    )
    r = signup(client, "newcomer", invitation=r.json()["secret"])
    assert r.status_code == 200, r.text
    orgs = client.get("/api/whoami-v2", headers=bearer(r.json()["token"])).json()["orgs"]
    assert [(o["name"], o["roleInOrg"]) for o in orgs] == [("lab", "contributor")]


# --- pictures ---


def test_pictures_are_images_and_belong_to_their_account(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    add_org(hub, "lab", {"alice": "admin", "bob": "write"})
    assert client.get("/api/whoami-v2", headers=alice.headers).json()["avatarUrl"] == "/avatars/default.svg"
    assert client.get("/avatars/default.svg").headers["content-type"].startswith("image/svg")
    r = client.put("/api/settings/avatar", content=PNG, headers=alice.headers)
    assert r.status_code == 200, r.text
    url = r.json()["avatarUrl"]
    assert client.get("/api/whoami-v2", headers=alice.headers).json()["avatarUrl"] == url
    picture = client.get(url)
    assert picture.content == PNG and picture.headers["content-type"] == "image/png"
    assert picture.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/users/alice/overview").json()["avatarUrl"] == url
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert_hf_error(client.put("/api/settings/avatar", content=svg, headers=alice.headers), 400, None, "PNG")
    assert_hf_error(
        client.put("/api/settings/avatar", content=PNG + b"\x00" * 300_000, headers=alice.headers), 413
    )
    assert_hf_error(client.put("/api/organizations/lab/avatar", content=PNG, headers=bob.headers), 403)
    assert client.put("/api/organizations/lab/avatar", content=PNG, headers=alice.headers).status_code == 200
    assert client.get("/api/organizations/lab/overview").json()["avatarUrl"].startswith("/avatars/")
    assert_hf_error(client.put("/api/settings/avatar", content=PNG), 401)


# --- admins ---


def test_admins_disable_users_through_the_api(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    root = add_user(hub, "root", admin=True)
    assert_hf_error(client.post("/api/admin/users/bob/disable", headers=alice.headers), 403)
    assert client.post("/api/admin/users/bob/disable", headers=root.headers).json()["disabled"] is True
    assert_hf_error(client.get("/api/whoami-v2", headers=bob.headers), 401, None, INVALID_TOKEN)
    assert client.post("/api/admin/users/bob/enable", headers=root.headers).status_code == 200
    assert client.get("/api/whoami-v2", headers=bob.headers).status_code == 200
    assert_hf_error(client.post("/api/admin/users/root/disable", headers=root.headers), 400)
    assert_hf_error(client.post("/api/admin/users/bob/explode", headers=root.headers), 404)


# --- the audit log ---


def test_every_write_is_in_the_audit_log_with_who_and_from_where(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    root = add_user(hub, "root", admin=True)
    add_org(hub, "lab", {"alice": "admin"})
    add_org(hub, "other", {"bob": "admin"})
    create_repo(client, alice, "lab/m")
    sha = commit(client, alice, "lab/m", add_file("a.txt", b"a")).json()["commitOid"]
    r = client.put("/api/models/lab/m/settings", json={"private": True}, headers=alice.headers)
    assert r.status_code == 200
    create_repo(client, bob, "other/x")
    # A write that fails leaves no event.
    r = commit(client, alice, "lab/m", add_file("b.txt", b"b"), ("deletedFile", {"path": "missing.txt"}))
    assert_hf_error(r, 404, "EntryNotFound")
    events = client.get("/api/organizations/lab/events", headers=alice.headers).json()
    assert [e["type"] for e in events] == ["repo:settings:update", "repo:commit", "repo:create"]
    assert {e["actor"] for e in events} == {"alice"} and all(e["ip"] for e in events)
    assert events[1]["data"]["commit"] == sha and events[1]["data"]["repo"] == "lab/m"
    # Org admins see their org only; others nothing.
    assert all(e["data"].get("repo") != "other/x" for e in events)
    assert_hf_error(client.get("/api/organizations/lab/events", headers=bob.headers), 403)
    assert_hf_error(client.get("/api/organizations/lab/events"), 401)
    assert_hf_error(client.get("/api/admin/events", headers=alice.headers), 403)
    # Site admins see everything, page by page, filtered.
    seen: list[dict[str, Any]] = []
    url: str | None = "/api/admin/events?limit=2"
    while url:
        r = client.get(url, headers=root.headers)
        assert r.status_code == 200 and len(r.json()) <= 2
        seen += r.json()
        url = r.links.get("next", {}).get("url")
    assert len(seen) == len({e["id"] for e in seen}) >= 4
    assert [e["id"] for e in seen] == sorted((e["id"] for e in seen), key=int, reverse=True)
    only = client.get("/api/admin/events?type=repo:&actor=bob", headers=root.headers).json()
    assert [e["type"] for e in only] == ["repo:create"] and only[0]["data"]["repo"] == "other/x"
    assert_hf_error(client.get("/api/admin/events?limit=0", headers=root.headers), 400)
    with hub.db.session() as session:
        assert session.scalar(
            select(Event).where(Event.tag == "repo:commit", Event.data["commit"].as_string() == sha)
        )


def test_the_hub_records_the_proxy_s_client_address_when_told_to(tmp_path: Any, database_url: str) -> None:
    from commonshub.app import create_app

    hub = Hub(make_settings(tmp_path / "p", database_url, client_ip_header="X-Real-IP"))
    root = add_user(hub, "root", admin=True)
    with TestClient(create_app(hub.settings, hub=hub), base_url="http://hub.test") as c:
        r = c.post(
            "/api/repos/create", json={"name": "m"}, headers=root.headers | {"X-Real-IP": "203.0.113.7"}
        )
        assert r.status_code == 200
        assert c.get("/api/admin/events", headers=root.headers).json()[0]["ip"] == "203.0.113.7"
    hub.close()


def test_org_admins_see_their_org_s_collections_in_its_audit_log(
    client: TestClient, hub: Hub, alice: Account
) -> None:
    add_org(hub, "lab", {"alice": "admin"})
    r = client.post("/api/collections", json={"title": "Picks", "namespace": "lab"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    events = client.get("/api/organizations/lab/events?type=collection:", headers=alice.headers).json()
    assert [(e["type"], e["data"]["collection"]) for e in events] == [("collection:create", r.json()["slug"])]
