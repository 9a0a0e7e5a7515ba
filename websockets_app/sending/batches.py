"""The Zappa asynchronous task that sends one batch of a broadcast too large for a single Lambda invocation.

Kept apart from :mod:`~websockets_app.sending.messaging` because importing ``zappa.asynchronous`` builds boto3
clients: only a large broadcast pays for it. On Lambda, calling :func:`send_batch` invokes this Lambda
asynchronously; elsewhere it runs inline.

A batch is resumable. It goes in primary-key order, :data:`CHECKPOINT_KEYS` connections at a time, and records in
its :class:`~websockets_app.models.BroadcastBatch` row how far it got as soon as a chunk's posts have their
outcomes. So when Lambda retries a failed invocation (twice, at most), the retry skips every connection already
reached; and when the invocation runs short of time, it stops before Lambda's timeout and hands the rest to a new
invocation of the same batch, so nothing is lost.
"""

from __future__ import annotations

import base64
import time
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

from django.db.models import Q
from django.utils import timezone
from zappa.asynchronous import task

from websockets_app.events.invocation import remaining_seconds
from websockets_app.models import BroadcastBatch
from websockets_app.sending.delivery import SendResult, deliver_to_pks

__all__ = ("send_batch",)

# Connections posted to between two records of progress: at most this many may be posted to again if the process
# dies without a chance to record (killed, out of memory), never after an exception or a timeout.
CHECKPOINT_KEYS = 2000
# Stop starting chunks when less than this, plus the longest chunk so far, is left before Lambda's timeout.
TIME_MARGIN_SECONDS = 2.0
# How long a batch is held by the invocation sending it when Lambda tells no deadline.
UNBOUNDED_CLAIM = timedelta(minutes=15)


@task  # type: ignore[untyped-decorator]  # Zappa ships no types
def send_batch(session_pks: list[int], payload_base64: str, batch_id: str | None = None) -> dict[str, Any]:
    """Send the message to these rows; returns the summary as JSON data (what Lambda can return)."""
    if batch_id is None:  # queued by a version without resumable batches
        return deliver_to_pks(session_pks, base64.b64decode(payload_base64)).as_dict()
    return _send_resumable(uuid.UUID(batch_id), sorted(session_pks), payload_base64).as_dict()


def _send_resumable(batch_id: uuid.UUID, session_pks: list[int], payload_base64: str) -> SendResult:
    batch = _claim(batch_id)
    if batch is None:  # a duplicate delivery of this invocation, while the first is sending
        return SendResult(queued=len(session_pks))
    payload = base64.b64decode(payload_base64)
    todo = [pk for pk in session_pks if pk > batch.reached_through]
    result = SendResult()
    longest_chunk = 0.0
    try:
        for start in range(0, len(todo), CHECKPOINT_KEYS):
            left = remaining_seconds()
            if left is not None and left < TIME_MARGIN_SECONDS + longest_chunk:
                _release(batch_id)  # the continuation must be able to claim it
                return result.merge(_continue(batch_id, todo[start:], payload_base64))
            chunk = todo[start : start + CHECKPOINT_KEYS]
            began = time.monotonic()
            result.merge(deliver_to_pks(chunk, payload, on_posted=partial(_reached, batch_id, chunk[-1])))
            longest_chunk = max(longest_chunk, time.monotonic() - began)
    finally:
        _release(batch_id)
    return result


def _claim(batch_id: uuid.UUID) -> BroadcastBatch | None:
    """The batch's row, held for this invocation; None when another invocation holds it."""
    now = timezone.now()
    left = remaining_seconds()
    until = now + (timedelta(seconds=left) if left is not None else UNBOUNDED_CLAIM)
    BroadcastBatch.objects.get_or_create(id=batch_id)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    if not BroadcastBatch.objects.filter(free, id=batch_id).update(claimed_until=until):
        return None
    return BroadcastBatch.objects.get(id=batch_id)


def _reached(batch_id: uuid.UUID, through: int) -> None:
    BroadcastBatch.objects.filter(id=batch_id).update(reached_through=through)


def _release(batch_id: uuid.UUID) -> None:
    BroadcastBatch.objects.filter(id=batch_id).update(claimed_until=None)


def _continue(batch_id: uuid.UUID, session_pks: list[int], payload_base64: str) -> SendResult:
    """Hand the rest of the batch to a new invocation (inline off Lambda, where there is no deadline anyway)."""
    outcome = send_batch(session_pks, payload_base64, batch_id=str(batch_id))
    if isinstance(outcome, dict):
        return SendResult.from_dict(outcome)
    return SendResult(queued=len(session_pks))
