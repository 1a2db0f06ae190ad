"""Who may do what: pure rules over plain facts, no database (STYLE.md: pure functions for rules).

Org roles follow the Hub: `read` sees the org's private repos, `contributor` may also create repos
in the org and write to the ones they created, `write` writes to every org repo, `admin` also
manages them (settings, rename, delete). A read-only token never writes, whatever its owner may do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

WRITE_ROLES = ("write", "admin")


@dataclass(frozen=True)
class Identity:
    user_id: int | None = None
    name: str | None = None
    is_admin: bool = False
    token_id: int | None = None
    token_role: str | None = None  # "read" or "write"
    token_name: str | None = None
    # org account id → role
    orgs: dict[int, str] = field(default_factory=dict)

    @property
    def anonymous(self) -> bool:
        return self.user_id is None

    @property
    def may_write(self) -> bool:
        return self.user_id is not None and self.token_role == "write"


ANONYMOUS = Identity()


class RepoFacts(Protocol):
    @property
    def namespace_id(self) -> int: ...

    @property
    def private(self) -> bool: ...

    @property
    def created_by_id(self) -> int | None: ...


def _role(identity: Identity, namespace_id: int) -> str | None:
    if identity.user_id is not None and identity.user_id == namespace_id:
        return "owner"
    return identity.orgs.get(namespace_id)


def can_read(identity: Identity, repo: RepoFacts) -> bool:
    if not repo.private or identity.is_admin:
        return True
    return _role(identity, repo.namespace_id) is not None


def can_write(identity: Identity, repo: RepoFacts) -> bool:
    if not identity.may_write:
        return False
    if identity.is_admin:
        return True
    role = _role(identity, repo.namespace_id)
    if role == "owner" or role in WRITE_ROLES:
        return True
    return role == "contributor" and repo.created_by_id == identity.user_id


def can_manage(identity: Identity, repo: RepoFacts) -> bool:
    """Settings, rename and deletion."""
    if not identity.may_write:
        return False
    if identity.is_admin:
        return True
    role = _role(identity, repo.namespace_id)
    if role in ("owner", "admin"):
        return True
    return role == "contributor" and repo.created_by_id == identity.user_id


def can_create_in(identity: Identity, namespace_id: int) -> bool:
    if not identity.may_write:
        return False
    if identity.is_admin:
        return True
    return _role(identity, namespace_id) in ("owner", "contributor", "write", "admin")
