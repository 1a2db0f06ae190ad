"""Users, organizations, memberships and tokens; turning a request's token into an Identity."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import string
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session, joinedload

from commonshub.accounts.permissions import ANONYMOUS, FINE_GRAINED_PERMISSIONS, Identity, Scope
from commonshub.db import Database
from commonshub.errors import BadRequest, Conflict, Forbidden, InvalidCredentials, NotFound
from commonshub.models import (
    ORG_ROLES,
    REPO_TYPES,
    TOKEN_ROLES,
    AccessToken,
    Account,
    Invitation,
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


# argon2id with the library's defaults (RFC 9106's second recommended set: 64 MiB, 3 passes).
_PASSWORDS = PasswordHasher()
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"A password needs at least {MIN_PASSWORD} characters")
    return _PASSWORDS.hash(password)


def verify_password(password: str, stored: str) -> bool:
    try:
        return _PASSWORDS.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(session: Session, user: User, password: str) -> bool:
    """Verify a user's password, upgrading its hash to current parameters when it matches."""
    if user.password_hash is None or user.disabled or not verify_password(password, user.password_hash):
        return False
    if _PASSWORDS.check_needs_rehash(user.password_hash):
        user.password_hash = _PASSWORDS.hash(password)
        session.flush()
    return True


def account_by_name(session: Session, name: str) -> Account | None:
    if "\x00" in name:  # no account has one, and PostgreSQL refuses NUL in a query parameter
        return None
    return session.scalar(select(Account).where(Account.name_key == name.lower()))


def user_by_name(session: Session, name: str) -> User:
    user = None if "\x00" in name else session.scalar(select(User).where(User.name_key == name.lower()))
    if user is None:
        raise NotFound(f"User {name!r} not found")
    return user


def org_by_name(session: Session, name: str) -> Organization:
    org = (
        None
        if "\x00" in name
        else session.scalar(select(Organization).where(Organization.name_key == name.lower()))
    )
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
    if "\x00" in name:  # no repo or account has one, and PostgreSQL refuses it in a query
        raise NotFound(f"No {kind} {name!r}")
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


def revoke_token(session: Session, user: User, token_id: int) -> AccessToken:
    """Revoke one of `user`'s tokens by id (another user's token is, to them, not found)."""
    token = session.get(AccessToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound(f"Token {token_id} not found")
    token.revoked_at = utcnow()
    session.flush()
    return token


def list_tokens(session: Session, user: User) -> list[AccessToken]:
    """The user's tokens that were not revoked (expired ones included, marked so), newest first."""
    return list(
        session.scalars(
            select(AccessToken)
            .where(AccessToken.user_id == user.id, AccessToken.revoked_at.is_(None))
            .order_by(AccessToken.id.desc())
        )
    )


# --- memberships ---


def members(session: Session, org: Organization) -> list[tuple[User, str]]:
    return [
        (user, role)
        for user, role in session.execute(
            select(User, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.org_id == org.id)
            .order_by(User.name_key)
        ).all()
    ]


def change_role(session: Session, org: Organization, user: User, role: str) -> Membership:
    """Change an existing member's role; an org always keeps one admin."""
    membership = _membership(session, org, user)
    if membership.role == "admin" and role != "admin":
        _keep_an_admin(session, org)
    return set_membership(session, org, user, role)


def remove_member(session: Session, org: Organization, user: User) -> None:
    membership = _membership(session, org, user)
    if membership.role == "admin":
        _keep_an_admin(session, org)
    session.delete(membership)
    session.flush()


def _membership(session: Session, org: Organization, user: User) -> Membership:
    membership = session.scalar(
        select(Membership).where(Membership.org_id == org.id, Membership.user_id == user.id)
    )
    if membership is None:
        raise NotFound(f"{user.name} is not a member of {org.name}")
    return membership


def _keep_an_admin(session: Session, org: Organization) -> None:
    admins = session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.org_id == org.id, Membership.role == "admin")
    )
    if (admins or 0) <= 1:
        raise Conflict(f"{org.name} must keep at least one admin: make someone else admin first")


# --- invitations ---


def invite(
    session: Session,
    *,
    invited_by: User | None,
    ttl_days: int,
    org: Organization | None = None,
    role: str | None = None,
    user: User | None = None,
    email: str | None = None,
) -> tuple[Invitation, str]:
    """An invitation to the hub (no org) or to `org` with `role`; returns it and its secret.

    An invitation names an existing user (only they may accept it) or an e-mail address (whoever
    holds the secret link accepts it, signing up with it if they have no account yet).
    """
    if org is not None and role not in ORG_ROLES:
        raise BadRequest(f"Unknown role {role!r}: use one of {', '.join(ORG_ROLES)}")
    if (user is None) == (email is None) and org is not None:
        raise BadRequest("Invite either a user (by name) or an e-mail address")
    if email is not None and not _EMAIL.fullmatch(email):
        raise BadRequest(f"Invalid e-mail address {email!r}")
    if org is not None and user is not None:
        existing = session.scalar(
            select(Membership.role).where(Membership.org_id == org.id, Membership.user_id == user.id)
        )
        if existing is not None:
            raise Conflict(f"{user.name} is already a member of {org.name} ({existing})")
    secret = secrets.token_urlsafe(24)
    invitation = Invitation(
        org_id=org.id if org is not None else None,
        role=role if org is not None else None,
        user_id=user.id if user is not None else None,
        email=email,
        secret_hash=hash_token(secret),
        invited_by_id=invited_by.id if invited_by is not None else None,
        expires_at=utcnow() + timedelta(days=ttl_days),
    )
    session.add(invitation)
    session.flush()
    return invitation, secret


