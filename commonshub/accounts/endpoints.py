"""Account routes the clients call (specs/hf-protocol.md §1.7, §2.1)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from commonshub.dependencies import ContextDep
from commonshub.errors import Unauthorized
from commonshub.models import AccessToken, Membership, Organization, User
from commonshub.responses import format_date, json_response

router = APIRouter()

AVATAR = "/avatars/default.svg"


@router.get("/api/whoami-v2")
def whoami(ctx: ContextDep) -> Response:
    identity = ctx.identity
    if identity.anonymous:
        raise Unauthorized("You must be authenticated: send a token in the Authorization header")
    session = ctx.session
    user = session.get_one(User, identity.user_id)
    orgs = session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.org_id == Organization.id)
        .where(Membership.user_id == user.id)
        .order_by(Organization.name_key)
    ).all()
    token = session.get(AccessToken, identity.token_id)
    return json_response(
        {
            "type": "user",
            "id": user.uid,
            "name": user.name,
            "fullname": user.fullname,
            "email": user.email,
            "emailVerified": user.email is not None,
            "avatarUrl": AVATAR,
            "isPro": False,
            "isAdmin": user.is_admin,
            "orgs": [
                {
                    "type": "org",
                    "id": org.uid,
                    "name": org.name,
                    "fullname": org.fullname,
                    "avatarUrl": AVATAR,
                    "roleInOrg": role,
                }
                for org, role in orgs
            ],
            "auth": {
                "type": "access_token",
                "accessToken": {
                    "displayName": identity.token_name,
                    "role": identity.token_role,
                    "createdAt": format_date(token.created_at) if token else None,
                },
            },
        }
    )


@router.get("/api/agent-harnesses")
def agent_harnesses() -> Response:
    # Every client process asks once a day; the answer only has to be well-formed.
    return json_response({"standardEnvVars": [], "harnesses": {}})


@router.api_route("/api/telemetry/{topic:path}", methods=["GET", "HEAD", "POST"])
def telemetry(topic: str) -> Response:
    # Best-effort telemetry some libraries send; this hub collects none.
    return Response(status_code=200)
