"""Rate limits counted in fixed windows, per token and per address (commonshub.ratelimit)."""

from __future__ import annotations

from huggingface_hub.utils import parse_ratelimit_headers

from commonshub.ratelimit import RateLimiter


def test_a_token_gets_its_limit_per_window_then_a_refusal_until_the_next() -> None:
    limiter = RateLimiter(per_token=3, per_address=0, window=60)
    assert [limiter.hit(token="t", address="1.2.3.4", now=120.0 + i) for i in range(3)] == [None] * 3
    refusal = limiter.hit(token="t", address="1.2.3.4", now=130.5)
    assert refusal is not None
    assert refusal.retry_after == 50  # the window [120, 180) ends in 49.5 s: rounded up
    # Refused requests are not counted: the next window starts afresh.
    assert limiter.hit(token="t", address="1.2.3.4", now=179.9) is not None
    assert limiter.hit(token="t", address="1.2.3.4", now=180.0) is None


def test_tokens_and_addresses_are_counted_apart() -> None:
    limiter = RateLimiter(per_token=1, per_address=2, window=10)
    assert limiter.hit(token="a", address="x", now=0) is None
    assert limiter.hit(token="a", address="x", now=0) is not None
    assert limiter.hit(token="b", address="x", now=0) is None  # another token, same address
    # Anonymous requests from that address have their own count.
    assert limiter.hit(token=None, address="x", now=0) is None
    assert limiter.hit(token=None, address="x", now=0) is None
    assert limiter.hit(token=None, address="x", now=0) is not None
    assert limiter.hit(token=None, address="y", now=0) is None


def test_zero_means_no_limit() -> None:
    limiter = RateLimiter(per_token=0, per_address=1, window=10)
    assert limiter.enabled
    assert all(limiter.hit(token="t", address="x", now=0) is None for _ in range(100))
    assert not RateLimiter(per_token=0, per_address=0, window=10).enabled


def test_the_refusal_headers_are_what_huggingface_hub_parses() -> None:
    limiter = RateLimiter(per_token=0, per_address=1, window=300)
    limiter.hit(token=None, address="x", now=1000)
    refusal = limiter.hit(token=None, address="x", now=1000)
    assert refusal is not None
    assert refusal.headers["Retry-After"] == "200"
    info = parse_ratelimit_headers(refusal.headers)
    assert info is not None
    assert (info.remaining, info.reset_in_seconds, info.limit, info.window_seconds) == (0, 200, 1, 300)


def test_old_windows_are_forgotten_when_many_keys_are_kept() -> None:
    limiter = RateLimiter(per_token=0, per_address=1, window=10)
    limiter.MAX_KEYS = 5
    for i in range(5):
        limiter.hit(token=None, address=f"old-{i}", now=0)
    assert limiter.hit(token=None, address="new", now=10) is None
    assert len(limiter._counts) == 1
