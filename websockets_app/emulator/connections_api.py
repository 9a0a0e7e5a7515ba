"""The ``@connections`` management API: ``POST``, ``GET`` and ``DELETE /@connections/{id}``, as AWS answers them.

boto3's ``apigatewaymanagementapi`` client works against it unchanged: errors carry the ``x-amzn-ErrorType`` header
botocore turns into ``GoneException``, ``PayloadTooLargeException``, ``ForbiddenException`` and
``LimitExceededException`` (the signature and throttling live in ``signatures`` and ``throttling``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from websockets_app.emulator.limits import Limits
from websockets_app.emulator.registry import ConnectionRegistry

__all__ = (
    "DISCONNECT_CODE",
    "ConnectionsApiAnswer",
    "answer_connections_request",
    "error_response",
    "get_connection_answer",
    "refusal",
)

# What API Gateway sends the client when the app deletes its connection.
DISCONNECT_CODE, DISCONNECT_REASON = 1000, "Connection closed by the server"


@dataclass(frozen=True)
class ConnectionsApiAnswer:
    status: int
    body: bytes = b""
    error_type: str | None = None


def refusal(method: str, *, is_open: bool, body: bytes | None, limits: Limits) -> ConnectionsApiAnswer | None:
    """AWS's answer to a request it will not carry out, or ``None`` when it will.

    ``body`` is ``None`` when it was longer than ``limits.message_bytes``: such a request is refused with 413 whatever
    its method, before its connection is looked at. Its body was not read, so its signature cannot be checked, and a
    refusal is the one answer that does nothing and tells nothing (not even whether the connection exists). The test
    client's stand-in (``websockets_app.testing.connections_api``) answers by these rules too, so both behave as AWS
    does.
    """
    if method not in {"POST", "GET", "DELETE"}:
        # API Gateway's answer to a method it has no route for (there is no MethodNotAllowed error type).
        return error_response(403, "ForbiddenException", "Missing Authentication Token")
    if body is None:
        return error_response(413, "PayloadTooLargeException", f"Message too long: over {limits.message_bytes} bytes.")
    if not is_open:
        return error_response(410, "GoneException", "The connection is unknown or closed.")
    return None


def get_connection_answer(
    *, connected_at: float, last_active_at: float, source_ip: str, user_agent: str | None
) -> ConnectionsApiAnswer:
    """``GET``'s answer in AWS's wire shape: botocore reads it as ``ConnectedAt``, ``LastActiveAt``, ``Identity``."""
    info = {
        "connectedAt": _iso(connected_at),
        "identity": {"sourceIp": source_ip, "userAgent": user_agent or ""},
        "lastActiveAt": _iso(last_active_at),
    }
    return ConnectionsApiAnswer(200, json.dumps(info).encode())


async def answer_connections_request(
    registry: ConnectionRegistry, *, method: str, connection_id: str, body: bytes | None, limits: Limits
) -> ConnectionsApiAnswer:
    """AWS's answer to one request; ``body`` is ``None`` when it was longer than ``limits.message_bytes``."""
    connection = registry.get(connection_id)
    refused = refusal(method, is_open=connection is not None, body=body, limits=limits)
    if refused is not None:
        return refused
    if connection is None or body is None:
        raise AssertionError("refusal() answers unknown connections and oversized bodies")
    if method == "GET":
        return get_connection_answer(
            connected_at=connection.connected_at,
            last_active_at=connection.last_active_at,
            source_ip=connection.source_ip,
            user_agent=connection.user_agent,
        )
    try:
        if method == "DELETE":
            registry.remove(connection_id)
            await connection.close(DISCONNECT_CODE, DISCONNECT_REASON)
            return ConnectionsApiAnswer(204)
        await connection.post(body)
    except OSError:  # the client went away while we were sending
        registry.remove(connection_id)
        return error_response(410, "GoneException", "The connection is unknown or closed.")
    return ConnectionsApiAnswer(200)


def error_response(status: int, error_type: str, message: str) -> ConnectionsApiAnswer:
    """An error as AWS sends it: the status, ``x-amzn-ErrorType`` (botocore's exception) and ``{"message"}``."""
    return ConnectionsApiAnswer(status, json.dumps({"message": message}).encode(), error_type)


def _iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
