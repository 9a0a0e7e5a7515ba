"""The middleware WebSocket events go through: the project's, less what can only add response headers.

API Gateway passes back the status and body of a WebSocket integration's answer, and on ``$connect`` the
subprotocol header, nothing else (``websockets_app.events.translation.to_websocket_response``). Middleware whose only
work is adding response headers or serving static files (:data:`RESPONSE_HEADER_MIDDLEWARE`) therefore does nothing
for an event but cost time: WebSocket events go through a second Django handler built without them. Every other
middleware, the project's own included, runs as for any request, so sessions and authentication on ``$connect``
are what they always were. A WSGI application that is not Django's own handler is used as it is.
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from websockets_app.events.translation import WSGIApp

__all__ = ("RESPONSE_HEADER_MIDDLEWARE", "event_application")

RESPONSE_HEADER_MIDDLEWARE = frozenset(
    {
        # Security headers (HSTS, nosniff, referrer and opener policies) and HTTPS redirects: events arrive as HTTPS.
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        # Static files: never under the WebSocket path prefix.
        "whitenoise.middleware.WhiteNoiseMiddleware",
    }
)


def event_application(wsgi_app: WSGIApp) -> WSGIApp:
    """The application WebSocket events are handed to, built once with the reduced middleware."""
    if type(wsgi_app) is not WSGIHandler:
        return wsgi_app
    return _EventHandler()


class _EventHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = [path for path in full if path not in RESPONSE_HEADER_MIDDLEWARE]
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full
