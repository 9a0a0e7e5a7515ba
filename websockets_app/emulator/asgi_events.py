"""ASGI requests -> the events API Gateway would send for them (pure functions).

A handshake becomes ``$connect``, a frame a MESSAGE, a close ``$disconnect``, in the shapes of
:mod:`websockets_app.events.shapes`: the browser's headers in the browser's casing, without the hop-by-hop
``Upgrade``/``Connection``, and with what API Gateway adds in front (``Host``, ``X-Forwarded-*``, a trace id). Plain
HTTP becomes a REST API (v1) proxy event, what Zappa's API sends (AWS's REST API proxy input format).
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from websockets_app.events.shapes import (
    assemble_connect,
    assemble_disconnect,
    assemble_message,
    request_time,
    websocket_context,
)

__all__ = (
    "ACCOUNT_ID",
    "NO_STATUS_REASON",
    "UNSUPPORTED_DATA",
    "UNSUPPORTED_DATA_REASON",
    "ApiIdentity",
    "aws_id",
    "close_event",
    "frame_event",
    "handshake_event",
    "request_event",
    "user_agent_of",
)

# The account the emulated API lives in (the Lambda context's ARN uses it too).
ACCOUNT_ID = "000000000000"
# What API Gateway gives as disconnectReason when the client's close frame carried no status (code 1005).
NO_STATUS_CODE, NO_STATUS_REASON = 1005, "Client-side close frame status not set"
# API Gateway's answer to a binary frame: "rejects it and disconnects the client with code 1003"
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-binary-media-types.html;
# the reason text is the emulator's, AWS documents none).
UNSUPPORTED_DATA, UNSUPPORTED_DATA_REASON = 1003, "Binary frames are not supported"
# Connection-level headers a proxy does not pass on (RFC 9110, 7.6.1); API Gateway's $connect has none of them.
_HOP_BY_HOP = frozenset(
    {"connection", "upgrade", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding"}
)


@dataclass(frozen=True)
class ApiIdentity:
    """Who the events say they come from; the management endpoint is built from the same values."""

    api_id: str
    stage: str
    domain_name: str


def aws_id() -> str:
    """An id shaped like API Gateway's connection, request and message ids (16 characters ending in '=')."""
    return base64.b64encode(secrets.token_bytes(11), altchars=b"-_").decode("ascii")


def user_agent_of(event: dict[str, Any]) -> str | None:
    """The handshake's ``User-Agent`` (any casing) of a ``$connect`` event, which later events repeat."""
    return _header(event["headers"], "user-agent")


def handshake_event(
    api: ApiIdentity, *, connection_id: str, connected_at: int, scope: dict[str, Any]
) -> dict[str, Any]:
    """The ``$connect`` event of a WebSocket handshake: the browser's headers (without the hop-by-hop ones),
    cookies and query string, with what API Gateway adds in front."""
    headers, multi_value_headers = _headers(scope)
    headers = {name: value for name, value in headers.items() if name.lower() not in _HOP_BY_HOP}
    multi_value_headers = {name: values for name, values in multi_value_headers.items() if name in headers}
    source_ip = _source_ip(scope)
    _add_proxy_headers(headers, multi_value_headers, api=api, scope=scope, source_ip=source_ip)
    query, multi_value_query = _query(scope)
    context = _context(
        api, "CONNECT", "$connect", connection_id, connected_at, source_ip, _header(headers, "user-agent")
    )
    return assemble_connect(
        context,
        headers=headers,
        multi_value_headers=multi_value_headers,
        query=query,
        multi_value_query=multi_value_query,
    )


def frame_event(
    api: ApiIdentity,
    *,
    connection_id: str,
    connected_at: int,
    source_ip: str,
    user_agent: str | None,
    route_key: str,
    body: str | bytes,
) -> dict[str, Any]:
    """The MESSAGE event of one frame from the client."""
    context = _context(api, "MESSAGE", route_key, connection_id, connected_at, source_ip, user_agent)
    return assemble_message(context, body=body, message_id=aws_id())


def close_event(
    api: ApiIdentity,
    *,
    connection_id: str,
    connected_at: int,
    source_ip: str,
    user_agent: str | None,
    status_code: int,
    reason: str,
) -> dict[str, Any]:
    """The ``$disconnect`` event of a connection's close, whoever closed it."""
    context = _context(api, "DISCONNECT", "$disconnect", connection_id, connected_at, source_ip, user_agent)
    reason = NO_STATUS_REASON if status_code == NO_STATUS_CODE and not reason else reason
    return assemble_disconnect(context, status_code=status_code, reason=reason)


