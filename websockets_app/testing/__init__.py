"""Test kit for projects using websockets_app: a WebSocket test client and AWS-shaped event builders."""

from websockets_app.testing.client import WebSocketConnection, WebSocketTestClient, keep_test_database_connection
from websockets_app.testing.events import connect_event, disconnect_event, message_event

__all__ = (
    "WebSocketConnection",
    "WebSocketTestClient",
    "connect_event",
    "disconnect_event",
    "keep_test_database_connection",
    "message_event",
)
