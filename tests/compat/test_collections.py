"""Likes and collections through the real client (specs/hf-protocol.md §9.1, §9.2).

`huggingface_hub` 2.4 has `unlike`, `list_liked_repos` and `list_repo_likers` but no `like` (the
web page likes); the like here is the request older clients and the web page send, through the
client's own session and error mapping.
"""

from __future__ import annotations

import os
import uuid

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import get_session, hf_raise_for_status

from tests.compat.conftest import Client, LiveHub

ENDPOINT = os.environ["HF_ENDPOINT"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def like(api: HfApi, repo_id: str, repo_type: str = "model") -> None:
    r = get_session().post(f"{ENDPOINT}/api/{repo_type}s/{repo_id}/like", headers=api._build_hf_headers())
    hf_raise_for_status(r)


def status_of(error: pytest.ExceptionInfo[HfHubHTTPError]) -> int:
    return error.value.response.status_code


# --- likes ---


def test_like_unlike_and_the_lists_of_likes(api: HfApi, owner: Client, other: Client, repo_name: str) -> None:
    api.create_repo(repo_name)
    dataset = api.create_repo(unique(f"{owner.name}/d"), repo_type="dataset").repo_id
    theirs = HfApi(token=other.token)
    like(api, repo_name)
    like(theirs, repo_name)
    like(theirs, repo_name)  # twice is once
    like(theirs, dataset, "dataset")
    assert api.model_info(repo_name).likes == 2
    assert [m.likes for m in api.list_models(search=repo_name)] == [2]
    likers = list(api.list_repo_likers(repo_name))
    assert sorted(u.username for u in likers) == sorted([owner.name, other.name])
    assert all(u.fullname and u.avatar_url for u in likers)
    liked = api.list_liked_repos(other.name)
    assert liked.user == other.name
    assert repo_name in liked.models and dataset in liked.datasets
    assert theirs.list_liked_repos().total == liked.total  # the user from whoami

    theirs.unlike(repo_name)
    theirs.unlike(repo_name)  # nothing left to take back: still fine
    assert api.model_info(repo_name).likes == 1
    assert repo_name not in theirs.list_liked_repos().models
    assert [u.username for u in api.list_repo_likers(repo_name)] == [owner.name]

    with pytest.raises(RepositoryNotFoundError):
        theirs.unlike(f"{owner.name}/does-not-exist")
    with pytest.raises(HfHubHTTPError) as anonymous:
        api.unlike(repo_name, token=False)
    assert status_of(anonymous) == 401
    # A private repo: not found for others, and not shown among its owner's likes.
    secret = api.create_repo(unique(f"{owner.name}/s"), private=True).repo_id
    like(api, secret)
    with pytest.raises(RepositoryNotFoundError):
        theirs.unlike(secret)
    assert secret in api.list_liked_repos(owner.name).models
    assert secret not in theirs.list_liked_repos(owner.name).models


# --- collections ---


def test_the_collection_lifecycle(api: HfApi, owner: Client, repo_name: str) -> None:
    api.create_repo(repo_name)
    dataset = api.create_repo(unique(f"{owner.name}/d"), repo_type="dataset").repo_id
    title = unique("Reading list")
    made = api.create_collection(title, description="Models worth reading")
    assert made.slug.startswith(f"{owner.name}/reading-list-")
    assert made.title == title and made.description == "Models worth reading"
    assert made.owner["name"] == owner.name  # type: ignore[index]
    assert made.items == [] and made.private is False
    assert made.url == f"{ENDPOINT}/collections/{made.slug}"
    with pytest.raises(HfHubHTTPError) as twice:
        api.create_collection(title)
    assert status_of(twice) == 409
    assert api.create_collection(title, exists_ok=True).slug == made.slug

    renamed = api.update_collection_metadata(made.slug, title=f"{title} v2", theme="green")
    assert renamed.title == f"{title} v2" and renamed.theme == "green"
    assert renamed.slug != made.slug and renamed.slug.endswith(made.slug.rsplit("-", 1)[1])
    assert api.get_collection(made.slug).slug == renamed.slug  # the old slug still resolves
    slug = api.get_collection(renamed.slug).slug

    inner = api.create_collection(unique("Inner"))
    api.add_collection_item(slug, repo_name, "model", note="The **base** model")
    api.add_collection_item(slug, dataset, "dataset")
    got = api.add_collection_item(slug, inner.slug, "collection")
    assert [(i.item_type, i.item_id, i.position) for i in got.items] == [
        ("model", repo_name, 0),
        ("dataset", dataset, 1),
        ("collection", inner.slug, 2),
    ]
    assert got.items[0].note == "The **base** model"
    with pytest.raises(HfHubHTTPError) as again:
        api.add_collection_item(slug, repo_name, "model")
    assert status_of(again) == 409
    api.add_collection_item(slug, repo_name, "model", exists_ok=True)
    with pytest.raises(HfHubHTTPError) as missing:
        api.add_collection_item(slug, f"{owner.name}/does-not-exist", "model")
    assert status_of(missing) == 404

    last = got.items[2]
    api.update_collection_item(slug, last.item_object_id, note="Nested", position=0)
    items = api.get_collection(slug).items
    assert [(i.item_id, i.position) for i in items] == [(inner.slug, 0), (repo_name, 1), (dataset, 2)]
    assert items[0].note == "Nested"
    api.delete_collection_item(slug, items[1].item_object_id)
    with pytest.raises(HfHubHTTPError) as gone:
        api.delete_collection_item(slug, items[1].item_object_id)
    assert status_of(gone) == 404
    api.delete_collection_item(slug, items[1].item_object_id, missing_ok=True)
    assert [i.item_id for i in api.get_collection(slug).items] == [inner.slug, dataset]

    listed = list(api.list_collections(owner=owner.name, limit=500))
    assert slug in [c.slug for c in listed]
    assert [c.slug for c in api.list_collections(item=f"datasets/{dataset}")] == [slug]

    api.delete_collection(slug)
    with pytest.raises(HfHubHTTPError) as deleted:
        api.get_collection(slug)
    assert status_of(deleted) == 404
    api.delete_collection(slug, missing_ok=True)
    with pytest.raises(HfHubHTTPError):
        api.delete_collection(slug)
    # The inner collection lives on.
    assert api.get_collection(inner.slug).title == inner.title


def test_others_see_no_private_collection_and_change_none(api: HfApi, owner: Client, other: Client) -> None:
    theirs = HfApi(token=other.token)
    secret = api.create_collection(unique("Secret"), private=True)
    public = api.create_collection(unique("Public"))
    with pytest.raises(HfHubHTTPError) as hidden:
        theirs.get_collection(secret.slug)
    assert status_of(hidden) == 404
    seen = [c.slug for c in theirs.list_collections(owner=owner.name)]
    assert public.slug in seen and secret.slug not in seen
    assert secret.slug in [c.slug for c in api.list_collections(owner=owner.name)]
    assert theirs.get_collection(public.slug).title == public.title
    for change in (
        lambda: theirs.update_collection_metadata(public.slug, title="Mine now"),
        lambda: theirs.add_collection_item(public.slug, "2311.12983", "paper"),
        lambda: theirs.delete_collection(public.slug),
    ):
        with pytest.raises(HfHubHTTPError) as refused:
            change()
        assert status_of(refused) == 403
    assert api.get_collection(public.slug).title == public.title


def test_an_org_collection_is_managed_by_its_members(
    api: HfApi, live_hub: LiveHub, owner: Client, other: Client, repo_name: str
) -> None:
    member_name = unique("compat-member")
    member = HfApi(token=live_hub.user(member_name))
    org = unique("compat-org")
    live_hub.cli(
        "org", "create", org, "--member", f"{owner.name}:admin", "--member", f"{member_name}:contributor"
    )
    api.create_repo(repo_name)
    made = api.create_collection(unique("Org picks"), namespace=org, private=True)
    assert made.slug.startswith(f"{org}/") and made.owner["type"] == "org"  # type: ignore[index]
    added = member.add_collection_item(made.slug, repo_name, "model", note="from a member")
    assert [i.item_id for i in added.items] == [repo_name]
    member.update_collection_metadata(made.slug, description="Chosen together")
    assert api.get_collection(made.slug).description == "Chosen together"
    assert made.slug in [c.slug for c in member.list_collections(owner=org)]
    with pytest.raises(HfHubHTTPError) as outsider:
        HfApi(token=other.token).get_collection(made.slug)
    assert status_of(outsider) == 404
    member.delete_collection(made.slug)
    api.delete_collection(made.slug, missing_ok=True)
