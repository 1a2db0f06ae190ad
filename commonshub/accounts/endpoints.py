"""Account routes: the clients' (spec §1.7, §2) and the hub's own (docs/accounts.md).

Sign-up, tokens, organizations with their members and invitations, avatars, and the admin
actions. Every write records one audit event; every check is `permissions.allowed`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Select, func, select
from starlette.responses import Response

from commonshub.accounts import service
from commonshub.accounts.permissions import Action, Namespace, allowed
from commonshub.accounts.schemas import (
    AcceptInvitationBody,
    CreateOrgBody,
    CreateTokenBody,
    HubInviteBody,
    InviteBody,
    RoleBody,
    SignUpBody,
    avatar_url,
    fine_grained_view,
    invitation_view,
    token_view,
)
from commonshub.dependencies import ContextDep, Segment
from commonshub.errors import BadRequest, NotFound, PayloadTooLarge, Unauthorized
from commonshub.events import service as events
from commonshub.hub import Context
from commonshub.models import (
    AccessToken,
    Account,
    Avatar,
    Invitation,
    Membership,
    Organization,
    Repo,
    User,
    utcnow,
)
from commonshub.pagination import decode_cursor, next_link
from commonshub.repos.listing import visible
from commonshub.repos.service import refusal
from commonshub.responses import format_date, json_response

router = APIRouter()

MAX_AVATAR_BYTES = 256 * 1024
PAGE = 100
_IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
_DEFAULT_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" '
    b'fill="#d6dde6"/><circle cx="32" cy="24" r="12" fill="#8a99ad"/><path d="M10 60c2-14 12-20 22-20s20 '
    b'6 22 20" fill="#8a99ad"/></svg>'
)


# --- who is asking ---


def _me(ctx: Context) -> User:
    if ctx.identity.anonymous:
        raise Unauthorized("You must be authenticated: send a token in the Authorization header")
    return ctx.session.get_one(User, ctx.identity.user_id)


def _require(ctx: Context, action: Action, namespace: Account, what: str) -> None:
    if not allowed(ctx.identity, action, Namespace(namespace.id)):
        raise refusal(ctx, what)


def _versions(ctx: Context, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = ctx.session.execute(select(Avatar.account_id, Avatar.version).where(Avatar.account_id.in_(ids)))
    return {account_id: version for account_id, version in rows}


def _avatar(ctx: Context, account: Account) -> str:
    return avatar_url(account, _versions(ctx, [account.id]).get(account.id))


# --- whoami (§2.1) ---


@router.get("/api/whoami-v2")
def whoami(ctx: ContextDep) -> Response:
    identity = ctx.identity
    user = _me(ctx)
    session = ctx.session
    orgs = session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.org_id == Organization.id)
        .where(Membership.user_id == user.id)
        .order_by(Organization.name_key)
    ).all()
    versions = _versions(ctx, [user.id, *(org.id for org, _ in orgs)])
    token = session.get_one(AccessToken, identity.token_id)
    access_token: dict[str, Any] = {
        "displayName": token.name,
        "role": token.role,
        "createdAt": format_date(token.created_at),
    }
    if token.role == "fineGrained":
        access_token["fineGrained"] = fine_grained_view(service.describe_scopes(session, token.scopes))
    return json_response(
        {
            "type": "user",
            "id": user.uid,
            "name": user.name,
            "fullname": user.fullname,
            "email": user.email,
            "emailVerified": user.email is not None,
            "avatarUrl": avatar_url(user, versions.get(user.id)),
            "isPro": False,
            "isAdmin": user.is_admin,
            "orgs": [
                {
                    "type": "org",
                    "id": org.uid,
                    "name": org.name,
                    "fullname": org.fullname,
                    "avatarUrl": avatar_url(org, versions.get(org.id)),
                    "roleInOrg": role,
                }
                for org, role in orgs
            ],
            "auth": {"type": "access_token", "accessToken": access_token},
        }
    )


# --- sign-up ---


@router.post("/api/signup")
def sign_up(body: SignUpBody, ctx: ContextDep) -> Response:
    """A new account and its first write token (shown once). See the `signup` setting."""
    user, invitation = service.sign_up(
        ctx.session,
        mode=ctx.hub.settings.signup,
        name=body.username,
        email=body.email,
        password=body.password,
        fullname=body.fullname,
        invitation_secret=body.invitation,
    )
    _, value = service.create_token(ctx.session, user, name="signup", role="write")
    events.add(ctx.session, "user:signup", actor_id=user.id, ip=ctx.ip, namespace_id=user.id, user=user.name)
    if invitation is not None and invitation.org_id is not None:
        events.add(
            ctx.session,
            "org:member:join",
            actor_id=user.id,
            ip=ctx.ip,
            namespace_id=invitation.org_id,
            user=user.name,
            role=invitation.role,
        )
    return json_response({"name": user.name, "token": value})


# --- tokens ---


@router.get("/api/settings/tokens")
def list_tokens(ctx: ContextDep) -> Response:
    user = _me(ctx)
    _require(ctx, "account:manage", user, "list your tokens")
    now = utcnow()
    return json_response(
        [
            token_view(token, service.describe_scopes(ctx.session, token.scopes))
            | {"expired": token.expires_at is not None and token.expires_at <= now}
            for token in service.list_tokens(ctx.session, user)
        ]
    )


@router.post("/api/settings/tokens")
def create_token(body: CreateTokenBody, ctx: ContextDep) -> Response:
    user = _me(ctx)
    _require(ctx, "account:manage", user, "create tokens")
    expires_at = body.expiresAt
    if body.expiresInDays is not None:
        if not 1 <= body.expiresInDays <= 3650:
            raise BadRequest("expiresInDays must be between 1 and 3650")
        expires_at = utcnow() + timedelta(days=body.expiresInDays)
    token, value = service.create_token(
        ctx.session, user, name=body.name, role=body.role, scopes=body.scoped, expires_at=expires_at
    )
    events.record(ctx, "token:create", namespace_id=user.id, token=token.name, role=token.role)
    view = token_view(token, service.describe_scopes(ctx.session, token.scopes))
    return json_response(view | {"token": value})


@router.delete("/api/settings/tokens/{token_id}")
def revoke_token(token_id: Segment, ctx: ContextDep) -> Response:
    user = _me(ctx)
    _require(ctx, "account:manage", user, "revoke tokens")
    if not token_id.isdigit():
        raise NotFound(f"Token {token_id} not found")
    token = service.revoke_token(ctx.session, user, int(token_id))
    events.record(ctx, "token:revoke", namespace_id=user.id, token=token.name)
    return json_response({})


# --- avatars ---


@router.put("/api/settings/avatar")
async def set_my_avatar(request: Request, ctx: ContextDep) -> Response:
    user = _me(ctx)
    _require(ctx, "account:manage", user, "change your picture")
    return await _set_avatar(request, ctx, user)


@router.put("/api/organizations/{org}/avatar")
async def set_org_avatar(org: Segment, request: Request, ctx: ContextDep) -> Response:
    organization = service.org_by_name(ctx.session, org)
    _require(ctx, "org:manage", organization, f"change the picture of {organization.name}")
    return await _set_avatar(request, ctx, organization)


async def _set_avatar(request: Request, ctx: Context, account: Account) -> Response:
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_AVATAR_BYTES:
            raise PayloadTooLarge(f"A picture may have at most {MAX_AVATAR_BYTES // 1024} KiB")
    content_type = next((t for magic, t in _IMAGE_TYPES.items() if data.startswith(magic)), None)
    if content_type is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        content_type = "image/webp"
    if content_type is None:
        raise BadRequest("A picture must be a PNG, JPEG, GIF or WebP image (SVG is not accepted)")
    version = hashlib.sha256(data).hexdigest()[:16]
    avatar = ctx.session.get(Avatar, account.id)
    if avatar is None:
        ctx.session.add(Avatar(account_id=account.id, content_type=content_type, version=version, data=data))
    else:
        avatar.content_type, avatar.version, avatar.data = content_type, version, data
    events.record(ctx, f"{'user' if account.kind == 'user' else 'org'}:avatar", namespace_id=account.id)
    return json_response({"avatarUrl": avatar_url(account, version)})


@router.get("/avatars/default.svg")
def default_avatar() -> Response:
    return Response(_DEFAULT_SVG, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@router.get("/avatars/{uid}")
def avatar(uid: Segment, ctx: ContextDep) -> Response:
    row = ctx.session.execute(
        select(Avatar.content_type, Avatar.data)
        .join(Account, Account.id == Avatar.account_id)
        .where(Account.uid == uid)
    ).one_or_none()
    if row is None:
        raise NotFound("No such picture")
    # The URL carries the picture's version, so caches may keep it; a sniffing browser must not
    # take it for anything but the image type it was checked to be.
    return Response(
        row.data,
        media_type=row.content_type,
        headers={"Cache-Control": "max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )


# --- users ---


def _repo_counts(ctx: Context, namespace_id: int) -> dict[str, int]:
    rows = ctx.session.execute(
        select(Repo.type, func.count())
        .where(Repo.namespace_id == namespace_id, visible(ctx))
        .group_by(Repo.type)
    ).all()
    counts = {kind: count for kind, count in rows}
    return {
        "numModels": counts.get("model", 0),
        "numDatasets": counts.get("dataset", 0),
        "numSpaces": counts.get("space", 0),
    }


@router.get("/api/users/{name}/overview")
def user_overview(name: Segment, ctx: ContextDep) -> Response:
    user = service.user_by_name(ctx.session, name)
    orgs = ctx.session.scalars(
        select(Organization)
        .join(Membership, Membership.org_id == Organization.id)
        .where(Membership.user_id == user.id)
        .order_by(Organization.name_key)
    ).all()
    versions = _versions(ctx, [user.id, *(o.id for o in orgs)])
    return json_response(
        {
            "_id": user.uid,
            "type": "user",
            "user": user.name,
            "fullname": user.fullname,
            "avatarUrl": avatar_url(user, versions.get(user.id)),
            "isPro": False,
            "createdAt": format_date(user.created_at),
            **_repo_counts(ctx, user.id),
            "orgs": [
                {"name": o.name, "fullname": o.fullname, "avatarUrl": avatar_url(o, versions.get(o.id))}
                for o in orgs
            ],
        }
    )


# --- organizations ---


@router.post("/api/organizations")
def create_org(body: CreateOrgBody, ctx: ContextDep) -> Response:
    """Any user may found an organization; they become its first admin."""
    user = _me(ctx)
    _require(ctx, "account:manage", user, "create organizations")
    org = service.create_org(ctx.session, body.name, fullname=body.fullname)
    service.set_membership(ctx.session, org, user, "admin")
    events.record(ctx, "org:create", namespace_id=org.id, org=org.name)
    return json_response({"name": org.name, "fullname": org.fullname, "id": org.uid})


@router.get("/api/organizations/{org}/overview")
def org_overview(org: Segment, ctx: ContextDep) -> Response:
    organization = service.org_by_name(ctx.session, org)
    num_users = ctx.session.scalar(
        select(func.count()).select_from(Membership).where(Membership.org_id == organization.id)
    )
    return json_response(
        {
            "_id": organization.uid,
            "type": "org",
            "name": organization.name,
            "fullname": organization.fullname,
            "avatarUrl": _avatar(ctx, organization),
            "numUsers": num_users,
            "isVerified": False,
            "createdAt": format_date(organization.created_at),
            **_repo_counts(ctx, organization.id),
        }
    )


def _paged(
    request: Request,
    ctx: Context,
    stmt: Select[*tuple[Any, ...]],
    render: Callable[[Any], dict[str, Any]],
) -> Response:
    """One page of `stmt` (already ordered), by offset cursor, with the `Link` to the next."""
    offset = decode_cursor(request.query_params.get("cursor")) or 0
    if not isinstance(offset, int) or offset < 0:
        raise BadRequest("Invalid cursor")
    rows = ctx.session.execute(stmt.offset(offset).limit(PAGE + 1)).all()
    headers = next_link(request, ctx.base_url, offset + PAGE) if len(rows) > PAGE else None
    return json_response([render(row) for row in rows[:PAGE]], headers=headers)


@router.get("/api/organizations/{org}/members")
def org_members(org: Segment, request: Request, ctx: ContextDep) -> Response:
    """Members are public, as on huggingface.co; their roles only to the org's members."""
    organization = service.org_by_name(ctx.session, org)
    show_roles = allowed(ctx.identity, "org:read", Namespace(organization.id))
    stmt = (
        select(User, Membership.role, Avatar.version)
        .join(Membership, Membership.user_id == User.id)
        .outerjoin(Avatar, Avatar.account_id == User.id)
        .where(Membership.org_id == organization.id)
        .order_by(User.name_key)
    )

    def render(row: Any) -> dict[str, Any]:
        user, role, version = row
        view = {"_id": user.uid, "type": "user", "user": user.name, "fullname": user.fullname}
        view["avatarUrl"] = avatar_url(user, version)
        return view | ({"role": role} if show_roles else {})

    return _paged(request, ctx, stmt, render)


