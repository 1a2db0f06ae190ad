"""Downloads through the real client (specs/hf-protocol.md §5): revisions of every kind, metadata,
Range requests, missing files and the client's cache, snapshots, local_dir and safetensors headers."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
import pytest
from huggingface_hub import (
    _CACHED_NO_EXIST,
    CommitOperationAdd,
    HfApi,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
    snapshot_download,
    try_to_load_from_cache,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    NotASafetensorsRepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from safetensors.numpy import save as save_safetensors

from tests.compat.conftest import Client

ODD_NAMES = ["with space #1?.txt", "ünïcødé/ファイル 2.txt", "100%.txt"]


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


@dataclass
class Fixture:
    repo: str
    token: str
    weights: bytes
    first: str  # the commit tagged v1: config v1
    main: str  # config v2
    dev: str
    feature: str
    pr: str


@pytest.fixture(scope="module")
def repo(owner: Client) -> Fixture:
    """One repo with history, read (never written) by the tests of this module."""
    api = HfApi(token=owner.token)
    name = f"{owner.name}/downloads"
    api.create_repo(name)
    weights = os.urandom(300 * 1024)
    first = api.create_commit(
        name,
        operations=[
            CommitOperationAdd("config.json", b'{"version": 1}'),
            CommitOperationAdd("model.bin", weights),
            CommitOperationAdd("sub/dir/file.txt", b"deep file"),
            CommitOperationAdd("sub/other.md", b"# other"),
            *(CommitOperationAdd(n, n.encode()) for n in ODD_NAMES),
        ],
        commit_message="First",
    ).oid
    # An annotated tag: an object of its own, which downloads must peel to its commit.
    api.create_tag(name, tag="v1", revision=first, tag_message="Release 1")
    api.create_branch(name, branch="dev")
    dev = api.upload_file(
        path_or_fileobj=b'{"version": "dev"}', path_in_repo="config.json", repo_id=name, revision="dev"
    ).oid
    api.create_branch(name, branch="feature/x")
    feature = api.upload_file(
        path_or_fileobj=b"feature", path_in_repo="feature.txt", repo_id=name, revision="feature/x"
    ).oid
    pr = api.upload_file(path_or_fileobj=b"in a pr", path_in_repo="pr.txt", repo_id=name, create_pr=True)
    assert pr.pr_revision == "refs/pr/1"
    main = api.upload_file(path_or_fileobj=b'{"version": 2}', path_in_repo="config.json", repo_id=name).oid
    return Fixture(name, owner.token, weights, first, main, dev, feature, pr.oid)


def fetch(fx: Fixture, path: str, cache: Path, **kwargs: object) -> bytes:
    return Path(hf_hub_download(fx.repo, path, token=fx.token, cache_dir=cache, **kwargs)).read_bytes()  # type: ignore[arg-type]


def resolve_url(fx: Fixture, path: str, revision: str = "main") -> str:
    return f"{os.environ['HF_ENDPOINT']}/{fx.repo}/resolve/{quote(revision, safe='')}/{quote(path)}"


def auth(fx: Fixture) -> dict[str, str]:
    return {"Authorization": f"Bearer {fx.token}"}


def test_download_at_branch_tag_full_and_short_sha_and_pull_request(repo: Fixture, tmp_path: Path) -> None:
    assert fetch(repo, "config.json", tmp_path) == b'{"version": 2}'
    assert fetch(repo, "config.json", tmp_path, revision="main") == b'{"version": 2}'
    assert fetch(repo, "config.json", tmp_path, revision="v1") == b'{"version": 1}'
    assert fetch(repo, "config.json", tmp_path, revision=repo.first) == b'{"version": 1}'
    assert fetch(repo, "config.json", tmp_path, revision=repo.first[:7]) == b'{"version": 1}'
    assert fetch(repo, "config.json", tmp_path, revision="dev") == b'{"version": "dev"}'
    assert fetch(repo, "config.json", tmp_path, revision="refs/heads/dev") == b'{"version": "dev"}'
    assert fetch(repo, "feature.txt", tmp_path, revision="feature/x") == b"feature"
    assert fetch(repo, "pr.txt", tmp_path, revision="refs/pr/1") == b"in a pr"
    assert fetch(repo, "model.bin", tmp_path, revision=repo.first[:7]) == repo.weights

    # The client's cache records each named revision's commit.
    cache = tmp_path / f"models--{repo.repo.replace('/', '--')}"
    assert (cache / "refs" / "main").read_text() == repo.main
    assert (cache / "refs" / "v1").read_text() == repo.first
    assert (cache / "refs" / "refs" / "pr" / "1").read_text() == repo.pr
    # Blobs are stored under their etag: the sha256 of LFS files, the git sha1 of the others.
    assert (cache / "blobs" / hashlib.sha256(repo.weights).hexdigest()).read_bytes() == repo.weights
    assert (cache / "blobs" / git_blob_sha1(b'{"version": 2}')).is_file()


def test_public_repos_download_anonymously(repo: Fixture, tmp_path: Path) -> None:
    got = hf_hub_download(repo.repo, "model.bin", token=False, cache_dir=tmp_path)
    assert Path(got).read_bytes() == repo.weights
    snapshot = Path(snapshot_download(repo.repo, token=False, cache_dir=tmp_path, allow_patterns=["*.json"]))
    assert (snapshot / "config.json").read_bytes() == b'{"version": 2}'


def test_raw_and_encoded_pull_request_revisions(repo: Fixture) -> None:
    for revision in ("refs%2Fpr%2F1", "refs/pr/1"):
        url = f"{os.environ['HF_ENDPOINT']}/{repo.repo}/resolve/{revision}/pr.txt"
        response = httpx.get(url, headers=auth(repo))
        assert response.status_code == 200, revision
        assert response.content == b"in a pr"
        assert response.headers["x-repo-commit"] == repo.pr


def test_subfolders_and_percent_encoded_names(repo: Fixture, tmp_path: Path) -> None:
    assert fetch(repo, "file.txt", tmp_path, subfolder="sub/dir") == b"deep file"
    assert fetch(repo, "sub/dir/file.txt", tmp_path) == b"deep file"
    for name in ODD_NAMES:
        assert fetch(repo, name, tmp_path) == name.encode(), name
    # '#' and '?' must arrive encoded; sent raw they would be a fragment or a query.
    response = httpx.get(resolve_url(repo, "with space #1?.txt"), headers=auth(repo))
    assert response.content == b"with space #1?.txt"
    assert "filename*=UTF-8''with%20space%20%231%3F.txt" in response.headers["content-disposition"]


def test_head_metadata_for_regular_and_lfs_files(repo: Fixture) -> None:
    regular = get_hf_file_metadata(hf_hub_url(repo.repo, "config.json"), token=repo.token)
    assert regular.commit_hash == repo.main
    assert regular.etag == git_blob_sha1(b'{"version": 2}')
    assert regular.size == len(b'{"version": 2}')

    lfs = get_hf_file_metadata(hf_hub_url(repo.repo, "model.bin", revision="v1"), token=repo.token)
    assert lfs.commit_hash == repo.first
    assert lfs.etag == hashlib.sha256(repo.weights).hexdigest()
    assert lfs.size == len(repo.weights)

    head = httpx.head(resolve_url(repo, "model.bin"), headers=auth(repo))
    assert head.status_code == 200
    assert head.headers["x-linked-size"] == str(len(repo.weights))
    assert head.headers["x-linked-etag"] == f'"{lfs.etag}"'
    assert head.headers["content-length"] == str(len(repo.weights))
    assert head.headers["accept-ranges"] == "bytes"
    assert head.headers["x-request-id"]
    # Uploaded through Xet: Xet clients are told where its chunks are (specs/xet-protocol.md §2.3).
    assert len(head.headers["x-xet-hash"]) == 64
    assert head.headers["link"].endswith(f'/xet-read-token/{repo.main}>; rel="xet-auth"')
    assert head.content == b""


@pytest.mark.parametrize("path", ["config.json", "model.bin"])
def test_range_requests(repo: Fixture, path: str) -> None:
    full = httpx.get(resolve_url(repo, path), headers=auth(repo)).content
    size = len(full)

    def get(range_: str) -> httpx.Response:
        return httpx.get(resolve_url(repo, path), headers={**auth(repo), "Range": range_})

    part = get("bytes=2-9")
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 2-9/{size}"
    assert part.headers["content-length"] == "8"
    assert part.content == full[2:10]

    tail = get("bytes=-5")
    assert tail.status_code == 206
    assert tail.headers["content-range"] == f"bytes {size - 5}-{size - 1}/{size}"
    assert tail.content == full[-5:]

    rest = get("bytes=3-")
    assert rest.status_code == 206 and rest.content == full[3:]

    clipped = get(f"bytes=0-{size + 100}")
    assert clipped.status_code == 206
    assert clipped.headers["content-range"] == f"bytes 0-{size - 1}/{size}"
    assert clipped.content == full

    past = get(f"bytes={size}-")
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{size}"


def test_a_missing_file_is_entry_not_found_and_cached_as_such(repo: Fixture, tmp_path: Path) -> None:
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo.repo, "missing.json", token=repo.token, cache_dir=tmp_path)
    # X-Repo-Commit on the 404 lets the client remember "absent at this commit".
    cache = tmp_path / f"models--{repo.repo.replace('/', '--')}"
    assert (cache / ".no_exist" / repo.main / "missing.json").exists()
    assert try_to_load_from_cache(repo.repo, "missing.json", cache_dir=tmp_path) is _CACHED_NO_EXIST

    response = httpx.head(resolve_url(repo, "missing.json", "v1"), headers=auth(repo))
    assert response.status_code == 404
    assert response.headers["x-error-code"] == "EntryNotFound"
    assert response.headers["x-repo-commit"] == repo.first
    # A folder is not a file.
    assert (
        httpx.head(resolve_url(repo, "sub/dir"), headers=auth(repo)).headers["x-error-code"]
        == "EntryNotFound"
    )


def test_missing_revisions_and_repos(repo: Fixture, owner: Client, tmp_path: Path) -> None:
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo.repo, "config.json", revision="nope", token=repo.token, cache_dir=tmp_path)
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo.repo, "config.json", revision="refs/pr/99", token=repo.token, cache_dir=tmp_path)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(f"{owner.name}/no-such-repo", "config.json", token=repo.token, cache_dir=tmp_path)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("no-namespace", "config.json", cache_dir=tmp_path)


def test_private_repos_are_not_found_for_others(
    api: HfApi, repo_name: str, owner: Client, other: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name, private=True)
    api.upload_file(path_or_fileobj=b"secret", path_in_repo="s.txt", repo_id=repo_name)
    assert (
        Path(hf_hub_download(repo_name, "s.txt", token=owner.token, cache_dir=tmp_path / "o")).read_bytes()
        == b"secret"
    )
    for token in (other.token, False):
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download(repo_name, "s.txt", token=token, cache_dir=tmp_path / "x")
    anonymous = httpx.head(f"{api.endpoint}/{repo_name}/resolve/main/s.txt")
    assert anonymous.status_code == 401
    assert anonymous.headers["x-error-code"] == "RepoNotFound"


def test_snapshot_download_with_patterns_and_revisions(repo: Fixture, tmp_path: Path) -> None:
    whole = Path(snapshot_download(repo.repo, token=repo.token, cache_dir=tmp_path / "all"))
    assert whole.name == repo.main
    found = {p.relative_to(whole).as_posix() for p in whole.rglob("*") if p.is_file()}
    assert found == {
        ".gitattributes",
        "config.json",
        "model.bin",
        "sub/dir/file.txt",
        "sub/other.md",
        *ODD_NAMES,
    }
    assert (whole / "model.bin").read_bytes() == repo.weights

    some = Path(
        snapshot_download(
            repo.repo,
            token=repo.token,
            cache_dir=tmp_path / "some",
            allow_patterns=["*.json", "sub/*"],
            ignore_patterns=["*.md"],
        )
    )
    assert {p.relative_to(some).as_posix() for p in some.rglob("*") if p.is_file()} == {
        "config.json",
        "sub/dir/file.txt",
    }

    tagged = Path(snapshot_download(repo.repo, revision="v1", token=repo.token, cache_dir=tmp_path / "all"))
    assert tagged.name == repo.first
    assert (tagged / "config.json").read_bytes() == b'{"version": 1}'
    pr = Path(
        snapshot_download(repo.repo, revision="refs/pr/1", token=repo.token, cache_dir=tmp_path / "all")
    )
    assert (pr / "pr.txt").read_bytes() == b"in a pr"


def test_local_dir_downloads(repo: Fixture, tmp_path: Path) -> None:
    target = tmp_path / "local"
    path = hf_hub_download(repo.repo, "sub/dir/file.txt", token=repo.token, local_dir=target)
    assert Path(path) == target / "sub" / "dir" / "file.txt"
    assert not Path(path).is_symlink()
    assert Path(path).read_bytes() == b"deep file"
    metadata = (
        target / ".cache" / "huggingface" / "download" / "sub" / "dir" / "file.txt.metadata"
    ).read_text()
    assert metadata.splitlines()[:2] == [repo.main, git_blob_sha1(b"deep file")]

    snapshot = Path(snapshot_download(repo.repo, revision="dev", token=repo.token, local_dir=target))
    assert snapshot == target
    assert (target / "config.json").read_bytes() == b'{"version": "dev"}'
    assert (target / "model.bin").read_bytes() == repo.weights
    assert (target / ODD_NAMES[1]).read_bytes() == ODD_NAMES[1].encode()


def test_safetensors_metadata_of_a_single_file_and_of_shards(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    with pytest.raises(NotASafetensorsRepoError):
        api.get_safetensors_metadata(repo_name)

    single = save_safetensors(
        {"embed.weight": np.zeros((4, 3), dtype=np.float32), "head.bias": np.ones(5, dtype=np.float16)},
        # A header past the client's first 100,000-byte Range read: it must ask for the rest.
        metadata={"format": "np", "notes": "x" * 150_000},
    )
    api.upload_file(path_or_fileobj=single, path_in_repo="model.safetensors", repo_id=repo_name)
    meta = api.get_safetensors_metadata(repo_name)
    assert not meta.sharded
    assert meta.parameter_count == {"F32": 12, "F16": 5}
    file_meta = meta.files_metadata["model.safetensors"]
    assert file_meta.metadata["format"] == "np"
    assert file_meta.tensors["embed.weight"].shape == [4, 3]
    assert file_meta.tensors["head.bias"].dtype == "F16"

    sharded = repo_name + "-sharded"
    api.create_repo(sharded)
    shards = {
        "model-00001-of-00002.safetensors": {"a": np.zeros((2, 2), dtype=np.float32)},
        "model-00002-of-00002.safetensors": {
            "b": np.zeros((3,), dtype=np.int64),
            "c": np.zeros((1,), dtype=np.float32),
        },
    }
    index = {
        "metadata": {"total_size": 16 + 24 + 4},
        "weight_map": {name: shard for shard, tensors in shards.items() for name in tensors},
    }
    api.create_commit(
        sharded,
        operations=[
            *(CommitOperationAdd(shard, save_safetensors(t)) for shard, t in shards.items()),
            CommitOperationAdd("model.safetensors.index.json", json.dumps(index).encode()),
        ],
        commit_message="Sharded",
    )
    meta = api.get_safetensors_metadata(sharded)
    assert meta.sharded
    assert meta.weight_map == index["weight_map"]
    assert set(meta.files_metadata) == set(shards)
    assert meta.parameter_count == {"F32": 5, "I64": 3}
    one = api.parse_safetensors_file_metadata(sharded, "model-00002-of-00002.safetensors")
    assert one.tensors["b"].dtype == "I64"
