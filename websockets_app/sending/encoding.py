"""How ``send_message`` turns Python data into the bytes of one WebSocket message.

Text and bytes go as they are; anything else is JSON, Django-aware (datetimes, dates, UUIDs, Decimals, lazy
strings), compact and UTF-8 so the 128 KB limit is spent on the data, not on escapes and spaces.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

__all__ = ("encode_json", "encode_message")


def encode_message(data: Any) -> bytes:
    """The bytes to post for ``data``: ``str`` as UTF-8, bytes-like as is, everything else as JSON.

    Raises ``TypeError`` when ``data`` cannot be written as JSON.
    """
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    return encode_json(data).encode()


def encode_json(data: Any) -> str:
    """``data`` as compact JSON text (a ``str`` too becomes a JSON string); ``TypeError`` when it cannot be."""
    try:
        return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)
    except TypeError as error:
        raise TypeError(f"send_message() needs str, bytes or JSON-serialisable data: {error}") from None
