"""The pure translation between WebSocket events and apig-wsgi's HTTP events."""

import pytest

from tests.aws_events import DOMAIN_NAME, connect_event, disconnect_event, message_event
from websockets_app.events.translation import (
    InvalidWebSocketEvent,
    is_websocket_event,
    source_ip,
    to_http_event,
    to_websocket_response,
)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (connect_event(), True),
        (message_event(), True),
        (disconnect_event(), True),
        ({"requestContext": {"eventType": "OTHER"}}, False),
        ({"requestContext": None}, False),
        ({"manage": "check"}, False),
        ([], False),
        (None, False),
    ],
)
def test_is_websocket_event(event, expected):
    assert is_websocket_event(event) is expected


def test_connect_becomes_a_post_with_the_browsers_headers_and_query():
    event = connect_event(query={"channel": "room"}, cookies={"sessionid": "s"})

    http_event = to_http_event(event)

    assert http_event == {
        "httpMethod": "POST",
        "path": "/ws/connect",
        "headers": event["headers"],
        "multiValueHeaders": event["multiValueHeaders"],
        "queryStringParameters": {"channel": "room"},
        "multiValueQueryStringParameters": {"channel": ["room"]},
        "body": "",
        "isBase64Encoded": False,
        "requestContext": event["requestContext"],
        "websocketEvent": event,
    }


def test_message_gets_the_api_domain_as_host():
    event = message_event(body='{"action": "x"}', route_key="sendmessage")

    http_event = to_http_event(event)

    assert http_event == {
        "httpMethod": "POST",
        "path": "/ws/sendmessage",
        "headers": {"Host": DOMAIN_NAME},
        "queryStringParameters": None,
        "body": '{"action": "x"}',
        "isBase64Encoded": False,
        "requestContext": event["requestContext"],
        "websocketEvent": event,
    }


def test_default_route_and_path_prefix():
    assert to_http_event(message_event(), path_prefix="/sockets/")["path"] == "/sockets/default"


def test_route_keys_cannot_leave_the_prefix():
    assert to_http_event(message_event(route_key="../admin/x y"))["path"] == "/ws/..%2Fadmin%2Fx%20y"


def test_binary_frames_keep_their_base64_flag():
    http_event = to_http_event(message_event(body=b"\x00\x01"))

    assert (http_event["body"], http_event["isBase64Encoded"]) == ("AAE=", True)


def test_missing_fields_raise():
    event = message_event()
    del event["requestContext"]["connectionId"]

    with pytest.raises(InvalidWebSocketEvent, match=r"requestContext\.connectionId is missing"):
        to_http_event(event)


def test_connect_response_keeps_only_the_subprotocol_header():
    http_response = {
        "statusCode": 200,
        "multiValueHeaders": {
            "Content-Type": ["text/html"],
            "Sec-WebSocket-Protocol": ["chat.v2"],
            "Set-Cookie": ["a=b"],
        },
        "isBase64Encoded": False,
        "body": "",
    }

    assert to_websocket_response(http_response, event_type="CONNECT") == {
        "statusCode": 200,
        "body": "",
        "headers": {"Sec-WebSocket-Protocol": "chat.v2"},
    }


def test_message_response_is_status_and_body():
    http_response = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    assert to_websocket_response(http_response, event_type="MESSAGE") == {"statusCode": 200, "body": "{}"}


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (message_event(source_ip="203.0.113.9"), "203.0.113.9"),
        (message_event(source_ip="2001:DB8::1"), "2001:db8::1"),
        (message_event(source_ip="203.0.113.9, 10.0.0.1"), None),
        (message_event(source_ip="not-an-ip"), None),
        ({"requestContext": {"http": {"sourceIp": "198.51.100.9"}}}, "198.51.100.9"),
        ({"requestContext": {"identity": None}}, None),
        ({"requestContext": "x"}, None),
        ([], None),
    ],
)
def test_source_ip_comes_from_the_request_context_only(event, expected):
    assert source_ip(event) == expected