def request_event(api: ApiIdentity, *, scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    """A REST API proxy event with no stage in the path, as behind a custom domain mapped at its root.

    Zappa's REST API has two resources: ``/`` (no path parameters) and ``/{proxy+}`` for every other path.
    """
    headers, multi_value_headers = _headers(scope)
    query, multi_value_query = _query(scope)
    path = scope["path"]
    source_ip = _source_ip(scope)
    _add_proxy_headers(headers, multi_value_headers, api=api, scope=scope, source_ip=source_ip)
    resource = "/" if path == "/" else "/{proxy+}"
    try:
        text_body, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text_body, is_base64 = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    domain_name = headers.get("Host", api.domain_name)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": scope["method"],
        "headers": headers,
        "multiValueHeaders": multi_value_headers,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_value_query or None,
        "pathParameters": None if path == "/" else {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourceId": secrets.token_hex(3),
            "resourcePath": resource,
            "httpMethod": scope["method"],
            "extendedRequestId": aws_id(),
            "requestTime": request_time(now),
            "path": path,
            "accountId": ACCOUNT_ID,
            "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
            "stage": api.stage,
            "domainPrefix": domain_name.split(".", 1)[0],
            "requestTimeEpoch": int(now * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": _rest_identity(source_ip, headers.get("User-Agent")),
            "domainName": domain_name,
            "apiId": api.api_id,
        },
        "body": text_body,
        "isBase64Encoded": is_base64,
    }


def _context(
    api: ApiIdentity,
    event_type: str,
    route_key: str,
    connection_id: str,
    connected_at: int,
    source_ip: str,
    user_agent: str | None,
) -> dict[str, Any]:
    request_id = aws_id()
    return websocket_context(
        event_type=event_type,
        route_key=route_key,
        connection_id=connection_id,
        api_id=api.api_id,
        stage=api.stage,
        domain_name=api.domain_name,
        connected_at=connected_at,
        source_ip=source_ip,
        user_agent=user_agent,
        request_id=request_id,
        request_epoch_ms=int(time.time() * 1000),
    )


def _headers(scope: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The request's headers as API Gateway passes them on: the last value, and every value."""
    multi: dict[str, list[str]] = {}
    for raw_name, raw_value in scope["headers"]:
        multi.setdefault(_browser_case(raw_name.decode("latin-1")), []).append(raw_value.decode("latin-1"))
    if "Cookie" in multi:
        multi["Cookie"] = ["; ".join(multi["Cookie"])]
    return {name: values[-1] for name, values in multi.items()}, multi


def _browser_case(name: str) -> str:
    """A header name in the casing browsers send it, which API Gateway keeps (``Sec-WebSocket-Key``).

    The server hands the emulator lower-cased names, so the client's own casing is gone: browsers write each part
    capitalised, ``WebSocket`` as one word, and client hints (``sec-ch-ua``) in lower case.
    """
    lowered = name.lower()
    if lowered.startswith("sec-ch-"):
        return lowered
    return "-".join("WebSocket" if part == "websocket" else part.capitalize() for part in lowered.split("-"))


def _header(headers: dict[str, str], lower_name: str) -> str | None:
    return next((value for name, value in headers.items() if name.lower() == lower_name), None)


def _add_proxy_headers(
    headers: dict[str, str], multi: dict[str, list[str]], *, api: ApiIdentity, scope: dict[str, Any], source_ip: str
) -> None:
    """What API Gateway adds in front of the integration: Host, the X-Forwarded-* headers and a trace id.

    The port and scheme are the ones the client really used (the emulator speaks plain HTTP), so Django's
    ``SECURE_PROXY_SSL_HEADER`` never takes a local request for HTTPS.
    """
    forwarded_for = _header(headers, "x-forwarded-for")
    server = scope.get("server") or (None, None)
    added = {
        "Host": _header(headers, "host") or api.domain_name,
        "X-Amzn-Trace-Id": f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}",
        "X-Forwarded-For": source_ip if not forwarded_for else f"{forwarded_for}, {source_ip}",
        "X-Forwarded-Port": str(server[1] or (443 if scope.get("scheme") in {"https", "wss"} else 80)),
        "X-Forwarded-Proto": "https" if scope.get("scheme") in {"https", "wss"} else "http",
    }
    for name, value in added.items():
        for existing in [key for key in headers if key.lower() == name.lower()]:
            del headers[existing]
            multi.pop(existing, None)
        headers[name] = value
        multi[name] = [value]


def _rest_identity(source_ip: str, user_agent: str | None) -> dict[str, Any]:
    """A REST API's ``requestContext.identity`` for an unauthenticated caller: every field, most of them null."""
    unknown = (
        "cognitoIdentityPoolId",
        "accountId",
        "cognitoIdentityId",
        "caller",
        "principalOrgId",
        "accessKey",
        "cognitoAuthenticationType",
        "cognitoAuthenticationProvider",
        "userArn",
        "user",
    )
    return {**dict.fromkeys(unknown), "sourceIp": source_ip, "userAgent": user_agent}


def _query(scope: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def _source_ip(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return client[0] if client else "127.0.0.1"
