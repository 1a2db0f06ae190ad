"""Users, organizations, memberships and tokens; turning a request's token into an Identity."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, joinedload

from commonshub.accounts.permissions import ANONYMOUS, FINE_GRAINED_PERMISSIONS, Identity, Scope
from commonshub.errors import BadRequest, Conflict, InvalidCredentials, NotFound
from commonshub.models import (
    ORG_ROLES,
    REPO_TYPES,
    TOKEN_ROLES,
    AccessToken,
    Account,
    Membership,
    Organization,
    Repo,
    User,
    utcnow,
)

# Namespaces: letters, digits, '-', '_' and '.', not starting or ending with a separator.
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?")
# Names that would collide with the hub's own top-level routes.
RESERVED_NAMES = frozenset(
    {
        "api",
        "datasets",
        "spaces",
        "models",
        "docs",
        "static",
        "settings",
        "login",
        "logout",
        "join",
        "organizations",
        "new",
        "search",
        "uploads",
        "healthz",
    }
)
_TOKEN_ALPHABET = string.ascii_letters + string.digits


def validate_namespace_name(name: str) -> None:
    if not _NAME.fullmatch(name) or "--" in name or ".." in name:
        raise BadRequest(
            f"Invalid name {name!r}: use letters, digits, '-', '_' and '.', at most 96 characters"
        )
    if name.lower() in RESERVED_NAMES:
        raise BadRequest(f"The name {name!r} is reserved")


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_token_value() -> str:
    return "hf_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(34))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        computed = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(computed.hex(), digest)


def account_by_name(session: Session, name: str) -> Account | None:
    if "\x00" in name:  # no account has one, and PostgreSQL refuses NUL in a query parameter
        return None
    return session.scalar(select(Account).where(Account.name_key == name.lower()))


def user_by_name(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name_key == name.lower()))
    if user is None:
        raise NotFound(f"User {name!r} not found")
    return user


def org_by_name(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name_key == name.lower()))
    if org is None:
        raise NotFound(f"Organization {name!r} not found")
    return org


def _check_free(session: Session, name: str) -> None:
    validate_namespace_name(name)
    if account_by_name(session, name) is not None:
        raise Conflict(f"The name {name!r} is already taken")


def create_user(
    session: Session,
    name: str,
    *,
    email: str | None = None,
    fullname: str = "",
    password: str | None = None,
    is_admin: bool = False,
) -> User:
    _check_free(session, name)
    user = User(
        name=name,
        name_key=name.lower(),
        email=email,
        fullname=fullname or name,
        password_hash=hash_password(password) if password else None,
        is_admin=is_admin,
    )
    session.add(user)
    session.flush()
    return user


def create_org(session: Session, name: str, *, fullname: str = "") -> Organization:
    _check_free(session, name)
    org = Organization(name=name, name_key=name.lower(), fullname=fullname or name)
    session.add(org)
    session.flush()
    return org


def set_membership(session: Session, org: Organization, user: User, role: str) -> Membership:
    if role not in ORG_ROLES:
        raise BadRequest(f"Unknown role {role!r}: use one of {', '.join(ORG_ROLES)}")
    membership = session.scalar(
        select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
    )
    if membership is None:
        membership = Membership(org_id=org.id, user_id=user.id, role=role)
        session.add(membership)
    else:
        membership.role = role
    session.flush()
    return membership


def create_token(
    session: Session,
    user: User,
    *,
    name: str = "default",
    role: str = "write",
    value: str | None = None,
    scopes: list[dict[str, Any]] | None = None,
    expires_at: datetime | None = None,
) -> tuple[AccessToken, str]:
    """A new token for `user`; returns the row and the value, which is not stored.

    `scopes` (fine-grained tokens only) are `{"entity": {"type": "model"|"dataset"|"space"|"user"|
    "org", "name": ...}, "permissions": [...]}`, the shape huggingface.co shows in `whoami-v2`.
    """
    if role not in TOKEN_ROLES:
        raise BadRequest(f"Unknown token role {role!r}: use one of {', '.join(TOKEN_ROLES)}")
    if value is not None and (len(value) < 8 or not value.isprintable() or " " in value):
        raise BadRequest("A token value needs at least 8 printable characters and no spaces")
    if not name or len(name) > 100:
        raise BadRequest("A token needs a name of at most 100 characters")
    if (role == "fineGrained") != bool(scopes):
        raise BadRequest("Fine-grained tokens, and only they, need at least one scope")
    if expires_at is not None and expires_at <= utcnow():
        raise BadRequest("A token's expiry must be in the future")
    stored_scopes = [_resolve_scope(session, user, scope) for scope in scopes or []]
    value = value or new_token_value()
    digest = hash_token(value)
    if session.scalar(select(AccessToken.id).where(AccessToken.token_hash == digest)) is not None:
        raise Conflict("This token value is already in use")
    token = AccessToken(
        user_id=user.id,
        name=name,
        role=role,
        token_hash=digest,
        scopes=stored_scopes or None,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return token, value


def _resolve_scope(session: Session, user: User, scope: Any) -> dict[str, Any]:
    """A scope as the client names it → as stored: by id, so renames keep a token's reach."""
    entity = scope.get("entity") if isinstance(scope, dict) else None
    permissions = scope.get("permissions") if isinstance(scope, dict) else None
    if (
        not isinstance(entity, dict)
        or not isinstance(entity.get("type"), str)
        or not isinstance(entity.get("name"), str)
    ):
        raise BadRequest(
            'Each scope needs an entity: {"type": "model"|"dataset"|"space"|"user"|"org", "name"}'
        )
    if not isinstance(permissions, list) or not permissions:
        raise BadRequest("Each scope needs a non-empty list of permissions")
    unknown = [p for p in permissions if p not in FINE_GRAINED_PERMISSIONS]
    if unknown:
        raise BadRequest(f"Unknown permission {unknown[0]!r}: use {', '.join(FINE_GRAINED_PERMISSIONS)}")
    kind, name = entity["type"], entity["name"]
    if kind in REPO_TYPES:
        repo = session.scalar(select(Repo.id).where(Repo.type == kind, Repo.key == name.lower()))
        if repo is None:
            raise NotFound(f"No {kind} repository {name!r}")
        return {"kind": "repo", "id": repo, "permissions": sorted(set(permissions))}
    if kind in ("user", "org"):
        account = account_by_name(session, name)
        if account is None or account.kind != kind:
            raise NotFound(f"No {kind} {name!r}")
        return {"kind": "namespace", "id": account.id, "permissions": sorted(set(permissions))}
    raise BadRequest(f"Unknown entity type {kind!r}: use model, dataset, space, user or org")


