"""Rate limits: at most N requests per window from one token, or from one address without a token.

Fixed windows (the policy the clients' `RateLimit-Policy` parser expects), counted in memory by
each server worker: with several workers each counts on its own, so a client that spreads its
requests over them gets up to N per worker (docs/configuration.md says so). A request over the
limit gets `429` with `Retry-After` and the IETF `RateLimit` headers, which huggingface_hub reads
into its error message and its retries wait for.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """Over the limit: retry after `retry_after` seconds."""

    limit: int
    window: int
    retry_after: int

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Retry-After": str(self.retry_after),
            "RateLimit": f'"api";r=0;t={self.retry_after}',
            "RateLimit-Policy": f'"fixed window";"api";q={self.limit};w={self.window}',
        }


class RateLimiter:
    """Counts requests per key (a token, or an address) in fixed windows of `window` seconds."""

    # Keys of past windows are dropped once this many are kept.
    MAX_KEYS = 100_000

    def __init__(self, *, per_token: int, per_address: int, window: int) -> None:
        self.per_token = per_token
        self.per_address = per_address
        self.window = max(1, window)
        self._counts: dict[tuple[bool, str], tuple[int, int]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_token > 0 or self.per_address > 0

    def hit(self, *, token: str | None, address: str, now: float) -> Refusal | None:
        """Count one request; a Refusal if it is over its limit (it is not counted then)."""
        by_token = token is not None
        limit = self.per_token if by_token else self.per_address
        if limit <= 0:
            return None
        key = (by_token, token if token is not None else address)
        current = int(now // self.window)
        with self._lock:
            window, count = self._counts.get(key, (current, 0))
            if window != current:
                count = 0
            if count >= limit:
                return Refusal(limit, self.window, max(1, math.ceil((current + 1) * self.window - now)))
            if len(self._counts) >= self.MAX_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if v[0] == current}
            self._counts[key] = (current, count + 1)
        return None
