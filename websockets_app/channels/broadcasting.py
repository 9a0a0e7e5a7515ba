"""``broadcast``: send to every member of a channel, numbered and kept when the channel has history.

``WebSocketSession.objects.in_channel(name).send_message(data)`` stays a plain send (it may be narrowed to some
members, and what a few were sent must not be replayed to all); :func:`broadcast` is the one to use for what the
whole channel is told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from websockets_app.channels.history import keeps_history, record
from websockets_app.models import WebSocketSession
from websockets_app.validators import validate_channel_name

if TYPE_CHECKING:
    from websockets_app.sending.delivery import SendResult

__all__ = ("BroadcastResult", "broadcast")


@dataclass(frozen=True)
class BroadcastResult:
    """What one broadcast did: how it was delivered and, on a channel with history, the number it was given."""

    delivery: SendResult
    seq: int | None = None
    message_id: str | None = None


def broadcast(channel_name: str, data: Any) -> BroadcastResult:
    """Send ``data`` to every connection in ``channel_name``.

    On a channel with history the members get ``data`` inside a numbered frame (docs: history-presence), kept for
    those who reconnect later; elsewhere they get ``data`` as it is.
    """
    validate_channel_name(channel_name)
    members = WebSocketSession.objects.in_channel(channel_name)
    if not keeps_history(channel_name):
        return BroadcastResult(delivery=members.send_message(data))
    message = record(channel_name, data)
    return BroadcastResult(delivery=members.send_message(message.frame), seq=message.seq, message_id=message.message_id)