def describe_scopes(session: Session, stored: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Stored scopes as whoami-v2 shows them: entity names as they are now."""
    out = []
    for scope in stored or []:
        if scope["kind"] == "repo":
            repo = session.scalar(
                select(Repo).options(joinedload(Repo.namespace)).where(Repo.id == scope["id"])
            )
            if repo is None:
                continue
            entity = {"_id": repo.uid, "type": repo.type, "name": repo.repo_id}
        else:
            account = session.get(Account, scope["id"])
            if account is None:
                continue
            entity = {"_id": account.uid, "type": account.kind, "name": account.name}
        out.append({"entity": entity, "permissions": list(scope["permissions"])})
    return out


def authenticate(session: Session, authorization: str | None) -> Identity:
    """The identity a request's `Authorization: Bearer <token>` header proves.

    No header means anonymous; a header that proves nothing is a 401, never a silent anonymous.
    """
    if not authorization:
        return ANONYMOUS
    scheme, _, value = authorization.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        raise InvalidCredentials()
    identity = _token_identity(session, AccessToken.token_hash == hash_token(value))
    if identity is None or expired(identity):
        raise InvalidCredentials()
    return identity


def expired(identity: Identity) -> bool:
    return identity.expires_at is not None and identity.expires_at <= utcnow()


def identity_of_token(session: Session, token_id: int) -> Identity | None:
    """Who token `token_id` stands for now, or None once it is revoked or expired (or its user
    deleted or disabled).

    Credentials derived from a token (Xet CAS tokens) check it again on every use, so revoking
    the token revokes them too.
    """
    identity = _token_identity(session, AccessToken.id == token_id)
    return None if identity is None or expired(identity) else identity


def _token_identity(session: Session, condition: ColumnElement[bool]) -> Identity | None:
    row = session.execute(
        select(
            AccessToken.id,
            AccessToken.name,
            AccessToken.role,
            AccessToken.scopes,
            AccessToken.expires_at,
            User.id,
            User.name,
            User.is_admin,
        )
        .join(User, User.id == AccessToken.user_id)
        .where(condition, AccessToken.revoked_at.is_(None), User.disabled.is_(False))
    ).one_or_none()
    if row is None:
        return None
    token_id, token_name, role, scopes, expires_at, user_id, user_name, is_admin = row
    orgs = dict(
        session.execute(select(Membership.org_id, Membership.role).where(Membership.user_id == user_id)).all()
    )
    return Identity(
        user_id=user_id,
        name=user_name,
        is_admin=is_admin,
        token_id=token_id,
        token_role=role,
        token_name=token_name,
        scopes=tuple(
            Scope(kind=s["kind"], id=s["id"], permissions=frozenset(s["permissions"])) for s in scopes or []
        ),
        expires_at=expires_at,
        orgs=orgs,
    )


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    """Disable (or enable again) a user: every token of theirs is refused from the next request."""
    user.disabled = disabled
    session.flush()


def revoke_tokens(session: Session, user: User, name: str) -> int:
    tokens = list(
        session.scalars(
            select(AccessToken).where(
                AccessToken.user_id == user.id, AccessToken.name == name, AccessToken.revoked_at.is_(None)
            )
        )
    )
    for token in tokens:
        token.revoked_at = utcnow()
    session.flush()
    return len(tokens)
