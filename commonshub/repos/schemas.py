"""Request bodies and response shapes of the repo API (specs/hf-protocol.md §3, §6, §9.5).

A repo is rendered from one table of properties, so `model_info`, `expand=`, and the listing
shapes (default, `full`, `cardData`, `config`) cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from commonshub.bodies import Body as _Body
from commonshub.gitstore import CommitInfo, TreeEntry
from commonshub.models import Repo
from commonshub.responses import format_date


class CreateRepoBody(_Body):
    name: str
    organization: str | None = None
    type: str | None = None
    private: bool | None = None
    visibility: str | None = None
    sdk: str | None = None


class DeleteRepoBody(_Body):
    name: str
    organization: str | None = None
    type: str | None = None


class MoveRepoBody(_Body):
    fromRepo: str
    toRepo: str
    type: str | None = None


class SettingsBody(_Body):
    private: bool | None = None
    visibility: str | None = None
    gated: str | bool | None = None


class BranchBody(_Body):
    startingPoint: str | None = None


class TagBody(_Body):
    tag: str
    message: str | None = None


class SquashBody(_Body):
    message: str | None = None


class ValidateYamlBody(_Body):
    content: str
    repoType: str | None = "model"


@dataclass
class RepoView:
    """A repo at one commit, with what its properties are computed from.

    `repo` is a Repo, or a row of its columns (listings read rows, which cost less than objects).
    """

    repo: Repo | Any
    repo_id: str
    author: str
    sha: str | None
    last_modified: datetime
    files: list[TreeEntry] | None
    card_data: dict[str, Any] | None
    tags: list[str]
    blobs: bool = False


def _siblings(view: RepoView) -> list[dict[str, Any]]:
    out = []
    for f in view.files or []:
        item: dict[str, Any] = {"rfilename": f.path}
        if view.blobs:
            item["size"] = f.size
            item["blobId"] = f.oid
            if f.lfs is not None:
                item["lfs"] = {"size": f.lfs.size, "sha256": f.lfs.oid, "pointerSize": f.lfs.pointer_size}
        out.append(item)
    return out


def _runtime(view: RepoView) -> dict[str, Any]:
    # Spaces are stored and versioned; running them arrives with inference.
    return {"stage": "NO_APP_FILE", "hardware": {"current": None, "requested": None}, "storage": None}


PROPERTIES: dict[str, Callable[[RepoView], Any]] = {
    "author": lambda v: v.author,
    "sha": lambda v: v.sha,
    "lastModified": lambda v: format_date(v.last_modified),
    "createdAt": lambda v: format_date(v.repo.created_at),
    "private": lambda v: v.repo.private,
    "gated": lambda v: v.repo.gated or False,
    "disabled": lambda v: v.repo.disabled,
    "likes": lambda v: v.repo.likes,
    "downloads": lambda v: v.repo.downloads,
    "downloadsAllTime": lambda v: v.repo.downloads_all_time,
    "trendingScore": lambda v: v.repo.trending_score,
    "tags": lambda v: v.tags,
    "siblings": _siblings,
    "cardData": lambda v: v.card_data or {},
    "usedStorage": lambda v: v.repo.used_storage,
    "library_name": lambda v: v.repo.library_name,
    "pipeline_tag": lambda v: v.repo.pipeline_tag,
    "config": lambda v: v.repo.config,
    "spaces": lambda v: [],
    "sdk": lambda v: v.repo.sdk,
    "runtime": _runtime,
    "models": lambda v: [],
    "datasets": lambda v: [],
    "subdomain": lambda v: None,
}

_COMMON = [
    "author",
    "sha",
    "lastModified",
    "createdAt",
    "private",
    "gated",
    "disabled",
    "likes",
    "tags",
    "siblings",
    "cardData",
    "usedStorage",
    "trendingScore",
]
INFO_PROPERTIES = {
    "model": [*_COMMON, "downloads", "downloadsAllTime", "library_name", "pipeline_tag", "config", "spaces"],
    "dataset": [*_COMMON, "downloads", "downloadsAllTime"],
    "space": [*_COMMON, "sdk", "runtime", "models", "datasets"],
}
LIST_PROPERTIES = {
    "model": [
        "likes",
        "downloads",
        "trendingScore",
        "private",
        "tags",
        "pipeline_tag",
        "library_name",
        "createdAt",
    ],
    "dataset": ["likes", "downloads", "trendingScore", "private", "tags", "createdAt"],
    "space": ["likes", "trendingScore", "private", "tags", "sdk", "createdAt"],
}
FULL_EXTRA = ["author", "sha", "lastModified", "gated", "disabled", "siblings"]

# Properties that need the repo's files (listing queries them only when asked).
NEEDS_FILES = frozenset({"siblings"})


def render(view: RepoView, properties: list[str]) -> dict[str, Any]:
    repo = view.repo
    out: dict[str, Any] = {"_id": repo.uid, "id": view.repo_id}
    if repo.type == "model":
        out["modelId"] = view.repo_id
    for name in properties:
        getter = PROPERTIES.get(name)
        if getter is None:
            continue  # a property the client knows that this hub does not compute (gguf, inference…)
        value = getter(view)
        if value is not None or name in ("sha", "gated"):
            out[name] = value
    return out


def entry_json(
    entry: TreeEntry, last_commit: CommitInfo | None = None, xet_hashes: dict[str, str] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": entry.type, "oid": entry.oid, "size": entry.size, "path": entry.path}
    if entry.lfs is not None:
        out["lfs"] = {"oid": entry.lfs.oid, "size": entry.lfs.size, "pointerSize": entry.lfs.pointer_size}
        # Clients with Xet download through it when the entry names its Xet file (§2.3).
        xet_hash = (xet_hashes or {}).get(entry.lfs.oid)
        if xet_hash is not None:
            out["xetHash"] = xet_hash
    if last_commit is not None:
        out["lastCommit"] = {
            "id": last_commit.id,
            "title": last_commit.title,
            "date": format_date(last_commit.date),
        }
    return out


def commit_json(commit: CommitInfo, *, formatted: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": commit.id,
        "title": commit.title,
        "message": commit.message,
        "date": format_date(commit.date),
        "authors": [{"user": commit.author, "avatar": None}],
    }
    if formatted:
        out["formatted"] = {"title": escape(commit.title), "message": escape(commit.message)}
    return out
