"""The error contract (specs/hf-protocol.md §1.6), on the wire and as the client reports it.

The client picks its exception from `X-Error-Code` and quotes `X-Error-Message` and the request id;
these tests read the raw responses with httpx, then check what a user of HfApi ends up seeing.
"""

from __future__ import annotations

import os
import uuid

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.compat.conftest import Client

ENDPOINT = os.environ["HF_ENDPOINT"]


def auth(client: Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.token}"}


def assert_error(
    response: httpx.Response, status: int, code: str | None, message: str, *, body: bool = True
) -> None:
    assert response.status_code == status, response.text
    assert response.headers.get("X-Error-Code") == code
    assert response.headers["X-Error-Message"] == message
    assert len(response.headers["X-Request-Id"]) >= 16
    if body:
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"] == message
    else:
        assert response.content == b""


@pytest.fixture
def model(api: HfApi, repo_name: str) -> str:
    api.create_repo(repo_name)
    api.upload_file(path_or_fileobj=b"hello\n", path_in_repo="file.txt", repo_id=repo_name)
    return repo_name


def test_missing_repo(model: str, owner: Client) -> None:
    missing = f"{owner.name}/{uuid.uuid4().hex}"
    for url in (
        f"{ENDPOINT}/api/models/{missing}",
        f"{ENDPOINT}/api/datasets/{model}",  # right name, wrong type
        f"{ENDPOINT}/api/models/{missing}/tree/main",
        f"{ENDPOINT}/api/models/{missing}/refs",
        f"{ENDPOINT}/{missing}/resolve/main/file.txt",
    ):
        assert_error(httpx.get(url, headers=auth(owner)), 404, "RepoNotFound", "Repository not found")
        # Anonymous callers get 401, as on huggingface.co (log in, it may be private).
        assert_error(httpx.get(url), 401, "RepoNotFound", "Repository not found")
    head = httpx.head(f"{ENDPOINT}/{missing}/resolve/main/file.txt", headers=auth(owner))
    assert_error(head, 404, "RepoNotFound", "Repository not found", body=False)


def test_missing_revision_and_entry(model: str, owner: Client, api: HfApi) -> None:
    sha = api.model_info(model).sha
    assert_error(
        httpx.get(f"{ENDPOINT}/api/models/{model}/revision/nope", headers=auth(owner)),
        404,
        "RevisionNotFound",
        "Invalid rev id: nope",
    )
    assert_error(
        httpx.get(f"{ENDPOINT}/{model}/resolve/nope/file.txt"),
        404,
        "RevisionNotFound",
        "Invalid rev id: nope",
    )
    missing = httpx.get(f"{ENDPOINT}/{model}/resolve/main/missing.txt")
    assert_error(missing, 404, "EntryNotFound", "Entry not found")
    # transformers records "absent at this commit" from this header.
    assert missing.headers["X-Repo-Commit"] == sha
    head = httpx.head(f"{ENDPOINT}/{model}/resolve/main/missing.txt")
    assert_error(head, 404, "EntryNotFound", "Entry not found", body=False)
    tree = httpx.get(f"{ENDPOINT}/api/models/{model}/tree/main/no-such-dir")
    assert tree.status_code == 404
    assert tree.headers["X-Error-Code"] == "EntryNotFound"


def test_the_client_maps_codes_to_its_exceptions(model: str, owner: Client, tmp_path: object) -> None:
    api = HfApi(token=owner.token)
    with pytest.raises(RepositoryNotFoundError) as repo_error:
        api.model_info(f"{owner.name}/{uuid.uuid4().hex}")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(model, revision="nope")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(model, "missing.txt", token=owner.token, cache_dir=str(tmp_path))
    # The message names the request, so a user can quote it to the hub's operators.
    assert repo_error.value.request_id is not None
    assert f"(Request ID: {repo_error.value.request_id})" in str(repo_error.value)
    assert repo_error.value.server_message is not None
    assert "Repository not found" in repo_error.value.server_message


def test_gated_repo(api: HfApi, model: str, other: Client, tmp_path: object) -> None:
    api.update_repo_settings(model, gated="auto")
    url = f"{ENDPOINT}/{model}/resolve/main/file.txt"
    assert_error(
        httpx.get(url, headers=auth(other)),
        403,
        "GatedRepo",
        f"Access to model {model} is restricted and you are not in the authorized list. "
        f"Visit {ENDPOINT}/{model} to ask for access.",
    )
    anonymous = httpx.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["X-Error-Code"] == "GatedRepo"
    with pytest.raises(GatedRepoError):
        hf_hub_download(model, "file.txt", token=other.token, cache_dir=str(tmp_path))
    # Metadata stays public.
    assert httpx.get(f"{ENDPOINT}/api/models/{model}").json()["gated"] == "auto"


