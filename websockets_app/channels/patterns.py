"""Which channels a setting names: names, or shell-style patterns with exclusions.

``HISTORY_CHANNELS`` and ``PRESENCE_EVENTS_CHANNELS`` both take a list such as ``["room-*", "!room-private"]``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

__all__ = ("matches_channel",)


def matches_channel(channel_name: str, patterns: Iterable[str]) -> bool:
    """Whether ``channel_name`` is one of ``patterns``: names or shell-style patterns (``room-*``); one starting
    with ``!`` leaves out what it matches (``["*", "!default"]``: every channel but ``default``)."""
    included = excluded = False
    for pattern in patterns:
        if pattern.startswith("!"):
            excluded = excluded or fnmatch.fnmatchcase(channel_name, pattern[1:])
        else:
            included = included or fnmatch.fnmatchcase(channel_name, pattern)
    return included and not excluded
