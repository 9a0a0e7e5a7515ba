"""Removing the connections that are over (closed rows, open rows that cannot be alive any more) and the channel
history no channel keeps any more.

The same run deletes connect tokens that are spent or expired, and rate-limit counters of past windows.

``$disconnect`` is best-effort, so some connections never say goodbye. API Gateway closes every connection after
2 hours, and after 10 minutes without a message; a row past either limit is closed, whatever it says.
Run it with ``manage.py clear_websocket_sessions`` or on a schedule through Zappa's ``events`` (:func:`scheduled`).

It is set-based, so memory stays flat at any table size: stale rows are closed by one UPDATE, and closed rows are
deleted :data:`DELETE_CHUNK` at a time, by primary-key range, each chunk with the rows that depend on it in its own
transaction. One key per chunk comes into Python, never the rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import router, transaction
from django.db.models import CASCADE, DO_NOTHING, Q, signals
from django.utils import timezone

from websockets_app.aws_limits import IDLE_TIMEOUT, MAX_CONNECTION_DURATION
from websockets_app.channels.history import prune as prune_history
from websockets_app.models import (
    LAST_SEEN_RESOLUTION,
    Broadcast,
    BroadcastBatch,
    ConnectToken,
    RateLimitCounter,
    WebSocketSession,
    WebSocketSessionQuerySet,
)

__all__ = ("CleanupResult", "clear_sessions", "scheduled")

STALE_REASON = "Closed by clear_websocket_sessions: past API Gateway's idle or duration limit."
# Closed rows deleted per transaction: big enough that the round trips do not matter, small enough to hold no lock
# (or Python list) for long.
DELETE_CHUNK = 10_000
BATCH_RECORD_MAX_AGE = timedelta(days=1)
# A broadcast's record, kept for a week to be looked up (its batches, which only resuming needs, go after a day).
BROADCAST_RECORD_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True)
class CleanupResult:
    marked_closed: int
    deleted: int
    tokens_deleted: int = 0
    counters_deleted: int = 0
    # Channel history messages past HISTORY_MAX_MESSAGES or HISTORY_MAX_AGE (websockets_app.channels.history.prune).
    history_deleted: int = 0


def stale_sessions(now: datetime) -> WebSocketSessionQuerySet:
    """Rows still marked connected that API Gateway has certainly closed by ``now``.

    ``last_seen_at`` may lag the last message by :data:`LAST_SEEN_RESOLUTION`, so idleness allows for it.
    """
    return WebSocketSession.objects.connected().filter(
        Q(connected_at__lt=now - MAX_CONNECTION_DURATION)
        | Q(last_seen_at__lt=now - IDLE_TIMEOUT - LAST_SEEN_RESOLUTION)
    )


def clear_sessions(*, keep_days: int = 0, dry_run: bool = False, now: datetime | None = None) -> CleanupResult:
    """Mark stale rows closed, then delete closed rows older than ``keep_days`` (0: every closed row), and the
    records of broadcast batches older than a day.

    With ``dry_run`` nothing changes and the result says what would have been done.
    """
    now = now or timezone.now()
    stale = stale_sessions(now)
    closed = WebSocketSession.objects.filter(connected=False)
    if keep_days:
        closed = closed.filter(Q(disconnected_at__lt=now - timedelta(days=keep_days)) | Q(disconnected_at=None))
    tokens = ConnectToken.objects.filter(Q(used_at__isnull=False) | Q(expires_at__lte=now))
    counters = RateLimitCounter.objects.filter(expires_at__lte=now)
    if dry_run:
        marked = stale.count()
        # Rows closed now are deleted in the same run only when no closed rows are kept.
        return CleanupResult(
            marked_closed=marked,
            deleted=closed.count() + (0 if keep_days else marked),
            tokens_deleted=tokens.count(),
            counters_deleted=counters.count(),
            history_deleted=prune_history(now=now, dry_run=True),
        )
    marked = stale.mark_closed(reason=STALE_REASON)
    deleted = _delete_in_chunks(closed)
    # Lambda gives up retrying an asynchronous invocation within 6 hours: older batch records serve nothing.
    BroadcastBatch.objects.filter(created_at__lt=now - BATCH_RECORD_MAX_AGE).delete()
    Broadcast.objects.filter(started_at__lt=now - BROADCAST_RECORD_MAX_AGE).only("id").delete()  # not the messages
    return CleanupResult(
        marked_closed=marked,
        deleted=deleted,
        tokens_deleted=tokens.delete()[0],
        counters_deleted=counters.delete()[0],
        history_deleted=prune_history(now=now),
    )


def _delete_in_chunks(rows: WebSocketSessionQuerySet) -> int:
    """Delete ``rows`` chunk by chunk in primary-key order; returns how many were deleted.

    Each chunk is a key range ending at the :data:`DELETE_CHUNK`-th row left, so only that one key comes to
    Python and the deletes are subqueries the database runs on its own.
    """
    deleted, after = 0, 0
    while True:
        remaining = rows.filter(pk__gt=after)
        bound = list(remaining.order_by("pk").values_list("pk", flat=True)[DELETE_CHUNK - 1 : DELETE_CHUNK])
        chunk = remaining.filter(pk__lte=bound[0]) if bound else remaining
        with transaction.atomic(using=router.db_for_write(WebSocketSession)):
            deleted += _delete_sessions(chunk)
        if not bound:
            return deleted
        after = bound[0]


def _delete_sessions(chunk: WebSocketSessionQuerySet) -> int:
    """Delete these sessions and what cascades from them, in a few statements when nothing needs the ORM's care.

    Delete signals, or a relation to the sessions that is neither CASCADE nor DO_NOTHING (added by a project, say),
    need Django's collector: the chunk then goes through ``QuerySet.delete()``, which honours them.
    """
    relations = [rel for rel in WebSocketSession._meta.related_objects if rel.on_delete is not DO_NOTHING]
    needs_collector = any(rel.on_delete is not CASCADE for rel in relations) or any(
        signal.has_listeners(WebSocketSession) for signal in (signals.pre_delete, signals.post_delete)
    )
    if needs_collector:
        _, per_model = chunk.delete()
        return per_model.get(WebSocketSession._meta.label, 0)
    for rel in relations:
        rel.related_model._base_manager.filter(**{f"{rel.field.name}__in": chunk.values("pk")}).delete()
    return chunk._raw_delete(chunk.db)  # what depended on these rows is gone: a plain DELETE ... WHERE


def scheduled(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Entry point for a Zappa ``events`` schedule; ``"kwargs": {"keep_days": 7}`` keeps a week of closed rows."""
    kwargs = event.get("kwargs") if isinstance(event, dict) else None
    keep_days = kwargs.get("keep_days", 0) if isinstance(kwargs, dict) else 0
    result = clear_sessions(keep_days=keep_days if isinstance(keep_days, int) and keep_days > 0 else 0)
    return dataclasses.asdict(result)