def open_invitation(session: Session, *, secret: str | None = None, uid: str | None = None) -> Invitation:
    """A pending invitation by its secret or id; used, revoked or expired ones are not found."""
    condition = Invitation.secret_hash == hash_token(secret) if secret is not None else Invitation.uid == uid
    invitation = (
        None if uid is not None and "\x00" in uid else session.scalar(select(Invitation).where(condition))
    )
    if (
        invitation is None
        or invitation.accepted_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= utcnow()
    ):
        raise NotFound("This invitation does not exist, was used, or expired")
    return invitation


def accept_invitation(session: Session, invitation: Invitation, user: User) -> Membership | None:
    """`user` accepts: joins the org with the invited role (a hub invitation only signs them up)."""
    if invitation.user_id is not None and invitation.user_id != user.id:
        raise NotFound("This invitation does not exist, was used, or expired")
    invitation.accepted_at = utcnow()
    invitation.accepted_by_id = user.id
    membership = None
    if invitation.org_id is not None:
        assert invitation.role is not None
        org = session.get_one(Organization, invitation.org_id)
        membership = set_membership(session, org, user, invitation.role)
    session.flush()
    return membership


def revoke_invitation(session: Session, invitation: Invitation) -> None:
    invitation.revoked_at = utcnow()
    session.flush()


def pending_invitations(
    session: Session, *, org: Organization | None = None, user: User | None = None
) -> list[Invitation]:
    """Invitations not yet accepted, revoked or expired: of an org, or addressed to a user."""
    stmt = select(Invitation).where(
        Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow()
    )
    if org is not None:
        stmt = stmt.where(Invitation.org_id == org.id)
    if user is not None:
        stmt = stmt.where(Invitation.user_id == user.id)
    return list(session.scalars(stmt.order_by(Invitation.id)))


# --- sign-up ---

SIGNUP_MODES = ("open", "invite", "closed")


def sign_up(
    session: Session,
    *,
    mode: str,
    name: str,
    email: str,
    password: str,
    fullname: str = "",
    invitation_secret: str | None = None,
) -> tuple[User, Invitation | None]:
    """Create an account through the public sign-up, as the hub's `signup` setting allows.

    An invitation to an org is accepted by signing up with it, so one link both creates the
    account and joins the org, even where sign-up is otherwise by invitation only.
    """
    if mode not in SIGNUP_MODES:
        raise BadRequest(f"Unknown sign-up mode {mode!r}")
    invitation = None
    if invitation_secret:
        invitation = open_invitation(session, secret=invitation_secret)
        if invitation.user_id is not None:
            raise BadRequest("This invitation is for an existing user: sign in and accept it")
    elif mode != "open":
        raise Forbidden(
            "Sign-up on this hub is by invitation only"
            if mode == "invite"
            else "Sign-up on this hub is closed: ask an administrator for an account"
        )
    if not _EMAIL.fullmatch(email):
        raise BadRequest(f"Invalid e-mail address {email!r}")
    if session.scalar(select(User.id).where(func.lower(User.email) == email.lower())) is not None:
        raise Conflict("An account with this e-mail address already exists")
    user = create_user(session, name, email=email, fullname=fullname, password=password)
    if invitation is not None:
        accept_invitation(session, invitation, user)
    return user, invitation


_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{1,63}")


# --- last use of tokens ---

# A token's `last_used_at` is written at most this often: exact enough to spot a stale token,
# and one small write per token per step rather than one per request.
LAST_USED_STEP = 300.0


class TokenUse:
    """Notes when tokens are used, writing `last_used_at` off the request path (one thread)."""

    def __init__(self, db: Database, step: float = LAST_USED_STEP) -> None:
        self._db = db
        self._step = step
        self._noted: dict[int, float] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="token-use")
        self._pending: list[Future[None]] = []

    def note(self, token_id: int | None) -> None:
        if token_id is None:
            return
        now = time.monotonic()
        with self._lock:
            last = self._noted.get(token_id)
            if last is not None and now - last < self._step:
                return
            if len(self._noted) > 100_000:
                self._noted.clear()
            self._noted[token_id] = now
            self._pending = [f for f in self._pending if not f.done()]
            self._pending.append(self._pool.submit(self._write, token_id, utcnow()))

    def _write(self, token_id: int, when: datetime) -> None:
        # Best effort: a busy database must not fail the requests that used the token.
        with contextlib.suppress(Exception), self._db.unit_of_work(write=True) as uow:
            uow.session.execute(
                update(AccessToken).where(AccessToken.id == token_id).values(last_used_at=when)
            )

    def flush(self) -> None:
        """Wait until what was noted so far is written (tests, shutdown)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
