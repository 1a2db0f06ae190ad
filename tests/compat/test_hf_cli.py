"""The `hf` CLI as users run it: a subprocess with HF_ENDPOINT and HF_TOKEN in its environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from huggingface_hub import HfApi

from tests.compat.conftest import Client

HF = Path(sys.executable).parent / "hf"


def hf(
    *args: str, token: str | None, cwd: Path | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    if token is not None:
        env["HF_TOKEN"] = token
    result = subprocess.run(
        [str(HF), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120, check=False
    )
    if ok:
        assert result.returncode == 0, f"hf {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_auth_whoami(owner: Client) -> None:
    out = hf("auth", "whoami", "--format", "json", token=owner.token).stdout
    answer = json.loads(out)
    assert answer["user"] == owner.name
    assert answer["endpoint"] == os.environ["HF_ENDPOINT"]
    human = hf("auth", "whoami", "--format", "human", token=owner.token).stdout
    assert owner.name in human

    bad = hf("auth", "whoami", token="hf_not_a_real_token", ok=False)
    assert bad.returncode != 0
    anonymous = hf("auth", "whoami", token=None, ok=False)
    assert anonymous.returncode != 0
    assert "Not logged in" in anonymous.stdout + anonymous.stderr


def test_repos_create(api: HfApi, repo_name: str, owner: Client) -> None:
    hf("repos", "create", repo_name, token=owner.token)
    assert api.repo_info(repo_name).private is False
    assert api.list_repo_files(repo_name) == [".gitattributes"]

    hf("repos", "create", repo_name, "--type", "dataset", "--private", token=owner.token)
    assert api.repo_info(repo_name, repo_type="dataset").private is True

    again = hf("repos", "create", repo_name, token=owner.token, ok=False)
    assert again.returncode != 0
    assert "409" in again.stdout + again.stderr
    hf("repos", "create", repo_name, "--exist-ok", token=owner.token)


def test_upload_a_file_and_a_folder(api: HfApi, repo_name: str, owner: Client, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"a": 1}')
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(os.urandom(20_000))
    (folder / "sub" / "notes.txt").write_text("notes")
    (folder / "skip.log").write_text("log")

    # `hf upload` creates the repo when it is missing.
    hf("upload", repo_name, str(tmp_path / "config.json"), token=owner.token)
    assert api.list_repo_files(repo_name) == [".gitattributes", "config.json"]
    hf(
        "upload",
        repo_name,
        str(folder),
        "model",
        "--exclude",
        "*.log",
        "--commit-message",
        "Add the model",
        "--commit-description",
        "From the CLI",
        token=owner.token,
    )
    assert set(api.list_repo_files(repo_name)) == {
        ".gitattributes",
        "config.json",
        "model/weights.bin",
        "model/sub/notes.txt",
    }
    [weights] = api.get_paths_info(repo_name, ["model/weights.bin"])
    assert weights.lfs is not None  # type: ignore[union-attr]
    last = api.list_repo_commits(repo_name)[0]
    assert (last.title, last.message, last.authors) == ("Add the model", "From the CLI", [owner.name])

    # --revision with a branch that does not exist yet: the CLI creates it from main.
    hf(
        "upload",
        repo_name,
        str(folder / "sub" / "notes.txt"),
        "on-branch.txt",
        "--revision",
        "experiment",
        token=owner.token,
    )
    assert "on-branch.txt" in api.list_repo_files(repo_name, revision="experiment")
    assert "model/weights.bin" in api.list_repo_files(repo_name, revision="experiment")
    assert "on-branch.txt" not in api.list_repo_files(repo_name)

    hf("upload", repo_name, str(folder / "skip.log"), "pr.log", "--create-pr", token=owner.token)
    assert "pr.log" in api.list_repo_files(repo_name, revision="refs/pr/1")

    hf(
        "upload",
        repo_name,
        str(tmp_path / "config.json"),
        "data.json",
        "--repo-type",
        "dataset",
        token=owner.token,
    )
    assert "data.json" in api.list_repo_files(repo_name, repo_type="dataset")


def test_upload_needs_write_access(api: HfApi, repo_name: str, other: Client, tmp_path: Path) -> None:
    api.create_repo(repo_name)
    (tmp_path / "x.txt").write_text("x")
    refused = hf("upload", repo_name, str(tmp_path / "x.txt"), token=other.token, ok=False)
    assert refused.returncode != 0
    assert "403" in refused.stdout + refused.stderr
    assert api.list_repo_files(repo_name) == [".gitattributes"]


def test_download_a_file_and_a_whole_repo(api: HfApi, repo_name: str, owner: Client, tmp_path: Path) -> None:
    api.create_repo(repo_name)
    weights = os.urandom(50_000)
    api.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id=repo_name)
    api.upload_file(path_or_fileobj=weights, path_in_repo="sub/weights.bin", repo_id=repo_name)
    env_cache = tmp_path / "cache"

    # One file: the CLI prints the path of the cached copy.
    out = hf(
        "download",
        repo_name,
        "config.json",
        "--cache-dir",
        str(env_cache),
        "--format",
        "quiet",
        token=owner.token,
    )
    printed = Path(out.stdout.strip().splitlines()[-1])
    assert printed.read_bytes() == b'{"a": 1}'
    assert env_cache in printed.parents

    local = tmp_path / "local"
    hf("download", repo_name, "--local-dir", str(local), token=owner.token)
    assert (local / "config.json").read_bytes() == b'{"a": 1}'
    assert (local / "sub" / "weights.bin").read_bytes() == weights
    assert (local / ".gitattributes").is_file()

    some = tmp_path / "some"
    hf("download", repo_name, "--include", "*.bin", "--local-dir", str(some), token=owner.token)
    assert sorted(
        p.relative_to(some).as_posix() for p in some.rglob("*") if p.is_file() and ".cache" not in p.parts
    ) == ["sub/weights.bin"]

    api.create_branch(repo_name, branch="old", revision=api.list_repo_commits(repo_name)[1].commit_id)
    old = tmp_path / "old"
    hf("download", repo_name, "--revision", "old", "--local-dir", str(old), token=owner.token)
    assert (old / "config.json").is_file() and not (old / "sub").exists()

    missing = hf(
        "download", repo_name, "missing.txt", "--local-dir", str(tmp_path / "m"), token=owner.token, ok=False
    )
    assert missing.returncode != 0
