"""Channels: broadcasts to a channel's members, with history kept and presence shown where asked.

``broadcasting`` sends to every member (numbered and kept where the channel has history), ``history`` numbers,
keeps and replays, ``roster`` tells who is present and announces arrivals and departures, ``patterns`` reads the
settings that name channels, and ``actions`` answers the ``history`` and ``presence`` questions clients send.
"""

from websockets_app.channels.broadcasting import BroadcastResult, broadcast
from websockets_app.channels.history import keeps_history
from websockets_app.channels.roster import Presence, PresentUser, presence

__all__ = ("BroadcastResult", "Presence", "PresentUser", "broadcast", "keeps_history", "presence")
