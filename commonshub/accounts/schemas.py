"""Request bodies and response shapes of the account API (spec §2; our own routes in docs/accounts.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from commonshub.bodies import StoredBody as Body
from commonshub.models import AccessToken, Account, Invitation
from commonshub.responses import format_date

DEFAULT_AVATAR = "/avatars/default.svg"


class SignUpBody(Body):
    username: str
    email: str
    password: str
    fullname: str = ""
    invitation: str | None = None


class CreateTokenBody(Body):
    name: str
    role: str = "read"
    # ISO 8601 date or time; or a number of days.
    expiresAt: datetime | None = None
    expiresInDays: int | None = None
    scoped: list[dict[str, Any]] | None = None


class CreateOrgBody(Body):
    name: str
    fullname: str = ""


class RoleBody(Body):
    role: str


class InviteBody(Body):
    role: str = "read"
    user: str | None = None
    email: str | None = None


class AcceptInvitationBody(Body):
    secret: str


class HubInviteBody(Body):
    email: str | None = None


def avatar_url(account: Account, version: str | None) -> str:
    return f"/avatars/{account.uid}?v={version}" if version else DEFAULT_AVATAR


def token_view(token: AccessToken, scoped: list[dict[str, Any]]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": str(token.id),
        "displayName": token.name,
        "role": token.role,
        "createdAt": format_date(token.created_at),
        "lastUsedAt": format_date(token.last_used_at) if token.last_used_at else None,
        "expiresAt": format_date(token.expires_at) if token.expires_at else None,
    }
    if token.role == "fineGrained":
        view["fineGrained"] = fine_grained_view(scoped)
    return view


def fine_grained_view(scoped: list[dict[str, Any]]) -> dict[str, Any]:
    # The shape huggingface.co gives in whoami-v2; `global` permissions are not offered here.
    return {"scoped": scoped, "global": [], "canReadGatedRepos": False}


def invitation_view(invitation: Invitation, org_name: str | None, invited_by: str | None) -> dict[str, Any]:
    return {
        "id": invitation.uid,
        "organization": org_name,
        "role": invitation.role,
        "email": invitation.email,
        "invitedBy": invited_by,
        "createdAt": format_date(invitation.created_at),
        "expiresAt": format_date(invitation.expires_at),
    }
