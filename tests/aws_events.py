"""AWS-shaped events, written from API Gateway's documented shapes, for driving the real lambda_handler."""

from __future__ import annotations

import base64
import itertools
from typing import Any

API_ID = "a1b2c3d4e5"
REGION = "eu-west-1"
STAGE = "dev"
DOMAIN_NAME = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
_request_ids = itertools.count(1)
CONNECTED_AT = 1_700_000_000_000


def _websocket_context(
    *, event_type: str, route_key: str, connection_id: str, source_ip: str, api_id: str, stage: str, domain_name: str
) -> dict[str, Any]:
    request_id = f"req{next(_request_ids):08d}="
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": "14/Nov/2023:22:13:20 +0000",
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": CONNECTED_AT,
        "requestTimeEpoch": CONNECTED_AT + 5,
        "identity": {"userAgent": None, "sourceIp": source_ip},
        "requestId": request_id,
        "domainName": domain_name,
        "connectionId": connection_id,
        "apiId": api_id,
    }


def connect_event(
    *,
    connection_id: str = "conn-1=",
    cookies: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    origin: str | None = "https://www.example.com",
    source_ip: str = "203.0.113.7",
    api_id: str = API_ID,
    stage: str = STAGE,
    domain_name: str = DOMAIN_NAME,
) -> dict[str, Any]:
    """A $connect event: the only one with the browser's headers, cookies and query string."""
    all_headers = {
        "Host": domain_name,
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "X-Amzn-Trace-Id": "Root=1-65540000-0123456789abcdef01234567",
        "X-Forwarded-For": source_ip,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if origin is not None:
        all_headers["Origin"] = origin
    if cookies:
        all_headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    all_headers.update(headers or {})
    event: dict[str, Any] = {
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "requestContext": _websocket_context(
            event_type="CONNECT",
            route_key="$connect",
            connection_id=connection_id,
            source_ip=source_ip,
            api_id=api_id,
            stage=stage,
            domain_name=domain_name,
        ),
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
        event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()}
    return event


def message_event(
    *,
    body: str | bytes = "",
    route_key: str = "$default",
    connection_id: str = "conn-1=",
    source_ip: str = "203.0.113.7",
    api_id: str = API_ID,
    stage: str = STAGE,
    domain_name: str = DOMAIN_NAME,
) -> dict[str, Any]:
    """A MESSAGE event: no headers, only the frame's body (base64 for binary frames)."""
    context = _websocket_context(
        event_type="MESSAGE",
        route_key=route_key,
        connection_id=connection_id,
        source_ip=source_ip,
        api_id=api_id,
        stage=stage,
        domain_name=domain_name,
    )
    context["messageId"] = f"msg{next(_request_ids)}="
    if isinstance(body, bytes):
        return {"requestContext": context, "body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def disconnect_event(
    *,
    connection_id: str = "conn-1=",
    status_code: int = 1001,
    reason: str = "Going away",
    source_ip: str = "203.0.113.7",
    api_id: str = API_ID,
    stage: str = STAGE,
    domain_name: str = DOMAIN_NAME,
) -> dict[str, Any]:
    """A $disconnect event: a few near-empty headers and the close code and reason."""
    context = _websocket_context(
        event_type="DISCONNECT",
        route_key="$disconnect",
        connection_id=connection_id,
        source_ip=source_ip,
        api_id=api_id,
        stage=stage,
        domain_name=domain_name,
    )
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    headers = {"Host": domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }


def rest_v1_event(
    *,
    method: str = "GET",
    path: str = "/",
    headers: dict[str, str] | None = None,
    body: str = "",
    stage: str = STAGE,
    domain_name: str = "rest123456.execute-api.eu-west-1.amazonaws.com",
    base_path: str | None = None,
) -> dict[str, Any]:
    """A REST API (v1) proxy event: ``path`` without the stage, ``requestContext.path`` with it."""
    all_headers = {"Host": domain_name, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}
    all_headers.update(headers or {})
    full_path = f"/{stage}{path}" if base_path is None else f"{base_path}{path}"
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": full_path,
            "stage": stage,
            "domainName": domain_name,
            "apiId": "rest123456",
            "requestId": f"rest-{next(_request_ids)}",
            "identity": {"sourceIp": "198.51.100.4", "userAgent": "pytest"},
        },
        "body": body,
        "isBase64Encoded": False,
    }


def http_v2_event(
    *,
    method: str = "GET",
    raw_path: str = "/",
    headers: dict[str, str] | None = None,
    body: str = "",
    stage: str = "$default",
    domain_name: str = "http123456.execute-api.eu-west-1.amazonaws.com",
    cookies: list[str] | None = None,
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event: ``rawPath`` keeps a named stage."""
    all_headers = {"host": domain_name, "x-forwarded-proto": "https", "x-forwarded-port": "443"}
    all_headers.update(headers or {})
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": {
            "apiId": "http123456",
            "domainName": domain_name,
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.9",
                "userAgent": "pytest",
            },
            "requestId": f"http-{next(_request_ids)}",
            "routeKey": "$default",
            "stage": stage,
        },
        "body": body,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    return event
