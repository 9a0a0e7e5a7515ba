"""Pure functions between API Gateway WebSocket events and the HTTP events apig-wsgi understands.

API Gateway invokes the Lambda with events that have no ``path`` or ``httpMethod``, so apig-wsgi cannot read them
as they are. Each one becomes a POST to ``{PATH_PREFIX}<route key without $>``; the original event travels along
under :data:`ORIGINAL_EVENT_KEY` so the view can act on what AWS said, never on request headers.
"""

from __future__ import annotations

import ipaddress
from base64 import b64decode
from collections.abc import Callable, Mapping
from typing import Any, TypeGuard
from urllib.parse import quote

from websockets_app.exceptions import InvalidWebSocketEvent

__all__ = (
    "ENVIRON_EVENT_KEY",
    "EVENT_TYPES",
    "ORIGINAL_EVENT_KEY",
    "VIEW_ANSWER_HEADER",
    "LambdaFunction",
    "WSGIApp",
    "is_websocket_event",
    "source_ip",
    "to_http_event",
    "to_websocket_response",
)

# The two ends the event path joins: a Lambda handler (event, context) -> answer, and a WSGI application.
LambdaFunction = Callable[[dict[str, Any], Any], Any]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]

EVENT_TYPES = frozenset({"CONNECT", "MESSAGE", "DISCONNECT"})
ORIGINAL_EVENT_KEY = "websocketEvent"
# WSGI environ key for the original event; set by websockets_app.events.entry only, never from a request header.
ENVIRON_EVENT_KEY = "websockets_app.event"
# The header WebSocketView puts on its answer: an error answered without it is one of Django's pages (made before
# the view, or after it by a failing middleware), which events.entry replaces. It never reaches API Gateway.
VIEW_ANSWER_HEADER = "X-WebSockets-View-Answer"
# Response headers API Gateway passes back to the client's handshake on $connect.
CONNECT_RESPONSE_HEADERS = frozenset({"sec-websocket-protocol"})
# Fields every WebSocket event carries, with generous bounds on what AWS sends (ids of 16 characters or so).
_REQUIRED_CONTEXT = {"connectionId": 128, "routeKey": 128, "apiId": 64, "stage": 128, "domainName": 253}


def is_websocket_event(event: Any) -> TypeGuard[dict[str, Any]]:
    """True for events API Gateway sends for WebSocket routes ($connect, messages, $disconnect)."""
    if not isinstance(event, dict):
        return False
    context = event.get("requestContext")
    return isinstance(context, dict) and context.get("eventType") in EVENT_TYPES


def source_ip(event: Any) -> str | None:
    """The caller's address as API Gateway saw it (never the client-controlled X-Forwarded-For), if valid.

    WebSocket and REST events carry it in ``requestContext.identity``, HTTP API 2.0 events in
    ``requestContext.http``.
    """
    context = event.get("requestContext") if isinstance(event, dict) else None
    if not isinstance(context, dict):
        return None
    for holder in (context.get("identity"), context.get("http")):
        if isinstance(holder, dict) and isinstance(holder.get("sourceIp"), str):
            try:
                return str(ipaddress.ip_address(holder["sourceIp"]))
            except ValueError:
                return None
    return None


def to_http_event(
    event: dict[str, Any], *, path_prefix: str = "/ws/", route_paths: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Translate a WebSocket event into a REST-v1-shaped event for apig-wsgi.

    ``route_paths`` sends the routes it names to their own Django paths instead of ``{path_prefix}<route>``.
    Raises :class:`InvalidWebSocketEvent` when required ``requestContext`` fields are missing or malformed.
    """
    context = event["requestContext"]
    for field, max_length in _REQUIRED_CONTEXT.items():
        value = context.get(field)
        if not isinstance(value, str) or not value:
            raise InvalidWebSocketEvent(f"requestContext.{field} is missing")
        if len(value) > max_length or not value.isprintable():
            raise InvalidWebSocketEvent(f"requestContext.{field} is malformed")
    body = event["body"] if isinstance(event.get("body"), str) else ""
    is_base64 = event.get("isBase64Encoded") is True
    if is_base64:
        try:
            b64decode(body, validate=True)
        except ValueError:  # binascii.Error, or characters outside base64's alphabet
            raise InvalidWebSocketEvent("body is not valid base64") from None
    route = context["routeKey"].removeprefix("$")

    headers = _string_map(event.get("headers"))
    multi_value_headers = _string_list_map(event.get("multiValueHeaders"))
    if not any(key.lower() == "host" for key in headers):
        headers = {**headers, "Host": context["domainName"]}
        if multi_value_headers:
            multi_value_headers = {**multi_value_headers, "Host": [context["domainName"]]}

    http_event: dict[str, Any] = {
        "httpMethod": "POST",
        "path": (route_paths or {}).get(context["routeKey"]) or path_prefix + quote(route, safe=""),
        "headers": headers,
        "queryStringParameters": _string_map(event.get("queryStringParameters")) or None,
        "body": body,
        "isBase64Encoded": is_base64,
        "requestContext": context,
        ORIGINAL_EVENT_KEY: event,
    }
    if multi_value_headers:
        http_event["multiValueHeaders"] = multi_value_headers
    multi_value_query = _string_list_map(event.get("multiValueQueryStringParameters"))
    if multi_value_query:
        http_event["multiValueQueryStringParameters"] = multi_value_query
    return http_event


def to_websocket_response(http_response: dict[str, Any], *, event_type: str) -> dict[str, Any]:
    """Shape apig-wsgi's answer as API Gateway expects it from a WebSocket integration."""
    response: dict[str, Any] = {"statusCode": http_response["statusCode"], "body": http_response.get("body", "")}
    if event_type == "CONNECT":
        headers = {
            key: values[-1] if isinstance(values, list) else values
            for key, values in (http_response.get("multiValueHeaders") or http_response.get("headers") or {}).items()
            if key.lower() in CONNECT_RESPONSE_HEADERS
        }
        if headers:
            response["headers"] = headers
    return response


def _string_map(value: Any) -> dict[str, str]:
    """Keep the well-formed entries of a headers or query dict: AWS never sends others."""
    if not isinstance(value, dict):
        return {}
    return {key: item for key, item in value.items() if isinstance(key, str) and isinstance(item, str)}


def _string_list_map(value: Any) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        return {}
    return {
        key: items
        for key, items in value.items()
        if isinstance(key, str) and isinstance(items, list) and items and all(isinstance(i, str) for i in items)
    }
