"""Whether a failed post is tried again, and after how long: AWS's "standard" retry mode, in one place.

A container has a retry budget (AWS's retry quota): each retry costs tokens (a timeout twice as many), a success
gives some back, so an endpoint in trouble is not stormed; the wait before each retry is full-jitter exponential
backoff. The backends that make their own posts (libcurl, locmem) ask :meth:`RetryPolicy.delay` after every failed
attempt; boto3's client applies botocore's implementation of the same rules.
"""

from __future__ import annotations

import random
import threading

from websockets_app.backends.outcomes import PostOutcome

__all__ = ("BACKOFF_BASE_SECONDS", "BACKOFF_CAP_SECONDS", "RETRY_BUDGET", "RetryBudget", "RetryPolicy")

# AWS's "standard" retry mode: a quota of 500, backoff of up to 1 s, 2 s, 4 s... (full jitter), capped at 20 s.
RETRY_BUDGET = 500
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 20.0
# What a first-attempt success gives back to the budget.
SUCCESS_REFUND = 1


class RetryBudget:
    """Retries left for the container: each costs tokens, successes give some back (AWS's standard quota)."""

    def __init__(self, capacity: int = RETRY_BUDGET) -> None:
        self.capacity = capacity
        self.tokens = capacity
        self._lock = threading.Lock()

    def take(self, cost: int) -> bool:
        with self._lock:
            if cost > self.tokens:
                return False
            self.tokens -= cost
            return True

    def give_back(self, amount: int) -> None:
        with self._lock:
            self.tokens = min(self.capacity, self.tokens + amount)


class RetryPolicy:
    """The one place a failed attempt becomes "try again in so many seconds" or "that is the outcome".

    Without a deadline, throttling (``outcome.throttled``) is retried here like a 5xx, under the budget (the
    sender's adaptive rate paces the retries); with one, the backends retry it without asking (``SendOptions``).
    """

    def __init__(self, budget: RetryBudget | None = None) -> None:
        self.budget = budget or RetryBudget()

    def delay(self, outcome: PostOutcome, attempt: int, max_attempts: int, within: float | None = None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` after ``outcome``; None when ``outcome`` is final, or when
        the wait would last longer than ``within`` seconds (a deadline's): then it costs the budget nothing."""
        if not outcome.retry_cost or attempt >= max_attempts:
            return None
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** (attempt - 1))
        delay = random.random() * ceiling  # noqa: S311  (jitter, not a secret)
        if (within is not None and delay > within) or not self.budget.take(outcome.retry_cost):
            return None
        return delay

    def succeeded(self, retry_cost: int) -> None:
        """A post went through: what its retries cost comes back, or a little for a first-attempt success."""
        self.budget.give_back(retry_cost or SUCCESS_REFUND)
