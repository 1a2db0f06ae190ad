"""Commits built from changes: a file and a folder of the same name replace each other."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from commonshub.errors import EntryNotFound
from commonshub.gitstore import Change, DeleteFolder, DeletePath, GitRepo, GitStore, PutFile


@pytest.fixture
def git(tmp_path: Path) -> GitRepo:
    return GitStore(tmp_path / "repos").create("0123456789abcdef01234567")


def commit(git: GitRepo, parent: str | None, *changes: Change) -> str:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return git.write_commit(parent, changes, title="t", message="", author="alice", email="a@x", when=when)


def put(git: GitRepo, path: str, data: bytes = b"x") -> PutFile:
    return PutFile(path, git.write_blob(data))


def files(git: GitRepo, sha: str) -> dict[str, bytes]:
    return {f.path: git.read_blob(f.oid) for f in git.files(sha)}


@pytest.fixture
def base(git: GitRepo) -> str:
    # `.gitattributes` sorts before `a`: the position in which libgit2 alone loses a new file.
    return commit(
        git, None, put(git, ".gitattributes"), put(git, "a/x.txt", b"1"), put(git, "a/b/y.txt", b"2")
    )


def test_a_file_replaces_a_folder_of_its_name(git: GitRepo, base: str) -> None:
    sha = commit(git, base, put(git, "a", b"now a file"))
    assert files(git, sha) == {".gitattributes": b"x", "a": b"now a file"}


def test_a_file_replaces_a_nested_folder(git: GitRepo, base: str) -> None:
    sha = commit(git, base, put(git, "a/b", b"file"))
    assert files(git, sha) == {".gitattributes": b"x", "a/x.txt": b"1", "a/b": b"file"}


def test_a_folder_replaces_a_file_of_its_name(git: GitRepo) -> None:
    first = commit(git, None, put(git, ".gitattributes"), put(git, "a", b"file"), put(git, "z"))
    sha = commit(git, first, put(git, "a/new.txt", b"n"))
    assert files(git, sha) == {".gitattributes": b"x", "a/new.txt": b"n", "z": b"x"}


def test_within_one_commit_the_later_change_wins(git: GitRepo, base: str) -> None:
    sha = commit(git, base, put(git, "q/r/s", b"1"), put(git, "q", b"2"), put(git, "q/t", b"3"))
    assert {p: d for p, d in files(git, sha).items() if p.startswith("q")} == {"q/t": b"3"}
    sha = commit(git, base, put(git, "a/c.txt", b"3"), put(git, "a", b"file"))
    assert files(git, sha) == {".gitattributes": b"x", "a": b"file"}


def test_deleting_a_file_name_deletes_the_folder(git: GitRepo, base: str) -> None:
    sha = commit(git, base, DeletePath("a"))
    assert files(git, sha) == {".gitattributes": b"x"}


def test_deleting_what_is_not_there(git: GitRepo, base: str) -> None:
    with pytest.raises(EntryNotFound, match="A file with this name doesn't exist: nope"):
        commit(git, base, DeletePath("nope"))
    with pytest.raises(EntryNotFound, match="A folder with this name doesn't exist"):
        commit(git, base, DeleteFolder("a/x.txt"))
