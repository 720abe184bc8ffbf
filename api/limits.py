"""Per-process rate limits of anonymous, write-causing requests (``POST /auth/challenge``).

A token bucket per key: ``limit`` requests at once, refilled at ``limit`` per ``window`` seconds.
The buckets live in this process's memory: with several server processes, each allows its own
``limit`` (the challenges themselves are shared through the database, whose capacity is the
node-wide bound). Client addresses are keyed per IPv4 address and per IPv6 /64 (one host's
share of addresses). Behind a reverse proxy the address is the proxy's unless uvicorn is told to
trust its ``X-Forwarded-For`` (``--forwarded-allow-ips``; loopback is trusted by default).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from api.config import ApiConfig
from api.errors import RateLimitedError

Clock = Callable[[], float]


class RateLimiter:
    """Token buckets keyed by string, bounded in number of keys."""

    def __init__(
        self, limit: int, window: float, max_keys: int, clock: Clock = time.monotonic
    ) -> None:
        self.limit = limit
        self.rate = limit / window
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()
        self._pruned_at = -math.inf

    def hit(self, key: str) -> int | None:
        """Take one token for ``key``: None if allowed, else the seconds to wait (at least 1)."""
        with self._lock:
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.max_keys and not self._prune(now):
                    return max(1, math.ceil(1 / self.rate))
                tokens = float(self.limit)
            else:
                tokens = min(float(self.limit), bucket[0] + (now - bucket[1]) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return max(1, math.ceil((1 - tokens) / self.rate))
            self._buckets[key] = (tokens - 1, now)
            return None

    def _prune(self, now: float) -> bool:
        """Forget the buckets that have refilled (they hold no state); at most once a second,
        so that a table full of active keys does not cost a scan per request."""
        if now - self._pruned_at < 1:
            return False
        self._pruned_at = now
        full = [
            k for k, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.limit
        ]  # fmt: skip
        for key in full:
            del self._buckets[key]
        return len(self._buckets) < self.max_keys


def client_key(host: str | None) -> str:
    """The rate-limit key of a client address: the IPv4 address, or the IPv6 /64 it is in."""
    if not host:
        return "-"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass
class ChallengeLimits:
    """The two limits of ``POST /auth/challenge``: per client address and per DID."""

    per_client: RateLimiter
    per_did: RateLimiter

    @classmethod
    def of(cls, config: ApiConfig) -> ChallengeLimits:
        """The limits configured in ``config``."""
        window = config.challenge_rate_window_seconds
        keys = config.rate_limit_keys
        return cls(
            RateLimiter(config.challenge_client_limit, window, keys),
            RateLimiter(config.challenge_did_limit, window, keys),
        )

    def check_client(self, request: Request) -> None:
        """RateLimitedError when the request's client address is over its rate."""
        host = request.client.host if request.client else None
        retry = self.per_client.hit(client_key(host))
        if retry is not None:
            raise RateLimitedError(
                f"too many challenge requests from this address; retry in {retry} s",
                retryAfter=retry,
            )

    def check_did(self, did: str) -> None:
        """RateLimitedError when challenges for ``did`` are asked for over its rate."""
        retry = self.per_did.hit(did)
        if retry is not None:
            raise RateLimitedError(
                f"too many challenge requests for this DID; retry in {retry} s", retryAfter=retry
            )


def challenge_limits(request: Request) -> ChallengeLimits:
    """The :class:`ChallengeLimits` of the application serving ``request``."""
    limits: ChallengeLimits = request.app.state.challenge_limits
    return limits


__all__ = ["ChallengeLimits", "RateLimiter", "challenge_limits", "client_key"]
