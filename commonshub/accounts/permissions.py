"""Who may do what: one pure function, `allowed(identity, action, resource)` (STYLE.md: pure rules).

Every route asks it; nothing else decides. An action is named `"subject:action"`:

| action          | resource  | who, by role                                                      |
|-----------------|-----------|-------------------------------------------------------------------|
| `repo:read`     | repo      | anyone if public; else the owner and every member of the owning org |
| `repo:content`  | repo      | `repo:read`, and for gated repos the owner, org members, or a user whose access request was accepted |
| `repo:discuss`  | repo      | any signed-in user who may read it (open discussions and PRs, comment) |
| `repo:write`    | repo      | the owner, org `write`/`admin`, an org `contributor` on a repo they created |
| `repo:manage`   | repo      | the owner, org `admin`, an org `contributor` on a repo they created |
| `repo:create`   | namespace | the user themselves; org `contributor`, `write`, `admin`          |
| `org:read`      | namespace | every member of the org                                           |
| `org:manage`    | namespace | org `admin` (members, invitations, the org's audit log)           |
| `account:manage`| namespace | the user themselves (tokens, picture, invitations, new orgs)      |
| `hub:admin`     | -         | site admins (disable users, the whole audit log)                  |

Site admins pass every role check. The token then limits what the role allows: a `read` token only
reads, a `write` token does what its user may, a fine-grained token only what its scopes grant on the
repos and namespaces they name (public repos stay readable with any token, as with none).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

Action = Literal[
    "repo:read",
    "repo:content",
    "repo:discuss",
    "repo:write",
    "repo:manage",
    "repo:create",
    "org:read",
    "org:manage",
    "account:manage",
    "hub:admin",
]
READ_ACTIONS = frozenset({"repo:read", "repo:content", "org:read"})

# What a fine-grained token must grant for each action (the names huggingface.co uses, plus
# `repo.manage` and `org.manage` for what it keeps to the browser).
TOKEN_PERMISSIONS: dict[Action, str] = {
    "repo:read": "repo.content.read",
    "repo:content": "repo.content.read",
    "repo:discuss": "discussion.write",
    "repo:write": "repo.write",
    "repo:manage": "repo.manage",
    "repo:create": "repo.write",
    "org:read": "org.read",
    "org:manage": "org.manage",
    # Never granted to a fine-grained token: a token that could mint tokens would be a write token.
    "account:manage": "account.manage",
    "hub:admin": "hub.admin",
}
# Every permission on a repo lets the token read it: one cannot write, manage or discuss a private
# repo one cannot see (huggingface.co's token form ticks "read" along with them).
_READING = frozenset({"repo.content.read", "repo.write", "repo.manage", "discussion.write"})
FINE_GRAINED_PERMISSIONS = tuple(sorted(set(TOKEN_PERMISSIONS.values()) - {"account.manage", "hub.admin"}))

MEMBER_ROLES = ("read", "contributor", "write", "admin")


@dataclass(frozen=True)
class Scope:
    """What a fine-grained token grants on one repo (by id) or on every repo of one namespace."""

    kind: Literal["repo", "namespace"]
    id: int
    permissions: frozenset[str]


@dataclass(frozen=True)
class Identity:
    user_id: int | None = None
    name: str | None = None
    is_admin: bool = False
    token_id: int | None = None
    # "read", "write" or "fineGrained"
    token_role: str | None = None
    token_name: str | None = None
    # Only for fine-grained tokens.
    scopes: tuple[Scope, ...] = ()
    expires_at: datetime | None = None
    # org account id → role
    orgs: dict[int, str] = field(default_factory=dict)

    @property
    def anonymous(self) -> bool:
        return self.user_id is None


ANONYMOUS = Identity()


class RepoFacts(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def namespace_id(self) -> int: ...

    @property
    def private(self) -> bool: ...

    @property
    def gated(self) -> str | None: ...

    @property
    def created_by_id(self) -> int | None: ...


@dataclass(frozen=True)
class Namespace:
    """A user or an organization, by account id."""

    id: int


HUB = Namespace(0)


def allowed(
    identity: Identity,
    action: Action,
    resource: RepoFacts | Namespace,
    *,
    access_granted: bool = False,
) -> bool:
    """May `identity` do `action` on `resource`?

    `access_granted`: the user's access request to this (gated) repo was accepted; the caller
    looks it up, as it is the one fact the identity does not carry.
    """
    if action.startswith("repo:") and action != "repo:create":
        if not isinstance(resource, Namespace):
            return _repo_role_allows(identity, action, resource, access_granted) and _token_allows(
                identity, action, resource.id, resource.namespace_id, public=not resource.private
            )
        return False
    if isinstance(resource, Namespace):
        return _namespace_role_allows(identity, action, resource.id) and _token_allows(
            identity, action, None, resource.id, public=False
        )
    return False


def _role(identity: Identity, namespace_id: int) -> str | None:
    if identity.user_id is not None and identity.user_id == namespace_id:
        return "owner"
    return identity.orgs.get(namespace_id)


def _repo_role_allows(identity: Identity, action: Action, repo: RepoFacts, access_granted: bool) -> bool:
    role = _role(identity, repo.namespace_id)
    if action == "repo:read":
        return not repo.private or identity.is_admin or role is not None
    if action == "repo:content":
        if not _repo_role_allows(identity, "repo:read", repo, access_granted):
            return False
        return not repo.gated or identity.is_admin or role is not None or access_granted
    if action == "repo:discuss":
        return not identity.anonymous and _repo_role_allows(identity, "repo:read", repo, access_granted)
    if identity.anonymous:
        return False
    if identity.is_admin:
        return True
    own_creation = role == "contributor" and repo.created_by_id == identity.user_id
    if action == "repo:write":
        return role in ("owner", "write", "admin") or own_creation
    if action == "repo:manage":
        return role in ("owner", "admin") or own_creation
    return False


def _namespace_role_allows(identity: Identity, action: Action, namespace_id: int) -> bool:
    if identity.anonymous:
        return False
    if action == "hub:admin":
        return identity.is_admin
    if identity.is_admin:
        return True
    role = _role(identity, namespace_id)
    if action == "repo:create":
        return role in ("owner", "contributor", "write", "admin")
    if action == "org:read":
        return role in MEMBER_ROLES
    if action == "org:manage":
        return role == "admin"
    if action == "account:manage":
        return role == "owner"
    return False


def _token_allows(
    identity: Identity, action: Action, repo_id: int | None, namespace_id: int, *, public: bool
) -> bool:
    """What the request's token lets its user do of what their role allows."""
    if identity.anonymous or identity.token_role == "write":
        return True
    if action in READ_ACTIONS and action != "org:read" and public:
        return True  # readable with no token at all, so with any
    if identity.token_role == "read":
        return action in READ_ACTIONS
    needed = TOKEN_PERMISSIONS[action]
    if needed not in FINE_GRAINED_PERMISSIONS:
        return False  # whatever a stored scope says
    return any(
        _grants(scope, needed)
        and (
            (scope.kind == "repo" and scope.id == repo_id)
            or (scope.kind == "namespace" and scope.id == namespace_id)
        )
        for scope in identity.scopes
    )


def _grants(scope: Scope, permission: str) -> bool:
    if permission == "repo.content.read":
        return not _READING.isdisjoint(scope.permissions)
    return permission in scope.permissions


def readable_namespaces(identity: Identity) -> list[int]:
    """The namespaces whose private repos `identity` may list (the listing's own filter)."""
    if identity.anonymous:
        return []
    namespaces: Iterable[int] = [identity.user_id, *identity.orgs] if identity.user_id is not None else []
    if identity.token_role == "fineGrained":
        granted = {s.id for s in identity.scopes if s.kind == "namespace" and _grants(s, "repo.content.read")}
        namespaces = [n for n in namespaces if n in granted]
    return list(namespaces)


def readable_repo_ids(identity: Identity) -> list[int]:
    """Private repos a fine-grained token names one by one (the listing adds them)."""
    return [s.id for s in identity.scopes if s.kind == "repo" and _grants(s, "repo.content.read")]