def test_invalid_token(model: str) -> None:
    bad = {"Authorization": "Bearer hf_not_a_real_token"}
    for response in (
        httpx.get(f"{ENDPOINT}/api/models/{model}", headers=bad),
        httpx.get(f"{ENDPOINT}/api/whoami-v2", headers=bad),
        httpx.post(f"{ENDPOINT}/api/repos/create", json={"name": "x"}, headers=bad),
    ):
        # No X-Error-Code: the client keys on this exact message.
        assert_error(response, 401, None, "Invalid credentials in Authorization header")
    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(token="hf_not_a_real_token").model_info(model)
    assert not isinstance(caught.value, RepositoryNotFoundError)
    assert caught.value.response.status_code == 401


def test_forbidden_and_conflict(model: str, owner: Client, other: Client) -> None:
    response = httpx.put(
        f"{ENDPOINT}/api/models/{model}/settings", json={"private": True}, headers=auth(other)
    )
    assert response.status_code == 403
    assert response.headers["X-Error-Message"].startswith("You don't have the rights to")
    assert response.json()["error"] == response.headers["X-Error-Message"]

    name = model.split("/")[1]
    conflict = httpx.post(
        f"{ENDPOINT}/api/repos/create", json={"name": name, "organization": owner.name}, headers=auth(owner)
    )
    assert conflict.status_code == 409
    assert conflict.json()["url"] == f"{ENDPOINT}/{model}"
    assert conflict.json()["error"] == conflict.headers["X-Error-Message"]
    assert "Cannot create repo: another conflicting operation is in progress" not in conflict.text


def test_malformed_requests_are_400_not_500(owner: Client) -> None:
    create = f"{ENDPOINT}/api/repos/create"
    for response in (
        httpx.post(create, content=b"{not json", headers={**auth(owner), "Content-Type": "application/json"}),
        httpx.post(create, json={"nom": "x"}, headers=auth(owner)),
        httpx.post(create, json={"name": "x", "type": "kernel-of-truth"}, headers=auth(owner)),
        httpx.post(create, json=["a", "list"], headers=auth(owner)),
        httpx.get(f"{ENDPOINT}/api/models", params={"limit": "many"}),
        httpx.get(f"{ENDPOINT}/api/models", params={"limit": "-1"}),
    ):
        assert response.status_code == 400, response.text
        assert response.headers["X-Error-Code"] == "BadRequest"
        assert response.json()["error"] == response.headers["X-Error-Message"]
        assert response.headers["X-Request-Id"]


def test_unknown_routes_and_methods() -> None:
    assert_error(httpx.get(f"{ENDPOINT}/api/no-such-thing"), 404, "NotFound", "Not Found")
    assert_error(httpx.delete(f"{ENDPOINT}/api/models"), 405, "MethodNotAllowed", "Method Not Allowed")


def test_every_response_has_a_request_id(model: str) -> None:
    responses = [
        httpx.get(f"{ENDPOINT}/api/models/{model}"),
        httpx.get(f"{ENDPOINT}/{model}/resolve/main/file.txt"),
        httpx.head(f"{ENDPOINT}/{model}/resolve/main/file.txt"),
        httpx.get(f"{ENDPOINT}/api/models", params={"search": model}),
        httpx.get(f"{ENDPOINT}/api/no-such-thing"),
    ]
    ids = [r.headers["X-Request-Id"] for r in responses]
    assert len(set(ids)) == len(ids)
    # The client's trace id (X-Amzn-Trace-Id) is echoed, so both sides log the same id.
    trace = uuid.uuid4().hex
    echoed = httpx.get(f"{ENDPOINT}/api/models/{model}", headers={"X-Amzn-Trace-Id": trace})
    assert echoed.headers["X-Request-Id"] == trace
    unsafe = httpx.get(f"{ENDPOINT}/api/models/{model}", headers={"X-Amzn-Trace-Id": "a b\tc<script>"})
    assert unsafe.headers["X-Request-Id"] != "a b\tc<script>"
