"""Request bodies and response shapes of likes and collections (specs/hf-protocol.md §9.1, §9.2).

The shapes follow what `huggingface_hub` 2.4 parses: `Collection(**json)` pops the keys it knows
and ignores the rest, except that a listed collection must carry no `position` (the client passes
its own, and a second one is a TypeError), while get, create and add-item answers must.
"""

from __future__ import annotations

from typing import Any

from pydantic import StrictBool, StrictInt

from commonshub.accounts.schemas import DEFAULT_AVATAR as AVATAR
from commonshub.bodies import Body as _Body
from commonshub.markdown import render_markdown
from commonshub.models import Account, Collection, CollectionItem, Repo
from commonshub.responses import format_date


class CreateCollectionBody(_Body):
    title: str
    namespace: str | None = None
    description: str | None = None
    private: StrictBool = False
    resourceGroupId: str | None = None  # accepted and ignored: the hub has no resource groups


class UpdateCollectionBody(_Body):
    title: str | None = None
    description: str | None = None
    private: StrictBool | None = None
    theme: str | None = None
    position: StrictInt | None = None


class ItemRef(_Body):
    id: str
    type: str


class AddItemBody(_Body):
    item: ItemRef
    note: str | None = None


class UpdateItemBody(_Body):
    note: str | None = None
    position: StrictInt | None = None


def note_json(text: str) -> dict[str, str]:
    # Notes are Markdown for the web page, rendered like comments: links and emphasis, no script.
    return {"text": text, "html": render_markdown(text)}


def owner_json(owner: Account) -> dict[str, Any]:
    return {
        "_id": owner.uid,
        "name": owner.name,
        "fullname": owner.fullname,
        "type": "org" if owner.kind == "org" else "user",
        "avatarUrl": AVATAR,
    }


def slugify(title: str) -> str:
    """The readable part of a slug: lower-case letters and digits joined by single dashes."""
    words = "".join(ch if ch.isascii() and ch.isalnum() else " " for ch in title.lower()).split()
    return "-".join(words)[:60].strip("-") or "collection"


def slug_of(collection: Collection) -> str:
    return f"{collection.owner.name}/{slugify(collection.title)}-{collection.uid}"


def item_json(item: CollectionItem, position: int) -> dict[str, Any]:
    out: dict[str, Any] = {"_id": item.uid, "type": item.type, "position": position}
    if item.repo is not None:
        repo: Repo = item.repo
        out |= {
            "id": repo.repo_id,
            "author": repo.namespace.name,
            "private": repo.private,
            "gated": repo.gated or False,
            "likes": repo.likes,
            "downloads": repo.downloads,
            "lastModified": format_date(repo.last_modified),
        }
    elif item.target is not None:
        out |= {"id": item.target.uid, "slug": slug_of(item.target), "title": item.target.title}
    else:
        out["id"] = item.paper_id
    if item.note:
        out["note"] = note_json(item.note)
    return out


def collection_json(
    collection: Collection, items: list[CollectionItem], *, with_position: bool = True
) -> dict[str, Any]:
    """`items` are those the caller may see, in order; their positions are counted among them."""
    out: dict[str, Any] = {
        "_id": collection.uid,
        "slug": slug_of(collection),
        "title": collection.title,
        "description": collection.description,
        "owner": owner_json(collection.owner),
        "items": [item_json(item, i) for i, item in enumerate(items)],
        "lastUpdated": format_date(collection.last_updated),
        "private": collection.private,
        "theme": collection.theme,
        "upvotes": collection.upvotes,
        "isUpvotedByUser": False,
    }
    if with_position:
        out["position"] = collection.position
    return out
