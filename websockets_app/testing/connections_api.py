"""An in-process stand-in for API Gateway's ``@connections`` management API, for tests.

The app posts to it exactly as it posts to AWS (signed, over HTTP); ``WEBSOCKETS["ENDPOINT_URL"]`` points it here, so
what is captured is what really went over the wire. It answers by the emulator's rules (410 Gone for connections that
are not open, including during ``$connect``; 413 for payloads over 128 KB; ``GET`` in AWS's wire shape), and records
``DELETE`` so the test client can send the ``$disconnect`` AWS would.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from websockets_app.emulator.connections_api import ConnectionsApiAnswer, get_connection_answer, refusal
from websockets_app.emulator.limits import AWS_LIMITS

__all__ = ("ConnectionsApiStub", "StubConnection", "connections_api_stub")

_CONNECTIONS_PATH = "/@connections/"


@dataclass
class StubConnection:
    """What the stub knows of one open connection: the messages posted to it, in order."""

    connection_id: str
    source_ip: str
    user_agent: str | None = None
    connected_at: float = field(default_factory=time.time)  # epoch seconds
    received: list[bytes] = field(default_factory=list)
    deleted: bool = False


class ConnectionsApiStub:
    """A local HTTP server answering ``POST``, ``GET`` and ``DELETE /@connections/{id}`` (any stage prefix)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, StubConnection] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="connections-api-stub", daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def open(self, connection: StubConnection) -> None:
        with self._lock:
            self._open[connection.connection_id] = connection

    def close(self, connection_id: str) -> None:
        with self._lock:
            self._open.pop(connection_id, None)

    def take_deleted(self, connection_ids: set[str]) -> list[str]:
        """Connections among ``connection_ids`` the app closed with ``DELETE``; they are forgotten here."""
        with self._lock:
            deleted = [cid for cid, conn in self._open.items() if conn.deleted and cid in connection_ids]
            for connection_id in deleted:
                del self._open[connection_id]
        return deleted

    def answer(self, method: str, connection_id: str, data: bytes) -> ConnectionsApiAnswer:
        """The management API's answer, by the same rules as the emulator's."""
        body = data if len(data) <= AWS_LIMITS.message_bytes else None
        with self._lock:
            connection = self._open.get(connection_id)
            is_open = connection is not None and not connection.deleted
            refused = refusal(method, is_open=is_open, body=body, limits=AWS_LIMITS)
            if refused is not None:
                return refused
            if connection is None:
                raise AssertionError("refusal() answers unknown connections")
            if method == "POST":
                connection.received.append(data)
                return ConnectionsApiAnswer(200)
            if method == "DELETE":
                connection.deleted = True
                return ConnectionsApiAnswer(204)
            return get_connection_answer(
                connected_at=connection.connected_at,
                last_active_at=connection.connected_at,
                source_ip=connection.source_ip,
                user_agent=connection.user_agent,
            )


def _handler_for(stub: ConnectionsApiStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self._answer("POST")

        def do_GET(self) -> None:
            self._answer("GET")

        def do_DELETE(self) -> None:
            self._answer("DELETE")

        def _answer(self, method: str) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?", 1)[0]
            if _CONNECTIONS_PATH not in path:
                answer = ConnectionsApiAnswer(404, json.dumps({"message": "Not found."}).encode(), "NotFoundException")
            else:
                answer = stub.answer(method, unquote(path.rsplit(_CONNECTIONS_PATH, 1)[1]), data)
            self.send_response(answer.status)
            if answer.error_type:
                self.send_header("x-amzn-ErrorType", answer.error_type)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            """Tests read the captured messages, not an access log."""

    return Handler


_stub: ConnectionsApiStub | None = None
_stub_lock = threading.Lock()


def connections_api_stub() -> ConnectionsApiStub:
    """The process's one stub, started on first use (a daemon thread: it ends with the test run)."""
    global _stub
    with _stub_lock:
        if _stub is None:
            _stub = ConnectionsApiStub()
        return _stub
