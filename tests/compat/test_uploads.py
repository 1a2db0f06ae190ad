"""Uploads through the real client: every commit operation, upload_file/upload_folder, pull requests,
parent_commit and path validation (specs/hf-protocol.md §4)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path

import httpx
import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
    HfApi,
    hf_hub_download,
)
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RevisionNotFoundError

from tests.compat.conftest import Client

MiB = 1024 * 1024
# A card with metadata: the client warns about (and warnings fail) a README without any.
CARD = b"---\nlicense: mit\n---\n"


def files(api: HfApi, repo: str, revision: str | None = None) -> set[str]:
    return set(api.list_repo_files(repo, revision=revision))


def read(repo: str, path: str, token: str, cache: Path, revision: str | None = None) -> bytes:
    return Path(hf_hub_download(repo, path, revision=revision, token=token, cache_dir=cache)).read_bytes()


def head(api: HfApi, repo: str, revision: str = "main") -> str:
    sha = api.repo_info(repo, revision=revision).sha
    assert sha is not None
    return sha


def status_of(error: HfHubHTTPError) -> int:
    assert error.response is not None
    return error.response.status_code


# --- create_commit, one operation kind at a time ---


def test_create_commit_adds_regular_and_lfs_files(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    config = b'{"hidden_size": 8}\n'
    weights = b"tiny weights that are LFS because of *.bin"
    # No NUL byte in it: LFS only because of its size (>= 10 MiB), not because it looks binary.
    big = b"0123456789abcdef" * (10 * MiB // 16)
    # Just under the threshold: a regular file, several MB of base64 inside the commit itself.
    medium = b"fedcba9876543210" * (10 * MiB // 16 - 1)
    info = api.create_commit(
        repo_name,
        operations=[
            CommitOperationAdd("config.json", config),
            CommitOperationAdd("weights.bin", weights),
            CommitOperationAdd("data/big.txt", big),
            CommitOperationAdd("data/medium.txt", medium),
        ],
        commit_message="Add the model",
        commit_description="Three files: one regular, two LFS.",
    )
    assert info.oid == head(api, repo_name)
    assert info.commit_url == f"{api.endpoint}/{repo_name}/commit/{info.oid}"
    assert info.pr_url is None

    by_path = {
        e.path: e
        for e in api.get_paths_info(
            repo_name, ["config.json", "weights.bin", "data/big.txt", "data/medium.txt"]
        )
    }
    assert by_path["data/medium.txt"].lfs is None  # type: ignore[union-attr]
    assert by_path["config.json"].lfs is None  # type: ignore[union-attr]
    weights_lfs = by_path["weights.bin"].lfs  # type: ignore[union-attr]
    assert weights_lfs is not None and weights_lfs.sha256 == hashlib.sha256(weights).hexdigest()
    big_lfs = by_path["data/big.txt"].lfs  # type: ignore[union-attr]
    assert big_lfs is not None and big_lfs.size == len(big)

    assert read(repo_name, "config.json", owner.token, tmp_path) == config
    assert read(repo_name, "weights.bin", owner.token, tmp_path) == weights
    assert read(repo_name, "data/big.txt", owner.token, tmp_path) == big
    assert read(repo_name, "data/medium.txt", owner.token, tmp_path) == medium

    last = api.list_repo_commits(repo_name)[0]
    assert last.commit_id == info.oid
    assert last.title == "Add the model"
    assert last.message == "Three files: one regular, two LFS."
    assert last.authors == [owner.name]


def test_adding_a_file_over_an_existing_one_replaces_it(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    api.upload_file(path_or_fileobj=b"v1", path_in_repo="a.txt", repo_id=repo_name)
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="a.txt", repo_id=repo_name)
    assert read(repo_name, "a.txt", owner.token, tmp_path) == b"v2"
    assert [c.title for c in api.list_repo_commits(repo_name)][:2] == [
        "Upload a.txt with huggingface_hub",
        "Upload a.txt with huggingface_hub",
    ]


def test_delete_a_file_and_a_folder(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    api.create_commit(
        repo_name,
        operations=[
            CommitOperationAdd("keep.txt", b"keep"),
            CommitOperationAdd("old.txt", b"old"),
            CommitOperationAdd("logs/a.txt", b"a"),
            CommitOperationAdd("logs/deep/b.bin", b"b"),
            CommitOperationAdd("checkpoints/1/c.txt", b"c"),
            CommitOperationAdd("checkpoints/2/d.txt", b"d"),
        ],
        commit_message="Set up",
    )
    api.create_commit(
        repo_name,
        operations=[
            CommitOperationDelete("old.txt"),
            CommitOperationDelete("logs/"),  # a folder, by its trailing slash
            # A folder named without its trailing slash is deleted too, as on huggingface.co.
            CommitOperationDelete("checkpoints/1", is_folder=False),
        ],
        commit_message="Clean up",
    )
    assert files(api, repo_name) == {".gitattributes", "keep.txt", "checkpoints/2/d.txt"}


def test_operations_apply_in_order(api: HfApi, repo_name: str, owner: Client, tmp_path: Path) -> None:
    api.create_repo(repo_name)
    api.create_commit(
        repo_name,
        operations=[CommitOperationAdd("run/a.txt", b"old a"), CommitOperationAdd("run/b.txt", b"old b")],
        commit_message="Set up",
    )
    # Delete a folder, then fill it again: the new files stay, the old ones go.
    api.create_commit(
        repo_name,
        operations=[CommitOperationDelete("run/"), CommitOperationAdd("run/a.txt", b"new a")],
        commit_message="Replace the run",
    )
    assert files(api, repo_name) == {".gitattributes", "run/a.txt"}
    assert read(repo_name, "run/a.txt", owner.token, tmp_path) == b"new a"


def test_deleting_a_missing_file_is_entry_not_found(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    before = head(api, repo_name)
    with pytest.raises(EntryNotFoundError) as caught:
        api.create_commit(
            repo_name,
            operations=[CommitOperationAdd("new.txt", b"x"), CommitOperationDelete("missing.txt")],
            commit_message="Delete what is not there",
        )
    assert "A file with this name doesn't exist" in str(caught.value)
    # The client appends its hint to the server's message.
    assert "differentiate file and folder paths" in str(caught.value)
    # The commit applied whole or not at all: the addition did not land either.
    assert head(api, repo_name) == before
    assert files(api, repo_name) == {".gitattributes"}

    with pytest.raises(EntryNotFoundError, match="A folder with this name doesn't exist"):
        api.create_commit(
            repo_name, operations=[CommitOperationDelete("nowhere/")], commit_message="Delete a folder"
        )


def test_copy_regular_and_lfs_files_within_the_repo(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    weights = b"\x00\x01 binary weights" * 100
    api.create_commit(
        repo_name,
        operations=[
            CommitOperationAdd("config.json", b'{"a": 1}'),
            CommitOperationAdd("model.bin", weights),
        ],
        commit_message="Set up",
    )
    api.create_commit(
        repo_name,
        operations=[
            CommitOperationCopy("config.json", "copies/config.json"),
            CommitOperationCopy("model.bin", "copies/model.bin"),
            # Copy then delete: how a client renames an LFS file without uploading it again.
            CommitOperationCopy("model.bin", "renamed.bin"),
            CommitOperationDelete("model.bin"),
        ],
        commit_message="Copy and rename",
    )
    assert files(api, repo_name) == {
        ".gitattributes",
        "config.json",
        "copies/config.json",
        "copies/model.bin",
        "renamed.bin",
    }
    assert read(repo_name, "copies/config.json", owner.token, tmp_path) == b'{"a": 1}'
    assert read(repo_name, "copies/model.bin", owner.token, tmp_path) == weights
    assert read(repo_name, "renamed.bin", owner.token, tmp_path) == weights
    entries = {e.path: e for e in api.get_paths_info(repo_name, ["copies/model.bin", "renamed.bin"])}
    for entry in entries.values():
        lfs = entry.lfs  # type: ignore[union-attr]
        assert lfs is not None and lfs.size == len(weights)
        assert lfs.sha256 == hashlib.sha256(weights).hexdigest()

    # Copying from an older revision brings back its content.
    first = api.list_repo_commits(repo_name)[1].commit_id
    api.create_commit(
        repo_name,
        operations=[CommitOperationCopy("model.bin", "restored.bin", src_revision=first)],
        commit_message="Restore",
    )
    assert read(repo_name, "restored.bin", owner.token, tmp_path) == weights


def test_copying_a_missing_file_fails_before_committing(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    before = head(api, repo_name)
    with pytest.raises(EntryNotFoundError, match=r"missing\.bin"):
        api.create_commit(
            repo_name, operations=[CommitOperationCopy("missing.bin", "b.bin")], commit_message="Copy"
        )
    assert head(api, repo_name) == before


# --- upload_file and upload_folder ---


def test_upload_file_from_bytes_a_path_and_a_file_object(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    local = tmp_path / "local.txt"
    local.write_text("from a path\n")
    url = api.upload_file(path_or_fileobj=b"from bytes", path_in_repo="bytes.txt", repo_id=repo_name)
    assert url.startswith(f"{api.endpoint}/{repo_name}/commit/")
    api.upload_file(path_or_fileobj=str(local), path_in_repo="sub/path.txt", repo_id=repo_name)
    # A binary file object goes through the LFS batch API even when it is small.
    api.upload_file(
        path_or_fileobj=io.BytesIO(b"from a file object"),
        path_in_repo="obj.bin",
        repo_id=repo_name,
        commit_message="Custom title",
        commit_description="Custom description",
    )
    assert files(api, repo_name) == {".gitattributes", "bytes.txt", "sub/path.txt", "obj.bin"}
    assert read(repo_name, "bytes.txt", owner.token, tmp_path) == b"from bytes"
    assert read(repo_name, "sub/path.txt", owner.token, tmp_path) == b"from a path\n"
    assert read(repo_name, "obj.bin", owner.token, tmp_path) == b"from a file object"
    commits = api.list_repo_commits(repo_name)
    assert [c.title for c in commits] == [
        "Custom title",
        "Upload sub/path.txt with huggingface_hub",
        "Upload bytes.txt with huggingface_hub",
        "initial commit",
    ]
    assert commits[0].message == "Custom description"


def test_upload_folder_with_allow_ignore_and_delete_patterns(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    api.create_commit(
        repo_name,
        operations=[
            CommitOperationAdd("old/stale.txt", b"stale"),
            CommitOperationAdd("logs/run1.log", b"log"),
            CommitOperationAdd("keep.md", b"# keep"),
        ],
        commit_message="Set up",
    )
    folder = tmp_path / "folder"
    (folder / "nested").mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"weights")
    (folder / "config.json").write_text("{}")
    (folder / "nested" / "notes.txt").write_text("notes")
    (folder / "nested" / "secret.txt").write_text("do not upload")
    (folder / "scratch.tmp").write_text("scratch")

    api.upload_folder(
        repo_id=repo_name,
        folder_path=folder,
        allow_patterns=["*.bin", "*.json", "nested/*"],
        ignore_patterns=["**/secret.txt"],
        delete_patterns=["*.log", "old/*"],
        commit_message="Folder upload",
    )
    assert files(api, repo_name) == {
        ".gitattributes",
        "keep.md",
        "model.bin",
        "config.json",
        "nested/notes.txt",
    }
    assert read(repo_name, "nested/notes.txt", owner.token, tmp_path) == b"notes"
    # Deletions and additions travel in one commit.
    assert [c.title for c in api.list_repo_commits(repo_name)][:2] == ["Folder upload", "Set up"]

    # Under a path_in_repo, patterns apply to paths relative to it.
    api.upload_folder(
        repo_id=repo_name,
        folder_path=folder / "nested",
        path_in_repo="sub",
        allow_patterns=["*.txt"],
        delete_patterns=["*.json"],
    )
    assert {f for f in files(api, repo_name) if f.startswith("sub/")} == {"sub/notes.txt", "sub/secret.txt"}
    assert "config.json" in files(api, repo_name)


def test_gitattributes_and_gitignore_rule_uploads(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    api.upload_file(path_or_fileobj=b"not a png", path_in_repo="before.png", repo_id=repo_name)
    attributes = (
        read(repo_name, ".gitattributes", owner.token, tmp_path)
        + b"*.png filter=lfs diff=lfs merge=lfs -text\n"
    )
    api.upload_file(path_or_fileobj=attributes, path_in_repo=".gitattributes", repo_id=repo_name)
    api.upload_file(path_or_fileobj=b"not a png", path_in_repo="after.png", repo_id=repo_name)
    by_path = {e.path: e for e in api.get_paths_info(repo_name, ["before.png", "after.png"])}
    assert by_path["before.png"].lfs is None  # type: ignore[union-attr]
    assert by_path["after.png"].lfs is not None  # type: ignore[union-attr]

    # A .gitignore in the same commit, or already in the repo, drops the files it ignores.
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / ".gitignore").write_text("*.log\n")
    (folder / "run.log").write_text("log")
    (folder / "kept.txt").write_text("kept")
    api.upload_folder(repo_id=repo_name, folder_path=folder)
    assert {".gitignore", "kept.txt"} <= set(api.list_repo_files(repo_name))
    assert "run.log" not in api.list_repo_files(repo_name)
    api.create_commit(
        repo_name,
        operations=[CommitOperationAdd("later.log", b"x"), CommitOperationAdd("later.txt", b"y")],
        commit_message="More",
    )
    assert "later.txt" in api.list_repo_files(repo_name)
    assert "later.log" not in api.list_repo_files(repo_name)


def test_an_unchanged_upload_is_skipped_by_the_client(api: HfApi, repo_name: str, tmp_path: Path) -> None:
    api.create_repo(repo_name)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("regular")
    (folder / "b.bin").write_bytes(b"lfs content")
    first = api.upload_folder(repo_id=repo_name, folder_path=folder)
    count = len(api.list_repo_commits(repo_name))

    # Preupload reports each file's current oid (git sha1 or sha256), so the client sees nothing new.
    again = api.upload_folder(repo_id=repo_name, folder_path=folder)
    assert again.oid == first.oid
    single = api.upload_file(path_or_fileobj=b"lfs content", path_in_repo="b.bin", repo_id=repo_name)
    assert single.oid == first.oid
    assert len(api.list_repo_commits(repo_name)) == count

    # One changed file among unchanged ones: only it is committed.
    (folder / "a.txt").write_text("changed")
    third = api.upload_folder(repo_id=repo_name, folder_path=folder)
    assert third.oid != first.oid
    expanded = {e.path: e for e in api.get_paths_info(repo_name, ["a.txt", "b.bin"], expand=True)}
    assert expanded["a.txt"].last_commit.oid == third.oid  # type: ignore[union-attr]
    assert expanded["b.bin"].last_commit.oid == first.oid  # type: ignore[union-attr]


def test_file_names_with_spaces_hashes_question_marks_and_unicode(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    names = {
        "with space.txt": b"space",
        "hash#tag.txt": b"hash",
        "question?.txt": b"question",
        "percent%20literal.txt": b"percent",
        "ünïcødé/日本語 ファイル.txt": b"unicode",
        "emoji 🤗.bin": b"emoji lfs",
    }
    api.create_commit(
        repo_name,
        operations=[CommitOperationAdd(name, data) for name, data in names.items()],
        commit_message="Odd names",
    )
    assert files(api, repo_name) == {".gitattributes", *names}
    for name, data in names.items():
        assert read(repo_name, name, owner.token, tmp_path) == data, name
    info = {e.path for e in api.get_paths_info(repo_name, list(names))}
    assert info == set(names)
    api.create_commit(
        repo_name,
        operations=[CommitOperationDelete("hash#tag.txt"), CommitOperationDelete("ünïcødé/")],
        commit_message="Delete some",
    )
    assert files(api, repo_name) == {".gitattributes", *names} - {
        "hash#tag.txt",
        "ünïcødé/日本語 ファイル.txt",
    }


def test_dataset_and_space_repos_take_uploads(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name, repo_type="dataset")
    api.create_repo(repo_name, repo_type="space", space_sdk="static")
    api.upload_file(
        path_or_fileobj=b"a,b\n1,2\n", path_in_repo="data/train.csv", repo_id=repo_name, repo_type="dataset"
    )
    api.upload_file(
        path_or_fileobj=b"<h1>hi</h1>", path_in_repo="index.html", repo_id=repo_name, repo_type="space"
    )
    got = hf_hub_download(
        repo_name, "data/train.csv", repo_type="dataset", token=owner.token, cache_dir=tmp_path
    )
    assert Path(got).read_bytes() == b"a,b\n1,2\n"
    assert "index.html" in api.list_repo_files(repo_name, repo_type="space")
    # The model namespace is separate: no such model exists.
    assert not api.repo_exists(repo_name)


# --- pull requests (create_pr) ---


def test_upload_file_with_create_pr_opens_refs_pr_1(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    main_before = head(api, repo_name)
    info = api.upload_file(
        path_or_fileobj=b"proposed", path_in_repo="proposal.txt", repo_id=repo_name, create_pr=True
    )
    assert info.pr_revision == "refs/pr/1"
    assert info.pr_num == 1
    assert info.pr_url == f"{api.endpoint}/{repo_name}/discussions/1"
    assert read(repo_name, "proposal.txt", owner.token, tmp_path, revision="refs/pr/1") == b"proposed"
    assert head(api, repo_name) == main_before
    assert "proposal.txt" not in files(api, repo_name)
    pr_commits = api.list_repo_commits(repo_name, revision="refs/pr/1")
    assert pr_commits[0].commit_id == info.oid
    assert pr_commits[1].commit_id == main_before

    second = api.create_commit(
        repo_name,
        operations=[CommitOperationAdd("model.bin", b"lfs in a pr")],
        commit_message="Second PR",
        create_pr=True,
    )
    assert second.pr_revision == "refs/pr/2"
    assert read(repo_name, "model.bin", owner.token, tmp_path, revision="refs/pr/2") == b"lfs in a pr"
    refs = api.list_repo_refs(repo_name, include_pull_requests=True)
    assert [r.ref for r in refs.pull_requests or []] == ["refs/pr/1", "refs/pr/2"]

    # A PR's ref takes further commits, like a branch.
    more = api.upload_file(
        path_or_fileobj=b"more", path_in_repo="more.txt", repo_id=repo_name, revision="refs/pr/1"
    )
    assert files(api, repo_name, revision="refs/pr/1") == {".gitattributes", "proposal.txt", "more.txt"}
    assert api.list_repo_commits(repo_name, revision="refs/pr/1")[0].commit_id == more.oid
    assert head(api, repo_name) == main_before


def test_pull_request_against_another_branch(
    api: HfApi, repo_name: str, owner: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    api.create_branch(repo_name, branch="dev")
    dev = api.upload_file(path_or_fileobj=b"dev", path_in_repo="dev.txt", repo_id=repo_name, revision="dev")
    info = api.upload_file(
        path_or_fileobj=b"pr", path_in_repo="pr.txt", repo_id=repo_name, revision="dev", create_pr=True
    )
    assert info.pr_revision == "refs/pr/1"
    assert files(api, repo_name, revision="refs/pr/1") == {".gitattributes", "dev.txt", "pr.txt"}
    assert api.list_repo_commits(repo_name, revision="refs/pr/1")[1].commit_id == dev.oid
    assert head(api, repo_name, "dev") == dev.oid


def test_pull_request_against_a_commit_or_a_missing_branch_is_revision_not_found(
    api: HfApi, repo_name: str
) -> None:
    api.create_repo(repo_name)
    sha = head(api, repo_name)
    for base in (sha, "no-such-branch"):
        with pytest.raises(RevisionNotFoundError):
            api.upload_file(
                path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_name, revision=base, create_pr=True
            )
    assert api.list_repo_refs(repo_name, include_pull_requests=True).pull_requests == []


def test_a_reader_opens_a_pull_request_but_cannot_push_to_main(
    api: HfApi, repo_name: str, other: Client, tmp_path: Path
) -> None:
    api.create_repo(repo_name)
    api.upload_file(path_or_fileobj=CARD + b"original", path_in_repo="README.md", repo_id=repo_name)
    main_before = head(api, repo_name)
    visitor = HfApi(token=other.token)

    with pytest.raises(HfHubHTTPError) as refused:
        visitor.upload_file(path_or_fileobj=CARD + b"vandalism", path_in_repo="README.md", repo_id=repo_name)
    assert status_of(refused.value) == 403

    info = visitor.create_commit(
        repo_name,
        operations=[
            CommitOperationAdd("README.md", CARD + b"improved"),
            CommitOperationAdd("extra.bin", b"an LFS file uploaded for a PR"),
        ],
        commit_message="Improve the card",
        create_pr=True,
    )
    assert info.pr_revision == "refs/pr/1"
    assert read(repo_name, "extra.bin", other.token, tmp_path, revision="refs/pr/1") == (
        b"an LFS file uploaded for a PR"
    )
    assert api.list_repo_commits(repo_name, revision="refs/pr/1")[0].authors == [other.name]
    # The PR's author may keep pushing to it; main is untouched.
    visitor.upload_file(
        path_or_fileobj=CARD + b"v2", path_in_repo="README.md", repo_id=repo_name, revision="refs/pr/1"
    )
    assert read(repo_name, "README.md", other.token, tmp_path, revision="refs/pr/1") == CARD + b"v2"
    assert head(api, repo_name) == main_before

    # A private repo stays invisible to them, PR or not.
    private = repo_name + "-private"
    api.create_repo(private, private=True)
    with pytest.raises(HfHubHTTPError) as hidden:
        visitor.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=private, create_pr=True)
    assert status_of(hidden.value) == 404


# --- parent_commit and path validation ---


def test_a_stale_parent_commit_is_refused_with_412(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    parent = head(api, repo_name)
    ok = api.upload_file(
        path_or_fileobj=b"1", path_in_repo="one.txt", repo_id=repo_name, parent_commit=parent
    )
    with pytest.raises(HfHubHTTPError) as caught:
        api.upload_file(path_or_fileobj=b"2", path_in_repo="two.txt", repo_id=repo_name, parent_commit=parent)
    assert status_of(caught.value) == 412
    assert "The branch was updated since you opened this page" in str(caught.value)
    assert head(api, repo_name) == ok.oid
    assert files(api, repo_name) == {".gitattributes", "one.txt"}

    # A pull request may start from an older commit of its base branch.
    pr = api.upload_file(
        path_or_fileobj=b"2", path_in_repo="two.txt", repo_id=repo_name, parent_commit=parent, create_pr=True
    )
    assert files(api, repo_name, revision=pr.pr_revision) == {".gitattributes", "two.txt"}


def test_committing_to_a_tag_or_a_commit_is_refused(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    sha = head(api, repo_name)
    api.create_tag(repo_name, tag="v1")
    for revision in ("v1", sha):
        with pytest.raises(HfHubHTTPError) as caught:
            api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_name, revision=revision)
        assert status_of(caught.value) == 400
    with pytest.raises(RevisionNotFoundError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_name, revision="missing")
    assert head(api, repo_name) == sha


def test_invalid_paths_are_refused_by_the_server(api: HfApi, repo_name: str, owner: Client) -> None:
    api.create_repo(repo_name)
    before = head(api, repo_name)
    # Paths the client lets through reach the server, which refuses them with 422.
    for path in ("..\\evil.txt", "a//b.txt", "dir/./b.txt"):
        with pytest.raises(HfHubHTTPError) as caught:
            api.upload_file(path_or_fileobj=b"x", path_in_repo=path, repo_id=repo_name)
        assert status_of(caught.value) == 422, path

    # The client refuses '..' and .git itself; the server must not rely on that.
    for path in ("../evil.txt", "a/../../evil.txt", "/etc/passwd", ".git/config", "a/.git/hooks/x", ".."):
        for line in (
            {
                "key": "file",
                "value": {"path": path, "content": base64.b64encode(b"x").decode(), "encoding": "base64"},
            },
            {"key": "deletedFile", "value": {"path": path}},
            {"key": "deletedFolder", "value": {"path": path}},
        ):
            response = _raw_commit(api.endpoint, repo_name, owner.token, [line])
            assert response.status_code == 422, (path, line["key"], response.text)
            assert response.json()["error"]
    assert head(api, repo_name) == before


def _raw_commit(endpoint: str, repo: str, token: str, lines: list[dict[str, object]]) -> httpx.Response:
    header = {"key": "header", "value": {"summary": "raw", "description": ""}}
    body = "\n".join(json.dumps(line) for line in [header, *lines]) + "\n"
    return httpx.post(
        f"{endpoint}/api/models/{repo}/commit/main",
        content=body.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
    )


def test_a_commit_with_an_lfs_object_never_uploaded_is_refused(
    api: HfApi, repo_name: str, owner: Client
) -> None:
    api.create_repo(repo_name)
    oid = hashlib.sha256(b"never uploaded").hexdigest()
    line = {"key": "lfsFile", "value": {"path": "ghost.bin", "algo": "sha256", "oid": oid, "size": 14}}
    response = _raw_commit(api.endpoint, repo_name, owner.token, [line])
    assert response.status_code == 422
    assert oid in response.json()["error"]
    assert files(api, repo_name) == {".gitattributes"}
