"""Every ORM model, importable from one place (Alembic reads Base.metadata from here)."""

from commonshub.models.access import ACCESS_STATUSES, AccessRequest
from commonshub.models.accounts import (
    ORG_ROLES,
    TOKEN_ROLES,
    AccessToken,
    Account,
    Avatar,
    Invitation,
    Membership,
    Organization,
    User,
)
from commonshub.models.base import Base, utcnow
from commonshub.models.collections import COLLECTION_ITEM_TYPES, Collection, CollectionItem, Like
from commonshub.models.community import DISCUSSION_STATUSES, EVENT_TYPES, Discussion, DiscussionEvent
from commonshub.models.events import Event
from commonshub.models.repos import (
    REPO_TYPES,
    Blob,
    DownloadDay,
    LfsObject,
    RefUpdate,
    Repo,
    RepoFile,
    RepoRedirect,
    RepoTag,
)
from commonshub.models.xet import XetDedupChunk, XetFile, XetMeta, XetXorb

__all__ = [
    "ACCESS_STATUSES",
    "COLLECTION_ITEM_TYPES",
    "DISCUSSION_STATUSES",
    "EVENT_TYPES",
    "ORG_ROLES",
    "REPO_TYPES",
    "TOKEN_ROLES",
    "AccessRequest",
    "AccessToken",
    "Account",
    "Avatar",
    "Base",
    "Blob",
    "Collection",
    "CollectionItem",
    "Discussion",
    "DiscussionEvent",
    "DownloadDay",
    "Event",
    "Invitation",
    "LfsObject",
    "Like",
    "Membership",
    "Organization",
    "RefUpdate",
    "Repo",
    "RepoFile",
    "RepoRedirect",
    "RepoTag",
    "User",
    "XetDedupChunk",
    "XetFile",
    "XetMeta",
    "XetXorb",
    "utcnow",
]
