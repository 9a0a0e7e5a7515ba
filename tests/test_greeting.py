import pytest

from tests.aws_events import API_ID, REGION, STAGE, connect_event, message_event
from websockets_app.models import WebSocketSession

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.greeting_urls")]

ENDPOINT = f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{STAGE}"


def test_a_new_connection_is_greeted_when_it_says_hello(lambda_handler, connections_api):
    for connection_id in ("A=", "B="):
        response = lambda_handler(connect_event(connection_id=connection_id, query={"channel": "room"}), None)
        assert response == {"statusCode": 200, "body": ""}
        connections_api.open(connection_id)  # API Gateway opens the connection once $connect has answered 200

    response = lambda_handler(message_event(connection_id="B=", body='{"action": "hello"}'), None)

    assert response == {"statusCode": 200, "body": ""}
    assert connections_api.received("A=") == b'{"type":"joined","connection":"B="}'
    assert connections_api.received("B=") == b'{"type":"welcome","channel":"room"}'
    assert connections_api.requests == [
        ("POST", f"{ENDPOINT}/@connections/A="),
        ("POST", f"{ENDPOINT}/@connections/B="),
    ]
    assert list(WebSocketSession.objects.order_by("pk").values_list("connection_id", "connected")) == [
        ("A=", True),
        ("B=", True),
    ]
