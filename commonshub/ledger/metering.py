"""Download counts: counted in memory on the download path, written to the database in batches.

`/resolve` is the hot path (the 4 KiB requests-per-second benchmark), so a download costs a dict
increment there; a background thread adds the counts to per-day rows every few seconds and
refreshes each repo's `downloads` (last 30 days), `downloads_all_time` and `trending_score`
(last 7 days). Counts not yet written when the process is killed are lost; that is the trade.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from commonshub.db import Database
from commonshub.models import DownloadDay, Repo

log = logging.getLogger(__name__)


class DownloadCounter:
    def __init__(self, db: Database, *, interval: float) -> None:
        self._db = db
        self._interval = interval
        self._pending: Counter[int] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def count(self, repo_id: int) -> None:
        with self._lock:
            self._pending[repo_id] += 1

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="download-counter", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.flush()
            except Exception:  # a failed write must not stop counting; the counts are retried
                log.exception("could not write download counts")

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return
        try:
            self._write(pending)
        except Exception:
            with self._lock:
                self._pending.update(pending)
            raise

    def _write(self, pending: Counter[int]) -> None:
        today = datetime.now(UTC).date()
        insert = pg_insert if self._db.engine.dialect.name == "postgresql" else sqlite_insert
        with self._db.unit_of_work(write=True) as uow:
            session = uow.session
            live = set(session.scalars(select(Repo.id).where(Repo.id.in_(list(pending)))))
            for repo_id, n in sorted(pending.items()):
                if repo_id not in live:
                    continue  # deleted since it was downloaded
                stmt = insert(DownloadDay).values(repo_id=repo_id, day=today, count=n)
                session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["repo_id", "day"], set_={"count": DownloadDay.count + n}
                    )
                )
                session.execute(
                    update(Repo)
                    .where(Repo.id == repo_id)
                    .values(
                        downloads_all_time=Repo.downloads_all_time + n,
                        downloads=_since(repo_id, today - timedelta(days=29)),
                        trending_score=_since(repo_id, today - timedelta(days=6)),
                    )
                )


def _since(repo_id: int, first_day: object) -> object:
    return (
        select(func.coalesce(func.sum(DownloadDay.count), 0))
        .where(DownloadDay.repo_id == repo_id, DownloadDay.day >= first_day)
        .scalar_subquery()
    )
