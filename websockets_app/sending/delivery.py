"""Posting one message to a list of connections, and recording what became of each.

The rows' endpoints are worked out here and the posts handed to the process's send backend
(``WEBSOCKETS["SEND_BACKEND"]``: libcurl by default, hundreds in flight); the outcome comes back as a
:class:`SendResult`, the same whichever backend posted. A 410 marks the row closed (one UPDATE for the whole
batch); any other failure is reported and never stops the rest. Both a send from a view and an asynchronous batch
of a broadcast (:mod:`websockets_app.sending.batches`) deliver through here.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from websockets_app import aws_limits
from websockets_app.backends import PostOutcome, SendOptions, connection_post, get_backend
from websockets_app.conf import conf
from websockets_app.events.invocation import remaining_seconds
from websockets_app.exceptions import MessageTooLarge
from websockets_app.models import WebSocketSession
from websockets_app.sending.encoding import encode_message
from websockets_app.sending.endpoints import endpoint_url, has_endpoint, signing_region

__all__ = (
    "GONE_REASON",
    "MAX_MESSAGE_BYTES",
    "NOT_READY_REASON",
    "NO_API_REASON",
    "SendResult",
    "Target",
    "connecting",
    "connecting_id",
    "deliver",
    "deliver_to_pks",
    "prepare_payload",
    "read_targets",
    "send_options",
    "session_target",
)

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = aws_limits.MESSAGE_BYTES
GONE_REASON = "Gone (410) when the server posted to it."
NOT_READY_REASON = "Still in $connect: API Gateway refuses messages until connect() has answered."
MAYBE_CONNECTING_REASON = (
    "Gone (410) within the $connect window: the connection may not have been accepted yet, so it is left open."
)
NO_API_REASON = "No API recorded for this connection."
# How long a throttled post is tried again where Lambda tells no deadline (off Lambda), and how long before
# Lambda's deadline a send stops retrying, to record its outcome.
THROTTLED_RETRY_SECONDS = 25.0
DEADLINE_MARGIN_SECONDS = 2.0


_connecting: ContextVar[str | None] = ContextVar("websockets_app_connecting", default=None)


class Target(NamedTuple):
    """What sending to one connection needs, read from its row without building a model instance."""

    pk: int
    connection_id: str
    api_id: str
    stage: str
    # Connected less than $connect's integration timeout before the send began: a 410 may then mean that its
    # $connect has not been answered yet, not that it is gone.
    maybe_connecting: bool


def read_targets(queryset: QuerySet[WebSocketSession], limit: int | None = None) -> list[Target]:
    """The rows of ``queryset`` (at most ``limit``) as :class:`Target`. The database judges the ``$connect`` window:
    converting every row's ``connected_at`` in Python cost more than reading the rest of the row."""
    maybe_connecting = ExpressionWrapper(Q(connected_at__gt=_connect_window_start()), output_field=BooleanField())
    rows = queryset.annotate(ws_maybe_connecting=maybe_connecting).values_list(
        "pk", "connection_id", "api_id", "stage", "ws_maybe_connecting"
    )
    return [Target(*row) for row in rows[:limit]]


def session_target(session: WebSocketSession) -> Target:
    """One loaded row as a :class:`Target`."""
    return Target(
        session.pk,
        session.connection_id,
        session.api_id,
        session.stage,
        session.connected_at > _connect_window_start(),
    )


def _connect_window_start() -> datetime:
    """A row connected after this may belong to a connection whose ``$connect`` is still running.

    It is taken before the posts, so the window covers every moment a post is made: API Gateway answers 410 until
    ``$connect`` is answered, and the row is committed before that."""
    return timezone.now() - aws_limits.INTEGRATION_TIMEOUT


