"""The locmem send backend: nothing leaves the process; every message lands in :data:`outbox`.

For tests, as Django's locmem email backend and ``django.core.mail.outbox``: a test reads what was sent from
``outbox`` and scripts what API Gateway would answer with :func:`answer`, so code that handles gone connections
(410), throttling (429) or a refused message (413) is tested without a network. Scripted failures are retried under
the same rules as the libcurl backend's (without waiting), so a broadcast's ``SendResult`` is what it would be on
AWS (with a deadline, a throttled post is tried again until it is sent or the deadline passes, as the libcurl
backend does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import NamedTuple

from websockets_app.backends import outcomes
from websockets_app.backends.base import Post, SendBackend, SendOptions
from websockets_app.backends.outcomes import GONE, SENT, PostOutcome
from websockets_app.backends.retries import RetryPolicy

__all__ = ("LocmemBackend", "SentMessage", "answer", "gone", "outbox", "reset")


class SentMessage(NamedTuple):
    """One message as API Gateway would have received it."""

    connection_id: str
    data: bytes
    endpoint: str


# What was sent, in order: read it, and empty it between tests (``reset()``, or ``outbox.clear()``).
outbox: list[SentMessage] = []
# Connections API Gateway no longer holds: every post to them is answered 410 Gone.
gone: set[str] = set()
_scripted: dict[str, list[int]] = {}
_lock = threading.Lock()


def answer(connection_id: str, *statuses: int) -> None:
    """Answer the next posts to ``connection_id`` with these HTTP statuses, one per attempt, as API Gateway would
    (410 GoneException, 413 PayloadTooLargeException, 429 LimitExceededException, 403, 500...)."""
    with _lock:
        _scripted.setdefault(connection_id, []).extend(statuses)


def reset() -> None:
    """Empty the outbox and forget gone connections and scripted answers."""
    with _lock:
        outbox.clear()
        gone.clear()
        _scripted.clear()


# AWS's error code for each status a test may script, as API Gateway names it in x-amzn-ErrorType.
_ERROR_TYPES = {
    400: "BadRequestException",
    403: "ForbiddenException",
    410: "GoneException",
    413: "PayloadTooLargeException",
    429: "LimitExceededException",
    500: "InternalServerErrorException",
}


class LocmemBackend(SendBackend):
    """Appends each message to :data:`outbox` instead of posting it."""

    def __init__(self) -> None:
        self.retries = RetryPolicy()

    def post_all(self, posts: Sequence[Post], payload: bytes, options: SendOptions) -> list[PostOutcome]:
        return [self._post(post, payload, options) for post in posts]

    def _post(self, post: Post, payload: bytes, options: SendOptions) -> PostOutcome:
        attempt, retry_cost = 1, 0
        while True:
            outcome = self.attempt(post, payload)
            if outcome is SENT:
                self.retries.succeeded(retry_cost)
                return outcome
            if outcome.throttled and options.deadline is not None:
                if time.monotonic() < options.deadline:
                    continue  # with a deadline, throttling is retried until it passes, at no cost to the budget
                return outcome
            if self.retries.delay(outcome, attempt, options.max_attempts) is None:
                return outcome
            attempt, retry_cost = attempt + 1, outcome.retry_cost

    def attempt(self, post: Post, payload: bytes) -> PostOutcome:
        """What one attempt at ``post`` comes to: a scripted answer, 410 for a gone connection, else sent."""
        with _lock:
            scripted = _scripted.get(post.connection_id)
            status = scripted.pop(0) if scripted else None
            if status is None and post.connection_id in gone:
                return GONE
            if status is None or status < 300:
                outbox.append(SentMessage(post.connection_id, payload, post.endpoint))
                return SENT
        error_type = _ERROR_TYPES.get(status, "Error")
        return outcomes.from_http_answer(status, f"{error_type}:http://internal.amazon.com/coral/", b"")
