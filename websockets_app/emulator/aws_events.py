"""ASGI requests -> the events API Gateway would send for them (pure functions).

The shapes follow API Gateway's documentation: a WebSocket API sends the browser's headers, cookies and query
string with ``$connect`` only, a MESSAGE carries just the frame's body, ``$disconnect`` a few near-empty headers
and the close code and reason. Plain HTTP becomes a REST API (v1) proxy event, what Zappa's API sends.
"""

from __future__ import annotations

import base64
import itertools
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl

__all__ = ("ApiIdentity", "connect_event", "disconnect_event", "http_event", "message_event")

_request_ids = itertools.count(1)


@dataclass(frozen=True)
class ApiIdentity:
    """Who the events say they come from; the management endpoint is built from the same values."""

    api_id: str
    stage: str
    domain_name: str


def connect_event(api: ApiIdentity, *, connection_id: str, connected_at: int, scope: dict[str, Any]) -> dict[str, Any]:
    headers, multi_value_headers = _headers(scope)
    headers.setdefault("Host", api.domain_name)
    multi_value_headers.setdefault("Host", [api.domain_name])
    source_ip = _source_ip(scope)
    headers["X-Forwarded-For"] = source_ip
    multi_value_headers["X-Forwarded-For"] = [source_ip]
    event: dict[str, Any] = {
        "headers": headers,
        "multiValueHeaders": multi_value_headers,
        "requestContext": _websocket_context(
            api, "CONNECT", "$connect", connection_id, connected_at, source_ip, headers.get("User-Agent")
        ),
        "isBase64Encoded": False,
    }
    query, multi_value_query = _query(scope)
    if query:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = multi_value_query
    return event


def message_event(
    api: ApiIdentity,
    *,
    connection_id: str,
    connected_at: int,
    source_ip: str,
    route_key: str,
    body: str | bytes,
) -> dict[str, Any]:
    context = _websocket_context(api, "MESSAGE", route_key, connection_id, connected_at, source_ip, None)
    context["messageId"] = f"local-message-{next(_request_ids)}="
    if isinstance(body, bytes):
        return {"requestContext": context, "body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def disconnect_event(
    api: ApiIdentity, *, connection_id: str, connected_at: int, source_ip: str, status_code: int, reason: str
) -> dict[str, Any]:
    context = _websocket_context(api, "DISCONNECT", "$disconnect", connection_id, connected_at, source_ip, None)
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    headers = {"Host": api.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }


def http_event(api: ApiIdentity, *, scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    """A REST API proxy event with no stage in the path, as behind a custom domain mapped at its root."""
    headers, multi_value_headers = _headers(scope)
    query, multi_value_query = _query(scope)
    path = scope["path"]
    source_ip = _source_ip(scope)
    try:
        text_body, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text_body, is_base64 = base64.b64encode(body).decode("ascii"), True
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": scope["method"],
        "headers": headers,
        "multiValueHeaders": multi_value_headers,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_value_query or None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": scope["method"],
            "path": path,
            "stage": api.stage,
            "domainName": headers.get("Host", api.domain_name),
            "apiId": api.api_id,
            "requestId": f"local-request-{next(_request_ids)}",
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": f"HTTP/{scope.get('http_version', '1.1')}",
            "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent")},
        },
        "body": text_body,
        "isBase64Encoded": is_base64,
    }


def _websocket_context(
    api: ApiIdentity,
    event_type: str,
    route_key: str,
    connection_id: str,
    connected_at: int,
    source_ip: str,
    user_agent: str | None,
) -> dict[str, Any]:
    request_id = f"local-request-{next(_request_ids)}="
    now = time.time()
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": formatdate(now, usegmt=True),
        "messageDirection": "IN",
        "stage": api.stage,
        "connectedAt": connected_at,
        "requestTimeEpoch": int(now * 1000),
        "identity": {"userAgent": user_agent, "sourceIp": source_ip},
        "requestId": request_id,
        "domainName": api.domain_name,
        "connectionId": connection_id,
        "apiId": api.api_id,
    }


def _headers(scope: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """ASGI's lower-cased header pairs, in the capitalisation browsers send and AWS passes on."""
    multi: dict[str, list[str]] = {}
    for raw_name, raw_value in scope["headers"]:
        name = "-".join(part.capitalize() for part in raw_name.decode("latin-1").split("-"))
        multi.setdefault(name, []).append(raw_value.decode("latin-1"))
    if "Cookie" in multi:
        multi["Cookie"] = ["; ".join(multi["Cookie"])]
    return {name: values[-1] for name, values in multi.items()}, multi


def _query(scope: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        multi.setdefault(name, []).append(value)
    return {name: values[-1] for name, values in multi.items()}, multi


def _source_ip(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return client[0] if client else "127.0.0.1"