@router.put("/api/organizations/{org}/members/{name}")
def change_member_role(org: Segment, name: Segment, body: RoleBody, ctx: ContextDep) -> Response:
    organization = service.org_by_name(ctx.session, org)
    _require(ctx, "org:manage", organization, f"manage the members of {organization.name}")
    user = service.user_by_name(ctx.session, name)
    service.change_role(ctx.session, organization, user, body.role)
    events.record(ctx, "org:member:role", namespace_id=organization.id, user=user.name, role=body.role)
    return json_response({"user": user.name, "role": body.role})


@router.delete("/api/organizations/{org}/members/{name}")
def remove_member(org: Segment, name: Segment, ctx: ContextDep) -> Response:
    """Org admins remove members; any member may leave."""
    organization = service.org_by_name(ctx.session, org)
    user = service.user_by_name(ctx.session, name)
    leaving = ctx.identity.user_id == user.id and allowed(
        ctx.identity, "org:read", Namespace(organization.id)
    )
    if not leaving:
        _require(ctx, "org:manage", organization, f"manage the members of {organization.name}")
    service.remove_member(ctx.session, organization, user)
    events.record(ctx, "org:member:remove", namespace_id=organization.id, user=user.name)
    return json_response({})


# --- invitations ---


def _invitation_views(ctx: Context, invitations: list[Invitation]) -> list[dict[str, Any]]:
    names = dict(
        ctx.session.execute(
            select(Account.id, Account.name).where(
                Account.id.in_(
                    {i.org_id for i in invitations if i.org_id}
                    | {i.invited_by_id for i in invitations if i.invited_by_id}
                )
            )
        ).all()
    )
    return [
        invitation_view(i, names.get(i.org_id or 0), names.get(i.invited_by_id or 0)) for i in invitations
    ]


