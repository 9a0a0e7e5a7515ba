"""The emulator's live connections: what the ``@connections`` management API reads, posts to and closes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ("ConnectionRegistry", "LiveConnection")

ASGISend = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class LiveConnection:
    """One accepted WebSocket. Sends are serialised so frames from concurrent posts never interleave."""

    connection_id: str
    source_ip: str
    user_agent: str | None
    connected_at: float
    send: ASGISend
    last_active_at: float = field(default_factory=time.time)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def post(self, data: bytes) -> None:
        """Send ``data`` as API Gateway does: a text frame when it is UTF-8, else a binary frame."""
        message: dict[str, str | bytes]
        try:
            message = {"type": "websocket.send", "text": data.decode("utf-8")}
        except UnicodeDecodeError:
            message = {"type": "websocket.send", "bytes": data}
        async with self._lock:
            await self.send(message)

    async def close(self, code: int, reason: str) -> None:
        async with self._lock:
            await self.send({"type": "websocket.close", "code": code, "reason": reason})


class ConnectionRegistry:
    """Accepted connections by id. A connection leaves it as soon as it starts closing: posts then get 410."""

    def __init__(self) -> None:
        self._connections: dict[str, LiveConnection] = {}

    def __len__(self) -> int:
        return len(self._connections)

    def add(self, connection: LiveConnection) -> None:
        self._connections[connection.connection_id] = connection

    def get(self, connection_id: str) -> LiveConnection | None:
        return self._connections.get(connection_id)

    def remove(self, connection_id: str) -> LiveConnection | None:
        return self._connections.pop(connection_id, None)
