"""Files and history through the real client (specs/hf-protocol.md §6): tree, paths-info, commits,
refs, branches, tags, super-squash and LFS file management."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download
from huggingface_hub.errors import (
    BadRequestError,
    EntryNotFoundError,
    HfHubHTTPError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import RepoFile, RepoFolder

from tests.compat.conftest import Client, LiveHub


def status_of(error: HfHubHTTPError) -> int:
    assert error.response is not None
    return error.response.status_code


def head(api: HfApi, repo: str, revision: str = "main") -> str:
    sha = api.repo_info(repo, revision=revision).sha
    assert sha is not None
    return sha


def populate(api: HfApi, repo: str) -> tuple[str, str]:
    """Two commits; returns their ids."""
    first = api.create_commit(
        repo,
        operations=[
            CommitOperationAdd("a.txt", b"a"),
            CommitOperationAdd("model.bin", b"weights"),
            CommitOperationAdd("dir/b.txt", b"b"),
        ],
        commit_message="First",
    ).oid
    second = api.create_commit(
        repo,
        operations=[CommitOperationAdd("dir/sub/c.bin", b"c weights")],
        commit_message="Second",
        commit_description="Adds c",
    ).oid
    return first, second


def object_ids(api: HfApi, repo: str) -> dict[str, str]:
    """Every path with its git object id: equal ids, equal trees."""
    return {
        e.path: e.blob_id if isinstance(e, RepoFile) else e.tree_id
        for e in api.list_repo_tree(repo, recursive=True)
    }


# --- tree and paths-info ---


def test_list_repo_tree(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    first, second = populate(api, repo_name)

    root = {e.path: e for e in api.list_repo_tree(repo_name)}
    assert set(root) == {".gitattributes", "a.txt", "model.bin", "dir"}
    assert isinstance(root["dir"], RepoFolder)
    a = root["a.txt"]
    assert isinstance(a, RepoFile)
    assert a.size == 1 and a.lfs is None and a.blob_id == hashlib.sha1(b"blob 1\x00a").hexdigest()
    model = root["model.bin"]
    assert isinstance(model, RepoFile) and model.lfs is not None
    assert model.lfs.sha256 == hashlib.sha256(b"weights").hexdigest()
    assert model.size == model.lfs.size == len(b"weights")
    assert 120 < model.lfs.pointer_size < 140

    recursive = {e.path: type(e) for e in api.list_repo_tree(repo_name, recursive=True)}
    assert recursive == {
        ".gitattributes": RepoFile,
        "a.txt": RepoFile,
        "model.bin": RepoFile,
        "dir": RepoFolder,
        "dir/b.txt": RepoFile,
        "dir/sub": RepoFolder,
        "dir/sub/c.bin": RepoFile,
    }
    assert {e.path for e in api.list_repo_tree(repo_name, path_in_repo="dir")} == {"dir/b.txt", "dir/sub"}
    assert {e.path for e in api.list_repo_tree(repo_name, path_in_repo="dir/sub")} == {"dir/sub/c.bin"}
    assert {e.path for e in api.list_repo_tree(repo_name, path_in_repo="dir", recursive=True)} == {
        "dir/b.txt",
        "dir/sub",
        "dir/sub/c.bin",
    }
    # At an older revision the tree is the one of that commit.
    assert {e.path for e in api.list_repo_tree(repo_name, path_in_repo="dir", revision=first)} == {
        "dir/b.txt"
    }

    expanded = {e.path: e for e in api.list_repo_tree(repo_name, recursive=True, expand=True)}
    for path in ("a.txt", "model.bin", "dir/b.txt"):
        last = expanded[path].last_commit
        assert last is not None and (last.oid, last.title) == (first, "First"), path
    for path in ("dir", "dir/sub", "dir/sub/c.bin"):
        last = expanded[path].last_commit
        assert last is not None and (last.oid, last.title) == (second, "Second"), path
    gitattributes = expanded[".gitattributes"].last_commit
    assert gitattributes is not None and gitattributes.title == "initial commit"

    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(repo_name, path_in_repo="missing"))
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(repo_name, path_in_repo="dir/sub", revision=first))
    with pytest.raises(RevisionNotFoundError):
        list(api.list_repo_tree(repo_name, revision="missing"))


def test_odd_names_and_revisions_in_tree_and_paths_info(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    folder = "dir with space/ü #?"
    api.create_branch(repo_name, branch="feature/x")
    api.create_commit(
        repo_name,
        operations=[
            CommitOperationAdd(f"{folder}/日本.txt", b"x"),
            CommitOperationAdd(f"{folder}/a%2Fb.txt", b"y"),
        ],
        commit_message="Odd names",
        revision="feature/x",
    )
    # The folder travels as one percent-encoded segment (slashes as %2F), the branch too.
    listed = {e.path for e in api.list_repo_tree(repo_name, path_in_repo=folder, revision="feature/x")}
    assert listed == {f"{folder}/日本.txt", f"{folder}/a%2Fb.txt"}
    assert {
        e.path for e in api.list_repo_tree(repo_name, path_in_repo="dir with space", revision="feature/x")
    } == {folder}
    info = api.get_paths_info(repo_name, [folder, f"{folder}/a%2Fb.txt"], revision="feature/x", expand=True)
    assert {e.path for e in info} == {folder, f"{folder}/a%2Fb.txt"}
    assert all(e.last_commit is not None and e.last_commit.title == "Odd names" for e in info)
    assert [c.title for c in api.list_repo_commits(repo_name, revision="feature/x")] == [
        "Odd names",
        "initial commit",
    ]
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(repo_name, path_in_repo=folder))  # not on main

    pr = api.upload_file(path_or_fileobj=b"p", path_in_repo="in pr/p.txt", repo_id=repo_name, create_pr=True)
    assert [e.path for e in api.list_repo_tree(repo_name, path_in_repo="in pr", revision="refs/pr/1")] == [
        "in pr/p.txt"
    ]
    [entry] = api.get_paths_info(repo_name, ["in pr/p.txt"], revision="refs/pr/1", expand=True)
    assert entry.last_commit is not None and entry.last_commit.oid == pr.oid


def test_tree_pagination_past_1000_entries(api: HfApi, repo_name: str, owner: Client) -> None:
    api.create_repo(repo_name)
    names = [f"many/f{i:04d}.txt" for i in range(1001)]
    api.create_commit(
        repo_name,
        operations=[CommitOperationAdd(n, n.encode()) for n in names],
        commit_message="1001 files at once",
    )
    api.upload_file(path_or_fileobj=b"late", path_in_repo="many/f0500.txt", repo_id=repo_name)

    listed = [e.path for e in api.list_repo_tree(repo_name, path_in_repo="many")]
    assert sorted(listed) == names
    assert len(set(listed)) == len(listed)  # pages neither overlap nor skip
    assert len(api.list_repo_files(repo_name)) == 1002

    # The server pages the listing itself, with an absolute Link to the next page.
    first_page = httpx.get(
        f"{api.endpoint}/api/models/{repo_name}/tree/main/many",
        headers={"Authorization": f"Bearer {owner.token}"},
    )
    assert len(first_page.json()) == 1000
    assert first_page.links["next"]["url"].startswith(api.endpoint + "/")

    # Expanded listings come in smaller pages; each entry still gets its own last commit.
    expanded = {
        e.path: e.last_commit for e in api.list_repo_tree(repo_name, path_in_repo="many", expand=True)
    }
    assert len(expanded) == 1001
    titles = {path: last.title for path, last in expanded.items() if last is not None}
    assert titles["many/f0500.txt"] == "Upload many/f0500.txt with huggingface_hub"
    assert titles["many/f0999.txt"] == "1001 files at once"
    assert len(titles) == 1001


def test_get_paths_info(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    first, second = populate(api, repo_name)
    entries = api.get_paths_info(repo_name, ["a.txt", "dir", "dir/sub/c.bin", "missing.txt", "dir/missing"])
    by_path = {e.path: e for e in entries}
    assert set(by_path) == {"a.txt", "dir", "dir/sub/c.bin"}  # missing paths are left out
    assert isinstance(by_path["dir"], RepoFolder)
    c = by_path["dir/sub/c.bin"]
    assert isinstance(c, RepoFile) and c.lfs is not None and c.last_commit is None

    expanded = {
        e.path: e for e in api.get_paths_info(repo_name, ["a.txt", "dir/sub/c.bin", "dir"], expand=True)
    }
    assert expanded["a.txt"].last_commit is not None
    assert expanded["a.txt"].last_commit.oid == first
    assert expanded["dir/sub/c.bin"].last_commit is not None
    assert expanded["dir/sub/c.bin"].last_commit.title == "Second"
    assert expanded["dir"].last_commit is not None and expanded["dir"].last_commit.oid == second

    at_first = api.get_paths_info(repo_name, ["dir/sub/c.bin", "a.txt"], revision=first)
    assert [e.path for e in at_first] == ["a.txt"]
    with pytest.raises(RevisionNotFoundError):
        api.get_paths_info(repo_name, ["a.txt"], revision="nope")


# --- commits and refs ---


def test_list_repo_commits(api: HfApi, repo_name: str, owner: Client) -> None:
    api.create_repo(repo_name)
    first, second = populate(api, repo_name)
    commits = api.list_repo_commits(repo_name)
    assert [c.title for c in commits] == ["Second", "First", "initial commit"]
    assert [c.commit_id for c in commits[:2]] == [second, first]
    assert commits[0].message == "Adds c"
    assert commits[0].authors == [owner.name]
    assert commits[0].created_at >= commits[1].created_at >= commits[2].created_at
    assert commits[0].formatted_title is None

    formatted = api.list_repo_commits(repo_name, formatted=True)
    assert formatted[0].formatted_title is not None and "Second" in formatted[0].formatted_title
    assert formatted[0].formatted_message is not None and "Adds c" in formatted[0].formatted_message

    assert [c.commit_id for c in api.list_repo_commits(repo_name, revision=first)] == [
        first,
        commits[2].commit_id,
    ]
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_commits(repo_name, revision="nope")


def test_list_repo_commits_follows_pages(api: HfApi, repo_name: str, owner: Client) -> None:
    api.create_repo(repo_name)
    for i in range(50):
        lines = [
            {"key": "header", "value": {"summary": f"commit {i}", "description": ""}},
            {"key": "file", "value": {"path": "n.txt", "content": base64.b64encode(b"%d" % i).decode()}},
        ]
        response = httpx.post(
            f"{api.endpoint}/api/models/{repo_name}/commit/main",
            content="\n".join(json.dumps(line) for line in lines),
            headers={"Authorization": f"Bearer {owner.token}", "Content-Type": "application/x-ndjson"},
        )
        assert response.status_code == 200
    commits = api.list_repo_commits(repo_name)
    assert [c.title for c in commits] == [f"commit {i}" for i in reversed(range(50))] + ["initial commit"]


def test_list_repo_refs(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    main = head(api, repo_name)
    api.create_branch(repo_name, branch="dev")
    api.create_tag(repo_name, tag="v1")
    pr = api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_name, create_pr=True)
    refs = api.list_repo_refs(repo_name)
    assert {(b.name, b.ref, b.target_commit) for b in refs.branches} == {
        ("main", "refs/heads/main", main),
        ("dev", "refs/heads/dev", main),
    }
    assert [(t.name, t.ref, t.target_commit) for t in refs.tags] == [("v1", "refs/tags/v1", main)]
    assert refs.converts == []
    assert refs.pull_requests is None
    with_prs = api.list_repo_refs(repo_name, include_pull_requests=True)
    assert [(p.name, p.ref, p.target_commit) for p in with_prs.pull_requests or []] == [
        ("refs/pr/1", "refs/pr/1", pr.oid)
    ]


# --- branches ---


def test_create_branch(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    first, second = populate(api, repo_name)
    api.create_tag(repo_name, tag="v1", revision=first)

    api.create_branch(repo_name, branch="from-main")
    assert head(api, repo_name, "from-main") == second
    api.create_branch(repo_name, branch="from-tag", revision="v1")
    assert head(api, repo_name, "from-tag") == first
    api.create_branch(repo_name, branch="from-sha", revision=first[:7])
    assert head(api, repo_name, "from-sha") == first
    pr = api.upload_file(path_or_fileobj=b"p", path_in_repo="p.txt", repo_id=repo_name, create_pr=True)
    api.create_branch(repo_name, branch="from-pr", revision="refs/pr/1")
    assert head(api, repo_name, "from-pr") == pr.oid
    api.create_branch(repo_name, branch="nested/name")
    assert head(api, repo_name, "nested/name") == second
    api.create_branch(repo_name, branch="v1")  # a branch may share a tag's name
    assert "v1" in {b.name for b in api.list_repo_refs(repo_name).branches}

    # A branch's files are its own: commits to it leave main alone.
    api.upload_file(
        path_or_fileobj=b"only here", path_in_repo="only.txt", repo_id=repo_name, revision="from-tag"
    )
    assert "only.txt" in api.list_repo_files(repo_name, revision="from-tag")
    assert "only.txt" not in api.list_repo_files(repo_name)
    assert head(api, repo_name) == second

    with pytest.raises(HfHubHTTPError) as exists:
        api.create_branch(repo_name, branch="from-main")
    assert status_of(exists.value) == 409
    assert "Reference refs/heads/from-main already exists" in str(exists.value)
    api.create_branch(repo_name, branch="from-main", exist_ok=True)
    api.create_branch(repo_name, branch="main", exist_ok=True)
    assert head(api, repo_name, "from-main") == second

    for bad in ("refs/pr/5", "bad..name", "ends.lock", "sp ace"):
        with pytest.raises(BadRequestError, match="Invalid reference for a branch"):
            api.create_branch(repo_name, branch=bad)
    with pytest.raises(RevisionNotFoundError):
        api.create_branch(repo_name, branch="from-nowhere", revision="nowhere")


def test_delete_branch(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    api.create_branch(repo_name, branch="dev")
    api.create_tag(repo_name, tag="v1")
    api.delete_branch(repo_name, branch="dev")
    assert [b.name for b in api.list_repo_refs(repo_name).branches] == ["main"]
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo_name, ".gitattributes", revision="dev", token=api.token)

    with pytest.raises(HfHubHTTPError) as main:
        api.delete_branch(repo_name, branch="main")
    assert status_of(main.value) == 403
    assert "Cannot delete refs/heads/main" in str(main.value)
    for missing in ("dev", "v1"):  # gone, and a tag that is no branch
        with pytest.raises(RevisionNotFoundError, match="Invalid rev id"):
            api.delete_branch(repo_name, branch=missing)


# --- tags ---


def test_create_tag(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    first, second = populate(api, repo_name)
    api.create_branch(repo_name, branch="dev", revision=first)
    pr = api.upload_file(path_or_fileobj=b"p", path_in_repo="p.txt", repo_id=repo_name, create_pr=True)

    api.create_tag(repo_name, tag="on-main")
    api.create_tag(repo_name, tag="on-branch", revision="dev")
    api.create_tag(repo_name, tag="on-short-sha", revision=first[:7])
    api.create_tag(repo_name, tag="on-pr", revision="refs/pr/1")
    api.create_tag(repo_name, tag="v1.0", tag_message="Release 1.0", revision=first)
    expected = {"on-main": second, "on-branch": first, "on-short-sha": first, "on-pr": pr.oid, "v1.0": first}
    for tag, sha in expected.items():
        assert api.model_info(repo_name, revision=tag).sha == sha, tag
    tags = {t.name: t.target_commit for t in api.list_repo_refs(repo_name).tags}
    assert tags == expected  # an annotated tag is listed with its commit

    with pytest.raises(HfHubHTTPError) as exists:
        api.create_tag(repo_name, tag="on-main", revision=first)
    assert status_of(exists.value) == 409
    api.create_tag(repo_name, tag="on-main", exist_ok=True)
    assert api.model_info(repo_name, revision="on-main").sha == second

    with pytest.raises(BadRequestError):
        api.create_tag(repo_name, tag="bad tag")
    # The revision is checked before the name.
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(repo_name, tag="bad tag", revision="missing")


def test_delete_tag(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    api.create_tag(repo_name, tag="v1")
    api.delete_tag(repo_name, tag="v1")
    assert api.list_repo_refs(repo_name).tags == []
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo_name, revision="v1")
    with pytest.raises(RevisionNotFoundError):
        api.delete_tag(repo_name, tag="v1")
    with pytest.raises(RevisionNotFoundError):
        api.delete_tag(repo_name, tag="main")
    assert [b.name for b in api.list_repo_refs(repo_name).branches] == ["main"]


# --- super-squash ---


def test_super_squash_history(api: HfApi, repo_name: str, owner: Client, tmp_path: Path) -> None:
    api.create_repo(repo_name)
    populate(api, repo_name)
    api.upload_file(path_or_fileobj=b"a2", path_in_repo="a.txt", repo_id=repo_name)
    api.create_branch(repo_name, branch="keep")
    before = object_ids(api, repo_name)
    history = api.list_repo_commits(repo_name)
    assert len(history) == 4

    api.super_squash_history(repo_name)
    squashed = api.list_repo_commits(repo_name)
    assert len(squashed) == 1
    assert squashed[0].title == "Super-squash branch 'main' using huggingface_hub"
    assert object_ids(api, repo_name) == before
    assert (
        Path(hf_hub_download(repo_name, "a.txt", token=owner.token, cache_dir=tmp_path)).read_bytes() == b"a2"
    )
    assert hf_hub_download(repo_name, "dir/sub/c.bin", token=owner.token, cache_dir=tmp_path)
    # Another branch keeps its history, and old commits stay reachable through it.
    assert [c.commit_id for c in api.list_repo_commits(repo_name, revision="keep")] == [
        c.commit_id for c in history
    ]

    api.upload_file(path_or_fileobj=b"k", path_in_repo="k.txt", repo_id=repo_name, revision="keep")
    api.super_squash_history(repo_name, branch="keep", commit_message="Fresh start")
    assert [c.title for c in api.list_repo_commits(repo_name, revision="keep")] == ["Fresh start"]
    assert len(api.list_repo_commits(repo_name)) == 1
    with pytest.raises(RevisionNotFoundError):
        api.super_squash_history(repo_name, branch="missing")

    # A pull request's history can be squashed too; its base branch is left alone.
    api.upload_file(path_or_fileobj=b"1", path_in_repo="p1.txt", repo_id=repo_name, create_pr=True)
    api.upload_file(path_or_fileobj=b"2", path_in_repo="p2.txt", repo_id=repo_name, revision="refs/pr/1")
    api.super_squash_history(repo_name, branch="refs/pr/1", commit_message="One PR commit")
    assert [c.title for c in api.list_repo_commits(repo_name, revision="refs/pr/1")] == ["One PR commit"]
    assert {"p1.txt", "p2.txt"} <= set(api.list_repo_files(repo_name, revision="refs/pr/1"))
    assert len(api.list_repo_commits(repo_name)) == 1


# --- LFS file management ---


@pytest.mark.usefixtures("lfs_uploads")  # its subject is the blob store
def test_list_and_permanently_delete_lfs_files(
    live_hub: LiveHub, api: HfApi, repo_name: str, owner: Client, other: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    contents = {"a.bin": b"first lfs", "dir/b.bin": b"second lfs", "c.bin": b"third lfs"}
    api.create_commit(
        repo_name,
        operations=[
            *(CommitOperationAdd(p, d) for p, d in contents.items()),
            CommitOperationAdd("r.txt", b"r"),
        ],
        commit_message="LFS files",
    )
    api.create_branch(repo_name, branch="old")
    api.upload_file(path_or_fileobj=b"after", path_in_repo="after.txt", repo_id=repo_name)

    listed = {f.filename: f for f in api.list_lfs_files(repo_name)}
    assert set(listed) == set(contents)
    for path, data in contents.items():
        assert listed[path].file_oid == hashlib.sha256(data).hexdigest()
        assert listed[path].size == len(data)
    with pytest.raises(HfHubHTTPError) as refused:
        list(HfApi(token=other.token).list_lfs_files(repo_name))
    assert status_of(refused.value) == 403

    doomed = listed["dir/b.bin"]
    [blob] = [p for p in (live_hub.data_dir / "blobs").rglob(doomed.file_oid) if p.is_file()]
    api.permanently_delete_lfs_files(repo_name, [doomed])

    assert {f.filename for f in api.list_lfs_files(repo_name)} == {"a.bin", "c.bin"}
    for revision in ("main", "old"):
        assert set(api.list_repo_files(repo_name, revision=revision)) >= {"a.bin", "c.bin", "r.txt"}
        assert "dir/b.bin" not in api.list_repo_files(repo_name, revision=revision)
        with pytest.raises(EntryNotFoundError):
            hf_hub_download(repo_name, "dir/b.bin", revision=revision, token=owner.token, cache_dir=tmp_path)
    assert not blob.exists()
    # Every other file and commit message survived the rewrite.
    assert [c.title for c in api.list_repo_commits(repo_name)] == [
        "Upload after.txt with huggingface_hub",
        "LFS files",
        "initial commit",
    ]
    got = hf_hub_download(repo_name, "a.bin", token=owner.token, cache_dir=tmp_path)
    assert Path(got).read_bytes() == b"first lfs"
