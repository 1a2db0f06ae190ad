"""Answers replayed while nothing they depend on has changed.

The hot read routes (`/resolve`, repo info) compute an answer from the database and git with the
ordinary service code, and keep it, per process. An answer is replayed only while the database
is unchanged (SQLite's data_version moves on every commit anywhere, and every change of a repo,
its visibility, its files, a token or a membership commits) and, when the request named its
revision through a ref, while that ref still points where it did. Git objects never change, and
the caller's Authorization header is part of the key. On PostgreSQL, which has no data_version,
nothing is replayed: every request computes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from commonshub.gitstore import GitStore

T = TypeVar("T")

# (the request path with its query string, the Authorization header, the Host header)
Key = tuple[str, bytes, bytes]


@dataclass(frozen=True)
class Pin:
    """The answer holds while `ref` of repo `git_uid` points at `target` (what the ref names
    directly: a commit, or an annotated tag's object)."""

    git_uid: str
    ref: str
    target: str


@dataclass(frozen=True)
class Replay(Generic[T]):
    value: T
    pin: Pin | None = None
    size: int = 0  # bytes it keeps in memory
    keep: bool = True


class Replays:
    """The per-process store of answers, least recently used out first."""

    MAX_ENTRIES = 10_000
    MAX_BYTES = 256 * 1024 * 1024

    def __init__(self, git: GitStore, data_version: Callable[[], int | None]) -> None:
        self._git = git
        self._data_version = data_version
        self._entries: OrderedDict[Key, tuple[int, Replay[Any]]] = OrderedDict()
        self._bytes = 0

    def fetch(self, key: Key, compute: Callable[[], Replay[T]]) -> T:
        """The kept answer for `key` if it still holds, else a new one from `compute`."""
        # Read before computing: a commit in between leaves a stale tag, so a recompute, never a
        # stale answer.
        version = self._data_version()
        if version is not None:
            kept = self._get(key, version)
            if kept is not None:
                return kept.value  # type: ignore[no-any-return]
        replay = compute()
        if version is not None and replay.keep:
            self._put(key, version, replay)
        return replay.value

    def _get(self, key: Key, version: int) -> Replay[Any] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        kept_version, replay = entry
        pin = replay.pin
        if kept_version != version or (pin and not self._git.open(pin.git_uid).ref_is(pin.ref, pin.target)):
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return replay

    def _put(self, key: Key, version: int, replay: Replay[Any]) -> None:
        self._drop(key)
        self._entries[key] = (version, replay)
        self._bytes += replay.size
        while len(self._entries) > self.MAX_ENTRIES or self._bytes > self.MAX_BYTES:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: Key) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[1].size
