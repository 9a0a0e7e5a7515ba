"""Sending from the app's code: ``send_message()`` on one connection or on a queryset of them.

One connection is posted to at once. A queryset is posted to here when one Lambda invocation can send to all of it;
a larger one becomes a broadcast in batches (:mod:`websockets_app.sending.batches`), sent through Zappa's
asynchronous tasks, which invoke this Lambda once per batch on AWS and run inline anywhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from websockets_app.conf import conf
from websockets_app.exceptions import ConnectionNotReady
from websockets_app.models import WebSocketSession
from websockets_app.sending.capacity import messages_per_invocation
from websockets_app.sending.delivery import (
    SendResult,
    connecting_id,
    deliver,
    prepare_payload,
    read_targets,
    session_target,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet

__all__ = ("batch_size", "send_to_queryset", "send_to_session")


def send_to_session(session: WebSocketSession, data: Any) -> SendResult:
    """Send ``data`` to one connection. A closed row is reported gone without a request."""
    payload = prepare_payload(data)
    if session.connection_id == connecting_id():
        raise ConnectionNotReady(session.connection_id)
    if not session.connected:
        return SendResult(gone=[session.connection_id])
    result = deliver([session_target(session)], payload)
    if result.gone:
        session.connected = False
    return result


def send_to_queryset(queryset: QuerySet[WebSocketSession], data: Any) -> SendResult:
    """Send ``data`` to the connected rows of ``queryset``: here when one invocation can send to them all, otherwise
    as a broadcast whose batches are recorded, queued, and report to its row (:mod:`websockets_app.sending.batches`,
    imported only then: Zappa's asynchronous tasks build boto3 clients).
    """
    payload = prepare_payload(data)
    size = batch_size()
    connected = queryset.filter(connected=True)
    targets = read_targets(connected, size + 1)
    if len(targets) <= size:
        return deliver(targets, payload)
    from websockets_app.sending.batches import start_broadcast

    return start_broadcast(connected, payload, size)


def batch_size() -> int:
    """Connections per invocation: ``SEND_BATCH_SIZE``, else what the sender sends in ~25 s at this Lambda's memory."""
    return conf.SEND_BATCH_SIZE or messages_per_invocation()
