"""The first promise, end to end: create, upload (regular and LFS), download, through the real client."""

from __future__ import annotations

import os
from pathlib import Path

from huggingface_hub import HfApi, hf_hub_download, snapshot_download

from tests.compat.conftest import Client


def test_upload_then_download_regular_and_lfs_files(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    weights = os.urandom(5000)
    (tmp_path / "model.bin").write_bytes(weights)
    (tmp_path / "notes.txt").write_text("hello\n")
    api.upload_folder(folder_path=tmp_path, repo_id=repo_name)

    info = api.model_info(repo_name, files_metadata=True)
    files = {s.rfilename: s for s in info.siblings or []}
    assert set(files) == {".gitattributes", "model.bin", "notes.txt"}
    assert files["model.bin"].lfs is not None and files["model.bin"].lfs.size == 5000
    assert files["notes.txt"].lfs is None

    path = hf_hub_download(repo_name, "model.bin", token=owner.token, cache_dir=tmp_path / "cache")
    assert Path(path).read_bytes() == weights
    snapshot = snapshot_download(repo_name, token=owner.token, cache_dir=tmp_path / "cache2")
    assert (Path(snapshot) / "notes.txt").read_text() == "hello\n"
