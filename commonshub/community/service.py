"""Discussions and pull requests: threads, their events, and merging (specs/hf-protocol.md §7).

Who may do what: anyone who may read a repo reads its discussions; opening and commenting is
`repo:discuss`; the author of a discussion renames it and changes its status, the author of a
comment edits and hides it, and repo writers may do all of these; merging is for writers only.

A pull request is a discussion with a git ref, `refs/pr/N`. Merging applies the changes of the pull
request since its merge base with the target branch onto the branch's current head (a three-way
merge by tree, in memory), as one new commit whose only parent is that head: the branch's history
stays linear, like a squash merge. It runs under the repo lock, so concurrent merges queue up and
each sees the branch as the previous one left it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import attributes

from commonshub.accounts.permissions import allowed
from commonshub.community import schemas
from commonshub.errors import BadRequest, Conflict, NotFound
from commonshub.gitstore import GitRepo
from commonshub.hub import Context
from commonshub.markdown import render_markdown
from commonshub.models import Account, Discussion, DiscussionEvent, Repo, utcnow
from commonshub.repos import service as repos
from commonshub.responses import format_date

PAGE_SIZE = 50
MAX_TITLE = 200
MAX_COMMENT = 65_536
# Numbers are INTEGER columns; anything beyond names no discussion (and must not reach the database).
MAX_NUM = 2**31 - 1
TYPES = ("all", "discussion", "pull_request")
STATUS_FILTERS = ("all", "open", "closed")
_EVENT_ID = re.compile(r"[0-9a-f]{24}")


# --- input ---


def text_field(body: dict[str, Any], key: str, *, max_length: int, required: bool = True) -> str:
    """A string field of a request body: present (if `required`), not blank, storable."""
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"`{key}` must be a string")
    if required and not value.strip():
        raise BadRequest(f"`{key}` must not be empty")
    if len(value) > max_length:
        raise BadRequest(f"`{key}` is longer than {max_length} characters")
    if "\x00" in value:  # PostgreSQL cannot store NUL in text
        raise BadRequest(f"`{key}` must not contain NUL characters")
    return value


def parse_num(value: str) -> int:
    """A discussion number from a URL; anything that is not one names no discussion (404)."""
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= MAX_NUM:
        raise NotFound(f"Discussion {value} not found")
    return int(value)


# --- reading ---


def authors_by_id(ctx: Context, ids: set[int]) -> dict[int, Account]:
    if not ids:
        return {}
    return {a.id: a for a in ctx.session.scalars(select(Account).where(Account.id.in_(ids)))}


def get(ctx: Context, repo: Repo, num: int, *, fresh: bool = False) -> Discussion:
    """Discussion `num` of `repo`, or a 404. `fresh`: re-read it (after taking the repo lock)."""
    statement = select(Discussion).where(Discussion.repo_id == repo.id, Discussion.num == num)
    if fresh:
        statement = statement.execution_options(populate_existing=True)
    found = ctx.session.scalar(statement)
    if found is None:
        raise NotFound(f"Discussion #{num} not found in {repo.repo_id}")
    return found


def pull_request(ctx: Context, repo: Repo, num: int) -> Discussion | None:
    found = ctx.session.scalar(
        select(Discussion)
        .where(Discussion.repo_id == repo.id, Discussion.num == num, Discussion.is_pull_request)
        .execution_options(populate_existing=True)
    )
    return found


def _num_comments(ctx: Context, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    rows = ctx.session.execute(
        select(DiscussionEvent.discussion_id, func.count())
        .where(DiscussionEvent.discussion_id.in_(ids), DiscussionEvent.type == "comment")
        .group_by(DiscussionEvent.discussion_id)
    )
    return {discussion_id: int(count) for discussion_id, count in rows}


def list_discussions(
    ctx: Context, repo: Repo, *, page: str | None, kind: str | None, status: str | None, author: str | None
) -> dict[str, Any]:
    """One page of a repo's discussions, newest first, with the totals the client pages by."""
    try:
        p = int(page) if page not in (None, "") else 0
    except ValueError:
        raise BadRequest("`p` must be a page number (0, 1, …)") from None
    if p < 0:
        raise BadRequest("`p` must be a page number (0, 1, …)")
    kind = kind or "all"
    status = status or "all"
    if kind not in TYPES:
        raise BadRequest(f"`type` must be one of {', '.join(TYPES)}")
    if status not in STATUS_FILTERS:
        raise BadRequest(f"`status` must be one of {', '.join(STATUS_FILTERS)}")
    conditions: list[ColumnElement[bool]] = [Discussion.repo_id == repo.id]
    if kind != "all":
        conditions.append(Discussion.is_pull_request == (kind == "pull_request"))
    if author:
        account = (
            ctx.session.scalar(select(Account.id).where(Account.name_key == author.lower()))
            if "\x00" not in author  # PostgreSQL refuses NUL in a parameter; no name has one
            else None
        )
        conditions.append(Discussion.author_id == account if account is not None else Discussion.id.is_(None))
    closed = Discussion.status.in_(("closed", "merged"))  # merged pull requests count as closed
    num_closed = ctx.session.scalar(select(func.count()).where(*conditions, closed)) or 0
    if status == "open":
        conditions.append(Discussion.status.in_(("open", "draft")))
    elif status == "closed":
        conditions.append(closed)
    count = ctx.session.scalar(select(func.count()).select_from(Discussion).where(and_(*conditions))) or 0
    # A page past the end starts at the end: an absurd page number reaches neither the database's
    # integer limits nor JSON's.
    start = min(p * PAGE_SIZE, count)
    rows: list[Discussion] = []
    if start < count:
        rows = list(
            ctx.session.scalars(
                select(Discussion)
                .where(*conditions)
                .order_by(Discussion.num.desc())
                .offset(start)
                .limit(PAGE_SIZE)
            )
        )
    authors = authors_by_id(ctx, {d.author_id for d in rows if d.author_id is not None})
    comments = _num_comments(ctx, [d.id for d in rows])
    return {
        "discussions": [
            schemas.discussion_json(authors, repo, d, num_comments=comments.get(d.id, 0)) for d in rows
        ],
        "count": count,
        "start": start,
        "numClosedDiscussions": num_closed,
    }


