"""The Lambda event path: an API Gateway event in, through apig-wsgi and Django, its answer out.

``entry`` routes each event (WebSocket, HTTP, or Zappa's own), ``translation`` turns a WebSocket event into the HTTP
event apig-wsgi reads and back, ``shapes`` writes the events API Gateway sends, ``middleware`` builds the lighter
Django handler events go through, ``session_lookup`` loads a connection's row in one query, ``replies`` shapes what
the sender of a message receives, and ``invocation`` knows how long the current invocation has left.
"""

from websockets_app.events.entry import is_http_event, load_zappa_environment, make_lambda_handler, script_name_for
from websockets_app.events.invocation import remaining_seconds
from websockets_app.events.translation import (
    ENVIRON_EVENT_KEY,
    EVENT_TYPES,
    ORIGINAL_EVENT_KEY,
    LambdaFunction,
    WSGIApp,
    is_websocket_event,
    source_ip,
    to_http_event,
    to_websocket_response,
)
from websockets_app.exceptions import InvalidWebSocketEvent

__all__ = (
    "ENVIRON_EVENT_KEY",
    "EVENT_TYPES",
    "ORIGINAL_EVENT_KEY",
    "InvalidWebSocketEvent",
    "LambdaFunction",
    "WSGIApp",
    "is_http_event",
    "is_websocket_event",
    "load_zappa_environment",
    "make_lambda_handler",
    "remaining_seconds",
    "script_name_for",
    "source_ip",
    "to_http_event",
    "to_websocket_response",
)
