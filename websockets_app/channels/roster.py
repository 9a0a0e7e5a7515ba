"""Presence: who is in a channel now, from the ``WebSocketSession`` rows every container shares.

No Lambda container remembers its connections, so the rows are the only place that knows who is here. A user is one
entry however many tabs are open, present until the last one leaves. ``$disconnect`` is best-effort (AWS does not
promise it), so a row counts only while it can still be alive: seen within API Gateway's 10-minute idle limit (the
browser client's heartbeat keeps a quiet connection seen) and opened less than 2 hours ago.

With ``WEBSOCKETS["PRESENCE_EVENTS_CHANNELS"]``, the members of a channel are told when a user's first connection
arrives and when the last one leaves (frames documented in ``docs/topics/history-presence.md``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from websockets_app.aws_limits import IDLE_TIMEOUT, MAX_CONNECTION_DURATION
from websockets_app.channels.patterns import matches_channel
from websockets_app.conf import conf
from websockets_app.models import LAST_SEEN_RESOLUTION, WebSocketSession, WebSocketSessionQuerySet
from websockets_app.signals import websocket_connected, websocket_disconnected

__all__ = (
    "Presence",
    "PresentUser",
    "connect_receivers",
    "live_sessions",
    "presence",
    "presence_changed",
)

logger = logging.getLogger(__name__)

# Longer than this without a sign of life, API Gateway has closed the connection, whatever its row says
# (last_seen_at lags the last message by up to LAST_SEEN_RESOLUTION).
SILENCE_LIMIT = IDLE_TIMEOUT + LAST_SEEN_RESOLUTION


@dataclass(frozen=True)
class PresentUser:
    id: Any
    name: str
    connections: int

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "connections": self.connections}


@dataclass(frozen=True)
class Presence:
    """A channel's users (one entry each, by name) and how many anonymous connections it has."""

    channel_name: str
    users: tuple[PresentUser, ...]
    anonymous: int

    def as_frame(self) -> dict[str, Any]:
        """The ``"presence": "state"`` frame the browser client understands."""
        return {
            "presence": "state",
            "channel": self.channel_name,
            "users": [user.as_dict() for user in self.users],
            "anonymous": self.anonymous,
        }


def live_sessions(now: datetime | None = None) -> WebSocketSessionQuerySet:
    """Rows of connections that can still be open at ``now``: connected, recently seen, within the 2-hour limit."""
    now = now or timezone.now()
    return WebSocketSession.objects.filter(
        connected=True, last_seen_at__gte=now - SILENCE_LIMIT, connected_at__gte=now - MAX_CONNECTION_DURATION
    )


def presence(channel_name: str, *, now: datetime | None = None) -> Presence:
    """Who is in ``channel_name`` now, across every container (one query)."""
    rows = _member_rows(live_sessions(now), channel_name)
    counts: dict[Any, int] = {}
    names: dict[Any, str] = {}
    anonymous = 0
    for _pk, user_id, username, active in rows:
        if user_id is None or not active:  # an inactive user's connection acts as anonymous (WebSocketView)
            anonymous += 1
            continue
        counts[user_id] = counts.get(user_id, 0) + 1
        names[user_id] = username
    users = sorted((PresentUser(user_id, names[user_id], n) for user_id, n in counts.items()), key=_by_name)
    return Presence(channel_name=channel_name, users=tuple(users), anonymous=anonymous)


def presence_changed(session: WebSocketSession, user: Any, *, joined: bool) -> None:
    """Tell the members of the session's channel that ``user`` arrived or left, when that channel wants to know.

    A user joins with their first live connection and leaves with the last one. Two tabs closing at once may
    both announce the leave: clients treat a leave for someone absent as nothing.
    """
    channel_name = session.channel_name
    if not channel_name or not matches_channel(channel_name, conf.PRESENCE_EVENTS_CHANNELS):
        return
    user_id = user.pk if user is not None and user.is_authenticated else None
    if user_id is not None:
        others = live_sessions().in_channel(channel_name).filter(user_id=user_id)
        if joined:
            # Of two tabs opening at once, the older connection announces; each sees the other only once committed.
            if others.order_by("pk").values_list("pk", flat=True).first() != session.pk:
                return
        elif others.exists():
            return
    frame = {
        "presence": "joined" if joined else "left",
        "channel": channel_name,
        "user": None if user_id is None else {"id": user_id, "name": user.get_username()},
    }
    # A joining connection is still inside its $connect, when AWS refuses posts to it: it asks for the state later.
    WebSocketSession.objects.in_channel(channel_name).exclude(pk=session.pk).send_message(frame)


def connect_receivers() -> None:
    """Announce arrivals and departures (called from the app's ``ready()``)."""
    websocket_connected.connect(_announce_join, dispatch_uid="websockets_app.channels.roster.join")
    websocket_disconnected.connect(_announce_leave, dispatch_uid="websockets_app.channels.roster.leave")


def _announce_join(sender: Any, *, session: WebSocketSession, user: Any, **kwargs: Any) -> None:
    _announce(session, user, joined=True)


def _announce_leave(sender: Any, *, session: WebSocketSession, user: Any, **kwargs: Any) -> None:
    _announce(session, user, joined=False)


def _announce(session: WebSocketSession, user: Any, *, joined: bool) -> None:
    # A presence event is a courtesy to the others: failing to send it must not refuse the connection.
    try:
        presence_changed(session, user, joined=joined)
    except Exception:
        logger.exception("Presence event for connection %s not sent", session.connection_id)


def _member_rows(live: WebSocketSessionQuerySet, channel_name: str) -> list[tuple[Any, Any, str, bool]]:
    """(pk, user id, username, is active) of each live connection in the channel, read through ``in_channel()``
    (its indexed UNION), with the user's columns joined."""
    username = f"user__{get_user_model().USERNAME_FIELD}"
    return list(live.in_channel(channel_name).values_list("pk", "user_id", username, "user__is_active"))


def _by_name(user: PresentUser) -> tuple[str, str]:
    return (user.name.casefold(), str(user.id))
