"""Serving the emulator with uvicorn, and pointing the app at it.

The app sends through ``WEBSOCKETS["ENDPOINT_URL"]`` and pages connect to ``WEBSOCKETS["URL"]``; both are
set to the emulator here, so the code that talks to API Gateway on AWS talks to the emulator unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from typing import Any

import uvicorn
from django.apps import apps as django_apps
from django.conf import settings
from django.db import DatabaseError
from django.utils.module_loading import import_string

from websockets_app.conf import conf
from websockets_app.emulator.app import EmulatorApp
from websockets_app.emulator.asgi_events import ApiIdentity
from websockets_app.emulator.limits import Limits, limits_from_settings
from websockets_app.emulator.parity import Parity, parity_from_settings
from websockets_app.emulator.route_selection import DEFAULT_EXPRESSION, validate
from websockets_app.events.translation import LambdaFunction
from websockets_app.sending.endpoints import LOCAL_API_ID, PLACEHOLDER_KEY, announce_emulator

__all__ = (
    "LOCAL_API_ID",
    "BackgroundServer",
    "bind",
    "build_app",
    "emulator_settings",
    "load_lambda_handler",
    "parity_summary",
    "point_django_at",
    "serve",
    "uvicorn_config",
)

DEFAULT_STAGE = "local"


def bind(addr: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one (tests, benchmarks)."""
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: an answer written in two parts (head, then body) is not held back by Nagle's
    # algorithm until the client's delayed ACK, 40 ms later.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((addr, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def load_lambda_handler() -> LambdaFunction:
    """``WEBSOCKETS["LAMBDA_HANDLER"]``, else the same handler built around Django's WSGI application.

    That one serves the apps' static files with ``DEBUG`` on, as Django's own ``runserver`` does (the emulator
    replaces that server), so the admin and the browser client load in a site with no static-files server.
    """
    if conf.LAMBDA_HANDLER:
        handler: LambdaFunction = import_string(conf.LAMBDA_HANDLER)
        return handler
    from django.core.wsgi import get_wsgi_application

    from websockets_app.events.entry import make_lambda_handler

    wsgi_app = get_wsgi_application()
    if settings.DEBUG and django_apps.is_installed("django.contrib.staticfiles"):
        from django.contrib.staticfiles.handlers import StaticFilesHandler

        wsgi_app = StaticFilesHandler(wsgi_app)
    return make_lambda_handler(wsgi_app)


def build_app(
    sock: socket.socket,
    *,
    lambda_handler: LambdaFunction | None = None,
    limits: Limits | None = None,
    parity: Parity | None = None,
    workers: int = 32,
) -> EmulatorApp:
    """The emulator for the socket it listens on, playing the first ``ApiGateway`` row when there is one.

    ``limits`` and ``parity`` default to AWS's, relaxed by the ``WEBSOCKETS["EMULATOR_*"]`` settings.
    """
    host, port = sock.getsockname()[:2]
    domain_name = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    expression, routes, one_way, stage = _api_row_settings()
    validate(expression)  # fails early on an expression the emulator cannot evaluate
    return EmulatorApp(
        lambda_handler or load_lambda_handler(),
        api=ApiIdentity(api_id=LOCAL_API_ID, stage=stage, domain_name=domain_name),
        route_selection_expression=expression,
        routes=routes,
        one_way_routes=one_way,
        limits=limits or limits_from_settings(),
        parity=parity or parity_from_settings(),
        workers=workers,
    )


def emulator_settings(app: EmulatorApp) -> dict[str, Any]:
    """The ``WEBSOCKETS`` entries that send messages to the emulator and point pages at it.

    ``{host}`` in ``URL`` becomes the host the page was loaded from, so the session cookie of
    ``localhost:8000`` reaches a WebSocket opened from ``localhost:8000``.
    """
    return {
        "ENDPOINT_URL": f"http://{app.api.domain_name}/{app.api.stage}",
        "URL": f"ws://{{host}}/{app.api.stage}",
    }


def point_django_at(app: EmulatorApp) -> None:
    """Apply :func:`emulator_settings`, give boto3 placeholder credentials when it has none to sign with, and
    announce the emulator to the project's other processes (a shell, a cron script, a worker), which then send
    to it with no setting of their own."""
    settings.WEBSOCKETS = {**getattr(settings, "WEBSOCKETS", {}), **emulator_settings(app)}
    import boto3

    session = boto3.Session()
    placeholders = session.get_credentials() is None
    if placeholders:
        os.environ["AWS_ACCESS_KEY_ID"] = PLACEHOLDER_KEY
        os.environ["AWS_SECRET_ACCESS_KEY"] = PLACEHOLDER_KEY  # local placeholders, signed and checked
    if session.region_name is None:
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    announce_emulator(emulator_settings(app)["ENDPOINT_URL"], placeholder_credentials=placeholders)


