"""Discussions and pull requests through the real client (specs/hf-protocol.md §7).

Every `HfApi` discussion method, as a user of huggingface.co calls it, against the live hub; two
users, so that who may do what is what the client sees.
"""

from __future__ import annotations

import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.community import DiscussionComment, DiscussionCommit, DiscussionStatusChange
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.compat.conftest import Client


def status_of(error: HfHubHTTPError) -> int:
    assert error.response is not None
    return int(error.response.status_code)


def head(api: HfApi, repo_id: str, revision: str = "main") -> str:
    sha = api.repo_info(repo_id, revision=revision).sha
    assert sha is not None
    return sha


def files(api: HfApi, repo_id: str, revision: str = "main") -> set[str]:
    return set(api.list_repo_files(repo_id, revision=revision))


@pytest.fixture
def visitor(other: Client) -> HfApi:
    return HfApi(token=other.token)


def test_discussions_open_comment_edit_hide_rename_and_close(
    api: HfApi, visitor: HfApi, repo_name: str, owner: Client, other: Client
) -> None:
    api.create_repo(repo_name)
    discussion = visitor.create_discussion(repo_name, "  A question  ", description="Does it *work*?")
    assert discussion.num == 1 and discussion.title == "A question"
    assert discussion.author == other.name and discussion.status == "open"
    assert not discussion.is_pull_request and discussion.repo_id == repo_name
    assert discussion.url == f"{api.endpoint}/{repo_name}/discussions/1"
    assert len(discussion.events) == 1
    first = discussion.events[0]
    assert isinstance(first, DiscussionComment) and first.content == "Does it *work*?"
    assert first.rendered == "<p>Does it <em>work</em>?</p>\n"

    reply = api.comment_discussion(repo_name, 1, "Yes <script>alert(1)</script>")
    assert reply.author == owner.name and "<script>" not in reply.rendered
    details = api.get_discussion_details(repo_name, 1)
    assert [e.id for e in details.events] == [first.id, reply.id]

    edited = visitor.edit_discussion_comment(repo_name, 1, first.id, "Does it work **now**?")
    assert edited.id == first.id and edited.edited and edited.content == "Does it work **now**?"
    assert [h["raw"] for h in edited.edit_history] == ["Does it work **now**?", "Does it *work*?"]
    assert edited.last_edited_by == other.name
    assert api.get_discussion_details(repo_name, 1).events[0] == edited

    with pytest.warns(UserWarning, match="irreversible"):
        hidden = api.hide_discussion_comment(repo_name, 1, reply.id)
    assert hidden.hidden and hidden.id == reply.id

    renamed = visitor.rename_discussion(repo_name, 1, "A better question")
    assert (renamed.old_title, renamed.new_title) == ("A question", "A better question")
    closed = visitor.change_discussion_status(repo_name, 1, "closed", comment="Answered, thanks")
    assert isinstance(closed, DiscussionStatusChange) and closed.new_status == "closed"
    details = api.get_discussion_details(repo_name, 1)
    assert details.status == "closed" and details.title == "A better question"
    assert [e.type for e in details.events] == [
        "comment",
        "comment",
        "title-change",
        "comment",
        "status-change",
    ]
    reopened = api.change_discussion_status(repo_name, 1, "open")
    assert reopened.new_status == "open" and reopened.author == owner.name


def test_listing_filters_order_and_pages(api: HfApi, visitor: HfApi, repo_name: str, other: Client) -> None:
    api.create_repo(repo_name)
    api.create_pull_request(repo_name, "An empty draft")  # 1
    for i in range(54):  # 2..55: more than one page
        (visitor if i % 3 == 0 else api).create_discussion(repo_name, f"Discussion {i}")
    api.change_discussion_status(repo_name, 2, "closed")

    everything = list(api.get_repo_discussions(repo_name))
    assert [d.num for d in everything] == list(range(55, 0, -1))  # newest first, past page one
    # A draft pull request is open; closed means closed.
    opened = list(
        api.get_repo_discussions(repo_name, discussion_type="pull_request", discussion_status="open")
    )
    assert [(d.num, d.status, d.is_pull_request) for d in opened] == [(1, "draft", True)]
    assert [d.num for d in api.get_repo_discussions(repo_name, discussion_status="closed")] == [2]
    only_discussions = list(api.get_repo_discussions(repo_name, discussion_type="discussion"))
    assert len(only_discussions) == 54 and not any(d.is_pull_request for d in only_discussions)
    by_other = list(api.get_repo_discussions(repo_name, author=other.name))
    assert len(by_other) == 18 and {d.author for d in by_other} == {other.name}
    assert list(api.get_repo_discussions(repo_name, author="nobody-at-all")) == []


