"""Running the local emulator inside a test, with the real lambda_handler behind it, recorded."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from django.db import connections

from websockets_app.backends import boto3 as boto3_backend
from websockets_app.backends import loading
from websockets_app.emulator.limits import AWS_LIMITS, Limits
from websockets_app.emulator.parity import AWS_PARITY, Parity
from websockets_app.emulator.server import BackgroundServer, bind, build_app, emulator_settings

Call = tuple[dict[str, Any], Any]


class RecordingHandler:
    """Wraps a lambda_handler and records every event with its answer, so a test can wait for one.

    It closes the worker thread's database connections after each event: the test's emulator is dropped while the
    test process goes on, and a persistent (PostgreSQL) connection left in a dead worker would keep the test
    database busy.
    """

    def __init__(self, handler: Callable[[dict[str, Any], Any], Any]) -> None:
        self.handler = handler
        self.calls: list[Call] = []
        self._changed = threading.Condition()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        try:
            response = self.handler(event, context)
        finally:
            connections.close_all()
        with self._changed:
            self.calls.append((event, response))
            self._changed.notify_all()
        return response

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10) -> Call:
        """The first recorded call whose event matches, waiting for it if needed."""

        def found() -> Call | None:
            return next((call for call in self.calls if predicate(call[0])), None)

        with self._changed:
            call = self._changed.wait_for(found, timeout)
        assert call is not None, "the emulator never sent the expected event"
        return call

    def events(self, event_type: str) -> list[dict[str, Any]]:
        with self._changed:
            return [event for event, _ in self.calls if event.get("requestContext", {}).get("eventType") == event_type]


def of_type(event_type: str, connection_id: str | None = None) -> Callable[[dict[str, Any]], bool]:
    def predicate(event: dict[str, Any]) -> bool:
        context = event.get("requestContext", {})
        return context.get("eventType") == event_type and connection_id in (None, context.get("connectionId"))

    return predicate


@contextmanager
def running_emulator(
    settings: Any,
    handler: Callable[[dict[str, Any], Any], Any],
    limits: Limits = AWS_LIMITS,
    parity: Parity = AWS_PARITY,
) -> Iterator[BackgroundServer]:
    """The emulator on a free loopback port, with the app's settings pointed at it for the test's duration.

    The app sends from fresh backends and fresh boto3 clients, as in a new runserver process: credentials cached
    earlier (moto's placeholders, say) would be refused by the emulator, which checks signatures against this
    process's credentials, and an earlier test's throttling would have spent the sender's retry budget.
    """
    boto3_backend._boto3_session.cache_clear()
    boto3_backend._clients.clear()
    previous_backends, loading._instances = loading._instances, {}
    sock = bind("127.0.0.1", 0)
    app = build_app(sock, lambda_handler=handler, limits=limits, parity=parity, workers=16)
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, **emulator_settings(app)}
    try:
        with BackgroundServer(app, sock) as server:
            yield server
    finally:
        # Invocations still running (a $disconnect announcing a departure, say) finish first: one posting through
        # the sender when its loop stops would wait forever, its database connection open.
        app.integration.executor.shutdown(wait=True)
        loading.close_backends()
        loading._instances = previous_backends


def signed_request(method: str, url: str, data: bytes = b"") -> urllib.request.Request:
    """A urllib request signed with SigV4 for execute-api by this process's credentials, as boto3 would sign it."""
    request = AWSRequest(method=method, url=url, data=data)
    SigV4Auth(boto3.Session().get_credentials(), "execute-api", "us-east-1").add_auth(request)
    return urllib.request.Request(url, data=data, method=method, headers=dict(request.headers))
