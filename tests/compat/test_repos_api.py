"""The repository API through the real client: create, delete, move, settings and info.

Every test drives `HfApi` (or `hf_hub_download`) against the session's live hub, as a user of
huggingface.co would, and checks what that user would see.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from hashlib import sha1, sha256
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import (
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.compat.conftest import Client, LiveHub

ENDPOINT = os.environ["HF_ENDPOINT"]

CARD = """---
license: mit
library_name: transformers
pipeline_tag: text-classification
base_model: compat-base/tiny-base
datasets:
- compat-data/reviews
language:
- en
- fr
tags:
- sentiment
---
# A tiny classifier

Says whether a review is happy.
"""


def unique(prefix: str = "r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def git_blob_id(content: bytes) -> str:
    return sha1(b"blob %d\0" % len(content) + content).hexdigest()


# --- create ---


@pytest.mark.parametrize(
    ("repo_type", "sdk", "prefix"),
    [("model", None, ""), ("dataset", None, "datasets/"), ("space", "gradio", "spaces/")],
)
@pytest.mark.parametrize("private", [False, True])
def test_create_repo_of_each_type_public_and_private(
    api: HfApi, repo_name: str, repo_type: str, sdk: str | None, prefix: str, private: bool
) -> None:
    url = api.create_repo(repo_name, repo_type=repo_type, private=private, space_sdk=sdk)

    assert str(url) == f"{ENDPOINT}/{prefix}{repo_name}"
    assert url.repo_id == repo_name
    assert url.repo_type == repo_type
    info = api.repo_info(repo_name, repo_type=repo_type)
    assert info.id == repo_name
    assert info.private is private
    assert [s.rfilename for s in info.siblings or []] == [".gitattributes"]  # type: ignore[union-attr]
    if repo_type == "space":
        assert info.sdk == sdk  # type: ignore[union-attr]


def test_a_new_repo_starts_with_one_initial_commit_holding_gitattributes(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)

    commits = api.list_repo_commits(repo_name)
    assert [c.title for c in commits] == ["initial commit"]
    assert commits[0].authors == [owner.name]
    info = api.model_info(repo_name)
    assert info.sha == commits[0].commit_id
    assert api.list_repo_files(repo_name) == [".gitattributes"]
    attributes = Path(hf_hub_download(repo_name, ".gitattributes", token=owner.token, cache_dir=tmp_path))
    rules = attributes.read_text()
    for pattern in ("*.bin", "*.safetensors", "*.pkl", "*.parquet"):
        assert f"{pattern} filter=lfs diff=lfs merge=lfs -text" in rules


def test_a_space_needs_an_sdk(api: HfApi, repo_name: str) -> None:
    # The client refuses before asking; the server must refuse too, for other clients.
    with pytest.raises(ValueError, match="space_sdk"):
        api.create_repo(repo_name, repo_type="space")
    response = httpx.post(
        f"{ENDPOINT}/api/repos/create",
        json={"name": repo_name.split("/")[1], "type": "space"},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 400
    assert "sdk" in response.json()["error"]
    assert not api.repo_exists(repo_name, repo_type="space")


def test_creating_twice_is_a_409_and_exist_ok_returns_the_same_url(api: HfApi, repo_name: str) -> None:
    first = api.create_repo(repo_name, repo_type="dataset")

    with pytest.raises(HfHubHTTPError) as caught:
        api.create_repo(repo_name, repo_type="dataset")
    assert caught.value.response.status_code == 409
    again = api.create_repo(repo_name, repo_type="dataset", exist_ok=True)
    assert str(again) == str(first)
    # The id is case-insensitive: the same repo, under another casing, also exists already.
    shouted = api.create_repo(repo_name.upper(), repo_type="dataset", exist_ok=True)
    assert shouted.repo_id == repo_name
    # The same name as another type is another repo.
    assert api.create_repo(repo_name).repo_type == "model"
    assert len(api.list_repo_commits(repo_name, repo_type="dataset")) == 1


def test_create_in_another_users_namespace(api: HfApi, other: Client) -> None:
    theirs = f"{other.name}/{unique()}"
    HfApi(token=other.token).create_repo(theirs)

    # exist_ok=True: the 403 is tolerated because the repo is there (the client checks with repo_info).
    url = api.create_repo(theirs, exist_ok=True)
    assert url.repo_id == theirs
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_repo(theirs)
    assert caught.value.response.status_code == 403
    # A repo that does not exist there cannot be created by a non-member, exist_ok or not.
    missing = f"{other.name}/{unique()}"
    for exist_ok in (False, True):
        with pytest.raises(HfHubHTTPError) as caught:
            api.create_repo(missing, exist_ok=exist_ok)
        assert caught.value.response.status_code == 403
    assert not api.repo_exists(missing)


def test_create_in_a_namespace_that_does_not_exist(api: HfApi) -> None:
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_repo(f"nobody-{uuid.uuid4().hex[:8]}/{unique()}")
    assert caught.value.response.status_code == 404


@pytest.mark.parametrize("name", ["a--b", "a..b", "model.git", "-lead", "x" * 97, "spa ce", "ünï/code"])
def test_invalid_names_are_refused_and_nothing_is_created(api: HfApi, owner: Client, name: str) -> None:
    # The client checks ids itself (HFValidationError, a ValueError); other clients send anything,
    # so the server's answer is checked too.
    with pytest.raises(ValueError):
        api.create_repo(f"{owner.name}/{name}")
    response = httpx.post(
        f"{ENDPOINT}/api/repos/create",
        json={"name": name, "organization": owner.name},
        headers={"Authorization": f"Bearer {owner.token}"},
    )
    assert response.status_code == 400
    assert response.headers["X-Error-Code"] == "BadRequest"
    assert "Invalid repo name" in response.json()["error"]


def test_anonymous_cannot_create(repo_name: str) -> None:
    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(token=False).create_repo(repo_name, token=False)
    assert caught.value.response.status_code == 401


# --- delete ---


def test_delete_repo(api: HfApi, repo_name: str, owner: Client, tmp_path: Path) -> None:
    api.create_repo(repo_name, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"a,b\n1,2\n", path_in_repo="data.csv", repo_id=repo_name, repo_type="dataset"
    )

    api.delete_repo(repo_name, repo_type="dataset")

    assert not api.repo_exists(repo_name, repo_type="dataset")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(repo_name, "data.csv", repo_type="dataset", token=owner.token, cache_dir=tmp_path)
    with pytest.raises(RepositoryNotFoundError) as caught:
        api.delete_repo(repo_name, repo_type="dataset")
    assert caught.value.response.status_code == 404
    api.delete_repo(repo_name, repo_type="dataset", missing_ok=True)
    # The name is free again, and the new repo starts afresh.
    api.create_repo(repo_name, repo_type="dataset")
    assert api.list_repo_files(repo_name, repo_type="dataset") == [".gitattributes"]


def test_only_the_owner_can_delete(api: HfApi, repo_name: str, other: Client) -> None:
    api.create_repo(repo_name)

    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(token=other.token).delete_repo(repo_name)
    assert caught.value.response.status_code == 403
    # missing_ok covers a missing repo, not a refusal.
    with pytest.raises(HfHubHTTPError):
        HfApi(token=other.token).delete_repo(repo_name, missing_ok=True)
    assert api.repo_exists(repo_name)


# --- move ---


def test_move_repo_keeps_the_old_name_working(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    api.upload_file(path_or_fileobj=b"weights v1\n", path_in_repo="file.txt", repo_id=repo_name)
    new_name = f"{owner.name}/{unique('moved')}"

    api.move_repo(repo_name, new_name)

    info = api.model_info(new_name)
    assert info.id == new_name
    assert {s.rfilename for s in info.siblings or []} == {".gitattributes", "file.txt"}
    # The old id redirects: info, downloads, and the client's existence checks.
    assert api.model_info(repo_name).id == new_name
    path = hf_hub_download(repo_name, "file.txt", token=owner.token, cache_dir=tmp_path)
    assert Path(path).read_bytes() == b"weights v1\n"
    assert api.repo_exists(repo_name)
    assert api.file_exists(repo_name, "file.txt")
    # Writes through the new name land in the same repo.
    api.upload_file(path_or_fileobj=b"v2\n", path_in_repo="file.txt", repo_id=new_name)
    assert api.list_repo_commits(repo_name)[0].title == "Upload file.txt with huggingface_hub"


def test_move_private_repo_then_download_by_old_name(
    api: HfApi, repo_name: str, owner: Client, other: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name, private=True)
    api.upload_file(path_or_fileobj=b"secret\n", path_in_repo="file.txt", repo_id=repo_name)
    new_name = f"{owner.name}/{unique('moved')}"

    api.move_repo(repo_name, new_name)

    path = hf_hub_download(repo_name, "file.txt", token=owner.token, cache_dir=tmp_path / "owner")
    assert Path(path).read_text() == "secret\n"
    # The redirect must not reveal the new name to those who cannot read the repo.
    for token in (other.token, False):
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download(repo_name, "file.txt", token=token, cache_dir=tmp_path / "other")
        response = httpx.get(
            f"{ENDPOINT}/api/models/{repo_name}",
            headers={"Authorization": f"Bearer {token}"} if token else {},
        )
        assert response.status_code in (401, 404)
        assert "location" not in response.headers
        assert new_name not in response.text


def test_move_onto_an_existing_repo_is_refused(api: HfApi, repo_name: str, owner: Client) -> None:
    taken = f"{owner.name}/{unique('taken')}"
    api.create_repo(repo_name)
    api.create_repo(taken)

    with pytest.raises(HfHubHTTPError, match=f"A model repository called {taken} already exists") as caught:
        api.move_repo(repo_name, taken)
    assert caught.value.response.status_code == 409
    assert api.model_info(repo_name).id == repo_name


def test_move_a_missing_repo(api: HfApi, owner: Client) -> None:
    with pytest.raises(RepositoryNotFoundError):
        api.move_repo(f"{owner.name}/{unique('ghost')}", f"{owner.name}/{unique()}")


def test_a_non_owner_cannot_move(api: HfApi, repo_name: str, owner: Client, other: Client) -> None:
    api.create_repo(repo_name)

    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(token=other.token).move_repo(repo_name, f"{other.name}/{unique()}")
    assert caught.value.response.status_code == 403
    assert api.model_info(repo_name).id == repo_name


def test_a_new_repo_takes_back_a_moved_name(api: HfApi, repo_name: str, owner: Client) -> None:
    api.create_repo(repo_name)
    new_name = f"{owner.name}/{unique('moved')}"
    api.move_repo(repo_name, new_name)

    api.create_repo(repo_name)

    assert api.model_info(repo_name).id == repo_name
    assert api.model_info(new_name).id == new_name


# --- settings ---


def test_update_repo_settings_private_and_gated(
    api: HfApi, repo_name: str, owner: Client, other: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name, repo_type="dataset")
    api.upload_file(path_or_fileobj=b"x\n", path_in_repo="a.txt", repo_id=repo_name, repo_type="dataset")
    info = api.dataset_info(repo_name)
    assert (info.private, info.gated) == (False, False)

    api.update_repo_settings(repo_name, repo_type="dataset", private=True)
    assert api.dataset_info(repo_name).private is True
    with pytest.raises(RepositoryNotFoundError):
        HfApi(token=other.token).dataset_info(repo_name)

    api.update_repo_settings(repo_name, repo_type="dataset", private=False, gated="auto")
    info = api.dataset_info(repo_name)
    assert (info.private, info.gated) == (False, "auto")
    # Gated: everyone sees the repo, only those with access get its files.
    assert HfApi(token=other.token).dataset_info(repo_name).gated == "auto"
    with pytest.raises(RepositoryNotFoundError):  # GatedRepoError is a RepositoryNotFoundError
        hf_hub_download(repo_name, "a.txt", repo_type="dataset", token=other.token, cache_dir=tmp_path)

    api.update_repo_settings(repo_name, repo_type="dataset", gated="manual")
    assert api.dataset_info(repo_name).gated == "manual"
    api.update_repo_settings(repo_name, repo_type="dataset", gated=False)
    assert api.dataset_info(repo_name).gated is False
    path = hf_hub_download(repo_name, "a.txt", repo_type="dataset", token=other.token, cache_dir=tmp_path)
    assert Path(path).read_bytes() == b"x\n"


def test_visibility_setting_as_newer_clients_send_it(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name, visibility="private")
    assert api.model_info(repo_name).private is True
    api.update_repo_settings(repo_name, visibility="public")
    assert api.model_info(repo_name).private is False


def test_a_non_owner_cannot_change_settings(api: HfApi, repo_name: str, other: Client) -> None:
    api.create_repo(repo_name)

    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(token=other.token).update_repo_settings(repo_name, private=True)
    assert caught.value.response.status_code == 403
    assert api.model_info(repo_name).private is False
    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(token=False).update_repo_settings(repo_name, gated="auto", token=False)
    assert caught.value.response.status_code == 401
    assert api.model_info(repo_name).gated is False


def test_an_invalid_gated_value_is_refused(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    response = httpx.put(
        f"{ENDPOINT}/api/models/{repo_name}/settings",
        json={"gated": "sometimes"},
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert response.status_code == 400
    assert api.model_info(repo_name).gated is False


# --- info ---


@pytest.fixture
def described_model(api: HfApi, repo_name: str) -> str:
    """A model with a card, a config, a regular file and an LFS file."""
    api.create_repo(repo_name)
    api.create_commit(
        repo_name,
        operations=[
            CommitOperationAdd("README.md", CARD.encode()),
            CommitOperationAdd("config.json", b'{"model_type": "bert", "architectures": ["BertModel"]}'),
            CommitOperationAdd("model.safetensors", b"\x00" * 2048),
        ],
        commit_message="Add the model",
    )
    return repo_name


def test_model_info_sha_siblings_and_files_metadata(api: HfApi, described_model: str) -> None:
    head = api.list_repo_commits(described_model)[0]

    info = api.model_info(described_model, files_metadata=True)

    assert info.sha == head.commit_id
    assert info.author == described_model.split("/")[0]
    assert info.last_modified is not None and info.created_at is not None
    files = {s.rfilename: s for s in info.siblings or []}
    assert set(files) == {".gitattributes", "README.md", "config.json", "model.safetensors"}
    readme = files["README.md"]
    assert readme.size == len(CARD.encode())
    assert readme.blob_id == git_blob_id(CARD.encode())
    assert readme.lfs is None
    weights = files["model.safetensors"]
    assert weights.size == 2048
    assert weights.lfs is not None
    assert weights.lfs.size == 2048
    assert weights.lfs.sha256 == sha256(b"\x00" * 2048).hexdigest()
    assert 120 < weights.lfs.pointer_size < 140
    # Without files_metadata, only the names.
    plain = api.model_info(described_model)
    assert all(s.size is None and s.blob_id is None for s in plain.siblings or [])


def test_card_data_and_tags_come_from_the_readme(api: HfApi, described_model: str) -> None:
    info = api.model_info(described_model)

    card = info.card_data
    assert card is not None
    assert card.license == "mit"
    assert card.base_model == "compat-base/tiny-base"
    assert card.datasets == ["compat-data/reviews"]
    assert card.language == ["en", "fr"]
    assert info.library_name == "transformers"
    assert info.pipeline_tag == "text-classification"
    tags = set(info.tags or [])
    expected = {
        "transformers",
        "safetensors",
        "bert",
        "text-classification",
        "sentiment",
        "license:mit",
        "base_model:compat-base/tiny-base",
        "dataset:compat-data/reviews",
        "en",
        "fr",
    }
    assert expected <= tags
    assert info.config is not None and info.config["model_type"] == "bert"


def test_card_changes_show_at_once(api: HfApi, described_model: str) -> None:
    api.upload_file(
        path_or_fileobj=b"---\nlicense: apache-2.0\n---\n# Relicensed\n",
        path_in_repo="README.md",
        repo_id=described_model,
    )
    info = api.model_info(described_model)
    assert info.card_data is not None and info.card_data.license == "apache-2.0"
    assert "license:apache-2.0" in (info.tags or [])
    assert "license:mit" not in (info.tags or [])
    assert "text-classification" not in (info.tags or [])
    api.delete_file("README.md", described_model)
    info = api.model_info(described_model)
    assert not info.card_data
    assert not any(t.startswith("license:") for t in info.tags or [])


def test_expand_returns_only_the_asked_properties(api: HfApi, described_model: str, owner: Client) -> None:
    info = api.model_info(described_model, expand=["sha", "downloads", "cardData"])
    assert info.sha is not None
    assert info.downloads == 0
    assert info.card_data is not None and info.card_data.license == "mit"
    assert info.siblings is None
    assert info.tags is None
    assert info.private is None
    assert info.library_name is None

    response = httpx.get(
        f"{ENDPOINT}/api/models/{described_model}",
        params=[("expand", "private"), ("expand", "siblings")],
        headers={"Authorization": f"Bearer {owner.token}"},
    )
    assert set(response.json()) <= {"_id", "id", "modelId", "private", "siblings"}
    assert {"id", "private", "siblings"} <= set(response.json())


def test_dataset_and_space_info(api: HfApi, owner: Client) -> None:
    dataset = f"{owner.name}/{unique('data')}"
    api.create_repo(dataset, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"---\nlicense: cc-by-4.0\nlanguage:\n- de\ntask_categories:\n- translation\n---\n",
        path_in_repo="README.md",
        repo_id=dataset,
        repo_type="dataset",
    )
    api.upload_file(
        path_or_fileobj=b"a,b\n1,2\n", path_in_repo="data/train.csv", repo_id=dataset, repo_type="dataset"
    )
    info = api.dataset_info(dataset, files_metadata=True)
    assert info.id == dataset
    assert info.card_data is not None and info.card_data.license == "cc-by-4.0"
    assert {"license:cc-by-4.0", "language:de", "task_categories:translation", "format:csv"} <= set(
        info.tags or []
    )
    assert {s.rfilename: s.size for s in info.siblings or []}["data/train.csv"] == 8
    assert info.downloads == 0

    space = f"{owner.name}/{unique('app')}"
    api.create_repo(space, repo_type="space", space_sdk="static")
    info_space = api.space_info(space)
    assert info_space.id == space
    assert info_space.sdk == "static"
    assert info_space.runtime is not None and info_space.runtime.stage == "NO_APP_FILE"
    assert [s.rfilename for s in info_space.siblings or []] == [".gitattributes"]
    # repo_info dispatches on repo_type, and types do not mix.
    assert api.repo_info(space, repo_type="space").id == space
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(space)


def test_info_at_a_branch_a_tag_a_short_sha_and_a_pull_request(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    api.upload_file(path_or_fileobj=b"one\n", path_in_repo="v1.txt", repo_id=repo_name)
    first = api.model_info(repo_name).sha
    assert first is not None
    api.create_tag(repo_name, tag="v1.0")
    api.create_branch(repo_name, branch="dev/next")
    api.upload_file(path_or_fileobj=b"dev\n", path_in_repo="dev.txt", repo_id=repo_name, revision="dev/next")
    pr = api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\n---\n",
        path_in_repo="README.md",
        repo_id=repo_name,
        create_pr=True,
    )
    api.upload_file(path_or_fileobj=b"two\n", path_in_repo="v2.txt", repo_id=repo_name)

    def names(revision: str) -> set[str]:
        return {s.rfilename for s in api.model_info(repo_name, revision=revision).siblings or []}

    assert names("main") == {".gitattributes", "v1.txt", "v2.txt"}
    assert names("v1.0") == {".gitattributes", "v1.txt"}
    assert api.model_info(repo_name, revision="v1.0").sha == first
    assert names("dev/next") == {".gitattributes", "v1.txt", "dev.txt"}
    assert api.model_info(repo_name, revision=first[:7]).sha == first
    assert api.model_info(repo_name, revision=first).sha == first
    assert pr.pr_revision == "refs/pr/1"
    at_pr = api.model_info(repo_name, revision="refs/pr/1")
    assert {s.rfilename for s in at_pr.siblings or []} == {".gitattributes", "v1.txt", "README.md"}
    # The card and tags are those of the revision asked for.
    assert at_pr.card_data is not None and at_pr.card_data.license == "mit"
    assert "license:mit" in (at_pr.tags or [])
    assert "license:mit" not in (api.model_info(repo_name).tags or [])


def test_unknown_revision(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    for revision in ("no-such-branch", "0" * 40, "deadbee", "refs/pr/7"):
        with pytest.raises(RevisionNotFoundError):
            api.model_info(repo_name, revision=revision)


def test_exists_helpers(api: HfApi, repo_name: str, owner: Client, other: Client) -> None:
    api.create_repo(repo_name, private=True)
    api.upload_file(path_or_fileobj=b"x\n", path_in_repo="dir/file.txt", repo_id=repo_name)
    api.create_branch(repo_name, branch="dev")

    assert api.repo_exists(repo_name)
    assert not api.repo_exists(repo_name, repo_type="dataset")
    assert not api.repo_exists(f"{owner.name}/{unique('ghost')}")
    assert api.revision_exists(repo_name, "dev")
    assert api.revision_exists(repo_name, "main")
    assert not api.revision_exists(repo_name, "nope")
    assert api.file_exists(repo_name, "dir/file.txt")
    assert not api.file_exists(repo_name, "dir/other.txt")
    assert api.file_exists(repo_name, "dir/file.txt", revision="dev")
    # A private repo does not exist for anyone else.
    stranger = HfApi(token=other.token)
    assert not stranger.repo_exists(repo_name)
    assert not stranger.file_exists(repo_name, "dir/file.txt")
    assert not HfApi(token=False).repo_exists(repo_name, token=False)


def test_auth_check(api: HfApi, repo_name: str, other: Client) -> None:
    api.create_repo(repo_name, private=True)

    api.auth_check(repo_name)
    api.auth_check(repo_name, write=True)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(token=other.token).auth_check(repo_name)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(token=False).auth_check(repo_name, token=False)

    api.update_repo_settings(repo_name, private=False)
    HfApi(token=other.token).auth_check(repo_name)
    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(token=other.token).auth_check(repo_name, write=True)
    assert caught.value.response.status_code == 403


# --- private means private ---


def assert_repo_not_found_for(repo_id: str, token: str | bool, cache_dir: Path) -> None:
    """Every read of the repo, by this caller, fails as if the repo did not exist."""
    stranger = HfApi(token=token)
    calls: dict[str, Callable[[], object]] = {
        "info": lambda: stranger.model_info(repo_id, token=token),
        "info at revision": lambda: stranger.model_info(repo_id, revision="v1", token=token),
        "download": lambda: hf_hub_download(repo_id, "file.txt", token=token, cache_dir=cache_dir),
        "tree": lambda: list(stranger.list_repo_tree(repo_id, token=token)),
        "commits": lambda: stranger.list_repo_commits(repo_id, token=token),
        "refs": lambda: stranger.list_repo_refs(repo_id, token=token),
        "paths info": lambda: stranger.get_paths_info(repo_id, ["file.txt"], token=token),
    }
    for what, call in calls.items():
        with pytest.raises(RepositoryNotFoundError, match="Repository Not Found"):
            call()
            pytest.fail(f"{what} answered for {token!r}")


def test_private_repo_is_invisible_to_others(
    api: HfApi, repo_name: str, other: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name, private=True)
    api.upload_file(path_or_fileobj=b"secret\n", path_in_repo="file.txt", repo_id=repo_name)
    api.create_tag(repo_name, tag="v1")

    for token in (other.token, False):
        assert_repo_not_found_for(repo_name, token, tmp_path)
    # ... and exactly what a missing repo looks like, to the byte.
    missing = repo_name + "-missing"
    seen = httpx.get(f"{ENDPOINT}/api/models/{repo_name}", headers={"Authorization": f"Bearer {other.token}"})
    absent = httpx.get(f"{ENDPOINT}/api/models/{missing}", headers={"Authorization": f"Bearer {other.token}"})
    expected = (404, {"error": "Repository not found"})
    assert (seen.status_code, seen.json()) == (absent.status_code, absent.json()) == expected
    # The owner sees everything.
    assert (
        Path(hf_hub_download(repo_name, "file.txt", token=api.token, cache_dir=tmp_path)).read_text()
        == "secret\n"
    )


def test_a_revoked_token_gets_an_error_not_data(live_hub: LiveHub, tmp_path: Path) -> None:
    user = f"revoked-{uuid.uuid4().hex[:8]}"
    token = live_hub.user(user)
    mine = HfApi(token=token)
    private, public = f"{user}/private", f"{user}/public"
    mine.create_repo(private, private=True)
    mine.create_repo(public)
    mine.upload_file(path_or_fileobj=b"secret\n", path_in_repo="file.txt", repo_id=private)
    assert mine.whoami()["name"] == user

    live_hub.cli("token", "revoke", user, "default")

    for call in (
        lambda: mine.model_info(private),
        lambda: mine.model_info(public),
        lambda: hf_hub_download(private, "file.txt", token=token, cache_dir=tmp_path),
        lambda: mine.list_repo_files(private),
        lambda: mine.create_repo(f"{user}/after-revoke"),
        lambda: mine.whoami(),
    ):
        with pytest.raises(HfHubHTTPError) as caught:
            call()
        assert caught.value.response.status_code == 401
    assert "Invalid credentials in Authorization header" in httpx.get(
        f"{ENDPOINT}/api/models/{public}", headers={"Authorization": f"Bearer {token}"}
    ).headers.get("X-Error-Message", "")
    assert not HfApi(token=False).repo_exists(f"{user}/after-revoke", token=False)
