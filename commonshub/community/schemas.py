"""The JSON of discussions and their events, exactly as `huggingface_hub` parses it (spec §7)."""

from __future__ import annotations

from typing import Any

from commonshub.accounts.schemas import DEFAULT_AVATAR as AVATAR
from commonshub.models import Account, Discussion, DiscussionEvent, Repo
from commonshub.responses import format_date

Authors = dict[int, Account]


def author_json(authors: Authors, account_id: int | None) -> dict[str, Any] | None:
    """The author object; None for a deleted account (the key is then left out: the client
    shows "deleted")."""
    account = authors.get(account_id) if account_id is not None else None
    if account is None:
        return None
    return {
        "_id": account.uid,
        "name": account.name,
        "fullname": account.fullname or account.name,
        "avatarUrl": AVATAR,
        "type": "org" if account.kind == "org" else "user",
        "isPro": False,
    }


def _with_author(out: dict[str, Any], authors: Authors, account_id: int | None) -> dict[str, Any]:
    author = author_json(authors, account_id)
    if author is not None:
        out["author"] = author
    return out


def _revision_json(authors: Authors, revision: dict[str, Any], hidden: bool) -> dict[str, Any]:
    # Hidden comments keep their text in the database (moderation may need it) but never show it:
    # the client warns that a hidden comment's content cannot be retrieved any more.
    out = {
        "raw": "" if hidden else revision["raw"],
        "html": "" if hidden else revision["html"],
        "updatedAt": revision["updatedAt"],
    }
    return _with_author(out, authors, revision.get("authorId"))


def event_json(authors: Authors, event: DiscussionEvent) -> dict[str, Any]:
    out: dict[str, Any] = {"id": event.uid, "type": event.type, "createdAt": format_date(event.created_at)}
    _with_author(out, authors, event.author_id)
    if event.type == "comment":
        history = event.data["history"]
        out["data"] = {
            "edited": len(history) > 1,
            "hidden": event.hidden,
            "latest": _revision_json(authors, history[0], event.hidden),
            "numEdits": len(history) - 1,
            "history": [_revision_json(authors, r, event.hidden) for r in history],
        }
    else:
        out["data"] = dict(event.data)
    return out


def event_author_ids(events: list[DiscussionEvent]) -> set[int]:
    ids = {e.author_id for e in events if e.author_id is not None}
    for e in events:
        if e.type == "comment":
            ids |= {r["authorId"] for r in e.data["history"] if r.get("authorId") is not None}
    return ids


def discussion_json(
    authors: Authors, repo: Repo, discussion: Discussion, *, num_comments: int
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "num": discussion.num,
        "title": discussion.title,
        "status": discussion.status,
        "isPullRequest": discussion.is_pull_request,
        "createdAt": format_date(discussion.created_at),
        "repo": {"name": repo.repo_id, "type": repo.type},
        "numComments": num_comments,
        "pinned": discussion.pinned,
        "topReactions": [],
    }
    return _with_author(out, authors, discussion.author_id)
