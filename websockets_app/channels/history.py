"""Channel history: broadcasts numbered per channel and kept, so a client that was away can get what it missed.

Every broadcast to a channel with history (``WEBSOCKETS["HISTORY_CHANNELS"]``, or an ``ApiGateway`` whose
``default_channel_history`` is set) takes the channel's next sequence number and leaves one row, however many
received it. Its frame carries the number and a message id; a client that knows the last number it saw asks for
the rest (:func:`replay_frame`). The frames, the questions and the answers are documented in
``docs/topics/history-presence.md``: a non-browser client follows the same protocol.
"""

from __future__ import annotations

import json
import threading
import uuid
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import BigIntegerField, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.utils import timezone

from websockets_app import aws_limits
from websockets_app.channels.patterns import matches_channel
from websockets_app.conf import conf
from websockets_app.exceptions import MessageTooLarge
from websockets_app.models import ApiGateway, ChannelMessage, ChannelSequence
from websockets_app.sending.encoding import encode_json

__all__ = (
    "MAX_DATA_BYTES",
    "HistoryMessage",
    "keeps_history",
    "prune",
    "record",
    "replay_frame",
)

# A replay wraps messages in one frame that must stay within API Gateway's message limit; keeping each kept message
# this far below it leaves room for the wrapper and the message's own envelope, so any one message fits a replay.
_ENVELOPE_ROOM_BYTES = 2048
MAX_DATA_BYTES = aws_limits.MESSAGE_BYTES - _ENVELOPE_ROOM_BYTES
_sqlite_numbering = threading.Lock()


@dataclass(frozen=True)
class HistoryMessage:
    """A broadcast as it was numbered and kept: ``frame`` is the text every member was sent."""

    channel_name: str
    seq: int
    message_id: str
    frame: str


def keeps_history(channel_name: str) -> bool:
    """Whether broadcasts to ``channel_name`` are numbered and kept (the setting first, then the APIs' rows)."""
    if matches_channel(channel_name, conf.HISTORY_CHANNELS):
        return True
    return ApiGateway.objects.filter(default_channel_name=channel_name, default_channel_history=True).exists()


def record(channel_name: str, data: Any) -> HistoryMessage:
    """Number ``data`` with the channel's next sequence number and keep it; the frame to send to its members.

    The number and the row are written in one transaction, with the channel's counter row locked until it
    commits: a failed write gives its number back, and concurrent broadcasts are numbered and committed in order.
    Raises ``MessageTooLarge`` before anything is written when ``data`` would not fit a replay.
    """
    data_json = encode_json(data)
    size = len(data_json.encode())
    if size > MAX_DATA_BYTES:
        raise MessageTooLarge(size, MAX_DATA_BYTES)
    message_id = uuid.uuid4()
    with _one_writer_on_sqlite(), transaction.atomic():
        seq = _next_seq(channel_name)
        created_at = timezone.now()
        header = {
            "history": "message",
            "channel": channel_name,
            "seq": seq,
            "id": message_id.hex,
            "at": created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        frame = f'{_compact(header)[:-1]},"data":{data_json}}}'
        ChannelMessage.objects.create(
            channel_name=channel_name, seq=seq, message_id=message_id, frame=frame, created_at=created_at
        )
    return HistoryMessage(channel_name=channel_name, seq=seq, message_id=message_id.hex, frame=frame)


def replay_frame(channel_name: str, *, after: int | None = None, last: int | None = None) -> str:
    """The answer to a client's history question: the messages after ``after``, or the ``last`` ones.

    A ``"replay"`` frame lists them in order (``"more": true`` when the client must ask again for the rest); when
    messages after ``after`` are no longer kept, or ``after`` is beyond what the channel ever numbered, it is a
    ``"reset"`` frame instead, so the page can reload. Exactly one of ``after`` and ``last`` is given.
    """
    if (after is None) == (last is None):
        raise ValueError("Give exactly one of after and last.")
    head = ChannelSequence.objects.filter(channel_name=channel_name).values_list("last_seq", flat=True).first() or 0
    kept = ChannelMessage.objects.filter(channel_name=channel_name)
    limit = conf.HISTORY_REPLAY_LIMIT
    if last is not None:
        newest_first, _ = _fitting(list(kept.order_by("-seq").values_list("seq", "frame")[: min(last, limit)]))
        rows = newest_first[::-1]
        more = False
        after = rows[0][0] - 1 if rows else head
    elif after is not None:
        if after > head:
            return _compact({"history": "reset", "channel": channel_name, "after": after, "head": head, "oldest": None})
        rows = list(kept.filter(seq__gt=after).order_by("seq").values_list("seq", "frame")[: limit + 1])
        if after < head and (not rows or rows[0][0] != after + 1):
            oldest = rows[0][0] if rows else None
            return _compact(
                {"history": "reset", "channel": channel_name, "after": after, "head": head, "oldest": oldest}
            )
        more = len(rows) > limit
        rows, cut = _fitting(rows[:limit])
        more = more or cut
    head = max(head, rows[-1][0]) if rows else head
    header = {"history": "replay", "channel": channel_name, "after": after, "head": head, "more": more}
    return f'{_compact(header)[:-1]},"messages":[{",".join(frame for _, frame in rows)}]}}'


def prune(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Delete what no channel keeps any more: messages older than ``HISTORY_MAX_AGE`` seconds and, per channel,
    all but the newest ``HISTORY_MAX_MESSAGES``. Set-based, so memory stays flat however large the table.

    Sequence counters stay: a channel never numbers a message twice, so a client's old number always means the same.
    """
    now = now or timezone.now()
    head = ChannelSequence.objects.filter(channel_name=OuterRef("channel_name")).values("last_seq")[:1]
    newest_dropped = ExpressionWrapper(Subquery(head) - conf.HISTORY_MAX_MESSAGES, output_field=BigIntegerField())
    too_old = Q(created_at__lt=now - timedelta(seconds=conf.HISTORY_MAX_AGE))
    doomed = ChannelMessage.objects.alias(newest_dropped=newest_dropped).filter(
        too_old | Q(seq__lte=F("newest_dropped"))
    )
    if dry_run:
        return doomed.count()
    deleted, _ = doomed.delete()
    return deleted


def _one_writer_on_sqlite() -> AbstractContextManager[Any]:
    """SQLite (local development) has no row locks and fails a second writer at once where its database is shared
    in memory (the test suite's): the threads of one process (runserver's emulator) take turns instead."""
    return _sqlite_numbering if connection.vendor == "sqlite" else nullcontext()


def _next_seq(channel_name: str) -> int:
    """Take the channel's next number; the counter row stays locked until the caller's transaction ends."""
    counters = ChannelSequence.objects.filter(channel_name=channel_name)
    if not counters.update(last_seq=F("last_seq") + 1):
        # The channel's first message: a concurrent first one may create the row too, and then waits on it.
        ChannelSequence.objects.bulk_create([ChannelSequence(channel_name=channel_name)], ignore_conflicts=True)
        counters.update(last_seq=F("last_seq") + 1)
    return counters.values_list("last_seq", flat=True).get()


def _fitting(rows: list[tuple[int, str]]) -> tuple[list[tuple[int, str]], bool]:
    """The leading rows whose frames fit one message with the replay's wrapper; True when some were left out."""
    room = aws_limits.MESSAGE_BYTES - _ENVELOPE_ROOM_BYTES // 2
    kept: list[tuple[int, str]] = []
    for seq, frame in rows:
        room -= len(frame.encode()) + 1
        if room < 0 and kept:
            return kept, True
        kept.append((seq, frame))
    return kept, False


def _compact(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
