"""Sending from the app's code: ``send_message()`` on one connection or on a queryset of them.

One connection is posted to at once. A queryset is posted to here up to what one Lambda invocation can send; the
rest goes in batches through Zappa's asynchronous tasks (:mod:`websockets_app.sending.batches`), which invoke this
Lambda once per batch on AWS and run inline anywhere else.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from websockets_app import aws_limits
from websockets_app.conf import conf
from websockets_app.exceptions import ConnectionNotReady
from websockets_app.models import WebSocketSession
from websockets_app.sending.capacity import messages_per_invocation
from websockets_app.sending.delivery import (
    TARGET_FIELDS,
    SendResult,
    Target,
    connecting_id,
    deliver,
    prepare_payload,
)

if TYPE_CHECKING:
    from django.db.models import QuerySet

__all__ = ("batch_size_for", "send_to_queryset", "send_to_session")

logger = logging.getLogger(__name__)

# What an asynchronous batch's event carries besides the message and the primary keys (task path, response id).
_BATCH_EVENT_OVERHEAD_BYTES = 2048


def send_to_session(session: WebSocketSession, data: Any) -> SendResult:
    """Send ``data`` to one connection. A closed row is reported gone without a request."""
    payload = prepare_payload(data)
    if session.connection_id == connecting_id():
        raise ConnectionNotReady(session.connection_id)
    if not session.connected:
        return SendResult(gone=[session.connection_id])
    target = Target(session.pk, session.connection_id, session.api_id, session.stage, session.connected_at)
    result = deliver([target], payload)
    if result.gone:
        session.connected = False
    return result


def send_to_queryset(queryset: QuerySet[WebSocketSession], data: Any) -> SendResult:
    """Send ``data`` to the connected rows of ``queryset``: what one invocation can send here, the rest in batches.

    The other batches go through Zappa's asynchronous tasks, which invoke this Lambda once per batch on AWS and run
    inline anywhere else.
    """
    payload = prepare_payload(data)
    targets = [Target(*row) for row in queryset.filter(connected=True).values_list(*TARGET_FIELDS)]
    if not targets:
        return SendResult()
    batch_size = batch_size_for(payload, largest_key=max(target.pk for target in targets))
    result = deliver(targets[:batch_size], payload)
    if len(targets) > batch_size:
        result.merge(_send_in_batches(targets[batch_size:], payload, batch_size))
    return result


def batch_size_for(payload: bytes, largest_key: int = 2**63 - 1) -> int:
    """Connections per invocation: ``SEND_BATCH_SIZE``, else what the sender sends in ~25 s at this Lambda's memory;
    lowered when a batch's event (its keys, up to ``largest_key``, and the message) would not fit Lambda's
    asynchronous payload limit."""
    room = aws_limits.ASYNC_INVOKE_PAYLOAD_BYTES - _BATCH_EVENT_OVERHEAD_BYTES - len(base64.b64encode(payload))
    bytes_per_key = len(str(largest_key)) + len(", ")
    return max(1, min(conf.SEND_BATCH_SIZE or messages_per_invocation(), room // bytes_per_key))


def _send_in_batches(targets: Sequence[Target], payload: bytes, batch_size: int) -> SendResult:
    """Hand each batch to Zappa's async task: queued on Lambda, sent inline elsewhere."""
    from websockets_app.sending.batches import send_batch

    encoded = base64.b64encode(payload).decode()
    result = SendResult()
    for start in range(0, len(targets), batch_size):
        batch = targets[start : start + batch_size]
        try:
            outcome = send_batch([target.pk for target in batch], encoded, batch_id=str(uuid.uuid4()))
        except Exception as error:
            logger.exception("send_message: could not hand a batch of %d connections to Zappa", len(batch))
            result.failed.update((target.connection_id, f"Batch not queued: {error}") for target in batch)
            continue
        if isinstance(outcome, dict):
            result.merge(SendResult.from_dict(outcome))
        else:
            result.queued += len(batch)
    return result
