"""AWS-shaped events for driving the real lambda_handler: the WebSocket ones come from the app's test kit."""

from __future__ import annotations

import itertools
from typing import Any

from websockets_app.emulator.asgi_events import ACCOUNT_ID
from websockets_app.events.shapes import request_time
from websockets_app.testing.events import (
    API_ID,
    CONNECTED_AT,
    DOMAIN_NAME,
    REGION,
    STAGE,
    connect_event,
    disconnect_event,
    message_event,
)

__all__ = (
    "API_ID",
    "CONNECTED_AT",
    "DOMAIN_NAME",
    "REGION",
    "STAGE",
    "connect_event",
    "disconnect_event",
    "http_v2_event",
    "message_event",
    "rest_v1_event",
)

_request_ids = itertools.count(1)
REQUEST_TIME_EPOCH = CONNECTED_AT  # milliseconds
# A REST API's identity for a caller with no credentials: every field there, most of them null (AWS's input format).
_NO_CREDENTIALS = dict.fromkeys(
    (
        "cognitoIdentityPoolId",
        "accountId",
        "cognitoIdentityId",
        "caller",
        "accessKey",
        "cognitoAuthenticationType",
        "cognitoAuthenticationProvider",
        "userArn",
        "user",
    )
)


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
            "accountId": ACCOUNT_ID,
            "resourceId": "abc123",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": full_path,
            "stage": stage,
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".", 1)[0],
            "apiId": "rest123456",
            "requestId": f"rest-{next(_request_ids)}",
            "requestTime": request_time(REQUEST_TIME_EPOCH / 1000),
            "requestTimeEpoch": REQUEST_TIME_EPOCH,
            "identity": {**_NO_CREDENTIALS, "sourceIp": "198.51.100.4", "userAgent": "pytest"},
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
            "accountId": ACCOUNT_ID,
            "apiId": "http123456",
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".", 1)[0],
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
            "time": request_time(REQUEST_TIME_EPOCH / 1000),
            "timeEpoch": REQUEST_TIME_EPOCH,
        },
        "body": body,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    return event
