"""Closing connections from the server: their rows marked closed at once, API Gateway told once that commits.

A row marked closed stops every later event of its connection (410), even if AWS cannot be reached; the
management API's ``DELETE @connections`` runs after the surrounding transaction has committed, so a rolled-back
change closes nothing. Identity (a login that ended) and the message rate limit (a connection that keeps flooding)
close connections this way.
"""

from __future__ import annotations

import logging

from django.db import transaction

from websockets_app.exceptions import ManagementApiError
from websockets_app.models import WebSocketSession, WebSocketSessionQuerySet

__all__ = ("close_connections", "end_connection")

logger = logging.getLogger(__name__)


def close_connections(queryset: WebSocketSessionQuerySet, reason: str) -> int:
    """Close the open connections among ``queryset``; returns how many were open."""
    with transaction.atomic():
        targets = list(queryset.connected().select_for_update())
        if not targets:
            return 0
        closed = WebSocketSession.objects.filter(pk__in=[target.pk for target in targets]).mark_closed(reason=reason)
        transaction.on_commit(lambda: _close_through_api(targets))
    return closed


def end_connection(session: WebSocketSession, reason: str) -> None:
    """Close the connection of an event that is refused for good."""
    close_connections(WebSocketSession.objects.filter(pk=session.pk), reason)
    session.connected = False


def _close_through_api(targets: list[WebSocketSession]) -> None:
    for target in targets:
        try:
            target.close()
        except ManagementApiError as error:
            # The row is closed already: the connection can do nothing more, AWS drops it when idle.
            logger.warning("Could not close connection %s: %s", target.connection_id, error)