@dataclass
class SendResult:
    """What happened to one ``send_message``: how many were sent, which connections were gone, which failed and why.

    ``queued`` counts connections handed to asynchronous Lambda invocations (a broadcast split into batches): their
    outcome is not known yet; ``broadcast`` names the :class:`~websockets_app.models.Broadcast` row where their
    batches record it.
    """

    sent: int = 0
    gone: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    queued: int = 0
    broadcast: uuid.UUID | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed (gone connections are not failures: they are closed and forgotten)."""
        return not self.failed

    def merge(self, other: SendResult) -> SendResult:
        self.sent += other.sent
        self.gone.extend(other.gone)
        self.failed.update(other.failed)
        self.queued += other.queued
        self.broadcast = self.broadcast or other.broadcast
        return self

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, returned by asynchronous batches (Lambda serialises what a handler returns)."""
        return {
            "sent": self.sent,
            "gone": list(self.gone),
            "failed": dict(self.failed),
            "queued": self.queued,
            "broadcast": str(self.broadcast) if self.broadcast else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SendResult:
        broadcast = data.get("broadcast")
        return cls(
            sent=data["sent"],
            gone=list(data["gone"]),
            failed=dict(data["failed"]),
            queued=data["queued"],
            broadcast=uuid.UUID(broadcast) if broadcast else None,
        )


def prepare_payload(data: Any) -> bytes:
    """Encode ``data`` and refuse it, before anything is sent, when API Gateway would (over 128 KB)."""
    payload = encode_message(data)
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(len(payload), MAX_MESSAGE_BYTES)
    return payload


def deliver_to_pks(
    session_pks: Sequence[int],
    payload: bytes,
    *,
    options: SendOptions | None = None,
    on_posted: Callable[[SendResult], None] | None = None,
    throttled: list[int] | None = None,
) -> SendResult:
    """Send to these rows (those closed meanwhile are skipped): a batch of a broadcast, or a part of one."""
    targets = read_targets(WebSocketSession.objects.filter(pk__in=session_pks, connected=True))
    return deliver(targets, payload, options=options, on_posted=on_posted, throttled=throttled)


@contextmanager
def connecting(connection_id: str) -> Iterator[None]:
    """Mark ``connection_id`` as inside its ``$connect``, when AWS answers 410 to anything posted to it.

    ``WebSocketView`` wraps ``connect()`` in it, so a greeting sent there fails clearly instead of closing the row
    of a connection that is about to open.
    """
    token = _connecting.set(connection_id)
    try:
        yield
    finally:
        _connecting.reset(token)


def connecting_id() -> str | None:
    """The connection whose ``$connect`` is being answered in this context, if any."""
    return _connecting.get()


def deliver(
    targets: Sequence[Target],
    payload: bytes,
    *,
    options: SendOptions | None = None,
    on_posted: Callable[[SendResult], None] | None = None,
    throttled: list[int] | None = None,
) -> SendResult:
    """Post ``payload`` to each target; rows found gone are marked closed, failures are reported, none raise.

    ``on_posted`` is given the result once every post has its outcome, before the database records anything (what
    a resumable batch records first, so that nothing it reached is posted again). With ``throttled``, the primary
    keys of the posts still throttled at the deadline go there, to be posted again, instead of into ``failed``.
    """
    result = SendResult()
    ready: list[Target] = []
    posts = []
    connecting_now = _connecting.get()
    # Per API and stage (a send has one or a few), not per connection: the endpoint, or None when there is none.
    endpoints: dict[tuple[str, str], str | None] = {}
    for target in targets:
        if target.connection_id == connecting_now:
            result.failed[target.connection_id] = NOT_READY_REASON
            continue
        key = (target.api_id, target.stage)
        if key not in endpoints:
            endpoints[key] = endpoint_url(*key) if has_endpoint(*key) else None
        endpoint = endpoints[key]
        if endpoint is None:
            result.failed[target.connection_id] = NO_API_REASON
        else:
            ready.append(target)
            posts.append(connection_post(endpoint, target.connection_id))
    outcomes: list[PostOutcome] = get_backend().post_all(posts, payload, options or send_options()) if posts else []
    gone_pks = []
    for target, outcome in zip(ready, outcomes, strict=True):
        if outcome.status == "sent":
            result.sent += 1
        elif outcome.status == "gone" and target.maybe_connecting:
            # A row of a connection about to open, maybe: it is not closed.
            result.failed[target.connection_id] = MAYBE_CONNECTING_REASON
        elif outcome.status == "gone":
            result.gone.append(target.connection_id)
            gone_pks.append(target.pk)
        elif outcome.throttled and throttled is not None:
            throttled.append(target.pk)
        else:
            result.failed[target.connection_id] = outcome.reason
    if on_posted is not None:
        on_posted(result)
    if gone_pks:
        WebSocketSession.objects.filter(pk__in=gone_pks).mark_closed(reason=GONE_REASON)
    if result.failed:
        connection_id, reason = next(iter(result.failed.items()))
        logger.warning(
            "send_message: %d of %d connections failed (%s: %s)",
            len(result.failed),
            len(targets),
            connection_id,
            reason,
        )
    return result


def send_options(*, rate_limit: float | None = None, deadline: float | None = None) -> SendOptions:
    """The settings a send is made with, as the backends take them.

    Unless told otherwise, a throttled post is retried until the invocation is about to run out of time (or for
    :data:`THROTTLED_RETRY_SECONDS` where there is no deadline), at no more than ``SEND_RATE_LIMIT``.
    """
    if deadline is None:
        left = remaining_seconds()
        retry_for = THROTTLED_RETRY_SECONDS if left is None else max(0.0, left - DEADLINE_MARGIN_SECONDS)
        deadline = time.monotonic() + retry_for
    return SendOptions(
        concurrency=conf.SEND_CONCURRENCY,
        connect_timeout=conf.SEND_CONNECT_TIMEOUT,
        read_timeout=conf.SEND_READ_TIMEOUT,
        max_attempts=conf.SEND_MAX_ATTEMPTS,
        region=signing_region(),
        rate_limit=rate_limit or conf.SEND_RATE_LIMIT,
        deadline=deadline,
    )
