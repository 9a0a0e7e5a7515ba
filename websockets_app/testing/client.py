"""``WebSocketTestClient``: what Django's test ``Client`` is for views, for WebSocket views.

It plays API Gateway: builds AWS-shaped ``$connect``, message and ``$disconnect`` events, calls the real
``lambda_handler`` with them, and stands in for the ``@connections`` management API, so every message the app
sends to a connection is captured on that connection's :attr:`WebSocketConnection.received`. Message routes are
two-way, as provisioning makes them: ``send()`` returns the reply the sender receives.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from django.conf import settings
from django.core import signals
from django.db import close_old_connections
from django.http.request import validate_host
from django.test import Client, TestCase, override_settings
from django.utils.module_loading import import_string

from websockets_app.emulator.asgi_events import UNSUPPORTED_DATA, UNSUPPORTED_DATA_REASON
from websockets_app.emulator.route_responses import route_response
from websockets_app.events.translation import LambdaFunction
from websockets_app.testing.connections_api import StubConnection, connections_api_stub
from websockets_app.testing.events import API_ID, DOMAIN_NAME, STAGE, connect_event, disconnect_event, message_event

__all__ = ("WebSocketConnection", "WebSocketTestClient", "keep_test_database_connection")

_connection_numbers = itertools.count(1)
_REQUEST_SIGNALS = (signals.request_started, signals.request_finished)
# boto3 signs every request, so it needs credentials even for the local stub; real ones are never replaced.
_FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@contextmanager
def keep_test_database_connection() -> Iterator[None]:
    """Keep the connection holding the test's transaction open across a request, as Django's test Client does."""
    # Reconnect only what was connected here, so nesting (the client inside a test's own fixture) is harmless.
    disconnected = [signal for signal in _REQUEST_SIGNALS if signal.disconnect(close_old_connections)]
    try:
        yield
    finally:
        for signal in disconnected:
            signal.connect(close_old_connections)


class WebSocketConnection:
    """One connection opened by the client: send on it, read what the app sent to it, close it."""

    def __init__(
        self,
        client: WebSocketTestClient,
        connection_id: str,
        connected_at: int,
        response: dict[str, Any],
        user_agent: str | None = None,
    ):
        self.client = client
        self.connection_id = connection_id
        self.connected_at = connected_at
        self.response = response
        self.accepted = 200 <= response["statusCode"] < 300
        self.closed = not self.accepted
        self.disconnect_response: dict[str, Any] | None = None
        # The Lambda's whole answer to the last message sent (statusCode and body), as API Gateway got it.
        self.last_response: dict[str, Any] | None = None
        self._stub_connection = StubConnection(
            connection_id=connection_id,
            source_ip=client.source_ip,
            user_agent=user_agent,
            connected_at=connected_at / 1000,
        )

    @property
    def received(self) -> list[str | bytes]:
        """Messages the app posted to this connection, in order: text when it is UTF-8, else bytes."""
        return [_text_or_bytes(data) for data in self._stub_connection.received]

    def received_json(self) -> list[Any]:
        return [json.loads(data) for data in self._stub_connection.received]

    def send(self, body: str | bytes, *, route_key: str = "$default") -> str | None:
        """Send a frame (bytes: a binary frame); returns the reply its sender receives, as text.

        ``None`` when no reply reaches the page: the client's routes are one-way, or the handler returned nothing
        (AWS then sends an empty message, which the browser client ignores). :attr:`last_response` keeps the
        Lambda's whole answer. A binary frame closes the connection with 1003, as AWS does (the app gets
        ``$disconnect``), unless the client was made with ``binary_frames=True``.
        """
        self._require_open()
        if isinstance(body, bytes) and not self.client.binary_frames:
            self.disconnect(status_code=UNSUPPORTED_DATA, reason=UNSUPPORTED_DATA_REASON)
            return None
        self.last_response = self.client.invoke(
            message_event(body=body, route_key=route_key, connected_at=self.connected_at, **self._event_fields())
        )
        return route_response(self.last_response, two_way=self.client.two_way, route_key=route_key) or None

    def send_json(self, data: Any, *, route_key: str = "$default") -> Any:
        """Send ``data`` as JSON; returns the reply parsed as JSON (an error frame too), or ``None`` without one."""
        reply = self.send(json.dumps(data), route_key=route_key)
        return None if reply is None else json.loads(reply)

    def disconnect(self, *, status_code: int = 1000, reason: str = "") -> dict[str, Any]:
        """Close from the browser's side: API Gateway then sends ``$disconnect``."""
        self._require_open()
        self.closed = True
        connections_api_stub().close(self.connection_id)
        self.disconnect_response = self.client.invoke(
            disconnect_event(
                status_code=status_code, reason=reason, connected_at=self.connected_at, **self._event_fields()
            )
        )
        return self.disconnect_response

    def _event_fields(self) -> dict[str, Any]:
        client = self.client
        return {
            "connection_id": self.connection_id,
            "source_ip": client.source_ip,
            "user_agent": self._stub_connection.user_agent,
            "api_id": client.api_id,
            "stage": client.stage,
            "domain_name": client.domain_name,
        }

    def _require_open(self) -> None:
        if self.closed:
            raise RuntimeError(f"Connection {self.connection_id} is closed (or was refused).")


