"""Closing one connection and asking about it, through boto3's ``apigatewaymanagementapi`` client.

These are rare calls, one connection at a time: boto3 is imported on the first one only, so importing this module
costs the event path nothing, and its client (one per endpoint and settings) is kept for the container's life.
"""

from __future__ import annotations

from typing import Any

from websockets_app.backends.boto3 import management_client
from websockets_app.backends.outcomes import from_botocore
from websockets_app.exceptions import ManagementApiError
from websockets_app.models import WebSocketSession
from websockets_app.sending.delivery import GONE_REASON, NO_API_REASON, send_options
from websockets_app.sending.endpoints import endpoint_url, has_endpoint

__all__ = ("close_connection", "connection_info")


def close_connection(session: WebSocketSession) -> bool:
    """Disconnect ``session`` from the server side and mark its row closed.

    Returns False when the connection was already gone (the row is marked closed all the same).
    Raises :class:`ManagementApiError` when AWS refuses (the row is left as it was).
    """
    client = _session_client(session)
    try:
        client.delete_connection(ConnectionId=session.connection_id)
        closed_now = True
    except Exception as error:
        outcome = from_botocore(error)
        if outcome.status != "gone":
            raise ManagementApiError(session.connection_id, outcome.reason) from error
        closed_now = False
    WebSocketSession.objects.filter(pk=session.pk).mark_closed(
        reason="Closed by the server." if closed_now else GONE_REASON
    )
    session.connected = False
    return closed_now


def connection_info(session: WebSocketSession) -> dict[str, Any] | None:
    """The management API's view of the connection (``ConnectedAt``, ``LastActiveAt``, ``Identity``).

    Returns None, and marks the row closed, when the connection is gone.
    """
    client = _session_client(session)
    try:
        response = client.get_connection(ConnectionId=session.connection_id)
    except Exception as error:
        outcome = from_botocore(error)
        if outcome.status != "gone":
            raise ManagementApiError(session.connection_id, outcome.reason) from error
        WebSocketSession.objects.filter(pk=session.pk).mark_closed(reason=GONE_REASON)
        session.connected = False
        return None
    response.pop("ResponseMetadata", None)
    info: dict[str, Any] = response
    return info


def _session_client(session: WebSocketSession) -> Any:
    if not has_endpoint(session.api_id, session.stage):
        raise ManagementApiError(session.connection_id, NO_API_REASON)
    return _client_for(session.api_id, session.stage)


def _client_for(api_id: str, stage: str) -> Any:
    """The process's client for this API's endpoint, with the settings in force now (shared with the boto3 send
    backend)."""
    return management_client(endpoint_url(api_id, stage), send_options())
