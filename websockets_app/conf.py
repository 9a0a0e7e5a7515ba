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
    # Route key -> Django path, for additional routes mapped to a path instead of {PATH_PREFIX}<route key>.
    # Provisioning publishes it in the Lambda environment as WEBSOCKET_ROUTE_PATHS (JSON).
    "ROUTE_PATHS": {},
    # The wss:// URL browsers connect to; provisioning publishes it in the Lambda environment as WEBSOCKET_URL.
    "URL": None,
    # Lambda function the admin actions and commands provision for when not running on Lambda itself
    # (on Lambda, the function is the one running: AWS_LAMBDA_FUNCTION_NAME).
    "LAMBDA_FUNCTION_NAME": None,
}


class WebSocketsSettings:
    """Attribute access to ``settings.WEBSOCKETS`` with :data:`DEFAULTS` filled in."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown WEBSOCKETS setting {name!r}")
        return getattr(settings, "WEBSOCKETS", {}).get(name, DEFAULTS[name])


conf = WebSocketsSettings()
