"""Listing and search through the real client: `list_models`, `list_datasets`, `list_spaces`.

The session's hub is shared by every compat test, so each test marks its repos with a fresh
token in their names and lists with `search=` that token; results are then exactly its own.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

from tests.compat.conftest import Client, LiveHub, start_server, stop_server
from tests.conftest import free_port, wait_for

ENDPOINT = os.environ["HF_ENDPOINT"]


@pytest.fixture
def marker() -> str:
    return f"mk{uuid.uuid4().hex[:10]}"


def ids(items: object) -> list[str]:
    return [item.id for item in items]  # type: ignore[attr-defined]


def card(**fields: object) -> bytes:
    lines = []
    for key, value in fields.items():
        if isinstance(value, list):
            lines += [f"{key}:", *(f"- {v}" for v in value)]
        else:
            lines.append(f"{key}: {value}")
    return ("---\n" + "\n".join(lines) + "\n---\n# Card\n").encode()


def next_second() -> None:
    """Wait until the wall clock enters a new second (at most one).

    Commit dates are git dates, whole seconds; a test that needs one repo modified strictly after
    another waits for the tick instead of sleeping a fixed time.
    """
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(0.01)


# --- search, author, filter ---


def test_search_is_a_case_insensitive_substring_of_the_id(api: HfApi, owner: Client, marker: str) -> None:
    mixed = f"{owner.name}/Alpha-{marker}-Case"
    plain = f"{owner.name}/beta-{marker}"
    api.create_repo(mixed)
    api.create_repo(plain)
    api.create_repo(plain, repo_type="dataset")

    assert set(ids(api.list_models(search=marker))) == {mixed, plain}
    assert ids(api.list_models(search=f"ALPHA-{marker.upper()}-cASE")) == [mixed]
    assert ids(api.list_models(search=f"{marker}-case")) == [mixed]
    assert ids(api.list_datasets(search=marker)) == [plain]
    assert ids(api.list_spaces(search=marker)) == []
    # Characters that mean something to SQL LIKE match only themselves.
    assert ids(api.list_models(search=f"%{marker}")) == []
    assert ids(api.list_models(search=f"alpha_{marker}")) == []


def test_author(api: HfApi, owner: Client, other: Client, marker: str) -> None:
    mine = f"{owner.name}/{marker}-mine"
    theirs = f"{other.name}/{marker}-theirs"
    api.create_repo(mine)
    HfApi(token=other.token).create_repo(theirs)

    assert ids(api.list_models(author=owner.name, search=marker)) == [mine]
    assert ids(api.list_models(author=other.name, search=marker)) == [theirs]
    assert ids(api.list_models(author=other.name.upper(), search=marker)) == [theirs]
    assert ids(api.list_models(author=f"nobody-{marker}")) == []


@pytest.fixture
def tagged_models(api: HfApi, owner: Client, marker: str) -> dict[str, str]:
    """Three models: a transformers text classifier under MIT, a sentence-transformers model, no card."""
    names = {k: f"{owner.name}/{marker}-{k}" for k in ("classifier", "embedder", "bare")}
    for name in names.values():
        api.create_repo(name)
    api.create_commit(
        names["classifier"],
        operations=[
            CommitOperationAdd(
                "README.md",
                card(
                    license="mit",
                    pipeline_tag="text-classification",
                    datasets=["compat/reviews"],
                    language=["en"],
                ),
            ),
            CommitOperationAdd("config.json", b'{"model_type": "bert"}'),
        ],
        commit_message="classifier",
    )
    api.create_commit(
        names["embedder"],
        operations=[
            CommitOperationAdd(
                "README.md", card(license="apache-2.0", library_name="sentence-transformers", tags=["fast"])
            ),
            CommitOperationAdd("modules.json", b"[]"),
        ],
        commit_message="embedder",
    )
    return names


def test_filter_by_tags_library_and_pipeline(api: HfApi, tagged_models: dict[str, str], marker: str) -> None:
    classifier, embedder = tagged_models["classifier"], tagged_models["embedder"]

    def found(**kwargs: object) -> set[str]:
        return set(ids(api.list_models(search=marker, **kwargs)))  # type: ignore[arg-type]

    assert found() == set(tagged_models.values())
    assert found(filter="license:mit") == {classifier}
    assert found(filter="license:apache-2.0") == {embedder}
    assert found(filter="transformers") == {classifier}
    assert found(filter="sentence-transformers") == {embedder}
    assert found(filter="text-classification") == {classifier}
    assert found(filter="fast") == {embedder}
    assert found(filter="en") == {classifier}
    assert found(trained_dataset="compat/reviews") == {classifier}
    # Several filters must all hold.
    assert found(filter=["license:mit", "transformers"]) == {classifier}
    assert found(filter=["license:mit", "sentence-transformers"]) == set()
    assert found(filter="license:gpl-3.0") == set()
    # The client's own keyword for the pipeline tag.
    assert found(pipeline_tag="text-classification") == {classifier}
    assert found(pipeline_tag="image-classification") == set()

    listed = {m.id: m for m in api.list_models(search=marker)}
    assert listed[classifier].pipeline_tag == "text-classification"
    assert listed[classifier].library_name == "transformers"
    assert "license:mit" in (listed[classifier].tags or [])
    assert listed[embedder].library_name == "sentence-transformers"


def test_filter_datasets_and_spaces(api: HfApi, owner: Client, marker: str) -> None:
    german, french = f"{owner.name}/{marker}-de", f"{owner.name}/{marker}-fr"
    for name, language in ((german, "de"), (french, "fr")):
        api.create_repo(name, repo_type="dataset")
        api.upload_file(
            path_or_fileobj=card(license="cc-by-4.0", language=[language], task_categories=["translation"]),
            path_in_repo="README.md",
            repo_id=name,
            repo_type="dataset",
        )
    api.upload_file(path_or_fileobj=b"a,b\n", path_in_repo="train.csv", repo_id=german, repo_type="dataset")

    assert ids(api.list_datasets(search=marker, language="de")) == [german]
    assert set(ids(api.list_datasets(search=marker, filter="license:cc-by-4.0"))) == {german, french}
    assert set(ids(api.list_datasets(search=marker, task_categories="translation"))) == {german, french}
    assert ids(api.list_datasets(search=marker, filter="format:csv")) == [german]

    gradio, static = f"{owner.name}/{marker}-gradio", f"{owner.name}/{marker}-static"
    api.create_repo(gradio, repo_type="space", space_sdk="gradio")
    api.create_repo(static, repo_type="space", space_sdk="static")
    api.upload_file(
        path_or_fileobj=card(sdk="gradio", license="mit"),
        path_in_repo="README.md",
        repo_id=gradio,
        repo_type="space",
    )
    assert ids(api.list_spaces(search=marker, filter="gradio")) == [gradio]
    assert ids(api.list_spaces(search=marker, filter="license:mit")) == [gradio]
    assert {s.id: s.sdk for s in api.list_spaces(search=marker)} == {gradio: "gradio", static: "static"}


# --- sort and limit ---


def test_sort_by_created_and_last_modified_is_descending(api: HfApi, owner: Client, marker: str) -> None:
    first, second, third = (f"{owner.name}/{marker}-{n}" for n in ("1", "2", "3"))
    for name in (first, second, third):
        api.create_repo(name)

    assert ids(api.list_models(search=marker, sort="created_at")) == [third, second, first]

    next_second()
    api.upload_file(path_or_fileobj=b"new\n", path_in_repo="new.txt", repo_id=first)
    listed = list(api.list_models(search=marker, sort="last_modified", full=True))
    assert ids(listed) == [first, third, second]
    dates = [m.last_modified for m in listed]
    assert all(d is not None for d in dates)
    assert dates == sorted(dates, reverse=True)  # type: ignore[type-var]
    # Creation order does not change when a repo is modified.
    assert ids(api.list_models(search=marker, sort="created_at")) == [third, second, first]


def test_downloads_are_counted_and_sorted_on(api: HfApi, owner: Client, marker: str, tmp_path: Path) -> None:
    counts = {f"{owner.name}/{marker}-{n}": n for n in (2, 0, 1)}
    for name in counts:
        api.create_repo(name)
        api.upload_file(path_or_fileobj=b'{"model_type": "bert"}', path_in_repo="config.json", repo_id=name)
        api.upload_file(path_or_fileobj=card(license="mit"), path_in_repo="README.md", repo_id=name)
    for name, n in counts.items():
        for i in range(n):
            hf_hub_download(name, "config.json", token=owner.token, cache_dir=tmp_path / f"{i}")
        # Reading the card is browsing, not downloading the model (as on huggingface.co).
        hf_hub_download(name, "README.md", token=owner.token, cache_dir=tmp_path / "cards")

    # The server writes counts in batches (every 0.2 s under test).
    wait_for(lambda: [api.model_info(name).downloads for name in counts] == list(counts.values()), timeout=15)
    by_downloads = list(api.list_models(search=marker, sort="downloads"))
    assert [(m.id, m.downloads) for m in by_downloads] == sorted(counts.items(), key=lambda kv: -kv[1])
    # One download is one count, though the client sends a HEAD and then a GET.
    assert api.model_info(f"{owner.name}/{marker}-2", expand=["downloadsAllTime"]).downloads_all_time == 2


def test_sort_by_likes_and_trending_are_accepted(api: HfApi, owner: Client, marker: str) -> None:
    names = [f"{owner.name}/{marker}-{n}" for n in range(3)]
    for name in names:
        api.create_repo(name, repo_type="dataset")

    # Nobody can like a repo yet: ties come newest first.
    for sort in ("likes", "trending_score"):
        listed = list(api.list_datasets(search=marker, sort=sort))
        assert ids(listed) == names[::-1]
    response = httpx.get(f"{ENDPOINT}/api/datasets", params={"search": marker, "sort": "stars"})
    assert response.status_code == 400
    assert response.headers["X-Error-Code"] == "BadRequest"
    assert "Unknown sort" in response.json()["error"]


def test_limit(api: HfApi, owner: Client, marker: str) -> None:
    names = [f"{owner.name}/{marker}-{n}" for n in range(4)]
    for name in names:
        api.create_repo(name, repo_type="space", space_sdk="docker")

    assert ids(api.list_spaces(search=marker, sort="created_at", limit=2)) == names[:1:-1]
    assert len(ids(api.list_spaces(search=marker, limit=10))) == 4
    # The server itself honours limit (the client also truncates; other clients may not).
    response = httpx.get(f"{ENDPOINT}/api/spaces", params={"search": marker, "limit": 3})
    assert len(response.json()) == 3
    assert "link" not in response.headers


# --- what each item carries ---


def test_default_full_card_data_and_expand_shapes(
    api: HfApi, tagged_models: dict[str, str], marker: str
) -> None:
    classifier = tagged_models["classifier"]
    head = api.model_info(classifier).sha

    [plain] = api.list_models(search=f"{marker}-classifier")
    assert plain.id == classifier
    assert plain.siblings is None and plain.sha is None and plain.card_data is None
    assert plain.created_at is not None and plain.downloads == 0 and plain.likes == 0
    assert plain.private is False

    [full] = api.list_models(search=f"{marker}-classifier", full=True)
    assert full.sha == head
    assert full.last_modified is not None
    assert full.author == classifier.split("/")[0]
    assert {s.rfilename for s in full.siblings or []} == {".gitattributes", "README.md", "config.json"}
    assert full.card_data is None

    [with_card] = api.list_models(search=f"{marker}-classifier", cardData=True)
    assert with_card.card_data is not None
    assert with_card.card_data.license == "mit"
    assert with_card.card_data.language == ["en"]

    [expanded] = api.list_models(search=f"{marker}-classifier", expand=["sha", "pipeline_tag"])
    assert expanded.sha == head
    assert expanded.pipeline_tag == "text-classification"
    assert expanded.tags is None and expanded.downloads is None and expanded.siblings is None
    raw = httpx.get(
        f"{ENDPOINT}/api/models", params={"search": f"{marker}-classifier", "expand": "sha"}
    ).json()
    assert [set(item) for item in raw] == [{"_id", "id", "modelId", "sha"}]


def test_dataset_listing_full(api: HfApi, owner: Client, marker: str) -> None:
    name = f"{owner.name}/{marker}-data"
    api.create_repo(name, repo_type="dataset")
    api.upload_file(path_or_fileobj=b"a\n", path_in_repo="data/train.csv", repo_id=name, repo_type="dataset")

    [item] = api.list_datasets(search=marker, full=True)
    assert item.sha == api.dataset_info(name).sha
    assert {s.rfilename for s in item.siblings or []} == {".gitattributes", "data/train.csv"}
    assert item.last_modified is not None


# --- privacy ---


@pytest.mark.parametrize("repo_type", ["model", "dataset", "space"])
def test_private_repos_are_listed_only_for_their_owner(
    api: HfApi, owner: Client, other: Client, marker: str, repo_type: str
) -> None:
    public, private = f"{owner.name}/{marker}-public", f"{owner.name}/{marker}-private"
    sdk = "static" if repo_type == "space" else None
    api.create_repo(public, repo_type=repo_type, space_sdk=sdk)
    api.create_repo(private, repo_type=repo_type, space_sdk=sdk, private=True)

    def listed(token: str | bool) -> set[str]:
        lister: Callable[..., Iterator[object]] = getattr(HfApi(token=token), f"list_{repo_type}s")
        return set(ids(lister(search=marker, token=token, full=True)))

    assert listed(owner.token) == {public, private}
    assert listed(other.token) == {public}
    assert listed(False) == {public}
    assert set(ids(HfApi(token=False).list_models(author=owner.name, search=marker, token=False))) <= {public}
    privacy = {m.id: m.private for m in getattr(api, f"list_{repo_type}s")(search=marker)}
    assert privacy == {public: False, private: True}

    # Made public, it appears for everyone; made private again, it disappears.
    api.update_repo_settings(private, repo_type=repo_type, private=False)
    assert listed(False) == {public, private}
    api.update_repo_settings(private, repo_type=repo_type, private=True)
    assert listed(other.token) == {public}


# --- pagination ---


@pytest.fixture(scope="module")
def small_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """A hub of its own whose listings come two repos a page, so a few repos make several pages.

    Pages are 1000 repos by default: the same code paths, without creating a thousand repos.
    """
    data_dir = tmp_path_factory.mktemp("small-pages")
    hub = start_server(data_dir, free_port(), data_dir / "server.log", {"COMMONSHUB_LIST_PAGE_SIZE": "2"})
    yield hub
    stop_server(hub)
    errors = [line for line in hub.log.read_text().splitlines() if "Traceback" in line or " 500 " in line]
    assert not errors, hub.log.read_text()[-5000:]


def test_more_than_one_page_follows_absolute_link_headers(small_pages: LiveHub) -> None:
    token = small_pages.user("pager")
    api = HfApi(endpoint=small_pages.url, token=token)
    names = [f"pager/repo-{n}" for n in range(7)]
    for n, name in enumerate(names):
        api.create_repo(name, private=n == 3)
        api.create_repo(name, repo_type="dataset")

    newest_first = names[::-1]
    assert ids(api.list_models(author="pager", sort="created_at")) == newest_first
    assert ids(api.list_datasets(sort="created_at", full=True)) == newest_first
    assert ids(api.list_models(author="pager", sort="created_at", limit=5)) == newest_first[:5]
    public = [n for n in newest_first if n != "pager/repo-3"]
    assert ids(HfApi(endpoint=small_pages.url).list_models(sort="created_at", token=False)) == public
    # Keyset pages: a repo created between two pages neither repeats nor pushes another out.
    pages = iter(api.list_models(author="pager", sort="created_at"))
    seen = [next(pages).id for _ in range(3)]
    api.create_repo("pager/late-comer")
    seen += ids(pages)
    assert seen == newest_first

    # What the client follows: an absolute URL to the same hub, with the query kept.
    headers = {"Authorization": f"Bearer {token}"}
    first = httpx.get(
        f"{small_pages.url}/api/models", params={"author": "pager", "sort": "createdAt"}, headers=headers
    )
    assert [m["id"] for m in first.json()] == ["pager/late-comer", newest_first[0]]
    link = first.links["next"]["url"]
    assert link.startswith(f"{small_pages.url}/api/models?")
    assert "author=pager" in link and "sort=createdAt" in link
    second = httpx.get(link, headers=headers)
    assert [m["id"] for m in second.json()] == newest_first[1:3]
    last = httpx.get(
        f"{small_pages.url}/api/models", params={"author": "pager", "search": "repo-0"}, headers=headers
    )
    assert [m["id"] for m in last.json()] == ["pager/repo-0"]
    assert "next" not in last.links
    bad = httpx.get(f"{small_pages.url}/api/models", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400
    assert bad.headers["X-Error-Code"] == "BadRequest"


def test_links_use_the_public_url_behind_a_proxy(tmp_path: Path) -> None:
    public_url = "https://hub.example.org/prefix"
    hub = start_server(
        tmp_path,
        free_port(),
        tmp_path / "server.log",
        {"COMMONSHUB_LIST_PAGE_SIZE": "1", "COMMONSHUB_PUBLIC_URL": public_url},
    )
    try:
        headers = {"Authorization": f"Bearer {hub.user('proxied')}"}
        for name in ("one", "two"):
            created = httpx.post(f"{hub.url}/api/repos/create", json={"name": name}, headers=headers)
            assert created.json()["url"] == f"{public_url}/proxied/{name}"
        response = httpx.get(f"{hub.url}/api/models")
        assert response.links["next"]["url"].startswith(f"{public_url}/api/models?cursor=")
    finally:
        stop_server(hub)