@router.post("/api/organizations/{org}/invitations")
def invite_to_org(org: Segment, body: InviteBody, ctx: ContextDep) -> Response:
    """Invite a user (they accept it from their invitations) or an e-mail address (a secret link)."""
    organization = service.org_by_name(ctx.session, org)
    _require(ctx, "org:manage", organization, f"invite people to {organization.name}")
    user = service.user_by_name(ctx.session, body.user) if body.user else None
    invitation, secret = service.invite(
        ctx.session,
        invited_by=_me(ctx),
        ttl_days=ctx.hub.settings.invitation_ttl_days,
        org=organization,
        role=body.role,
        user=user,
        email=body.email,
    )
    events.record(
        ctx, "org:invite", namespace_id=organization.id, user=body.user, email=body.email, role=body.role
    )
    view = _invitation_views(ctx, [invitation])[0]
    if user is None:  # the link is the only way in: shown to the inviter once, to pass on
        view["secret"] = secret
        view["url"] = f"{ctx.base_url}/join?invitation={secret}"
    return json_response(view)


@router.get("/api/organizations/{org}/invitations")
def org_invitations(org: Segment, ctx: ContextDep) -> Response:
    organization = service.org_by_name(ctx.session, org)
    _require(ctx, "org:manage", organization, f"see the invitations of {organization.name}")
    return json_response(_invitation_views(ctx, service.pending_invitations(ctx.session, org=organization)))


