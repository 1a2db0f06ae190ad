"""Users, organizations, memberships and tokens; turning a request's token into an Identity."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from commonshub.accounts.permissions import ANONYMOUS, Identity
from commonshub.errors import BadRequest, Conflict, InvalidCredentials, NotFound
from commonshub.models import (
    ORG_ROLES,
    TOKEN_ROLES,
    AccessToken,
    Account,
    Membership,
    Organization,
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
    session: Session, user: User, *, name: str = "default", role: str = "write", value: str | None = None
) -> tuple[AccessToken, str]:
    """A new token for `user`; returns the row and the value, which is not stored."""
    if role not in TOKEN_ROLES:
        raise BadRequest(f"Unknown token role {role!r}: use one of {', '.join(TOKEN_ROLES)}")
    if value is not None and (len(value) < 8 or not value.isprintable() or " " in value):
        raise BadRequest("A token value needs at least 8 printable characters and no spaces")
    value = value or new_token_value()
    digest = hash_token(value)
    if session.scalar(select(AccessToken.id).where(AccessToken.token_hash == digest)) is not None:
        raise Conflict("This token value is already in use")
    token = AccessToken(user_id=user.id, name=name, role=role, token_hash=digest)
    session.add(token)
    session.flush()
    return token, value


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
    if identity is None:
        raise InvalidCredentials()
    return identity


def identity_of_token(session: Session, token_id: int) -> Identity | None:
    """Who token `token_id` stands for now, or None once it is revoked (or its user deleted).

    Credentials derived from a token (Xet CAS tokens) check it again on every use, so revoking
    the token revokes them too.
    """
    return _token_identity(session, AccessToken.id == token_id)


def _token_identity(session: Session, condition: ColumnElement[bool]) -> Identity | None:
    row = session.execute(
        select(AccessToken.id, AccessToken.name, AccessToken.role, User.id, User.name, User.is_admin)
        .join(User, User.id == AccessToken.user_id)
        .where(condition, AccessToken.revoked_at.is_(None), User.disabled.is_(False))
    ).one_or_none()
    if row is None:
        return None
    token_id, token_name, role, user_id, user_name, is_admin = row
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
