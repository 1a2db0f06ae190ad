"""HfFileSystem (fsspec) against the hub (specs/hf-protocol.md §5.10): listing, globbing, info,
reads (whole and by Range), and writes through commits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, HfApi, HfFileSystem

from tests.compat.conftest import Client


@pytest.fixture
def fs(owner: Client) -> HfFileSystem:
    # A fresh instance per test: fsspec caches instances and their directory listings.
    return HfFileSystem(token=owner.token, skip_instance_cache=True)


@pytest.fixture
def weights() -> bytes:
    return os.urandom(256 * 1024)


@pytest.fixture
def repo(api: HfApi, repo_name: str, weights: bytes) -> str:
    api.create_repo(repo_name)
    api.create_commit(
        repo_name,
        operations=[
            CommitOperationAdd("config.json", b'{"a": 1}'),
            CommitOperationAdd("model.bin", weights),
            CommitOperationAdd("data/train.csv", b"x,y\n1,2\n"),
            CommitOperationAdd("data/test.csv", b"x,y\n3,4\n"),
            CommitOperationAdd("data/nested/deep.txt", b"deep"),
        ],
        commit_message="Files",
    )
    return repo_name


def test_ls_and_info(fs: HfFileSystem, repo: str, weights: bytes) -> None:
    assert sorted(fs.ls(repo, detail=False)) == sorted(
        f"{repo}/{p}" for p in (".gitattributes", "config.json", "model.bin", "data")
    )
    entries = {e["name"]: e for e in fs.ls(repo, detail=True)}
    assert entries[f"{repo}/data"]["type"] == "directory"
    model = entries[f"{repo}/model.bin"]
    assert model["type"] == "file" and model["size"] == len(weights)
    assert model["lfs"]["size"] == len(weights)
    assert entries[f"{repo}/config.json"]["lfs"] is None

    assert sorted(fs.ls(f"{repo}/data", detail=False)) == [
        f"{repo}/data/nested",
        f"{repo}/data/test.csv",
        f"{repo}/data/train.csv",
    ]
    fresh = HfFileSystem(token=fs.token, skip_instance_cache=True)  # no cached listing: paths-info
    info = fresh.info(f"{repo}/data/train.csv")
    assert info["type"] == "file" and info["size"] == len(b"x,y\n1,2\n")
    assert fresh.info(f"{repo}/data/nested")["type"] == "directory"
    assert fresh.info(repo)["type"] == "directory"
    assert fs.isdir(f"{repo}/data") and fs.isfile(f"{repo}/model.bin")
    assert not fs.exists(f"{repo}/missing.txt")
    with pytest.raises(FileNotFoundError):
        fresh.info(f"{repo}/data/missing.csv")
    with pytest.raises(FileNotFoundError):
        fresh.ls(f"{repo}/missing-folder")


def test_glob_and_find(fs: HfFileSystem, repo: str) -> None:
    assert sorted(fs.glob(f"{repo}/data/*.csv")) == [f"{repo}/data/test.csv", f"{repo}/data/train.csv"]
    assert sorted(fs.glob(f"{repo}/**/*.txt")) == [f"{repo}/data/nested/deep.txt"]
    assert fs.glob(f"{repo}/*.bin") == [f"{repo}/model.bin"]
    assert sorted(fs.find(repo)) == sorted(
        f"{repo}/{p}"
        for p in (
            ".gitattributes",
            "config.json",
            "model.bin",
            "data/train.csv",
            "data/test.csv",
            "data/nested/deep.txt",
        )
    )
    assert sorted(fs.find(f"{repo}/data", maxdepth=1)) == [f"{repo}/data/test.csv", f"{repo}/data/train.csv"]
    with_dirs = fs.find(repo, withdirs=True, detail=True)
    assert with_dirs[f"{repo}/data/nested"]["type"] == "directory"


def test_reads_whole_and_partial(fs: HfFileSystem, repo: str, weights: bytes) -> None:
    assert fs.cat(f"{repo}/config.json") == b'{"a": 1}'
    assert fs.read_text(f"{repo}/data/train.csv") == "x,y\n1,2\n"
    with fs.open(f"{repo}/model.bin", "rb") as f:
        assert f.read() == weights

    # Small blocks and a seek: every block is a Range request, and must be exactly those bytes.
    with fs.open(f"{repo}/model.bin", "rb", block_size=4096) as f:
        f.seek(100_000)
        assert f.read(10_000) == weights[100_000:110_000]
        f.seek(-50, os.SEEK_END)
        assert f.read() == weights[-50:]
    assert fs.cat_file(f"{repo}/model.bin", start=1000, end=1010) == weights[1000:1010]
    assert fs.cat_file(f"{repo}/config.json", start=1, end=4) == b'"a"'
    assert fs.cat_file(f"{repo}/model.bin", start=-20) == weights[-20:]

    # Streaming reads use `Range: bytes=<loc>-`.
    with fs.open(f"{repo}/model.bin", "rb", block_size=0) as stream:
        assert stream.read(10) == weights[:10]
        assert stream.read() == weights[10:]


def test_revisions_and_datasets(fs: HfFileSystem, api: HfApi, repo: str, owner: Client) -> None:
    api.create_branch(repo, branch="dev")
    api.upload_file(path_or_fileobj=b"dev only", path_in_repo="dev.txt", repo_id=repo, revision="dev")
    assert fs.cat(f"{repo}@dev/dev.txt") == b"dev only"
    assert not fs.exists(f"{repo}/dev.txt")
    pr = api.upload_file(path_or_fileobj=b"pr only", path_in_repo="pr.txt", repo_id=repo, create_pr=True)
    assert fs.cat(f"{repo}@refs%2Fpr%2F1/pr.txt") == b"pr only"
    first = api.list_repo_commits(repo)[-1].commit_id
    assert fs.ls(f"{repo}@{first}", detail=False) == [f"{repo}@{first}/.gitattributes"]
    assert pr.oid

    api.create_repo(repo, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=b"a\n1\n", path_in_repo="data/train.csv", repo_id=repo, repo_type="dataset"
    )
    assert fs.cat(f"datasets/{repo}/data/train.csv") == b"a\n1\n"
    assert fs.glob(f"datasets/{repo}/data/*") == [f"datasets/{repo}/data/train.csv"]


def test_put_write_and_rm(fs: HfFileSystem, api: HfApi, repo: str, tmp_path: Path) -> None:
    local = tmp_path / "local.txt"
    local.write_text("uploaded")
    fs.put(str(local), f"{repo}/uploaded/local.txt")
    with fs.open(f"{repo}/written.bin", "wb") as f:
        f.write(b"written " * 1000)
    fs.pipe(f"{repo}/piped.txt", b"piped")
    assert api.file_exists(repo, "uploaded/local.txt")
    assert fs.cat(f"{repo}/written.bin") == b"written " * 1000
    assert fs.cat(f"{repo}/piped.txt") == b"piped"

    fs.cp_file(f"{repo}/config.json", f"{repo}/copied.json")
    assert fs.cat(f"{repo}/copied.json") == b'{"a": 1}'

    fs.rm(f"{repo}/piped.txt")
    fs.rm(f"{repo}/data", recursive=True)
    files = set(api.list_repo_files(repo))
    assert "piped.txt" not in files
    assert not any(f.startswith("data/") for f in files)
    assert {"config.json", "model.bin", "copied.json", "written.bin", "uploaded/local.txt"} <= files
    fresh = HfFileSystem(token=fs.token, skip_instance_cache=True)
    assert not fresh.exists(f"{repo}/data")