@router.delete("/api/organizations/{org}/invitations/{uid}")
def revoke_org_invitation(org: Segment, uid: Segment, ctx: ContextDep) -> Response:
    organization = service.org_by_name(ctx.session, org)
    _require(ctx, "org:manage", organization, f"manage the invitations of {organization.name}")
    invitation = service.open_invitation(ctx.session, uid=uid)
    if invitation.org_id != organization.id:
        raise NotFound("This invitation does not exist, was used, or expired")
    service.revoke_invitation(ctx.session, invitation)
    events.record(ctx, "org:invite:revoke", namespace_id=organization.id, invitation=uid)
    return json_response({})


@router.get("/api/settings/invitations")
def my_invitations(ctx: ContextDep) -> Response:
    user = _me(ctx)
    return json_response(_invitation_views(ctx, service.pending_invitations(ctx.session, user=user)))


@router.post("/api/settings/invitations/{uid}/accept")
def accept_my_invitation(uid: Segment, ctx: ContextDep) -> Response:
    user = _me(ctx)
    _require(ctx, "account:manage", user, "accept invitations")
    invitation = service.open_invitation(ctx.session, uid=uid)
    return _accept(ctx, invitation, user)


@router.post("/api/invitations/accept")
def accept_invitation_link(body: AcceptInvitationBody, ctx: ContextDep) -> Response:
    """An e-mailed invitation, accepted by a signed-in user who holds its secret."""
    user = _me(ctx)
    _require(ctx, "account:manage", user, "accept invitations")
    invitation = service.open_invitation(ctx.session, secret=body.secret)
    return _accept(ctx, invitation, user)