def _events(ctx: Context, discussion: Discussion) -> list[DiscussionEvent]:
    return list(
        ctx.session.scalars(
            select(DiscussionEvent)
            .where(DiscussionEvent.discussion_id == discussion.id)
            .order_by(DiscussionEvent.id)
        )
    )


def _base(git: GitRepo, discussion: Discussion) -> tuple[str | None, str | None, str | None]:
    """A pull request's head, the head of its target branch, and their merge base."""
    head = git.ref_target(f"refs/pr/{discussion.num}")
    target = git.ref_target(discussion.target_branch)
    base = git.merge_base(target, head) if head and target else None
    return head, target, base


def details(ctx: Context, repo: Repo, num: int, *, diff: bool) -> dict[str, Any]:
    discussion = get(ctx, repo, num)
    events = _events(ctx, discussion)
    authors = authors_by_id(
        ctx,
        schemas.event_author_ids(events) | ({discussion.author_id} if discussion.author_id else set()),
    )
    out = schemas.discussion_json(
        authors, repo, discussion, num_comments=sum(e.type == "comment" for e in events)
    )
    out["events"] = [schemas.event_json(authors, e) for e in events]
    if discussion.is_pull_request:
        changes: dict[str, Any] = {"base": discussion.target_branch}
        if discussion.merge_commit_oid:
            changes["mergeCommitId"] = discussion.merge_commit_oid
        out["changes"] = changes
        out["filesWithConflicts"] = []
        git = repos.open_git(ctx, repo)
        head, target, base = _base(git, discussion)
        if discussion.status in ("draft", "open") and head and target:
            out["filesWithConflicts"] = list(git.merge(base, target, head).conflicts)
        if diff and head:
            out["diff"] = git.diff(base if base is not None else target, head)
    return out


# --- writing ---


