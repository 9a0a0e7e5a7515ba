"""API Gateway WebSocket events, written from AWS's documented shapes, for driving the real ``lambda_handler``.

The test client builds its events here; tests that need an event by hand (a malformed one, say) use these too.
The project's suite checks them key by key against captures of real events (``tests/real_events``): the same
keys, value types and header casing. ``identity.userAgent`` is there only when the handshake had a user agent.
"""

from __future__ import annotations

import itertools
from typing import Any

from websockets_app.events.shapes import (
    assemble_connect,
    assemble_disconnect,
    assemble_message,
    websocket_context,
)

__all__ = ("API_ID", "DOMAIN_NAME", "REGION", "STAGE", "connect_event", "disconnect_event", "message_event")

API_ID = "a1b2c3d4e5"
REGION = "eu-west-1"
STAGE = "dev"
DOMAIN_NAME = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
CONNECTED_AT = 1_700_000_000_000  # epoch milliseconds, as AWS gives connectedAt
_request_ids = itertools.count(1)


def _context(
    *,
    event_type: str,
    route_key: str,
    connection_id: str = "conn-1=",
    source_ip: str = "203.0.113.7",
    api_id: str = API_ID,
    stage: str = STAGE,
    domain_name: str = DOMAIN_NAME,
    connected_at: int = CONNECTED_AT,
    user_agent: str | None = None,
) -> dict[str, Any]:
    """The ``requestContext`` every WebSocket event carries; the event builders take its keyword arguments."""
    return websocket_context(
        event_type=event_type,
        route_key=route_key,
        connection_id=connection_id,
        api_id=api_id,
        stage=stage,
        domain_name=domain_name,
        connected_at=connected_at,
        source_ip=source_ip,
        user_agent=user_agent,
        request_id=f"req{next(_request_ids):08d}=",
        request_epoch_ms=connected_at + 5,
    )


def connect_event(
    *,
    cookies: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    origin: str | None = "https://www.example.com",
    **connection: Any,
) -> dict[str, Any]:
    """A $connect event: the only one with the browser's headers, cookies and query string.

    ``connection`` takes ``connection_id``, ``source_ip``, ``api_id``, ``stage``, ``domain_name``, ``connected_at``
    and ``user_agent`` (sent as the ``User-Agent`` header, and repeated in ``identity`` as AWS does).
    """
    context = _context(event_type="CONNECT", route_key="$connect", **connection)
    all_headers = {
        "Host": context["domainName"],
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "X-Amzn-Trace-Id": "Root=1-65540000-0123456789abcdef01234567",
        "X-Forwarded-For": context["identity"]["sourceIp"],
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if origin is not None:
        all_headers["Origin"] = origin
    if connection.get("user_agent") is not None:
        all_headers["User-Agent"] = connection["user_agent"]
    if cookies:
        all_headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    all_headers.update(headers or {})
    user_agent = next((value for name, value in all_headers.items() if name.lower() == "user-agent"), None)
    if user_agent is not None:
        context["identity"] = {**context["identity"], "userAgent": user_agent}
    return assemble_connect(
        context,
        headers=all_headers,
        multi_value_headers={name: [value] for name, value in all_headers.items()},
        query=dict(query or {}),
        multi_value_query={name: [value] for name, value in (query or {}).items()},
    )


def message_event(*, body: str | bytes = "", route_key: str = "$default", **connection: Any) -> dict[str, Any]:
    """A MESSAGE event: no headers, only the frame's body (base64 for binary frames)."""
    context = _context(event_type="MESSAGE", route_key=route_key, **connection)
    return assemble_message(context, body=body, message_id=f"msg{next(_request_ids)}=")


def disconnect_event(*, status_code: int = 1001, reason: str = "Going away", **connection: Any) -> dict[str, Any]:
    """A $disconnect event: a few near-empty headers and the close code and reason."""
    context = _context(event_type="DISCONNECT", route_key="$disconnect", **connection)
    return assemble_disconnect(context, status_code=status_code, reason=reason)
