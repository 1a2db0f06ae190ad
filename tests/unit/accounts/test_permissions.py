"""Who may read, write, manage and create repos: the whole rules table, case by case."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commonshub.accounts.permissions import (
    ANONYMOUS,
    FINE_GRAINED_PERMISSIONS,
    HUB,
    MEMBER_ROLES,
    TOKEN_PERMISSIONS,
    Action,
    Identity,
    Namespace,
    Scope,
    allowed,
)

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


# --- properties of `allowed`, over every identity, token and repo hypothesis draws ---

REPO_ACTIONS = ("repo:read", "repo:content", "repo:discuss", "repo:write", "repo:manage")
NAMESPACE_ACTIONS = ("repo:create", "org:read", "org:manage", "account:manage", "hub:admin")
PERMISSIONS = sorted(set(TOKEN_PERMISSIONS.values()))

repos = st.builds(
    Repo,
    namespace_id=st.sampled_from([ALICE, BOB, ORG]),
    private=st.booleans(),
    created_by_id=st.sampled_from([None, ALICE, BOB, 4]),
    gated=st.sampled_from([None, "auto", "manual"]),
    id=st.integers(1, 4),
)
scopes = st.lists(
    st.builds(
        Scope,
        kind=st.sampled_from(["repo", "namespace"]),
        id=st.sampled_from([1, 2, ALICE, BOB, ORG]),
        permissions=st.frozensets(st.sampled_from(PERMISSIONS)),
    ),
    max_size=3,
).map(tuple)


@st.composite
def identities(draw: st.DrawFn) -> Identity:
    if draw(st.booleans()) and draw(st.booleans()):
        return ANONYMOUS
    role = draw(st.sampled_from(["read", "write", "fineGrained"]))
    return Identity(
        user_id=draw(st.sampled_from([ALICE, BOB, 4, 9])),
        name="someone",
        is_admin=draw(st.booleans()),
        token_id=1,
        token_role=role,
        scopes=draw(scopes) if role == "fineGrained" else (),
        orgs=draw(st.dictionaries(st.just(ORG), st.sampled_from(MEMBER_ROLES), max_size=1)),
    )


def as_write_token(identity: Identity) -> Identity:
    return replace(identity, token_role="write", scopes=())


@given(identities(), repos, st.sampled_from(REPO_ACTIONS), st.booleans())
def test_a_token_never_allows_more_than_its_user_may(
    identity: Identity, repo: Repo, action: Action, granted: bool
) -> None:
    # Whatever the token, it only narrows: a write token of the same user is the ceiling.
    if allowed(identity, action, repo, access_granted=granted):
        assert allowed(as_write_token(identity), action, repo, access_granted=granted)


@given(identities(), st.sampled_from([ALICE, BOB, ORG]), st.sampled_from(NAMESPACE_ACTIONS))
def test_namespace_actions_narrow_the_same_way(identity: Identity, namespace: int, action: Action) -> None:
    if allowed(identity, action, Namespace(namespace)):
        assert allowed(as_write_token(identity), action, Namespace(namespace))


@given(identities(), repos, st.sampled_from(REPO_ACTIONS), st.booleans())
def test_every_repo_action_needs_reading_it(
    identity: Identity, repo: Repo, action: Action, granted: bool
) -> None:
    if allowed(identity, action, repo, access_granted=granted):
        assert allowed(identity, "repo:read", repo)


@given(identities(), repos, st.booleans())
def test_read_tokens_and_anonymous_callers_change_nothing(
    identity: Identity, repo: Repo, granted: bool
) -> None:
    if identity.anonymous or identity.token_role == "read":
        for action in ("repo:discuss", "repo:write", "repo:manage"):
            assert not allowed(identity, action, repo, access_granted=granted)
        for action in NAMESPACE_ACTIONS:
            if action != "org:read":
                assert not allowed(identity, action, Namespace(ORG))


@given(identities(), repos)
def test_private_repos_are_for_their_namespace_and_site_admins(identity: Identity, repo: Repo) -> None:
    if repo.private and allowed(identity, "repo:read", repo):
        assert (
            identity.is_admin or repo.namespace_id == identity.user_id or repo.namespace_id in identity.orgs
        )


@given(identities(), repos)
def test_gated_content_needs_a_role_or_a_granted_request(identity: Identity, repo: Repo) -> None:
    if repo.gated and allowed(identity, "repo:content", repo, access_granted=False):
        assert (
            identity.is_admin or repo.namespace_id == identity.user_id or repo.namespace_id in identity.orgs
        )


@given(identities(), repos, st.sampled_from(REPO_ACTIONS))
def test_a_fine_grained_token_acts_only_where_a_scope_names_the_repo_or_its_namespace(
    identity: Identity, repo: Repo, action: Action
) -> None:
    if identity.token_role != "fineGrained" or not allowed(identity, action, repo, access_granted=True):
        return
    if action in ("repo:read", "repo:content") and not repo.private:
        return  # public reads need no token at all
    # Any permission on a repo includes reading it.
    needed = {TOKEN_PERMISSIONS[action]} if action not in ("repo:read", "repo:content") else set(PERMISSIONS)
    assert any(
        not needed.isdisjoint(s.permissions)
        and ((s.kind == "repo" and s.id == repo.id) or (s.kind == "namespace" and s.id == repo.namespace_id))
        for s in identity.scopes
    )


def test_no_fine_grained_token_can_mint_tokens_or_administer() -> None:
    everything = (Scope("namespace", ALICE, frozenset(PERMISSIONS)),)  # even if a scope said so
    token = Identity(user_id=ALICE, name="alice", is_admin=True, token_role="fineGrained", scopes=everything)
    assert not allowed(token, "account:manage", Namespace(ALICE))
    assert not allowed(token, "hub:admin", HUB)
    assert "account.manage" not in FINE_GRAINED_PERMISSIONS and "hub.admin" not in FINE_GRAINED_PERMISSIONS


def test_fine_grained_scopes_by_example() -> None:
    secret = Repo(ALICE, private=True, created_by_id=ALICE, id=1)
    other_secret = Repo(ALICE, private=True, created_by_id=ALICE, id=2)
    public = Repo(BOB, private=False, created_by_id=BOB, id=3)
    reader = Identity(
        user_id=ALICE,
        name="alice",
        token_role="fineGrained",
        scopes=(Scope("repo", 1, frozenset({"repo.content.read"})),),
    )
    assert allowed(reader, "repo:read", secret) and allowed(reader, "repo:content", secret)
    assert not allowed(reader, "repo:write", secret)
    assert not allowed(reader, "repo:read", other_secret)
    assert allowed(reader, "repo:read", public) and not allowed(reader, "repo:discuss", public)
    org_writer = Identity(
        user_id=5,
        name="w",
        token_role="fineGrained",
        orgs={ORG: "write"},
        scopes=(Scope("namespace", ORG, frozenset({"repo.write", "repo.content.read"})),),
    )
    org_repo = Repo(ORG, private=True, created_by_id=None, id=4)
    assert allowed(org_writer, "repo:write", org_repo) and allowed(org_writer, "repo:create", Namespace(ORG))
    assert not allowed(org_writer, "repo:manage", org_repo)  # neither the scope nor the role allows it
    assert not allowed(org_writer, "repo:create", Namespace(5))  # their own namespace is not in scope
