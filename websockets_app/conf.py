"""The app's settings: one ``WEBSOCKETS`` dict in Django settings, read at call time with defaults.

Reading at call time (not import time) keeps ``override_settings`` working in tests and lets a value set late
(the local emulator's ``ENDPOINT_URL``) take effect.
"""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Channel for connections that do not ask for one with ?channel= and whose API row names none.
    "DEFAULT_CHANNEL_NAME": "default",
    # Management API endpoint overriding https://{api_id}.execute-api.{region}.amazonaws.com/{stage}
    # (custom domain, local emulator).
    "ENDPOINT_URL": None,
    # Path prefix the WebSocket routes are posted to: $connect -> {prefix}connect.
    "PATH_PREFIX": "/ws/",
    # Dotted path of the Lambda handler the local emulator (runserver) calls; None: websockets_app's own entry
    # point around Django's WSGI application.
    "LAMBDA_HANDLER": None,
    # The ws(s):// URL pages connect to ("{host}" becomes the page's host). None: the ApiGateway row's custom
    # domain or execute-api URL with its stage. runserver points it at the emulator.
    "WEBSOCKET_URL": None,
    # send_message: connections posted to at once per process (also each client's HTTP connection pool size).
    "SEND_CONCURRENCY": 64,
    # send_message: seconds to open a connection to / wait for an answer from the management API.
    "SEND_CONNECT_TIMEOUT": 2,
    "SEND_READ_TIMEOUT": 5,
    # send_message: attempts per message under botocore's "standard" retry mode (throttling, 5xx, timeouts).
    "SEND_MAX_ATTEMPTS": 3,
    # send_message: connections one Lambda invocation sends to; a larger broadcast goes out in batches through
    # Zappa's asynchronous tasks (README, "Sending messages", gives the figures behind it).
    "SEND_BATCH_SIZE": 5000,
}


class WebSocketsSettings:
    """Attribute access to ``settings.WEBSOCKETS`` with :data:`DEFAULTS` filled in."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown WEBSOCKETS setting {name!r}")
        return getattr(settings, "WEBSOCKETS", {}).get(name, DEFAULTS[name])


conf = WebSocketsSettings()
