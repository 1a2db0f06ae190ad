"""Model and dataset cards through the real client: validation, metadata_update, load, push."""

from __future__ import annotations

import base64
import json
import os
import warnings

import httpx
import pytest
from huggingface_hub import DatasetCard, HfApi, ModelCard, RepoCard, hf_hub_download, metadata_update
from huggingface_hub.errors import BadRequestError

from tests.compat.conftest import Client

ENDPOINT = os.environ["HF_ENDPOINT"]

# RepoCard.validate() talks to HF_ENDPOINT itself, without any fixture that would start the hub.
pytestmark = pytest.mark.usefixtures("live_hub")

VALID = """---
license: mit
language: en
tags:
- text-classification
model-index:
- name: tiny
  results:
  - task:
      type: text-classification
    dataset:
      name: reviews
      type: compat/reviews
    metrics:
    - type: accuracy
      value: 0.9
---
# Tiny

A card that says what the model is.
"""

MALFORMED = {
    "unclosed list": "---\nlicense: [mit\n---\n# Card\n",
    "bad indentation": "---\nlicense: mit\n  tags: x\n- y\n---\n# Card\n",
    "not a mapping": "---\n- just\n- a list\n---\n# Card\n",
    "bad model-index": "---\nmodel-index: foo\n---\n# Card\n",
    "alias bomb": "---\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    + "---\n",
}


def test_a_valid_card_validates_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RepoCard(VALID).validate()
        DatasetCard("---\nlicense: cc-by-4.0\ntask_categories:\n- translation\n---\n# Data\n").validate()
        RepoCard("---\ntitle: App\nsdk: gradio\n---\n").validate(repo_type="space")


def test_an_invalid_model_index_is_rejected_by_validate() -> None:
    # RepoCard.validate() raises ValueError(response text): the server's reason is in it.
    with pytest.raises(ValueError, match="Invalid `model-index` in metadata"):
        RepoCard(MALFORMED["bad model-index"]).validate()


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_readme_with_invalid_metadata_is_not_uploaded(
    api: HfApi, repo_name: str, owner: Client, case: str
) -> None:
    api.create_repo(repo_name)
    api.upload_file(path_or_fileobj=VALID.encode(), path_in_repo="README.md", repo_id=repo_name)
    before = api.model_info(repo_name).sha

    # The client sends the README's text to /api/validate-yaml first, and stops on its answer.
    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md") as caught:
        api.upload_file(path_or_fileobj=MALFORMED[case].encode(), path_in_repo="README.md", repo_id=repo_name)
    assert isinstance(caught.value.__cause__, BadRequestError)
    # The server's reason is in the message, not only a status.
    reason = str(caught.value).split("\n- ", 1)[1]
    assert len(reason.strip()) > 10

    assert api.model_info(repo_name).sha == before
    readme = hf_hub_download(repo_name, "README.md", token=owner.token, force_download=True)
    with open(readme) as f:
        assert f.read() == VALID


def test_a_card_without_metadata_is_valid() -> None:
    # Valid: validate() raises on errors only. The server's warning reaches users when they push
    # the card (test_a_card_without_metadata_is_pushed_with_a_warning).
    RepoCard("# Just prose\n\nNo front matter here.\n").validate()


def test_validate_yaml_answers_json_to_any_client() -> None:
    ok = httpx.post(f"{ENDPOINT}/api/validate-yaml", json={"content": VALID, "repoType": "model"})
    assert (ok.status_code, ok.json()) == (200, {"errors": [], "warnings": []})
    bad = httpx.post(
        f"{ENDPOINT}/api/validate-yaml",
        json={"content": MALFORMED["bad model-index"]},
        headers={"Accept": "text/plain"},
    )
    assert bad.status_code == 400
    assert bad.json()["warnings"] == []
    assert "model-index" in bad.json()["errors"][0]["message"]
    garbage = httpx.post(
        f"{ENDPOINT}/api/validate-yaml", content=b"not json", headers={"Content-Type": "application/json"}
    )
    assert garbage.status_code == 400
    assert "error" in garbage.json()


