"""Exceptions the app raises, and the one views raise to answer an event with a 4xx."""


class RejectEvent(Exception):
    """Answer the current event with ``status`` and a short ``reason`` (refuses the connection on $connect).

    Raise it from a handler, or from code a handler calls, instead of building a response by hand.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class MessageTooLarge(ValueError):
    """A message over API Gateway's 128 KB limit: refused before anything is sent."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"The message is {size} bytes; API Gateway accepts at most {limit} bytes per WebSocket message. "
            "Send less, or split it into several messages."
        )
        self.size = size
        self.limit = limit


class ConnectionNotReady(RuntimeError):
    """A message was sent to a connection during its own ``$connect``, which AWS refuses (410)."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(
            f"Connection {connection_id} is still in $connect: API Gateway refuses messages to it until connect() "
            "has answered. Greet it when it sends its first message (see 'Greeting a new connection' in README)."
        )
        self.connection_id = connection_id


class ManagementApiError(Exception):
    """The management API refused to close or describe a connection (403, throttling left, 5xx, timeout)."""

    def __init__(self, connection_id: str, reason: str) -> None:
        super().__init__(f"Connection {connection_id}: {reason}")
        self.connection_id = connection_id
        self.reason = reason
