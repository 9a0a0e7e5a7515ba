"""The batches of a broadcast: recorded before any is sent, each sent by one Lambda invocation, and resumable.

A ``send_message`` to more connections than one invocation sends to becomes a
:class:`~websockets_app.models.Broadcast`. :func:`start_broadcast` streams the connected keys in key order, cuts them
into :class:`~websockets_app.models.BroadcastBatch` rows as they stream (the keys live in the row, so neither memory
nor Lambda's asynchronous payload limit grows with the audience), queues every batch but the first through Zappa's
asynchronous task :func:`send_batch` (on Lambda: one invocation each; elsewhere: inline), then sends the first itself.

A batch goes :data:`CHECKPOINT_KEYS` connections at a time. After each chunk it records, in one transaction, how far
it got and what it reached (sent or gone, counted on the broadcast); connections still throttled when the chunk's
deadline came stay in the batch's ``retry_keys``. So when Lambda retries a failed invocation, the retry posts to
no connection that was reached; when the invocation runs short of time, it stops before Lambda's timeout and hands
the rest, throttled ones included, to a new invocation of the same batch; and when the broadcast's deadline
(:data:`BROADCAST_DEADLINE`) passes, what was not reached is recorded failed. A batch's posts start at no more than
its share of ``SEND_RATE_LIMIT``: the limit over the batches sending at that moment, counted in the database.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from zappa.asynchronous import task

from websockets_app.conf import conf
from websockets_app.events.invocation import remaining_seconds
from websockets_app.models import Broadcast, BroadcastBatch, WebSocketSession
from websockets_app.sending.delivery import (
    DEADLINE_MARGIN_SECONDS,
    SendResult,
    deliver_to_pks,
    send_options,
)
from websockets_app.signals import broadcast_finished

__all__ = ("BROADCAST_DEADLINE", "CHECKPOINT_KEYS", "send_batch", "start_broadcast")

logger = logging.getLogger(__name__)

# Connections posted to between two records of progress: at most this many may be posted to again if the process
# dies without a chance to record (killed, out of memory), never after an exception or a timeout.
CHECKPOINT_KEYS = 2000
# Stop starting chunks when less than this, plus the longest chunk so far, is left before Lambda's timeout.
TIME_MARGIN_SECONDS = 2.0
# How long a batch is held by the invocation sending it when Lambda tells no deadline.
UNBOUNDED_CLAIM = timedelta(minutes=15)
# After this, a connection not reached is recorded failed: a message this late is no longer worth sending.
BROADCAST_DEADLINE = timedelta(minutes=15)
DEADLINE_REASON = "Not delivered before the broadcast's deadline (still throttled by API Gateway)."


def start_broadcast(connected: QuerySet[WebSocketSession], payload: bytes, batch_size: int) -> SendResult:
    """Send to the rows of ``connected`` (more than one batch of them) as a broadcast: every batch recorded and queued
    before the first is sent here; the result names the broadcast."""
    broadcast = Broadcast.objects.create(payload=payload, deadline=timezone.now() + BROADCAST_DEADLINE)
    batches = [_record_batch(broadcast, keys) for keys in _key_pages(connected, batch_size)]
    Broadcast.objects.filter(id=broadcast.id).update(targets=sum(size for _, size in batches), batches=len(batches))
    result = SendResult(broadcast=broadcast.id)
    for batch_id, size in batches[1:]:
        result.merge(_queue(batch_id, size))
    if batches:
        result.merge(_send_resumable(batches[0][0]))
    return result


@task  # type: ignore[untyped-decorator]  # Zappa ships no types
def send_batch(
    session_pks: list[int] | None = None, payload_base64: str | None = None, batch_id: str | None = None
) -> dict[str, Any]:
    """Send one batch of a broadcast, recorded in its row; returns the summary as JSON data (what Lambda returns).

    ``session_pks`` and ``payload_base64`` are what batches queued by earlier versions carried: they are sent as
    they were queued.
    """
    if session_pks is not None and payload_base64 is not None:
        import base64

        return deliver_to_pks(session_pks, base64.b64decode(payload_base64)).as_dict()
    if batch_id is None:
        raise ValueError("send_batch needs the id of a batch")
    return _send_resumable(uuid.UUID(batch_id)).as_dict()


def _key_pages(queryset: QuerySet[WebSocketSession], size: int) -> Iterator[list[int]]:
    """The primary keys of ``queryset`` in ascending order, ``size`` at a time: one page in memory at once."""
    keys = queryset.order_by("pk").values_list("pk", flat=True)
    page = list(keys[:size])
    while page:
        yield page
        page = list(keys.filter(pk__gt=page[-1])[:size])


def _record_batch(broadcast: Broadcast, keys: Sequence[int]) -> tuple[uuid.UUID, int]:
    batch = BroadcastBatch.objects.create(id=uuid.uuid4(), broadcast=broadcast, keys=_join(keys))
    return batch.id, len(keys)


def _queue(batch_id: uuid.UUID, size: int, pending: list[int] | None = None) -> SendResult:
    """Hand a batch of ``size`` connections to Zappa's asynchronous task: queued on Lambda, sent inline elsewhere.

    ``pending``: the keys a continuation has left (None: all of the batch's)."""
    try:
        outcome = send_batch(batch_id=str(batch_id))
    except Exception as error:
        logger.exception("send_message: could not queue batch %s", batch_id)
        return _fail_unqueued(batch_id, pending, f"Batch not queued: {error}")
    if isinstance(outcome, dict):
        return SendResult.from_dict(outcome)
    return SendResult(queued=size)


def _fail_unqueued(batch_id: uuid.UUID, pending: list[int] | None, reason: str) -> SendResult:
    """What a batch Zappa refused had left is recorded failed, so its broadcast still finishes and says why."""
    batch = BroadcastBatch.objects.get(id=batch_id)
    failed = _record_unsent(batch, _split(batch.keys) if pending is None else pending, reason)
    _finish(batch)
    return failed


def _send_resumable(batch_id: uuid.UUID) -> SendResult:
    batch = _claim(batch_id)
    if batch is None:  # a duplicate delivery of this invocation while the first is sending, or a finished batch
        return SendResult(broadcast=BroadcastBatch.objects.values_list("broadcast_id", flat=True).get(id=batch_id))
    try:
        return _send_claimed(batch)
    finally:
        _release(batch_id)


def _send_claimed(batch: BroadcastBatch) -> SendResult:
    broadcast = batch.broadcast
    if broadcast is None:  # a row of an earlier version's batch: nothing to send from it
        return SendResult()
    payload = bytes(broadcast.payload)
    todo = _split(batch.retry_keys) + [key for key in _split(batch.keys) if key > batch.reached_through]
    through = batch.reached_through
    result = SendResult(broadcast=broadcast.id)
    longest_chunk = 0.0
    while todo:
        left = remaining_seconds()
        if left is not None and left < TIME_MARGIN_SECONDS + longest_chunk:
            _release(batch.id)  # the continuation must be able to claim it
            return result.merge(_queue(batch.id, len(todo), todo))
        until_deadline = (broadcast.deadline - timezone.now()).total_seconds()
        if until_deadline <= 0:
            result.merge(_record_unsent(batch, todo, DEADLINE_REASON))
            break
        chunk, todo = todo[:CHECKPOINT_KEYS], todo[CHECKPOINT_KEYS:]
        began = time.monotonic()
        posting_for = until_deadline if left is None else min(until_deadline, left - DEADLINE_MARGIN_SECONDS)
        options = send_options(rate_limit=_rate_share(broadcast), deadline=began + posting_for)
        through = max(through, chunk[-1])
        # What is left to post at or below ``through`` (the rest of the earlier throttled keys: they come first) is
        # to be retried, with what this chunk leaves throttled.
        retry = list(itertools.takewhile(through.__ge__, todo))
        throttled: list[int] = []
        record = partial(_record_chunk, batch, chunk, through, retry, throttled)
        result.merge(deliver_to_pks(chunk, payload, options=options, throttled=throttled, on_posted=record))
        todo = throttled + todo  # posted again first: throttled only when the chunk's deadline came
        longest_chunk = max(longest_chunk, time.monotonic() - began)
    _finish(batch)
    return result


def _claim(batch_id: uuid.UUID) -> BroadcastBatch | None:
    """The batch's row, held for this invocation; None when another invocation holds it or it has finished."""
    now = timezone.now()
    left = remaining_seconds()
    until = now + (timedelta(seconds=left) if left is not None else UNBOUNDED_CLAIM)
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    if not BroadcastBatch.objects.filter(free, id=batch_id, finished=False, broadcast__isnull=False).update(
        claimed_until=until
    ):
        return None
    return BroadcastBatch.objects.select_related("broadcast").get(id=batch_id)


def _release(batch_id: uuid.UUID) -> None:
    BroadcastBatch.objects.filter(id=batch_id).update(claimed_until=None)


def _rate_share(broadcast: Broadcast) -> float:
    """This batch's share of ``SEND_RATE_LIMIT``: the limit over the batches sending now, in every broadcast.

    Where batches run at once (asynchronous invocations on Lambda), the broadcast's unfinished batches count from the
    start, so that the first to start does not take the whole limit before the others have claimed theirs.
    """
    senders = BroadcastBatch.objects.filter(claimed_until__gt=timezone.now()).count()
    if _batches_run_at_once():
        unfinished = BroadcastBatch.objects.filter(broadcast=broadcast, finished=False).count()
        senders = max(senders, unfinished)
    return float(conf.SEND_RATE_LIMIT) / max(1, senders)


def _batches_run_at_once() -> bool:
    """Whether Zappa's task invokes the Lambda asynchronously (the name of a function to invoke is known)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def _record_chunk(
    batch: BroadcastBatch, chunk: list[int], through: int, retry: list[int], throttled: list[int], sent: SendResult
) -> None:
    """A chunk's posts have their outcomes: recorded before anything else is written."""
    skipped = len(chunk) - sent.sent - len(sent.gone) - len(sent.failed) - len(throttled)
    _record(batch, through=through, retry=retry + throttled, result=sent, skipped=skipped)


def _record(batch: BroadcastBatch, *, through: int, retry: list[int], result: SendResult, skipped: int) -> None:
    """How far the batch got and what it reached, together: a retry never counts a connection twice."""
    with transaction.atomic():
        BroadcastBatch.objects.filter(id=batch.id).update(reached_through=through, retry_keys=_join(retry))
        Broadcast.objects.filter(id=_broadcast_id(batch)).update(
            sent=F("sent") + result.sent,
            gone=F("gone") + len(result.gone) + skipped,
            failed=F("failed") + len(result.failed),
        )
        if result.failed:
            broadcast = Broadcast.objects.select_for_update().only("failures").get(id=_broadcast_id(batch))
            room = Broadcast.MAX_RECORDED_FAILURES - len(broadcast.failures)
            if room > 0:
                broadcast.failures.update(list(result.failed.items())[:room])
                broadcast.save(update_fields=["failures"])


def _record_unsent(batch: BroadcastBatch, keys: list[int], reason: str) -> SendResult:
    """``keys``, the batch's last, will not be posted to: the connected ones are recorded failed with ``reason``
    (closed ones gone), and the batch has nothing left."""
    connection_ids = WebSocketSession.objects.filter(pk__in=keys, connected=True).values_list(
        "connection_id", flat=True
    )
    unsent = SendResult(failed=dict.fromkeys(connection_ids, reason), broadcast=batch.broadcast_id)
    through = max([batch.reached_through, *_split(batch.keys)])
    _record(batch, through=through, retry=[], result=unsent, skipped=len(keys) - len(unsent.failed))
    return unsent


def _finish(batch: BroadcastBatch) -> None:
    """The batch is done; the last of its broadcast's batches to finish finishes the broadcast, and says so."""
    with transaction.atomic():
        if not BroadcastBatch.objects.filter(id=batch.id, finished=False).update(finished=True):
            return
        Broadcast.objects.filter(id=_broadcast_id(batch)).update(batches_finished=F("batches_finished") + 1)
        finished = Broadcast.objects.filter(
            id=_broadcast_id(batch), state=Broadcast.State.SENDING, batches_finished=F("batches")
        ).update(state=Broadcast.State.FINISHED, finished_at=timezone.now())
    if finished:
        broadcast = Broadcast.objects.get(id=_broadcast_id(batch))
        if broadcast.failed:
            logger.warning(
                "Broadcast %s: %d of %d connections failed", broadcast.id, broadcast.failed, broadcast.targets
            )
        broadcast_finished.send(sender=Broadcast, broadcast=broadcast)


def _broadcast_id(batch: BroadcastBatch) -> uuid.UUID:
    if batch.broadcast_id is None:  # only rows of an earlier version's batches, which are never claimed
        raise ValueError(f"batch {batch.id} belongs to no broadcast")
    return batch.broadcast_id


def _join(keys: Sequence[int]) -> str:
    return ",".join(map(str, keys))


def _split(keys: str) -> list[int]:
    return [int(key) for key in keys.split(",")] if keys else []