def test_metadata_update_then_load(api: HfApi, repo_name: str, owner: Client) -> None:
    api.create_repo(repo_name)
    ModelCard(VALID).push_to_hub(repo_name, token=owner.token)

    card = ModelCard.load(repo_name, token=owner.token)
    assert card.data.license == "mit"
    assert card.data.eval_results is not None and card.data.eval_results[0].metric_value == 0.9
    assert "A card that says what the model is." in card.text

    metadata_update(
        repo_name, {"library_name": "transformers", "datasets": ["compat/reviews"]}, token=owner.token
    )
    info = api.model_info(repo_name)
    assert info.card_data is not None
    assert info.card_data.library_name == "transformers"
    assert info.card_data.license == "mit"
    assert info.library_name == "transformers"
    assert {"dataset:compat/reviews", "text-classification", "license:mit", "transformers"} <= set(
        info.tags or []
    )
    # Changing a value needs overwrite=True; the client checks against the card it downloads.
    with pytest.raises(ValueError, match="overwrite"):
        metadata_update(repo_name, {"license": "apache-2.0"}, token=owner.token)
    metadata_update(repo_name, {"license": "apache-2.0"}, overwrite=True, token=owner.token)
    assert "license:apache-2.0" in (api.model_info(repo_name).tags or [])
    assert ModelCard.load(repo_name, token=owner.token).data.license == "apache-2.0"


def test_metadata_update_as_a_pull_request(api: HfApi, repo_name: str, owner: Client) -> None:
    api.create_repo(repo_name, repo_type="dataset")
    DatasetCard("---\nlicense: cc-by-4.0\n---\n# Data\n").push_to_hub(
        repo_name, repo_type="dataset", token=owner.token
    )

    url = metadata_update(
        repo_name, {"language": ["fr"]}, repo_type="dataset", create_pr=True, token=owner.token
    )

    assert getattr(url, "pr_revision", None) == "refs/pr/1"
    main = api.dataset_info(repo_name)
    assert main.card_data is not None and main.card_data.language is None
    proposed = api.dataset_info(repo_name, revision="refs/pr/1")
    assert proposed.card_data is not None and proposed.card_data.language == ["fr"]
    loaded = DatasetCard.load(repo_name, token=owner.token)
    assert loaded.data.license == "cc-by-4.0"


def test_a_readme_with_malformed_yaml_is_refused_and_the_repo_is_unchanged(
    api: HfApi, repo_name: str, owner: Client
) -> None:
    api.create_repo(repo_name)
    api.upload_file(path_or_fileobj=VALID.encode(), path_in_repo="README.md", repo_id=repo_name)
    before = api.model_info(repo_name)

    # The client asks /api/validate-yaml first and stops there.
    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md") as caught:
        api.upload_file(
            path_or_fileobj=MALFORMED["unclosed list"].encode(), path_in_repo="README.md", repo_id=repo_name
        )
    assert isinstance(caught.value.__cause__, BadRequestError)

    # A client that skips the check (an older one, a script) meets the same rule at the commit.
    lines = [
        {"key": "header", "value": {"summary": "Break the card", "description": ""}},
        {
            "key": "file",
            "value": {
                "path": "README.md",
                "encoding": "base64",
                "content": base64.b64encode(MALFORMED["unclosed list"].encode()).decode(),
            },
        },
    ]
    response = httpx.post(
        f"{ENDPOINT}/api/models/{repo_name}/commit/main",
        content="\n".join(json.dumps(line) for line in lines).encode(),
        headers={"Authorization": f"Bearer {owner.token}", "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 400
    assert response.headers["X-Error-Code"] == "BadRequest"
    assert "Invalid metadata in README.md" in response.json()["error"]

    after = api.model_info(repo_name)
    assert after.sha == before.sha
    assert after.card_data == before.card_data
    assert api.list_repo_commits(repo_name)[0].title == "Upload README.md with huggingface_hub"
    readme = hf_hub_download(repo_name, "README.md", token=owner.token, force_download=True)
    with open(readme) as f:
        assert f.read() == VALID


def test_readme_in_a_folder_upload_is_checked_too(api: HfApi, repo_name: str, tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "README.md").write_text(MALFORMED["not a mapping"])
    (folder / "weights.bin").write_bytes(b"\x01" * 100)
    api.create_repo(repo_name)

    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md"):
        api.upload_folder(folder_path=folder, repo_id=repo_name)
    assert api.list_repo_files(repo_name) == [".gitattributes"]


def test_a_card_without_metadata_is_pushed_with_a_warning(api: HfApi, repo_name: str, owner: Client) -> None:
    api.create_repo(repo_name)
    with pytest.warns(UserWarning, match="Empty or missing yaml metadata in repo card"):
        ModelCard("# Prose only\n").push_to_hub(repo_name, token=owner.token)

    info = api.model_info(repo_name)
    assert "README.md" in {s.rfilename for s in info.siblings or []}
    assert not info.card_data
    assert ModelCard.load(repo_name, token=owner.token).text.strip() == "# Prose only"
