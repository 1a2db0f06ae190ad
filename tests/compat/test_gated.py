"""Gated repos and access requests through the real client (specs/hf-protocol.md §8).

The owner gates a repo with `update_repo_settings`, handles requests with the client's own
`list_*_access_requests`, `accept_access_request`, `reject_access_request`,
`cancel_access_request` and `grant_access`; others download with `hf_hub_download` (through Xet
for the LFS file) once, and only while, their request is accepted. The client has no method to
ask for access: requesters use the hub's own route (docs/gating.md), here with plain httpx.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError

from tests.compat.conftest import Client, LiveHub

ENDPOINT = os.environ["HF_ENDPOINT"]
WEIGHTS = os.urandom(256 * 1024)

FORM_CARD = """---
license: other
extra_gated_prompt: Tell us who you are.
extra_gated_fields:
  Company: text
  Use case:
    type: select
    options: [Research, Education]
  I agree to the licence: checkbox
---
# A gated model
"""


def make_gated(api: HfApi, repo: str, mode: str = "manual", card: str | None = None) -> None:
    api.create_repo(repo)
    operations = [
        CommitOperationAdd("config.json", b'{"gated": true}'),
        CommitOperationAdd("model.safetensors", WEIGHTS),
    ]
    if card is not None:
        operations.append(CommitOperationAdd("README.md", card.encode()))
    api.create_commit(repo, operations=operations, commit_message="weights")
    api.update_repo_settings(repo, gated=mode)  # type: ignore[arg-type]


def download(repo: str, token: str | bool, cache: Path) -> bytes:
    """Both files, each into a fresh cache (a cached copy must not hide a refusal)."""
    folder = cache / uuid.uuid4().hex
    config = Path(hf_hub_download(repo, "config.json", token=token, cache_dir=folder)).read_bytes()
    assert config == b'{"gated": true}'
    return Path(hf_hub_download(repo, "model.safetensors", token=token, cache_dir=folder)).read_bytes()


def refused(repo: str, token: str | bool, cache: Path) -> int:
    """The status of the GatedRepoError a download gets."""
    with pytest.raises(GatedRepoError) as caught:
        download(repo, token, cache)
    assert caught.value.response is not None
    return caught.value.response.status_code


def ask(repo: str, who: Client, fields: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(
        f"{ENDPOINT}/api/models/{repo}/user-access-request/request",
        json={"fields": fields} if fields is not None else {},
        headers={"Authorization": f"Bearer {who.token}"},
    )


@pytest.fixture
def third(live_hub: LiveHub) -> Client:
    name = f"compat-third-{uuid.uuid4().hex[:8]}"
    return Client(name, live_hub.user(name))


def test_a_gated_repo_s_requests_are_handled_with_the_client(
    api: HfApi, repo_name: str, other: Client, third: Client, tmp_path: Path
) -> None:
    make_gated(api, repo_name)
    theirs = HfApi(token=other.token)
    # Metadata stays public; content is refused: 403 signed in, 401 anonymous.
    assert theirs.repo_exists(repo_name) and HfApi(token=False).repo_exists(repo_name)
    assert theirs.model_info(repo_name).gated == "manual"
    assert HfApi(token=False).model_info(repo_name).gated == "manual"
    assert {f.path for f in theirs.list_repo_tree(repo_name)} >= {"config.json", "model.safetensors"}
    with pytest.raises(GatedRepoError):
        theirs.file_exists(repo_name, "config.json")
    assert refused(repo_name, other.token, tmp_path) == 403
    assert refused(repo_name, False, tmp_path) == 401
    assert download(repo_name, api.token, tmp_path) == WEIGHTS  # type: ignore[arg-type]

    # other asks; the owner sees the request with its e-mail, and no one else may list it.
    r = ask(repo_name, other)
    assert r.status_code == 200, r.text
    (pending,) = api.list_pending_access_requests(repo_name)
    assert (pending.username, pending.email, pending.status) == (
        other.name,
        f"{other.name}@example.org",
        "pending",
    )
    assert pending.fields is None and pending.request_id == r.json()["requestId"]
    assert pending.fullname == other.name
    assert refused(repo_name, other.token, tmp_path) == 403
    for forbidden in (
        lambda: list(theirs.list_pending_access_requests(repo_name)),
        lambda: theirs.accept_access_request(repo_name, other.name),
        lambda: theirs.grant_access(repo_name, third.name),
    ):
        with pytest.raises(HfHubHTTPError) as caught:
            forbidden()
        assert caught.value.response is not None and caught.value.response.status_code == 403

    # Accepted: other downloads, through Xet for the weights.
    api.accept_access_request(repo_name, other.name)
    assert download(repo_name, other.token, tmp_path) == WEIGHTS
    assert [a.username for a in api.list_accepted_access_requests(repo_name)] == [other.name]
    assert list(api.list_pending_access_requests(repo_name)) == []
    with pytest.raises(HfHubHTTPError):
        api.accept_access_request(repo_name, other.name)  # already accepted

    # Rejected: refused again at once.
    api.reject_access_request(repo_name, other.name, rejection_reason="Not for now")
    assert refused(repo_name, other.token, tmp_path) == 403
    (rejected,) = api.list_rejected_access_requests(repo_name)
    assert (rejected.username, rejected.status) == (other.name, "rejected")
    with pytest.raises(HfHubHTTPError):
        api.reject_access_request(repo_name, other.name, rejection_reason="Again")

    # Cancelled: back to pending, still no access; accepted again by request id.
    api.cancel_access_request(repo_name, other.name)
    assert [p.username for p in api.list_pending_access_requests(repo_name)] == [other.name]
    assert refused(repo_name, other.token, tmp_path) == 403
    with pytest.raises(HfHubHTTPError):
        api.cancel_access_request(repo_name, other.name)
    api.accept_access_request(repo_name, request_id=pending.request_id)
    assert download(repo_name, other.token, tmp_path) == WEIGHTS

    # Granted without asking: listed as accepted, without an e-mail; granting twice fails.
    assert refused(repo_name, third.token, tmp_path) == 403
    assert api.grant_access(repo_name, third.name) == {}  # type: ignore[func-returns-value]
    assert download(repo_name, third.token, tmp_path) == WEIGHTS
    accepted = {a.username: a for a in api.list_accepted_access_requests(repo_name)}
    assert set(accepted) == {other.name, third.name}
    assert accepted[third.name].email is None and accepted[other.name].email is not None
    with pytest.raises(HfHubHTTPError):
        api.grant_access(repo_name, third.name)
    with pytest.raises(HfHubHTTPError) as caught:
        api.grant_access(repo_name, f"nobody-{uuid.uuid4().hex[:8]}")
    assert caught.value.response is not None and caught.value.response.status_code == 404


def test_auto_gating_gives_access_as_soon_as_it_is_asked(
    api: HfApi, repo_name: str, other: Client, tmp_path: Path
) -> None:
    make_gated(api, repo_name, "auto")
    assert HfApi(token=other.token).model_info(repo_name).gated == "auto"
    assert refused(repo_name, other.token, tmp_path) == 403
    r = ask(repo_name, other)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert download(repo_name, other.token, tmp_path) == WEIGHTS
    assert [a.username for a in api.list_accepted_access_requests(repo_name)] == [other.name]
    assert refused(repo_name, False, tmp_path) == 401


def test_the_card_s_access_form_is_checked_and_its_answers_listed(
    api: HfApi, repo_name: str, other: Client, tmp_path: Path
) -> None:
    make_gated(api, repo_name, card=FORM_CARD)
    card = HfApi(token=other.token).model_info(repo_name).card_data
    assert card is not None and set(card["extra_gated_fields"]) == {
        "Company",
        "Use case",
        "I agree to the licence",
    }
    answers = {"Company": "Acme", "Use case": "Research", "I agree to the licence": True}
    for wrong, message in (
        ({}, "'Company' is required"),
        ({**answers, "Use case": "Fun"}, "'Use case' must be one of 'Research', 'Education'"),
        ({**answers, "I agree to the licence": False}, "'I agree to the licence' must be checked"),
    ):
        r = ask(repo_name, other, wrong)
        assert r.status_code == 400 and message in r.json()["error"], r.text
    assert list(api.list_pending_access_requests(repo_name)) == []
    assert ask(repo_name, other, answers).status_code == 200
    (pending,) = api.list_pending_access_requests(repo_name)
    assert pending.fields == answers
    assert ask(repo_name, other, answers).status_code == 409