def parity_summary(app: EmulatorApp) -> str:
    """What the emulator does as API Gateway does, in a few words, for runserver's banner."""
    parity, limits = app.parity, app.limits
    timeout = limits.integration_timeout_seconds
    rate = limits.connections_per_second
    return ", ".join(
        [
            "messages in order" if parity.ordered_messages else "messages unordered",
            "binary frames passed on" if parity.binary_frames else "binary frames closed (1003)",
            "no integration timeout" if timeout is None else f"{timeout:g} s integration timeout",
            "SigV4 required on @connections" if parity.require_signature else "unsigned @connections accepted",
            *([f"{parity.throttle_share:.0%} of @connections calls throttled"] if parity.throttle_share else []),
            "no connection rate limit" if rate is None else f"{rate:g} new connections/s",
        ]
    )


def uvicorn_config(app: EmulatorApp, *, log_level: str = "warning") -> uvicorn.Config:
    config = uvicorn.Config(
        app,
        ws="websockets-sansio",
        # websockets takes (message, fragment) limits: AWS closes with 1009 past either. uvicorn passes the value on
        # as it is, though its own annotation says int.
        ws_max_size=(app.limits.message_bytes, app.limits.frame_bytes),  # type: ignore[arg-type]  # see above
        ws_per_message_deflate=False,  # API Gateway does not negotiate compression
        ws_ping_interval=None,
        lifespan="off",
        access_log=False,
        log_level=log_level,
        timeout_graceful_shutdown=1,
    )
    logging.getLogger("uvicorn.error").addFilter(_quiet_handled_websocket_errors)  # after uvicorn set its logging
    return config


def _quiet_handled_websocket_errors(record: logging.LogRecord) -> bool:
    """Keep uvicorn's log to what needs a developer's eye, for two things the emulator answered as AWS does.

    A refused ``$connect`` is answered with the integration's status through ASGI's denial response, which
    uvicorn's websockets-sansio protocol does not count as a finished handshake: it then logs "ASGI callable
    returned without completing handshake." for every refusal. A text frame that is not UTF-8 closes the
    connection with 1007, and uvicorn logs it with its own traceback: one line is enough.
    """
    message = record.getMessage()
    if message == "ASGI callable returned without completing handshake.":
        return False
    if message == "Invalid UTF-8 sequence received from client.":
        record.exc_info = None
        record.exc_text = None
    return True


def serve(app: EmulatorApp, sock: socket.socket) -> None:
    """Serve until interrupted (the runserver command; Django's autoreloader restarts the process)."""
    server = uvicorn.Server(uvicorn_config(app))
    try:
        asyncio.run(server.serve(sockets=[sock]))
    finally:
        app.close()


class BackgroundServer:
    """The emulator in a thread of this process, for tests and benchmarks: ``with BackgroundServer(app, sock):``."""

    def __init__(self, app: EmulatorApp, sock: socket.socket) -> None:
        self.app = app
        self.sock = sock
        self.server = uvicorn.Server(uvicorn_config(app, log_level="error"))
        self.thread = threading.Thread(target=self._run, name="emulator", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.app.api.domain_name}"

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            self.thread.join(0.01)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.app.close()

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))


def _api_row_settings() -> tuple[str, list[str], frozenset[str], str]:
    """Route selection expression, extra route keys, one-way routes and stage of the first ``ApiGateway`` row.

    Without a row, every message route is two-way, as provisioning makes them by default.
    """
    from websockets_app.models import ApiGateway
    from websockets_app.provisioning.records import one_way_routes

    try:
        api = ApiGateway.objects.order_by("pk").first()
        routes = list(api.additional_routes.values_list("route_key", flat=True)) if api else []
        one_way = one_way_routes(api) if api else frozenset()
    except DatabaseError:  # not migrated yet: runserver says so itself
        api, routes, one_way = None, [], frozenset()
    if api is None:
        return DEFAULT_EXPRESSION, [], frozenset(), DEFAULT_STAGE
    return api.route_selection_expression, routes, one_way, api.stage_name or DEFAULT_STAGE
