"""Who may read, write, manage and create repos: the whole rules table, case by case."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from commonshub.accounts.permissions import ANONYMOUS, Identity, Namespace, allowed

ALICE, BOB, ORG = 1, 2, 100


@dataclass(frozen=True)
class Repo:
    namespace_id: int
    private: bool
    created_by_id: int | None
    gated: str | None = None
    id: int = 0


def user(
    user_id: int, *, role: str = "write", admin: bool = False, orgs: dict[int, str] | None = None
) -> Identity:
    return Identity(user_id=user_id, name=f"u{user_id}", is_admin=admin, token_role=role, orgs=orgs or {})


IDENTITIES = {
    "anonymous": ANONYMOUS,
    "alice": user(ALICE),
    "alice-read-token": user(ALICE, role="read"),
    "bob": user(BOB),
    "site-admin": user(9, admin=True),
    "site-admin-read-token": user(9, role="read", admin=True),
    "org-read": user(3, orgs={ORG: "read"}),
    "org-contributor": user(4, orgs={ORG: "contributor"}),
    "org-contributor-read-token": user(4, role="read", orgs={ORG: "contributor"}),
    "org-write": user(5, orgs={ORG: "write"}),
    "org-admin": user(6, orgs={ORG: "admin"}),
    "org-admin-read-token": user(6, role="read", orgs={ORG: "admin"}),
}

REPOS = {
    "alice-public": Repo(ALICE, private=False, created_by_id=ALICE),
    "alice-private": Repo(ALICE, private=True, created_by_id=ALICE),
    "org-public-by-contributor": Repo(ORG, private=False, created_by_id=4),
    "org-private-by-contributor": Repo(ORG, private=True, created_by_id=4),
    "org-private-by-writer": Repo(ORG, private=True, created_by_id=5),
    "org-private-creator-gone": Repo(ORG, private=True, created_by_id=None),
}

# (identity, repo, may read, may write, may manage: settings, rename, delete)
RULES = [
    # Public repos: everyone reads; only the owner writes.
    ("anonymous", "alice-public", True, False, False),
    ("alice", "alice-public", True, True, True),
    ("alice-read-token", "alice-public", True, False, False),
    ("bob", "alice-public", True, False, False),
    # Private repos look missing to everyone but their owner and the site admins.
    ("anonymous", "alice-private", False, False, False),
    ("bob", "alice-private", False, False, False),
    ("org-admin", "alice-private", False, False, False),
    ("alice", "alice-private", True, True, True),
    ("alice-read-token", "alice-private", True, False, False),
    ("site-admin", "alice-private", True, True, True),
    ("site-admin-read-token", "alice-private", True, False, False),
    # Org repos by role.
    ("anonymous", "org-public-by-contributor", True, False, False),
    ("bob", "org-public-by-contributor", True, False, False),
    ("org-read", "org-public-by-contributor", True, False, False),
    ("org-read", "org-private-by-writer", True, False, False),
    ("org-contributor", "org-private-by-contributor", True, True, True),
    ("org-contributor", "org-public-by-contributor", True, True, True),
    ("org-contributor", "org-private-by-writer", True, False, False),
    ("org-contributor", "org-private-creator-gone", True, False, False),
    ("org-contributor-read-token", "org-private-by-contributor", True, False, False),
    ("org-write", "org-private-by-contributor", True, True, False),
    ("org-write", "org-private-by-writer", True, True, False),
    ("org-admin", "org-private-by-contributor", True, True, True),
    ("org-admin", "org-private-creator-gone", True, True, True),
    ("org-admin-read-token", "org-private-by-writer", True, False, False),
    ("bob", "org-private-by-writer", False, False, False),
    ("anonymous", "org-private-by-writer", False, False, False),
    ("site-admin", "org-private-by-writer", True, True, True),
    ("site-admin-read-token", "org-private-by-writer", True, False, False),
]


@pytest.mark.parametrize(("who", "repo", "read", "write", "manage"), RULES)
def test_rules_table(who: str, repo: str, read: bool, write: bool, manage: bool) -> None:
    identity, facts = IDENTITIES[who], REPOS[repo]
    assert allowed(identity, "repo:read", facts) is read
    assert allowed(identity, "repo:write", facts) is write
    assert allowed(identity, "repo:manage", facts) is manage


def test_the_table_covers_every_identity_and_repo() -> None:
    assert {r[0] for r in RULES} == set(IDENTITIES)
    assert {r[1] for r in RULES} == set(REPOS)


def test_writing_and_managing_imply_reading() -> None:
    for identity in IDENTITIES.values():
        for repo in REPOS.values():
            if allowed(identity, "repo:write", repo) or allowed(identity, "repo:manage", repo):
                assert allowed(identity, "repo:read", repo)


# (identity, namespace, may create a repo there)
CREATE_RULES = [
    ("anonymous", ALICE, False),
    ("alice", ALICE, True),
    ("alice-read-token", ALICE, False),
    ("bob", ALICE, False),
    ("alice", ORG, False),
    ("org-read", ORG, False),
    ("org-contributor", ORG, True),
    ("org-contributor-read-token", ORG, False),
    ("org-write", ORG, True),
    ("org-admin", ORG, True),
    ("org-admin-read-token", ORG, False),
    ("org-admin", ALICE, False),
    ("site-admin", ALICE, True),
    ("site-admin", ORG, True),
    ("site-admin-read-token", ORG, False),
]


@pytest.mark.parametrize(("who", "namespace", "may"), CREATE_RULES)
def test_who_may_create_repos_where(who: str, namespace: int, may: bool) -> None:
    assert allowed(IDENTITIES[who], "repo:create", Namespace(namespace)) is may