def test_create_pull_request_then_commit_and_merge(
    api: HfApi, visitor: HfApi, repo_name: str, other: Client
) -> None:
    api.create_repo(repo_name)
    api.upload_file(path_or_fileobj=b"# notes\n", path_in_repo="notes.md", repo_id=repo_name)
    main = head(api, repo_name)
    pr = visitor.create_pull_request(repo_name, "Add weights", description="Adds them")
    assert pr.is_pull_request and pr.status == "draft" and pr.author == other.name
    assert (
        pr.target_branch == "refs/heads/main" and pr.conflicting_files == [] and pr.merge_commit_oid is None
    )
    assert pr.git_reference == "refs/pr/1"
    # The ref exists at once, at main's head.
    assert head(api, repo_name, "refs/pr/1") == main

    commit = visitor.create_commit(
        repo_name,
        operations=[
            CommitOperationAdd("weights.bin", b"\x00binary weights"),
            CommitOperationAdd("a.txt", b"a\n"),
        ],
        commit_message="Upload weights",
        revision="refs/pr/1",
    )
    details = api.get_discussion_details(repo_name, 1)
    assert details.status == "open"
    last = details.events[-1]
    assert isinstance(last, DiscussionCommit) and (last.summary, last.oid) == ("Upload weights", commit.oid)
    assert details.diff is not None and "+++ b/a.txt" in details.diff and "+a" in details.diff
    assert "weights.bin" in details.diff  # an LFS pointer, diffed like any file

    # The other user may not merge; the owner may.
    with pytest.raises(HfHubHTTPError) as refused:
        visitor.merge_pull_request(repo_name, 1)
    assert status_of(refused.value) == 403
    api.merge_pull_request(repo_name, 1, comment="Thanks!")
    merged = api.get_discussion_details(repo_name, 1)
    assert merged.status == "merged" and merged.merge_commit_oid == head(api, repo_name)
    assert isinstance(merged.events[-1], DiscussionStatusChange) and merged.events[-1].new_status == "merged"
    assert files(api, repo_name) == {".gitattributes", "notes.md", "weights.bin", "a.txt"}
    assert api.list_repo_commits(repo_name)[0].title == "Add weights"
    assert [d.status for d in api.get_repo_discussions(repo_name, discussion_status="closed")] == ["merged"]
    # Merged: no more commits.
    with pytest.raises(HfHubHTTPError) as late:
        visitor.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_name, revision="refs/pr/1"
        )
    assert status_of(late.value) == 400


def test_create_commit_with_create_pr_opens_a_pull_request_its_author_pushes_to(
    api: HfApi, visitor: HfApi, repo_name: str, other: Client
) -> None:
    api.create_repo(repo_name)
    info = visitor.create_commit(
        repo_name,
        operations=[CommitOperationAdd("proposal.txt", b"v1")],
        commit_message="Propose a file",
        commit_description="Here is why.",
        create_pr=True,
    )
    assert info.pr_num == 1
    pr = api.get_discussion_details(repo_name, 1)
    assert pr.is_pull_request and pr.status == "open" and pr.title == "Propose a file"
    assert pr.author == other.name
    comment, commit = pr.events
    assert isinstance(comment, DiscussionComment) and comment.content == "Here is why."
    assert isinstance(commit, DiscussionCommit) and commit.oid == info.oid
    assert api.repo_info(repo_name, revision="refs/pr/1").sha == info.oid

    more = visitor.upload_file(
        path_or_fileobj=b"v2", path_in_repo="proposal.txt", repo_id=repo_name, revision="refs/pr/1"
    )
    events = api.get_discussion_details(repo_name, 1).events
    assert [e.type for e in events] == ["comment", "commit", "commit"]
    assert isinstance(events[-1], DiscussionCommit) and events[-1].oid == more.oid
    # Someone else's pull request takes no commits from the other user.
    api.create_commit(
        repo_name, operations=[CommitOperationAdd("mine.txt", b"m")], commit_message="Mine", create_pr=True
    )
    with pytest.raises(HfHubHTTPError) as refused:
        visitor.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_name, revision="refs/pr/2"
        )
    assert status_of(refused.value) == 403


def test_a_merge_conflict_is_a_409_and_main_is_unchanged(api: HfApi, repo_name: str) -> None:
    api.create_repo(repo_name)
    api.upload_file(path_or_fileobj=b"base\n", path_in_repo="config.txt", repo_id=repo_name)
    for value in (b"one\n", b"two\n"):
        api.upload_file(path_or_fileobj=value, path_in_repo="config.txt", repo_id=repo_name, create_pr=True)
    api.merge_pull_request(repo_name, 1)
    main = head(api, repo_name)
    assert api.get_discussion_details(repo_name, 2).conflicting_files == ["config.txt"]
    with pytest.raises(HfHubHTTPError) as conflict:
        api.merge_pull_request(repo_name, 2)
    assert status_of(conflict.value) == 409
    assert "config.txt" in str(conflict.value)
    assert head(api, repo_name) == main
    assert api.get_discussion_details(repo_name, 2).status == "open"


def test_what_others_and_anonymous_callers_may_do(
    api: HfApi, visitor: HfApi, repo_name: str, owner: Client
) -> None:
    api.create_repo(repo_name)
    api.create_discussion(repo_name, "The owner's")
    # Others may comment on it, but not rename or close it.
    visitor.comment_discussion(repo_name, 1, "A comment from someone else")
    for attempt in (
        lambda: visitor.rename_discussion(repo_name, 1, "Hijacked"),
        lambda: visitor.change_discussion_status(repo_name, 1, "closed"),
    ):
        with pytest.raises(HfHubHTTPError) as refused:
            attempt()
        assert status_of(refused.value) == 403
    assert api.get_discussion_details(repo_name, 1).title == "The owner's"
    # Anonymous callers read, but must log in to write.
    anonymous = HfApi(token=False)
    assert [d.num for d in anonymous.get_repo_discussions(repo_name)] == [1]
    with pytest.raises(HfHubHTTPError) as unauthenticated:
        anonymous.create_discussion(repo_name, "Anonymous", token=False)
    assert status_of(unauthenticated.value) == 401
    with pytest.raises(HfHubHTTPError) as unauthenticated:
        anonymous.comment_discussion(repo_name, 1, "x", token=False)
    assert status_of(unauthenticated.value) == 401
    # A private repo's discussions do not exist for others.
    private = repo_name + "-private"
    api.create_repo(private, private=True)
    api.create_discussion(private, "Secret")
    with pytest.raises(RepositoryNotFoundError):
        visitor.get_discussion_details(private, 1)
    with pytest.raises(RepositoryNotFoundError):
        list(visitor.get_repo_discussions(private))
