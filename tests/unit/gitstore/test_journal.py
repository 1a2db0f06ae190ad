"""The journal of ref moves: a move published with a database commit, and what a dead writer's
journal entry becomes (kept if its transaction committed, undone if not)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from commonshub.gitstore import GitRepo, GitStore, PutFile, RefConflict

MAIN = "refs/heads/main"


@pytest.fixture
def git(tmp_path: Path) -> GitRepo:
    return GitStore(tmp_path / "repos").create("0123456789abcdef01234567")


def commit(git: GitRepo, parent: str | None, name: str) -> str:
    blob = git.write_blob(name.encode())
    when = datetime(2026, 1, 1, tzinfo=UTC)
    return git.write_commit(
        parent, [PutFile(name, blob)], title=name, message="", author="a", email="a@x", when=when
    )


def dead_writer(git: GitRepo, ref: str, old: str | None, new: str | None, *, moved: bool) -> str:
    """What a writer killed while publishing leaves: its journal entry, and the ref moved or not."""
    move = git.new_move(ref, old, new)
    git.store.write_journal(git.uid, move)
    if moved:
        git.set_ref(ref, new)
    return move.token


def test_a_published_move_is_journaled_until_settled_and_retract_undoes_it(git: GitRepo) -> None:
    base = commit(git, None, "a")
    git.set_ref(MAIN, base)
    new = commit(git, base, "b")
    staged = git.stage_ref(git.new_move(MAIN, base, new))
    staged.publish()
    assert git.ref_target(MAIN) == new
    assert [move.token for _, move in git.store.journal_entries(git.uid)] == [staged.move.token]
    staged.retract()
    staged.settle()
    assert git.ref_target(MAIN) == base
    assert git.store.journal_entries() == []


def test_publishing_a_move_from_the_wrong_place_is_refused_and_journals_nothing(git: GitRepo) -> None:
    base = commit(git, None, "a")
    git.set_ref(MAIN, base)
    other = commit(git, base, "b")
    with pytest.raises(RefConflict):
        git.stage_ref(git.new_move(MAIN, other, commit(git, other, "c"))).publish()
    assert git.ref_target(MAIN) == base
    assert git.store.journal_entries() == []


@pytest.mark.parametrize("moved", [True, False])
def test_an_uncommitted_move_is_undone(git: GitRepo, moved: bool) -> None:
    base = commit(git, None, "a")
    git.set_ref(MAIN, base)
    dead_writer(git, MAIN, base, commit(git, base, "b"), moved=moved)
    assert git.settle_orphaned_moves(committed=set()) == 1
    assert git.ref_target(MAIN) == base
    assert git.store.journal_entries() == []


@pytest.mark.parametrize("moved", [True, False])
def test_a_committed_move_is_kept_or_completed(git: GitRepo, moved: bool) -> None:
    base = commit(git, None, "a")
    git.set_ref(MAIN, base)
    new = commit(git, base, "b")
    token = dead_writer(git, MAIN, base, new, moved=moved)
    assert git.settle_orphaned_moves(committed={token}) == 1
    assert git.ref_target(MAIN) == new
    assert git.store.journal_entries() == []


def test_uncommitted_creation_and_deletion_of_a_ref_are_undone(git: GitRepo) -> None:
    base = commit(git, None, "a")
    git.set_ref(MAIN, base)
    git.set_ref("refs/heads/old", base)
    dead_writer(git, "refs/pr/1", None, commit(git, base, "pr"), moved=True)
    dead_writer(git, "refs/heads/old", base, None, moved=True)
    assert git.settle_orphaned_moves(committed=set()) == 2
    assert git.ref_target("refs/pr/1") is None
    assert git.ref_target("refs/heads/old") == base


def test_a_ref_moved_again_since_is_left_where_the_later_writer_put_it(git: GitRepo) -> None:
    base = commit(git, None, "a")
    git.set_ref(MAIN, base)
    dead_writer(git, MAIN, base, commit(git, base, "b"), moved=True)
    later = commit(git, base, "c")
    git.set_ref(MAIN, later)
    git.settle_orphaned_moves(committed=set())
    assert git.ref_target(MAIN) == later


def test_a_half_written_journal_entry_is_dropped(git: GitRepo) -> None:
    (git.store.root / "journal" / f"{git.uid}.{'0' * 32}.json").write_text('{"ref": "refs/hea')
    assert git.store.journal_entries(git.uid) == []
    assert list((git.store.root / "journal").iterdir()) == []
