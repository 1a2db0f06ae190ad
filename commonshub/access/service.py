"""Access requests to gated repos (specs/hf-protocol.md §8): asking, listing, handling, granting.

A signed-in user asks once per repo, answering the card's access form (access.forms); `gated:
auto` accepts at once, `manual` waits for a manager. Those who may write to the repo (its owner,
org `write` and `admin` members, site admins) list requests and move them between pending,
accepted and rejected, or grant access to a user who never asked. Downloads check for an accepted
request in access.grants. Services flush, never commit; each write appends one audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from commonshub.access.forms import FormError, check_answers, gate_form
from commonshub.access.schemas import request_json
from commonshub.accounts.permissions import allowed
from commonshub.db import insert_missing
from commonshub.errors import BadRequest, Conflict, NotFound, Unauthorized
from commonshub.hub import Context
from commonshub.models import AccessRequest, Repo, User, utcnow
from commonshub.models.accounts import new_uid
from commonshub.repos.service import event, refusal

PAGE = 100


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    # The id after which the next page starts; None on the last page.
    next_after: int | None


def _require_manager(ctx: Context, repo: Repo) -> None:
    # "write", as the client documents: org members with the write or admin role handle requests.
    if not allowed(ctx.identity, "repo:write", repo):
        raise refusal(ctx, f"manage access requests to {repo.repo_id}")


def _require_gated(repo: Repo) -> None:
    if not repo.gated:
        raise BadRequest(f"{repo.repo_id} is not a gated repo: it has no access requests")


def _user(ctx: Context, name: str) -> User:
    user = None if "\x00" in name else ctx.session.scalar(select(User).where(User.name_key == name.lower()))
    if user is None:
        raise NotFound(f"User {name!r} not found")
    return user


def _json(ctx: Context, request: AccessRequest, *, with_reason: bool = False) -> dict[str, Any]:
    user = ctx.session.get(User, request.user_id)
    assert user is not None
    return request_json(request, user.name, user.fullname, user.email, with_reason=with_reason)


def request_access(ctx: Context, repo: Repo, fields: Any) -> dict[str, Any]:
    """The caller asks for access to gated `repo`; their answers must fit the card's form.

    One request per user and repo: asking again is a 409 whatever the first one became, so a
    rejection stands (with `gated: auto`, asking again would otherwise undo it).
    """
    identity = ctx.identity
    if identity.anonymous or not allowed(identity, "repo:discuss", repo):
        raise refusal(ctx, f"request access to {repo.repo_id}")
    assert identity.user_id is not None
    _require_gated(repo)
    existing = ctx.session.scalar(
        select(AccessRequest.status).where(
            AccessRequest.repo_id == repo.id, AccessRequest.user_id == identity.user_id
        )
    )
    if existing is not None:
        raise Conflict(f"You already requested access to {repo.repo_id}: your request is {existing}")
    try:
        answers = check_answers(gate_form(repo.card_data), fields)
    except FormError as exc:
        raise BadRequest(str(exc)) from None
    status = "accepted" if repo.gated == "auto" else "pending"
    request = _insert(ctx, repo, identity.user_id, status=status, fields=answers or None, granted=False)
    if request is None:  # a concurrent request of the same user won
        raise Conflict(f"You already requested access to {repo.repo_id}")
    event(ctx, "repo:access-request:create", repo, user=identity.name, status=status)
    return _json(ctx, request, with_reason=True)


def _insert(
    ctx: Context, repo: Repo, user_id: int, *, status: str, fields: dict[str, Any] | None, granted: bool
) -> AccessRequest | None:
    """A new request, or None if the user already has one (never an integrity error)."""
    now = utcnow()
    row = {
        "uid": new_uid(),
        "repo_id": repo.id,
        "user_id": user_id,
        "status": status,
        "fields": fields,
        "granted": granted,
        "handled_by_id": ctx.identity.user_id if granted else None,
        "created_at": now,
        "updated_at": now,
    }
    if not insert_missing(ctx.session, AccessRequest, [row]):
        return None
    return ctx.session.scalars(select(AccessRequest).where(AccessRequest.uid == row["uid"])).one()


def own_request(ctx: Context, repo: Repo) -> dict[str, Any]:
    """The caller's own request to `repo`, with the reason if it was rejected."""
    if ctx.identity.anonymous:
        raise Unauthorized("You must be authenticated to see your access request")
    request = ctx.session.scalar(
        select(AccessRequest).where(
            AccessRequest.repo_id == repo.id, AccessRequest.user_id == ctx.identity.user_id
        )
    )
    if request is None:
        raise NotFound(f"You have not requested access to {repo.repo_id}")
    return _json(ctx, request, with_reason=True)


def list_requests(ctx: Context, repo: Repo, status: str, *, after: int, limit: int = PAGE) -> Page:
    """One page of the repo's requests with `status`, oldest first."""
    _require_manager(ctx, repo)
    rows = ctx.session.execute(
        select(AccessRequest, User.name, User.fullname, User.email)
        .join(User, User.id == AccessRequest.user_id)
        .where(AccessRequest.repo_id == repo.id, AccessRequest.status == status, AccessRequest.id > after)
        .order_by(AccessRequest.id)
        .limit(limit + 1)
    ).all()
    items = [request_json(r, name, fullname, email, with_reason=True) for r, name, fullname, email in rows]
    more = len(rows) > limit
    return Page(items[:limit], rows[limit - 1][0].id if more else None)


def handle_request(
    ctx: Context,
    repo: Repo,
    *,
    user: str | None,
    request_id: str | None,
    status: str,
    reason: str | None,
) -> None:
    """Move a request to `status`: accept, reject (with an optional reason), or back to pending.

    Revoking access is rejecting (or cancelling) an accepted request; it holds from the next
    request on, as every download asks access.grants.
    """
    _require_manager(ctx, repo)
    if (user is None) == (request_id is None):
        raise BadRequest("Name the request by exactly one of `user` or `requestId`")
    if reason is not None and status != "rejected":
        raise BadRequest("`rejectionReason` can only be given when rejecting a request")
    _require_gated(repo)
    query = select(AccessRequest).where(AccessRequest.repo_id == repo.id)
    if user is not None:
        who = _user(ctx, user)
        request = ctx.session.scalar(query.where(AccessRequest.user_id == who.id))
        if request is None:
            raise NotFound(f"{who.name} has no access request to {repo.repo_id}")
    else:
        request = ctx.session.scalar(query.where(AccessRequest.uid == request_id))
        if request is None:
            raise NotFound(f"No access request {request_id!r} to {repo.repo_id}")
        requester = ctx.session.get(User, request.user_id)
        assert requester is not None
        who = requester
    if request.status == status:
        raise Conflict(f"The access request of {who.name} is already {status}")
    previous = request.status
    request.status = status
    request.rejection_reason = reason if status == "rejected" else None
    request.handled_by_id = ctx.identity.user_id
    ctx.session.flush()
    data: dict[str, Any] = {"user": who.name, "status": status, "previous": previous}
    if reason is not None:
        data["reason"] = reason
    event(ctx, "repo:access-request:handle", repo, **data)


def grant_access(ctx: Context, repo: Repo, user: str) -> None:
    """Give `user` access without their asking: an accepted request that shares no e-mail."""
    _require_manager(ctx, repo)
    _require_gated(repo)
    who = _user(ctx, user)
    if _insert(ctx, repo, who.id, status="accepted", fields=None, granted=True) is None:
        raise Conflict(f"{who.name} already has an access request to {repo.repo_id}")
    event(ctx, "repo:access-request:grant", repo, user=who.name)