class WebSocketTestClient:
    """Drive WebSocket views through the real ``lambda_handler`` and capture what they send.

    ``lambda_handler`` is the function Lambda calls, or its dotted path; by default one is built around the
    project's Django WSGI application, as ``project.lambda_handler`` does. Use the client as a context manager to
    also capture messages sent outside its events (from test code, a task, a signal receiver). ``two_way=False``
    plays an API whose message routes are one-way: nothing the handler returns reaches the sender. ``user_agent`` is
    the handshake's ``User-Agent`` (none by default, like a script's); API Gateway repeats it on every event.
    ``binary_frames=True`` passes binary frames on base64-encoded, as the emulator's ``EMULATOR_BINARY_FRAMES``
    does; AWS closes the connection instead.
    Its events' API host is accepted while they run, whatever ``ALLOWED_HOSTS`` says, as Django's test client's
    ``testserver`` is.
    """

    def __init__(
        self,
        lambda_handler: LambdaFunction | str | None = None,
        *,
        api_id: str = API_ID,
        stage: str = STAGE,
        domain_name: str = DOMAIN_NAME,
        source_ip: str = "203.0.113.7",
        two_way: bool = True,
        user_agent: str | None = None,
        binary_frames: bool = False,
    ) -> None:
        self._lambda_handler = lambda_handler
        self.two_way = two_way
        self.user_agent = user_agent
        self.binary_frames = binary_frames
        self.api_id = api_id
        self.stage = stage
        self.domain_name = domain_name
        self.source_ip = source_ip
        self.cookies: dict[str, str] = {}
        self.connections: list[WebSocketConnection] = []
        self._exit_stack = ExitStack()

    def __enter__(self) -> WebSocketTestClient:
        self._exit_stack.enter_context(self._sending_to_stub())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit_stack.close()

    def force_login(self, user: Any, backend: str | None = None) -> None:
        """Log ``user`` in: the session cookie goes with every later ``$connect``, as a browser's would."""
        django_client = Client()
        django_client.force_login(user, backend)
        self.cookies[settings.SESSION_COOKIE_NAME] = django_client.cookies[settings.SESSION_COOKIE_NAME].value

    def logout(self) -> None:
        self.cookies.pop(settings.SESSION_COOKIE_NAME, None)

    def connect(
        self,
        *,
        channel: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        origin: str | None = None,
        connection_id: str | None = None,
    ) -> WebSocketConnection:
        """Send ``$connect``; the connection's :attr:`~WebSocketConnection.accepted` says whether the app took it."""
        query = {**(query or {}), **({"channel": channel} if channel is not None else {})}
        connection_id = connection_id or f"test-{next(_connection_numbers):06d}="
        connected_at = int(time.time() * 1000)
        event = connect_event(
            connection_id=connection_id,
            cookies=self.cookies,
            query=query,
            headers=headers,
            origin=origin,
            source_ip=self.source_ip,
            api_id=self.api_id,
            stage=self.stage,
            domain_name=self.domain_name,
            connected_at=connected_at,
            user_agent=self.user_agent,
        )
        connection = WebSocketConnection(
            self, connection_id, connected_at, self.invoke(event), user_agent=event["headers"].get("User-Agent")
        )
        self.connections.append(connection)
        if connection.accepted:
            # Like AWS: the connection can be sent to only once $connect has answered.
            connections_api_stub().open(connection._stub_connection)
        return connection

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        """Call the ``lambda_handler`` with any event, committing its ``on_commit`` work as a real request would."""
        with (
            self._sending_to_stub(),
            self._accepting_own_host(),
            keep_test_database_connection(),
            TestCase.captureOnCommitCallbacks(execute=True),
        ):
            response: dict[str, Any] = self.lambda_handler(event, None)
        self._disconnect_deleted()
        return response

    @property
    def lambda_handler(self) -> LambdaFunction:
        handler = self._lambda_handler
        if handler is None:
            from django.core.wsgi import get_wsgi_application

            from websockets_app.events.entry import make_lambda_handler

            handler = make_lambda_handler(get_wsgi_application())
        elif isinstance(handler, str):
            handler = import_string(handler)
        self._lambda_handler = handler
        return handler

    @contextmanager
    def _sending_to_stub(self) -> Iterator[None]:
        websockets = {**getattr(settings, "WEBSOCKETS", {}), "ENDPOINT_URL": connections_api_stub().url}
        missing_credentials = {key: value for key, value in _FAKE_CREDENTIALS.items() if not os.environ.get(key)}
        with override_settings(WEBSOCKETS=websockets), mock.patch.dict(os.environ, missing_credentials):
            yield

    @contextmanager
    def _accepting_own_host(self) -> Iterator[None]:
        """Accept the events' API host while they run, as Django's test environment accepts ``testserver``.

        A site's ``ALLOWED_HOSTS`` is for its deployment (``check --deploy`` checks it against API Gateway's hosts):
        a test of its views should not need the test client's made-up API in it.
        """
        if validate_host(self.domain_name, settings.ALLOWED_HOSTS):
            yield
            return
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, self.domain_name]):
            yield

    def _disconnect_deleted(self) -> None:
        """Send the ``$disconnect`` AWS sends after the app closed a connection with ``DELETE /@connections``."""
        open_ids = {connection.connection_id for connection in self.connections if not connection.closed}
        deleted = set(connections_api_stub().take_deleted(open_ids))
        for connection in self.connections:
            if connection.connection_id in deleted:
                connection.disconnect(status_code=1000, reason="")


def _text_or_bytes(data: bytes) -> str | bytes:
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data