def _accept(ctx: Context, invitation: Invitation, user: User) -> Response:
    if invitation.org_id is None:
        raise BadRequest("This invitation is for signing up; you already have an account")
    service.accept_invitation(ctx.session, invitation, user)
    events.record(
        ctx, "org:member:join", namespace_id=invitation.org_id, user=user.name, role=invitation.role
    )
    org = ctx.session.get_one(Organization, invitation.org_id)
    return json_response({"organization": org.name, "role": invitation.role})


# --- site administration ---


@router.post("/api/admin/invitations")
def invite_to_hub(body: HubInviteBody, ctx: ContextDep) -> Response:
    """An invitation to sign up, for hubs whose sign-up is by invitation."""
    _require(ctx, "hub:admin", _me(ctx), "invite people to the hub")
    invitation, secret = service.invite(
        ctx.session, invited_by=_me(ctx), ttl_days=ctx.hub.settings.invitation_ttl_days, email=body.email
    )
    events.record(ctx, "hub:invite", email=body.email)
    return json_response(
        _invitation_views(ctx, [invitation])[0]
        | {"secret": secret, "url": f"{ctx.base_url}/join?invitation={secret}"}
    )


@router.post("/api/admin/users/{name}/{action}")
def disable_user(name: Segment, action: Segment, ctx: ContextDep) -> Response:
    """`disable` a user (their tokens stop at once) or `enable` them again."""
    _require(ctx, "hub:admin", _me(ctx), "disable users")
    if action not in ("disable", "enable"):
        raise NotFound(f"Unknown action {action!r}: use disable or enable")
    user = service.user_by_name(ctx.session, name)
    if user.id == ctx.identity.user_id:
        raise BadRequest("You cannot disable yourself")
    service.set_disabled(ctx.session, user, action == "disable")
    events.record(ctx, f"user:{action}", namespace_id=user.id, user=user.name)
    return json_response({"user": user.name, "disabled": user.disabled})


# --- repository settings listing (§2.2) ---


def _storage_list(request: Request, ctx: Context, namespace: Account) -> Response:
    stmt = (
        select(Repo, Account.name)
        .join(Account, Account.id == Repo.namespace_id)
        .where(Repo.namespace_id == namespace.id)
        .order_by(Repo.type, Repo.key)
    )

    def render(row: Any) -> dict[str, Any]:
        repo, owner = row
        return {
            "id": f"{owner}/{repo.name}",
            "type": repo.type,
            "updatedAt": format_date(repo.last_modified),
            "visibility": "private" if repo.private else "public",
            "gated": repo.gated or False,
            "storage": repo.used_storage,
        }

    return _paged(request, ctx, stmt, render)


@router.get("/api/settings/repositories")
def my_repositories(request: Request, ctx: ContextDep) -> Response:
    user = _me(ctx)
    _require(ctx, "account:manage", user, "list your repositories' settings")
    return _storage_list(request, ctx, user)


@router.get("/api/organizations/{org}/settings/repositories")
def org_repositories(org: Segment, request: Request, ctx: ContextDep) -> Response:
    organization = service.org_by_name(ctx.session, org)
    _require(ctx, "org:read", organization, f"list the repositories' settings of {organization.name}")
    return _storage_list(request, ctx, organization)


# --- misc (§1.7) ---


@router.get("/api/agent-harnesses")
def agent_harnesses() -> Response:
    # Every client process asks once a day; the answer only has to be well-formed.
    return json_response({"standardEnvVars": [], "harnesses": {}})


@router.api_route("/api/telemetry/{topic:path}", methods=["GET", "HEAD", "POST"])
def telemetry(topic: str) -> Response:
    # Best-effort telemetry some libraries send; this hub collects none.
    return Response(status_code=200)
