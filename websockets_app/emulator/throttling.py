"""Throttling on demand: a share of ``@connections`` calls answered 429 ``LimitExceededException``.

AWS throttles the management API per account (about 10,000 requests per second shared by every API, "Amazon API
Gateway quotas") and answers 429 ``LimitExceededException``; locally that never happens, so the sender's retries,
its budget and ``SendResult.failed`` would go unexercised. The share is exact and spread evenly (with 0.25, every
fourth call), so a test can count on it.
"""

from __future__ import annotations

import math

__all__ = ("Throttle",)


class Throttle:
    """Decides, call by call, which calls get 429; ``share`` 0 throttles none, 1 throttles all."""

    def __init__(self, share: float) -> None:
        if not 0 <= share <= 1:
            raise ValueError(f"The throttled share must be between 0 and 1, not {share!r}.")
        self.share = share
        self.calls = 0

    def next_call_throttled(self) -> bool:
        """Whether the next call is answered 429: exactly ``share`` of the calls made so far, spread evenly."""
        self.calls += 1
        return math.floor(self.calls * self.share) > math.floor((self.calls - 1) * self.share)
