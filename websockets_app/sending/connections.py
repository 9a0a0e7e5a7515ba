"""Closing one connection and asking about it, through boto3's ``apigatewaymanagementapi`` client.

These are rare calls, one connection at a time: boto3 is imported on the first one only, so importing this module
costs the event path nothing, and its client (one per endpoint and settings) is kept for the container's life.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

from websockets_app.backends.outcomes import from_botocore
from websockets_app.conf import conf
from websockets_app.exceptions import ManagementApiError
from websockets_app.models import WebSocketSession
from websockets_app.sending.delivery import GONE_REASON, NO_API_REASON, endpoint_url, has_endpoint, signing_region

__all__ = ("close_connection", "connection_info")

_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()


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
    """The process's client for this API's endpoint, built once with the settings in force now."""
    url = endpoint_url(api_id, stage)
    key = (
        url,
        conf.SEND_CONCURRENCY,
        conf.SEND_CONNECT_TIMEOUT,
        conf.SEND_READ_TIMEOUT,
        conf.SEND_MAX_ATTEMPTS,
    )
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = _build_client(*key)
    return client


def _build_client(url: str, pool_size: int, connect_timeout: float, read_timeout: float, max_attempts: int) -> Any:
    import botocore
    from botocore.config import Config

    region = signing_region()
    config = Config(
        # A fixed User-Agent: botocore otherwise rebuilds it twice per request, a sixth of a message's CPU.
        user_agent=f"django-lambda-websockets botocore/{botocore.__version__}",
        # Only this module calls the client, with a str and bytes: checking them again per message is waste.
        parameter_validation=False,
        max_pool_connections=pool_size,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        tcp_keepalive=True,
    )
    return _boto3_session().client("apigatewaymanagementapi", endpoint_url=url, region_name=region, config=config)


@cache
def _boto3_session() -> Any:
    import boto3

    return boto3.session.Session()
