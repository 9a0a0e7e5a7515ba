"""Removing the connections that are over: closed rows, and open rows that cannot be alive any more.

The same run deletes connect tokens that are spent or expired, and rate-limit counters of past windows.

``$disconnect`` is best-effort, so some connections never say goodbye. API Gateway closes every connection after
2 hours, and after 10 minutes without a message; a row past either limit is closed, whatever it says.
Run it with ``manage.py clearWebSocketSessions`` or on a schedule through Zappa's ``events`` (:func:`scheduled`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from websockets_app.aws_limits import IDLE_TIMEOUT, MAX_CONNECTION_DURATION
from websockets_app.models import (
    LAST_SEEN_RESOLUTION,
    ConnectToken,
    RateLimitCounter,
    WebSocketSession,
    WebSocketSessionQuerySet,
)

__all__ = ("CleanupResult", "clear_sessions", "scheduled")

STALE_REASON = "Closed by clearWebSocketSessions: past API Gateway's idle or duration limit."


@dataclass(frozen=True)
class CleanupResult:
    marked_closed: int
    deleted: int
    tokens_deleted: int = 0
    counters_deleted: int = 0


def stale_sessions(now: datetime) -> WebSocketSessionQuerySet:
    """Rows still marked connected that API Gateway has certainly closed by ``now``.

    ``last_seen_at`` may lag the last message by :data:`LAST_SEEN_RESOLUTION`, so idleness allows for it.
    """
    return WebSocketSession.objects.connected().filter(
        Q(connected_at__lt=now - MAX_CONNECTION_DURATION)
        | Q(last_seen_at__lt=now - IDLE_TIMEOUT - LAST_SEEN_RESOLUTION)
    )


def clear_sessions(*, keep_days: int = 0, dry_run: bool = False, now: datetime | None = None) -> CleanupResult:
    """Mark stale rows closed, then delete closed rows older than ``keep_days`` (0: every closed row).

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
        )
    with transaction.atomic():
        marked = stale.mark_closed(reason=STALE_REASON)
        _, per_model = closed.delete()
    return CleanupResult(
        marked_closed=marked,
        deleted=per_model.get(WebSocketSession._meta.label, 0),
        tokens_deleted=tokens.delete()[0],
        counters_deleted=counters.delete()[0],
    )


def scheduled(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Entry point for a Zappa ``events`` schedule; ``"kwargs": {"keep_days": 7}`` keeps a week of closed rows."""
    kwargs = event.get("kwargs") if isinstance(event, dict) else None
    keep_days = kwargs.get("keep_days", 0) if isinstance(kwargs, dict) else 0
    result = clear_sessions(keep_days=keep_days if isinstance(keep_days, int) and keep_days > 0 else 0)
    return dataclasses.asdict(result)
