"""The shapes of the WebSocket events API Gateway sends, written once for the emulator and the test kit.

Both build events that must be indistinguishable from AWS's: the emulator from real handshakes and frames
(:mod:`websockets_app.emulator.asgi_events`), the test kit from keyword arguments
(:mod:`websockets_app.testing.events`). The shapes follow "Input format of a Lambda function for proxy integration
for WebSocket APIs" and the captures of real events in ``tests/real_events``, which the suite compares them with key
by key: ``$connect`` alone carries headers, cookies and the query string, a MESSAGE only the frame's body,
``$disconnect`` a few near-empty headers with the close code and reason; ``identity.userAgent`` repeats the
handshake's ``User-Agent`` on every event and is absent when there was none.
"""

from __future__ import annotations

import base64
import time
from typing import Any

__all__ = ("assemble_connect", "assemble_disconnect", "assemble_message", "request_time", "websocket_context")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def request_time(epoch_seconds: float) -> str:
    """``requestTime`` as API Gateway writes it: ``20/Jan/2024:11:55:00 +0000`` (UTC, English month names)."""
    moment = time.gmtime(epoch_seconds)
    return f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{time.strftime('%Y:%H:%M:%S', moment)} +0000"


def websocket_context(
    *,
    event_type: str,
    route_key: str,
    connection_id: str,
    api_id: str,
    stage: str,
    domain_name: str,
    connected_at: int,
    source_ip: str,
    user_agent: str | None,
    request_id: str,
    request_epoch_ms: int,
) -> dict[str, Any]:
    """The ``requestContext`` every WebSocket event carries, in AWS's key order."""
    identity = {"sourceIp": source_ip} if user_agent is None else {"userAgent": user_agent, "sourceIp": source_ip}
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": request_time(request_epoch_ms / 1000),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at,
        "requestTimeEpoch": request_epoch_ms,
        "identity": identity,
        "requestId": request_id,
        "domainName": domain_name,
        "connectionId": connection_id,
        "apiId": api_id,
    }


def assemble_connect(
    context: dict[str, Any],
    *,
    headers: dict[str, str],
    multi_value_headers: dict[str, list[str]],
    query: dict[str, str],
    multi_value_query: dict[str, list[str]],
) -> dict[str, Any]:
    """A ``$connect`` event: the handshake's headers, and its query string when it had one."""
    event: dict[str, Any] = {
        "headers": headers,
        "multiValueHeaders": multi_value_headers,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = multi_value_query
    return event


def assemble_message(context: dict[str, Any], *, body: str | bytes, message_id: str) -> dict[str, Any]:
    """A MESSAGE event: no headers, only the frame's body (base64 for a binary frame)."""
    context["messageId"] = message_id
    if isinstance(body, bytes):
        return {"requestContext": context, "body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def assemble_disconnect(context: dict[str, Any], *, status_code: int, reason: str) -> dict[str, Any]:
    """A ``$disconnect`` event: the close code and reason, and the few near-empty headers AWS sends with it."""
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    headers = {"Host": context["domainName"], "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }
