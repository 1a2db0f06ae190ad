"""The hub's stores, opened once from settings, and the context a service call runs in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from commonshub.accounts.permissions import Identity
from commonshub.accounts.service import TokenUse
from commonshub.db import Database, UnitOfWork
from commonshub.gitstore import GitStore
from commonshub.ledger.metering import DownloadCounter
from commonshub.replay import Replays
from commonshub.settings import Settings
from commonshub.storage import BlobStore, LocalBlobStore, Staging


class Hub:
    """Everything with a lifetime: the database, git, blobs, staging, the download counter."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.resolved_database_url)
        self.git = GitStore(settings.data_dir / "repos")
        self.blobs: BlobStore = LocalBlobStore(settings.data_dir / "blobs")
        # Xet xorbs, by xorb hash (commonshub.xet).
        self.xorbs: BlobStore = LocalBlobStore(settings.data_dir / "xorbs", kind="xorb")
        # The storage generation in CAS URLs, read once (xet.service.generation).
        self.xet_generation: str | None = None
        self.staging = Staging(settings.data_dir / "tmp")
        self.secret = settings.resolved_secret_key()
        self.downloads = DownloadCounter(self.db, interval=settings.download_flush_interval)
        # Authorization header → (data version, identity): see dependencies.identify.
        self.identities: dict[str, tuple[int, Identity]] = {}
        # When tokens were last used, written off the request path.
        self.token_use = TokenUse(self.db)
        # Answers of the hot read routes, kept while they hold (commonshub.replay).
        self.replays = Replays(self.git, self.db.data_version)

    def close(self) -> None:
        self.downloads.stop()
        self.token_use.close()
        self.db.dispose()


@dataclass
class Context:
    """What a service call needs: the stores, this request's transaction, who is asking."""

    hub: Hub
    uow: UnitOfWork
    identity: Identity
    # Absolute origin for links in responses (COMMONSHUB_PUBLIC_URL or the request's own).
    base_url: str
    # The client's address, for the audit log (settings.client_ip_header, behind a proxy).
    ip: str | None = None

    @property
    def session(self) -> Session:
        return self.uow.session