def next_number(ctx: Context, repo: Repo) -> int:
    """The repo's next discussion number (pull requests share it). Callers hold the repo lock.

    Incremented in the database, not on the repo object read before the lock: on PostgreSQL
    another writer may have taken a number since that read.
    """
    num = ctx.session.execute(
        update(Repo)
        .where(Repo.id == repo.id)
        .values(discussion_count=Repo.discussion_count + 1)
        .returning(Repo.discussion_count)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    attributes.set_committed_value(repo, "discussion_count", num)
    return int(num)


def _revision(ctx: Context, raw: str) -> dict[str, Any]:
    return {
        "raw": raw,
        "html": render_markdown(raw),
        "updatedAt": format_date(utcnow()),
        "authorId": ctx.identity.user_id,
    }


def _add_event(ctx: Context, discussion: Discussion, kind: str, data: dict[str, Any]) -> DiscussionEvent:
    event = DiscussionEvent(
        discussion_id=discussion.id, type=kind, author_id=ctx.identity.user_id, data=data, created_at=utcnow()
    )
    ctx.session.add(event)
    ctx.session.flush()
    return event


def _add_comment(ctx: Context, discussion: Discussion, raw: str) -> DiscussionEvent:
    return _add_event(ctx, discussion, "comment", {"history": [_revision(ctx, raw)]})


def _new_discussion(
    ctx: Context,
    repo: Repo,
    num: int,
    title: str,
    *,
    pull_request: bool,
    status: str,
    target: str = repos.MAIN,
) -> Discussion:
    discussion = Discussion(
        repo_id=repo.id,
        num=num,
        title=title,
        author_id=ctx.identity.user_id,
        is_pull_request=pull_request,
        status=status,
        target_branch=target,
        pinned=False,
        created_at=utcnow(),
    )
    ctx.session.add(discussion)
    ctx.session.flush()
    return discussion


def create(ctx: Context, repo: Repo, title: str, description: str, *, pull_request: bool) -> Discussion:
    """Open a discussion, or an empty pull request: `refs/pr/N` at the head of main, as a draft."""
    repos.require(ctx, "repo:discuss", repo)
    title = title.strip()
    git = repos.lock_repo(ctx, repo)
    num = next_number(ctx, repo)
    if pull_request:
        head = git.ref_target(repos.MAIN)
        if head is None:
            raise BadRequest(f"{repo.repo_id} has no main branch to open a pull request against")
        repos.move_ref(ctx, repo, git, f"refs/pr/{num}", head, old=None)
    discussion = _new_discussion(
        ctx, repo, num, title, pull_request=pull_request, status="draft" if pull_request else "open"
    )
    _add_comment(ctx, discussion, description)
    repos.event(ctx, "discussion:create", repo, num=num, pull_request=pull_request)
    return discussion


def open_from_commit(
    ctx: Context, repo: Repo, num: int, *, title: str, description: str, commit: str, target: str
) -> Discussion:
    """The pull request a `create_commit(create_pr=True)` opened (uploads.service.commit) against
    branch `target`: open, its first comment the commit's description, and the commit as its
    first commit event."""
    title = title.strip()[:MAX_TITLE] or f"Pull request #{num}"
    discussion = _new_discussion(ctx, repo, num, title, pull_request=True, status="open", target=target)
    _add_comment(ctx, discussion, description.strip() or "Pull request opened with a commit.")
    _add_event(ctx, discussion, "commit", {"subject": title, "oid": commit})
    return discussion


def check_open_for_commits(ctx: Context, repo: Repo, num: int) -> None:
    """Refuse a commit to `refs/pr/num` if the pull request is closed or merged."""
    discussion = pull_request(ctx, repo, num)
    if discussion is not None and discussion.status in ("closed", "merged"):
        raise BadRequest(
            f"Pull request #{num} is {discussion.status}: commits to refs/pr/{num} are refused. "
            + ("Reopen it first." if discussion.status == "closed" else "Open a new pull request.")
        )


def record_commit(ctx: Context, repo: Repo, num: int, *, subject: str, commit: str) -> None:
    """A commit pushed to `refs/pr/num`: a commit event, and a draft becomes open."""
    discussion = pull_request(ctx, repo, num)
    if discussion is None:
        return  # a ref made before discussions existed
    _add_event(ctx, discussion, "commit", {"subject": subject, "oid": commit})
    if discussion.status == "draft":
        discussion.status = "open"


def _require_author_or_write(ctx: Context, repo: Repo, author_id: int | None, what: str) -> None:
    identity = ctx.identity
    if author_id is not None and identity.user_id == author_id and allowed(identity, "repo:discuss", repo):
        return
    if allowed(identity, "repo:write", repo):
        return
    raise repos.refusal(ctx, what)


def comment(ctx: Context, repo: Repo, num: int, raw: str) -> DiscussionEvent:
    repos.require(ctx, "repo:discuss", repo)
    discussion = get(ctx, repo, num)
    event = _add_comment(ctx, discussion, raw)
    repos.event(ctx, "discussion:comment", repo, num=num, comment=event.uid)
    return event


def rename(ctx: Context, repo: Repo, num: int, title: str) -> DiscussionEvent:
    discussion = get(ctx, repo, num)
    _require_author_or_write(ctx, repo, discussion.author_id, f"rename discussion #{num} of {repo.repo_id}")
    title = title.strip()
    old = discussion.title
    discussion.title = title
    event = _add_event(ctx, discussion, "title-change", {"from": old, "to": title})
    repos.event(ctx, "discussion:title", repo, num=num, **{"from": old, "to": title})
    return event


def change_status(ctx: Context, repo: Repo, num: int, status: Any, raw_comment: str) -> DiscussionEvent:
    if status not in ("open", "closed"):
        raise BadRequest("`status` must be 'open' or 'closed'")
    # Under the repo lock, read afresh: a merge of this pull request may have just committed.
    repos.lock_repo(ctx, repo)
    discussion = get(ctx, repo, num, fresh=True)
    _require_author_or_write(
        ctx, repo, discussion.author_id, f"change the status of discussion #{num} of {repo.repo_id}"
    )
    if discussion.status == "merged":
        raise BadRequest(f"Pull request #{num} is merged: its status cannot change")
    if discussion.status == status:
        raise BadRequest(f"Discussion #{num} is already {status}")
    if raw_comment.strip():
        _add_comment(ctx, discussion, raw_comment)
    discussion.status = status
    event = _add_event(ctx, discussion, "status-change", {"status": status})
    repos.event(ctx, "discussion:status", repo, num=num, status=status, comment=bool(raw_comment.strip()))
    return event


def _comment_event(ctx: Context, discussion: Discussion, comment_id: str) -> DiscussionEvent:
    if not _EVENT_ID.fullmatch(comment_id.lower()):
        raise NotFound(f"Comment {comment_id} not found in discussion #{discussion.num}")
    event = ctx.session.scalar(
        select(DiscussionEvent).where(
            DiscussionEvent.discussion_id == discussion.id,
            DiscussionEvent.uid == comment_id.lower(),
            DiscussionEvent.type == "comment",
        )
    )
    if event is None:
        raise NotFound(f"Comment {comment_id} not found in discussion #{discussion.num}")
    return event


def edit_comment(ctx: Context, repo: Repo, num: int, comment_id: str, raw: str) -> DiscussionEvent:
    discussion = get(ctx, repo, num)
    event = _comment_event(ctx, discussion, comment_id)
    _require_author_or_write(ctx, repo, event.author_id, f"edit this comment in {repo.repo_id}")
    if event.hidden:
        raise BadRequest("This comment is hidden: it cannot be edited")
    # A new dict: the JSON column only notices assignments, not changes inside it.
    event.data = {**event.data, "history": [_revision(ctx, raw), *event.data["history"]]}
    repos.event(ctx, "discussion:comment:edit", repo, num=num, comment=event.uid)
    return event


def hide_comment(ctx: Context, repo: Repo, num: int, comment_id: str) -> DiscussionEvent:
    discussion = get(ctx, repo, num)
    event = _comment_event(ctx, discussion, comment_id)
    _require_author_or_write(ctx, repo, event.author_id, f"hide this comment in {repo.repo_id}")
    if not event.hidden:
        event.hidden = True
        repos.event(ctx, "discussion:comment:hide", repo, num=num, comment=event.uid)
    return event


@dataclass(frozen=True)
class Merged:
    commit: str


def merge(ctx: Context, repo: Repo, num: int, raw_comment: str) -> Merged:
    """Merge pull request `num` into its target branch (see the module docstring); 409 on conflicts."""
    repos.require(ctx, "repo:write", repo)
    git = repos.lock_repo(ctx, repo)
    # Read after the lock: a merge that just committed has changed it.
    discussion = get(ctx, repo, num, fresh=True)
    if not discussion.is_pull_request:
        raise BadRequest(f"#{num} is a discussion, not a pull request: there is nothing to merge")
    if discussion.status != "open":
        hint = {
            "draft": "it is a draft: set its status to open first",
            "closed": "it is closed: reopen it first",
            "merged": "it is merged already",
        }[discussion.status]
        raise BadRequest(f"Pull request #{num} cannot be merged: {hint}")
    head, target, base = _base(git, discussion)
    if head is None or target is None:
        raise BadRequest(
            f"Pull request #{num} cannot be merged: {discussion.target_branch} or its ref is gone"
        )
    result = git.merge(base, target, head)
    if result.tree is None:
        raise Conflict(
            f"Pull request #{num} cannot be merged: these files changed on {discussion.target_branch} "
            f"too: {', '.join(result.conflicts)}"
        )
    name = ctx.identity.name
    assert name is not None
    message = f"Merged refs/pr/{num} ({head})."
    if raw_comment.strip():
        message += "\n\n" + raw_comment.strip()
    sha = git.write_tree_commit(
        result.tree,
        [target],
        title=discussion.title,
        message=message,
        author=name,
        email=repos.author_email(name),
        when=utcnow(),
    )
    repos.move_ref(ctx, repo, git, discussion.target_branch, sha, old=target)
    if raw_comment.strip():
        _add_comment(ctx, discussion, raw_comment)
    discussion.status = "merged"
    discussion.merge_commit_oid = sha
    _add_event(ctx, discussion, "status-change", {"status": "merged"})
    repos.event(ctx, "discussion:merge", repo, num=num, commit=sha, ref=discussion.target_branch)
    return Merged(commit=sha)
