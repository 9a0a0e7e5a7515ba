"""The ``history`` and ``presence`` actions ``WebSocketView`` answers itself, for the browser client and any other.

``{"action": "history", "channel": "lobby", "after": 41}`` asks for what was missed after message 41,
``{"action": "history", "channel": "lobby", "last": 20}`` for the 20 newest, ``{"action": "presence", "channel":
"lobby"}`` for who is there. A connection asks only about channels it is in (``channel`` defaults to its
connect-time one). These are messages, never part of ``$connect``; the answer is their reply (two-way routes,
docs/topics/replies.md), so it costs no management-API request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from websockets_app.channels.history import keeps_history, replay_frame
from websockets_app.channels.roster import presence as channel_presence
from websockets_app.conf import conf
from websockets_app.exceptions import RejectEvent
from websockets_app.validators import CHANNEL_NAME_RE, is_whole_number

if TYPE_CHECKING:
    from websockets_app.models import WebSocketSession

__all__ = ("ChannelActions",)

_MAX_SEQ = 2**63 - 1


class ChannelActions:
    """Mixed into ``WebSocketView``: override a method to change or refuse an answer."""

    # The actions this class answers, which any WebSocketView subclass may receive.
    ACTIONS = ("history", "presence")

    body: dict[str, Any]
    websocket_session: WebSocketSession | None

    def history(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Reply with a ``replay`` (or ``reset``) frame for the channel's kept messages."""
        channel_name = self._asked_channel()
        if not keeps_history(channel_name):
            raise RejectEvent(400, f"Channel {channel_name!r} keeps no history.")
        after, last = self.body.get("after"), self.body.get("last")
        if (after is None) == (last is None):
            raise RejectEvent(400, "Give either after (the last sequence number seen) or last (how many).")
        if after is not None and not is_whole_number(after, 0, _MAX_SEQ):
            raise RejectEvent(400, "after must be a whole number, 0 or more.")
        if last is not None and not is_whole_number(last, 1, conf.HISTORY_REPLAY_LIMIT):
            raise RejectEvent(400, f"last must be a whole number from 1 to {conf.HISTORY_REPLAY_LIMIT}.")
        return HttpResponse(replay_frame(channel_name, after=after, last=last), content_type="application/json")

    def presence(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        """Reply with a ``presence`` ``state`` frame: the channel's users and anonymous connection count."""
        return JsonResponse(channel_presence(self._asked_channel()).as_frame())

    def _asked_channel(self) -> str:
        session = self.websocket_session
        if session is None:
            raise RejectEvent(410, "Gone: unknown connection.")
        channel_name = self.body.get("channel", session.channel_name)
        if not isinstance(channel_name, str) or not CHANNEL_NAME_RE.fullmatch(channel_name):
            raise RejectEvent(400, "channel must be the name of a channel this connection is in.")
        if channel_name != session.channel_name and channel_name not in session.channel_names():
            raise RejectEvent(403, "Forbidden: this connection is not in that channel.")
        return channel_name
