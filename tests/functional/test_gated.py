"""Gated repos and access requests over HTTP (specs/hf-protocol.md §8, docs/gating.md).

The requests' lifecycle, what each role may do, the access form, bad input (the HF error shape,
never a 500), and that access holds exactly as long as the request is accepted: no cached answer,
identity or CAS token outlives a revocation.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import select
from starlette.testclient import TestClient

from commonshub.access import service as access
from commonshub.accounts.service import revoke_tokens, user_by_name
from commonshub.hub import Hub
from commonshub.models import Event
from tests.conftest import Account, add_org, add_user
from tests.functional.test_errors import MISSING, add_file, assert_hf_error, commit, create_repo
from tests.functional.test_xet_cas import KiB, cas_for, pack, sample, uploaded

FORM_CARD = """---
license: other
extra_gated_prompt: You agree to use this model for research only.
extra_gated_fields:
  Company: text
  Country: country
  Start date: date_picker
  Use case:
    type: select
    options:
      - Research
      - Education
      - label: Something else
        value: other
  I agree to the licence: checkbox
---
# A gated model
"""
GOOD_ANSWERS = {
    "Company": "Acme",
    "Country": "France",
    "Start date": "2026-01-31",
    "Use case": "other",
    "I agree to the licence": True,
}


def url(repo: str, what: str) -> str:
    return f"/api/models/{repo}/user-access-request/{what}"


def gate(client: TestClient, owner: Account, repo: str, mode: str | bool = "manual") -> None:
    r = client.put(f"/api/models/{repo}/settings", json={"gated": mode}, headers=owner.headers)
    assert r.status_code == 200, r.text


def gated_repo(client: TestClient, owner: Account, repo: str = "alice/g", *, card: str = "# g\n") -> str:
    name = create_repo(client, owner, repo)
    r = commit(client, owner, name, add_file("w.txt", b"weights"), add_file("README.md", card.encode()))
    assert r.status_code == 200, r.text
    gate(client, owner, name)
    return name


def ask(client: TestClient, who: Account, repo: str, fields: dict[str, Any] | None = None) -> Response:
    return client.post(url(repo, "request"), json={"fields": fields} if fields else {}, headers=who.headers)


def handle(client: TestClient, manager: Account, repo: str, **body: Any) -> Response:
    return client.post(url(repo, "handle"), json=body, headers=manager.headers)


def listing(client: TestClient, manager: Account, repo: str, status: str) -> list[dict[str, Any]]:
    r = client.get(url(repo, status), headers=manager.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()
    return items


def download(client: TestClient, who: Account | None, repo: str, method: str = "GET") -> Response:
    return client.request(method, f"/{repo}/resolve/main/w.txt", headers=who.headers if who else {})


def can_download(client: TestClient, who: Account | None, repo: str) -> bool:
    r = download(client, who, repo)
    if r.status_code == 200:
        assert r.content == b"weights"
        return True
    assert_hf_error(r, 401 if who is None else 403, "GatedRepo")
    return False


def events(hub: Hub, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    with hub.db.session() as session:
        rows = session.execute(
            select(Event.tag, Event.data).where(Event.tag.startswith(prefix)).order_by(Event.id)
        ).all()
    return [(tag, data) for tag, data in rows]


# --- the lifecycle ---


def test_a_manual_request_waits_for_the_owner_who_accepts_rejects_and_cancels_it(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    repo = gated_repo(client, alice)
    assert not can_download(client, bob, repo)
    assert_hf_error(client.get(url(repo, "me"), headers=bob.headers), 404, "NotFound")

    r = ask(client, bob, repo)
    assert r.status_code == 200, r.text
    mine = r.json()
    assert mine["status"] == "pending" and mine["user"]["user"] == "bob"
    assert not can_download(client, bob, repo)
    assert client.get(url(repo, "me"), headers=bob.headers).json() == mine

    (item,) = listing(client, alice, repo, "pending")
    assert item == {
        "user": {
            "user": "bob",
            "fullname": "bob",
            "email": "bob@example.org",
            "avatarUrl": item["user"]["avatarUrl"],
        },
        "requestId": mine["requestId"],
        "status": "pending",
        "timestamp": item["timestamp"],
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["timestamp"])
    assert listing(client, alice, repo, "accepted") == listing(client, alice, repo, "rejected") == []

    # Accepted: bob downloads, on every content route.
    assert handle(client, alice, repo, user="bob", status="accepted").status_code == 200
    assert can_download(client, bob, repo)
    assert download(client, bob, repo, "HEAD").status_code == 200
    assert client.get(f"/api/models/{repo}/auth-check", headers=bob.headers).status_code == 200
    assert [i["user"]["user"] for i in listing(client, alice, repo, "accepted")] == ["bob"]
    assert listing(client, alice, repo, "pending") == []

    # Rejected (by request id this time): refused again at once, and bob is told why.
    r = handle(client, alice, repo, requestId=mine["requestId"], status="rejected", rejectionReason="No.")
    assert r.status_code == 200, r.text
    assert not can_download(client, bob, repo)
    assert_hf_error(client.get(f"/api/models/{repo}/auth-check", headers=bob.headers), 403, "GatedRepo")
    me = client.get(url(repo, "me"), headers=bob.headers).json()
    assert me["status"] == "rejected" and me["rejectionReason"] == "No."
    # A rejection stands: bob cannot ask again, not even to reset it.
    assert_hf_error(ask(client, bob, repo), 409, None, "rejected")

    # Cancelled: back to pending, the reason forgotten.
    assert handle(client, alice, repo, user="bob", status="pending").status_code == 200
    assert [i["status"] for i in listing(client, alice, repo, "pending")] == ["pending"]
    assert "rejectionReason" not in client.get(url(repo, "me"), headers=bob.headers).json()
    assert not can_download(client, bob, repo)

    # Moving a request to the status it has is a conflict.
    assert handle(client, alice, repo, user="bob", status="accepted").status_code == 200
    assert_hf_error(handle(client, alice, repo, user="bob", status="accepted"), 409, None, "already accepted")
    assert can_download(client, bob, repo)

    # One audit event per write.
    tags = [tag for tag, _ in events(hub, "repo:access-request:")]
    assert tags == ["repo:access-request:create"] + ["repo:access-request:handle"] * 4
    assert events(hub, "repo:access-request:handle")[1][1] == {
        "repo": repo,
        "type": "model",
        "user": "bob",
        "status": "rejected",
        "previous": "accepted",
        "reason": "No.",
    }


def test_auto_gating_accepts_at_once_and_granting_needs_no_request(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    repo = gated_repo(client, alice)
    gate(client, alice, repo, "auto")
    assert not can_download(client, bob, repo)
    r = ask(client, bob, repo)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert can_download(client, bob, repo)
    assert_hf_error(ask(client, bob, repo), 409, None, "accepted")

    carol = add_user(hub, "carol")
    r = client.post(url(repo, "grant"), json={"user": "CAROL"}, headers=alice.headers)
    assert r.status_code == 200 and r.json() == {}
    assert can_download(client, carol, repo)
    accepted = {i["user"]["user"]: i for i in listing(client, alice, repo, "accepted")}
    assert accepted["bob"]["user"]["email"] == "bob@example.org"
    assert "email" not in accepted["carol"]["user"]  # granted: carol shared nothing
    assert_hf_error(client.post(url(repo, "grant"), json={"user": "carol"}, headers=alice.headers), 409)
    assert_hf_error(client.post(url(repo, "grant"), json={"user": "bob"}, headers=alice.headers), 409)
    assert_hf_error(client.post(url(repo, "grant"), json={"user": "nobody"}, headers=alice.headers), 404)
    assert events(hub, "repo:access-request:grant") == [
        ("repo:access-request:grant", {"repo": repo, "type": "model", "user": "carol"})
    ]
    # Ungating opens the repo to all; gating again restores the decisions made before.
    gate(client, alice, repo, False)
    assert can_download(client, None, repo)
    gate(client, alice, repo, "manual")
    assert can_download(client, carol, repo) and not can_download(client, None, repo)


def test_a_repo_that_is_not_gated_takes_no_requests(client: TestClient, alice: Account, bob: Account) -> None:
    repo = create_repo(client, alice, "alice/open")
    assert_hf_error(ask(client, bob, repo), 400, None, "not a gated repo")
    assert_hf_error(handle(client, alice, repo, user="bob", status="accepted"), 400, None, "not a gated")
    r = client.post(url(repo, "grant"), json={"user": "bob"}, headers=alice.headers)
    assert_hf_error(r, 400, None, "not a gated repo")
    assert listing(client, alice, repo, "pending") == []


# --- who may do what ---


def test_only_signed_in_readers_ask_and_only_writers_manage(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    members = {n: add_user(hub, n) for n in ("reader", "writer", "boss")}
    add_org(hub, "acme", {"reader": "read", "writer": "write", "boss": "admin"})
    repo = gated_repo(client, members["boss"], "acme/g")
    assert_hf_error(client.post(url(repo, "request"), json={}), 401, None, "authenticated")
    assert_hf_error(client.get(url(repo, "me")), 401)
    assert ask(client, bob, repo).status_code == 200
    # Org members already have access; a `read` member may not manage requests.
    assert can_download(client, members["reader"], repo)
    for who, manages in ((members["reader"], False), (bob, False), (members["writer"], True)):
        r = client.get(url(repo, "pending"), headers=who.headers)
        h = handle(client, who, repo, user="bob", status="rejected" if manages else "accepted")
        g = client.post(url(repo, "grant"), json={"user": "alice"}, headers=who.headers)
        if manages:
            assert r.status_code == h.status_code == g.status_code == 200, (r.text, h.text, g.text)
        else:
            for refused in (r, h, g):
                assert_hf_error(refused, 403, None, "You don't have the rights to manage access requests")
    for anonymous in (client.get(url(repo, "pending")), client.post(url(repo, "grant"), json={"user": "x"})):
        assert_hf_error(anonymous, 401)
    assert not can_download(client, bob, repo) and can_download(client, alice, repo)


def test_a_private_gated_repo_is_not_found_by_strangers_on_every_access_route(
    client: TestClient, alice: Account, bob: Account
) -> None:
    repo = gated_repo(client, alice)
    r = client.put(f"/api/models/{repo}/settings", json={"private": True}, headers=alice.headers)
    assert r.status_code == 200
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", url(repo, "request"), {"json": {"fields": {"x": 1}}}),
        ("POST", url(repo, "request"), {"content": b"not json"}),
        ("GET", url(repo, "me"), {}),
        ("GET", url(repo, "pending"), {}),
        ("GET", url(repo, "accepted"), {}),
        ("GET", url(repo, "rejected") + "?cursor=!!!", {}),
        ("POST", url(repo, "handle"), {"json": {"user": "bob", "status": "accepted"}}),
        ("POST", url(repo, "handle"), {"json": {"status": "bogus"}}),
        ("POST", url(repo, "grant"), {"json": {"user": "bob"}}),
        ("POST", url(repo, "grant"), {}),
    ]
    for method, target, kwargs in calls:
        r = client.request(method, target, headers=bob.headers, **kwargs)
        assert_hf_error(r, 404, "RepoNotFound", MISSING)
        assert_hf_error(client.request(method, target, **kwargs), 401, "RepoNotFound", MISSING)
    assert client.get(url(repo, "pending"), headers=alice.headers).status_code == 200


# --- the form ---


def test_the_card_s_access_form_is_validated_and_its_answers_recorded(
    client: TestClient, alice: Account, bob: Account
) -> None:
    repo = gated_repo(client, alice, card=FORM_CARD)
    card = client.get(f"/api/models/{repo}").json()["cardData"]
    assert card["extra_gated_prompt"].startswith("You agree")
    assert set(card["extra_gated_fields"]) == set(GOOD_ANSWERS)
    wrong: list[tuple[Any, str]] = [
        (None, "'Company' is required"),
        ({**GOOD_ANSWERS, "Company": "  "}, "'Company' is required"),
        ({**GOOD_ANSWERS, "Company": 5}, "'Company' is required"),
        ({k: v for k, v in GOOD_ANSWERS.items() if k != "Country"}, "'Country' is required"),
        ({**GOOD_ANSWERS, "Start date": "31/01/2026"}, "'Start date' must be a date"),
        (
            {**GOOD_ANSWERS, "Use case": "Something else"},
            "'Use case' must be one of 'Research', 'Education', 'other'",
        ),
        ({**GOOD_ANSWERS, "I agree to the licence": False}, "'I agree to the licence' must be checked"),
        ({**GOOD_ANSWERS, "I agree to the licence": "yes"}, "'I agree to the licence' must be checked"),
        ({**GOOD_ANSWERS, "Favourite colour": "blue"}, "Unknown field 'Favourite colour'"),
        ({**GOOD_ANSWERS, "Company": "x" * 1001}, "longer than 1000"),
    ]
    for fields, message in wrong:
        body = {"fields": fields} if fields is not None else {}
        r = client.post(url(repo, "request"), json=body, headers=bob.headers)
        assert_hf_error(r, 400, None, message)
    assert_hf_error(client.get(url(repo, "me"), headers=bob.headers), 404)  # nothing was recorded
    r = ask(client, bob, repo, GOOD_ANSWERS)
    assert r.status_code == 200, r.text
    (item,) = listing(client, alice, repo, "pending")
    assert item["fields"] == GOOD_ANSWERS


def test_without_a_form_no_answers_are_taken(client: TestClient, alice: Account, bob: Account) -> None:
    repo = gated_repo(client, alice)
    assert_hf_error(ask(client, bob, repo, {"why": "because"}), 400, None, "asks for nothing")
    r = client.post(url(repo, "request"), headers=bob.headers)  # no body at all is fine
    assert r.status_code == 200, r.text
    (item,) = listing(client, alice, repo, "pending")
    assert "fields" not in item


# --- bad input ---


def test_bad_input_gets_hf_errors_never_a_500(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    repo = gated_repo(client, alice)
    assert ask(client, bob, repo).status_code == 200
    handle_cases: list[tuple[Any, int, str]] = [
        (b"", 400, "not valid JSON"),
        (b"{", 400, "not valid JSON"),
        (b"[]", 400, "JSON object"),
        (b'"x"', 400, "JSON object"),
        ({}, 400, "status"),
        ({"user": "bob"}, 400, "status"),
        ({"user": "bob", "status": "approved"}, 400, "status"),
        ({"user": "bob", "status": 1}, 400, "status"),
        ({"user": 5, "status": "accepted"}, 400, "user"),
        ({"status": "accepted"}, 400, "exactly one of"),
        ({"user": "bob", "requestId": "x", "status": "accepted"}, 400, "exactly one of"),
        ({"user": "bob", "status": "accepted", "rejectionReason": "r"}, 400, "rejectionReason"),
        ({"user": "bob", "status": "pending", "rejectionReason": "r"}, 400, "rejectionReason"),
        ({"user": "bob", "status": "rejected", "rejectionReason": "r" * 201}, 400, "rejectionReason"),
        ({"user": "bob", "status": "pending"}, 409, "already pending"),
        ({"user": "nobody", "status": "accepted"}, 404, "nobody"),
        ({"user": "alice", "status": "accepted"}, 404, "no access request"),
        ({"user": "b\x00b", "status": "accepted"}, 400, "user: Value error, must not contain NUL"),
        # orjson refuses lone surrogates, which no database could store anyway.
        ({"user": "\ud800", "status": "accepted"}, 400, "not valid JSON"),
        ({"requestId": "0" * 24, "status": "accepted"}, 404, "No access request"),
        ({"requestId": "\x00", "status": "accepted"}, 400, "requestId"),
        ({"user": "bob", "status": "rejected", "rejectionReason": "a\x00"}, 400, "rejectionReason"),
    ]
    grant_cases: list[tuple[Any, int, str]] = [
        (b"", 400, "not valid JSON"),
        (b"nope", 400, "not valid JSON"),
        ({}, 400, "user"),
        ({"user": None}, 400, "user"),
        ({"user": ["bob"]}, 400, "user"),
        ({"user": "acme"}, 404, "acme"),  # an organization is not a user
        ({"user": "\ud800"}, 400, "not valid JSON"),
    ]
    request_cases: list[tuple[Any, int, str]] = [
        (b"{", 400, "not valid JSON"),
        (b"[1]", 400, "JSON object"),
        ({"fields": "x"}, 400, "fields"),
        ({"fields": {"\x00": "x"}}, 400, "Unknown field"),
        ({"fields": {"\ud800": "x"}}, 400, "not valid JSON"),
    ]
    add_org(hub, "acme", {})
    carol = add_user(hub, "carol")
    for route, cases, who in (
        ("handle", handle_cases, alice),
        ("grant", grant_cases, alice),
        ("request", request_cases, carol),
    ):
        for body, status, message in cases:
            # json.dumps escapes lone surrogates as JSON allows ("\ud800"); httpx would refuse them.
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers = {"content-type": "application/json", **who.headers}
            r = client.post(url(repo, route), content=content, headers=headers)
            assert_hf_error(r, status, None, message)
    # Nothing changed on the way.
    assert [i["user"]["user"] for i in listing(client, alice, repo, "pending")] == ["bob"]
    assert listing(client, alice, repo, "accepted") == []
    for cursor in (
        "!!!",
        base64.urlsafe_b64encode(b'"x"').decode(),
        base64.urlsafe_b64encode(b"-1").decode(),
    ):
        assert_hf_error(client.get(url(repo, "pending") + f"?cursor={cursor}", headers=alice.headers), 400)
    assert_hf_error(client.get(url(repo, "bogus"), headers=alice.headers), 404)


def test_lists_are_paginated_with_absolute_links(
    client: TestClient, hub: Hub, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = gated_repo(client, alice)
    names = [f"user{i}" for i in range(5)]
    for name in names:
        assert ask(client, add_user(hub, name), repo).status_code == 200
    monkeypatch.setattr(access, "PAGE", 2)
    seen: list[str] = []
    target: str | None = url(repo, "pending")
    pages = 0
    while target is not None:
        r = client.get(target, headers=alice.headers)
        assert r.status_code == 200, r.text
        seen += [i["user"]["user"] for i in r.json()]
        pages += 1
        link = r.headers.get("link")
        if link is None:
            target = None
        else:
            match = re.fullmatch(r'<(http://hub\.test/[^>]+)>; rel="next"', link)
            assert match is not None, link
            target = match[1]
    assert seen == names and pages == 3


# --- access holds exactly as long as the request is accepted ---


def test_cached_answers_are_never_replayed_to_another_user_or_after_a_revocation(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    repo = gated_repo(client, alice)
    carol = add_user(hub, "carol")
    assert client.post(url(repo, "grant"), json={"user": "bob"}, headers=alice.headers).status_code == 200
    for _ in range(2):  # the second answer is a replay where the database can tell (SQLite)
        assert can_download(client, bob, repo)
    if hub.db.data_version() is not None:
        # bob's answer is kept: what follows would replay it if the key allowed.
        kept = (f"/{repo}/resolve/main/w.txt", f"Bearer {bob.token}".encode(), b"hub.test")
        assert kept in hub.replays._entries
    # The same URL, asked by someone without access, right after: refused, not replayed.
    for who in (carol, None):
        assert not can_download(client, who, repo)
        assert_hf_error(download(client, who, repo, "HEAD"), 401 if who is None else 403, "GatedRepo")
    # The other way round: carol's refusal is not replayed once she is granted access.
    assert client.post(url(repo, "grant"), json={"user": "carol"}, headers=alice.headers).status_code == 200
    assert can_download(client, carol, repo)
    # Revoking takes effect on the very next request, on every content route.
    assert handle(client, alice, repo, user="bob", status="rejected").status_code == 200
    assert not can_download(client, bob, repo)
    assert_hf_error(download(client, bob, repo, "HEAD"), 403, "GatedRepo")
    assert_hf_error(client.get(f"/api/models/{repo}/auth-check", headers=bob.headers), 403, "GatedRepo")
    assert can_download(client, carol, repo)
    # Metadata stays readable by all.
    for who in (bob, None):
        assert (
            client.get(f"/api/models/{repo}", headers=who.headers if who else {}).json()["gated"] == "manual"
        )
        assert (
            client.get(f"/api/models/{repo}/tree/main", headers=who.headers if who else {}).status_code == 200
        )


def test_a_revoked_token_loses_access_at_once(
    client: TestClient, hub: Hub, alice: Account, bob: Account
) -> None:
    repo = gated_repo(client, alice)
    assert client.post(url(repo, "grant"), json={"user": "bob"}, headers=alice.headers).status_code == 200
    assert can_download(client, bob, repo)
    with hub.db.unit_of_work(write=True) as uow:
        assert revoke_tokens(uow.session, user_by_name(uow.session, "bob"), "bob-token") == 1
    r = download(client, bob, repo)
    assert_hf_error(r, 401, None, "Invalid credentials in Authorization header")


def test_xet_read_tokens_and_cas_reads_need_access_and_lose_it_with_a_revocation(
    client: TestClient, hub: Hub, alice: Account, bob: Account, request: pytest.FixtureRequest
) -> None:
    repo = create_repo(client, alice, "alice/xg")
    weights = pack(sample(200 * KiB, zlib.crc32(request.node.nodeid.encode())))
    uploaded(client, alice, repo, weights)
    gate(client, alice, repo)
    r = client.get(f"/api/models/{repo}/xet-read-token/main", headers=bob.headers)
    assert_hf_error(r, 403, "GatedRepo")
    assert_hf_error(client.get(f"/api/models/{repo}/xet-read-token/main"), 401, "GatedRepo")
    assert client.post(url(repo, "grant"), json={"user": "bob"}, headers=alice.headers).status_code == 200
    reader = cas_for(client, bob, repo, "read")
    assert reader.reconstruction(weights.file_id).status_code == 200
    assert reader.request("HEAD", f"/v1/files/{weights.file_id}").status_code == 200
    assert client.get(f"/{repo}/resolve/main/w.bin", headers=bob.headers).content == weights.data
    assert handle(client, alice, repo, user="bob", status="pending").status_code == 200
    # The CAS token bob got while he had access is refused from now on.
    assert_hf_error(reader.reconstruction(weights.file_id), 401, None, "no longer have access")
    assert_hf_error(reader.reconstruction(weights.file_id, version=1), 401)
    assert_hf_error(reader.request("GET", f"/v1/reconstructions?file_id={weights.file_id}"), 401)
    assert_hf_error(reader.request("HEAD", f"/v1/files/{weights.file_id}"), 401)
    # The owner's own CAS tokens are unaffected.
    assert cas_for(client, alice, repo, "read").reconstruction(weights.file_id).status_code == 200


@pytest.mark.parametrize(("repo_type", "prefix"), [("dataset", "datasets/"), ("space", "spaces/")])
def test_datasets_and_spaces_are_gated_the_same_way(
    client: TestClient, alice: Account, bob: Account, repo_type: str, prefix: str
) -> None:
    extra = {"sdk": "static"} if repo_type == "space" else {}
    repo = create_repo(client, alice, "alice/d", repo_type, **extra)
    plural = f"{repo_type}s"
    assert commit(client, alice, repo, add_file("w.txt", b"weights"), plural=plural).status_code == 200
    r = client.put(f"/api/{plural}/{repo}/settings", json={"gated": "manual"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    base = f"/api/{plural}/{repo}/user-access-request"
    resolve = f"/{prefix}{repo}/resolve/main/w.txt"
    r = client.get(resolve, headers=bob.headers)
    assert_hf_error(r, 403, "GatedRepo", f"Access to {repo_type} {repo} is restricted")
    assert client.post(f"{base}/request", json={}, headers=bob.headers).status_code == 200
    (item,) = client.get(f"{base}/pending", headers=alice.headers).json()
    assert item["user"]["user"] == "bob"
    r = client.post(f"{base}/handle", json={"user": "bob", "status": "accepted"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    assert client.get(resolve, headers=bob.headers).content == b"weights"
    # The model of the same name is another repo, with no requests.
    assert_hf_error(client.get(f"/api/models/{repo}/user-access-request/pending", headers=alice.headers), 404)
