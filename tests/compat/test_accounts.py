"""People and organizations through the real client: whoami with each kind of token, user and
organization overviews, members, the repository settings listing, and tokens made with the CLI."""

from __future__ import annotations

import uuid

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.compat.conftest import Client, LiveHub


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_whoami_reports_each_kind_of_token(live_hub: LiveHub) -> None:
    name = unique("who")
    write = live_hub.user(name)
    org = unique("org")
    live_hub.cli("org", "create", org, "--fullname", "An Org", "--member", f"{name}:contributor")
    read = live_hub.cli("token", "create", name, "--name", "ro", "--role", "read").strip()
    HfApi(token=write).create_repo(f"{name}/private", private=True)
    fine = live_hub.cli(
        "token", "create", name, "--name", "ci", "--role", "fineGrained",
        "--scope", f"model:{name}/private:repo.content.read", "--expires-in-days", "7",
    ).strip()  # fmt: skip
    me = HfApi(token=write).whoami()
    assert me["name"] == name and me["auth"]["accessToken"]["role"] == "write"
    assert [(o["name"], o["fullname"], o["roleInOrg"]) for o in me["orgs"]] == [
        (org, "An Org", "contributor")
    ]
    assert HfApi(token=read).whoami()["auth"]["accessToken"]["role"] == "read"
    assert HfApi(token=fine).whoami()["auth"]["accessToken"]["role"] == "fineGrained"
    scoped = HfApi(token=fine).whoami()["auth"]["accessToken"]["fineGrained"]["scoped"]
    assert scoped == [
        {"entity": {"_id": scoped[0]["entity"]["_id"], "type": "model", "name": f"{name}/private"},
         "permissions": ["repo.content.read"]}
    ]  # fmt: skip
    # The fine-grained token reads what it names and writes nothing.
    assert HfApi(token=fine).model_info(f"{name}/private").id == f"{name}/private"
    with pytest.raises(HfHubHTTPError) as refused:
        HfApi(token=fine).create_repo(f"{name}/another")
    assert refused.value.response.status_code == 403
    # Listed, then revoked with the CLI: the client is refused at once.
    listing = live_hub.cli("token", "list", name)
    assert "\tci\tfineGrained\t" in listing and "\tro\tread\t" in listing
    live_hub.cli("token", "revoke", name, "ci")
    with pytest.raises(HfHubHTTPError) as revoked:
        HfApi(token=fine).whoami()
    assert revoked.value.response.status_code == 401
    with pytest.raises(RepositoryNotFoundError):
        HfApi(token=read).model_info(f"{name}/does-not-exist")


def test_overviews_members_and_the_settings_listing(live_hub: LiveHub, owner: Client, other: Client) -> None:
    org = unique("team")
    live_hub.cli("org", "create", org, "--member", f"{owner.name}:admin", "--member", f"{other.name}:read")
    api = HfApi(token=owner.token)
    api.create_repo(f"{org}/public-model")
    api.create_repo(f"{org}/secret-model", private=True)
    api.create_repo(f"{org}/data", repo_type="dataset")
    overview = HfApi().get_organization_overview(org)
    assert overview.name == org and overview.num_users == 2
    # Counts are of what the caller may see.
    assert overview.num_models == 1 and overview.num_datasets == 1
    assert api.get_organization_overview(org).num_models == 2
    members = {u.username: u for u in HfApi().list_organization_members(org)}
    assert set(members) == {owner.name, other.name}
    assert members[owner.name].avatar_url
    user = HfApi().get_user_overview(other.name)
    assert user.username == other.name and [o.name for o in user.orgs] == [org]
    repos = {r.id: r for r in api.list_user_repos(namespace=org)}
    assert set(repos) == {f"{org}/public-model", f"{org}/secret-model", f"{org}/data"}
    assert repos[f"{org}/secret-model"].visibility == "private" and repos[f"{org}/data"].type == "dataset"
    # Members may list; outsiders may not.
    assert {r.id for r in HfApi(token=other.token).list_user_repos(namespace=org)} == set(repos)
    outsider = live_hub.user(unique("out"))
    with pytest.raises(HfHubHTTPError) as refused:
        list(HfApi(token=outsider).list_user_repos(namespace=org))
    assert refused.value.response.status_code == 403
    mine = {r.id for r in api.list_user_repos()}
    assert all(repo_id.startswith(f"{owner.name}/") for repo_id in mine)
