"""API Gateway's new-connection quota: 500 new connections per second per account and region.

("Amazon API Gateway quotas for configuring and running a WebSocket API": "New connections per second per account
(across all WebSocket APIs) per Region", 500, adjustable.) API Gateway enforces rates with a token bucket; past it a
handshake is refused with 429 and the Lambda never sees a ``$connect``. A load test that opens connections faster
than that locally meets the same refusals it would meet on AWS.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ("ConnectionRate",)


class ConnectionRate:
    """A token bucket of ``per_second`` tokens (at least one), refilled continuously; ``None`` never refuses."""

    def __init__(self, per_second: float | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_second is not None and per_second <= 0:
            raise ValueError(f"EMULATOR_CONNECTIONS_PER_SECOND must be positive or None, not {per_second!r}.")
        self.per_second = per_second
        self._clock = clock
        self._capacity = max(1.0, per_second or 0.0)
        self._tokens = self._capacity
        self._refilled_at = clock()

    def allow(self) -> bool:
        """Whether one more connection may open now (taking its token)."""
        if self.per_second is None:
            return True
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._refilled_at) * self.per_second)
        self._refilled_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True
