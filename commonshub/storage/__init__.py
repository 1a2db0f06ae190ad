"""Blob storage: large files' bytes, keyed by SHA-256, stored once for every repo."""

from commonshub.storage.interfaces import BlobStore
from commonshub.storage.local import LocalBlobStore
from commonshub.storage.staging import Staged, Staging

__all__ = ["BlobStore", "LocalBlobStore", "Staged", "Staging"]
