"""Every ORM model, importable from one place (Alembic reads Base.metadata from here)."""

from commonshub.models.accounts import (
    ORG_ROLES,
    TOKEN_ROLES,
    AccessToken,
    Account,
    Invitation,
    Membership,
    Organization,
    User,
)
from commonshub.models.base import Base, utcnow
from commonshub.models.collections import COLLECTION_ITEM_TYPES, Collection, CollectionItem, Like
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
    "COLLECTION_ITEM_TYPES",
    "ORG_ROLES",
    "REPO_TYPES",
    "TOKEN_ROLES",
    "AccessToken",
    "Account",
    "Base",
    "Blob",
    "Collection",
    "CollectionItem",
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
