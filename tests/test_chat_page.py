"""The demo chat's page, served through the real lambda_handler."""

import pytest

from tests.aws_events import rest_v1_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _websocket_url(settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "WEBSOCKET_URL": "wss://ws.example.com"}


def test_the_page_gets_its_websocket_url_with_the_room_from_the_server(lambda_handler):
    event = rest_v1_event(path="/")
    event["queryStringParameters"] = {"channel": "room-7"}
    event["multiValueQueryStringParameters"] = {"channel": ["room-7"]}
    response = lambda_handler(event, None)
    assert response["statusCode"] == 200
    assert (
        '<script id="websocket-url" type="application/json">"wss://ws.example.com?channel=room-7"</script>'
        in (response["body"])
    )
    assert 'You are <strong id="me">anonymous</strong>' in response["body"]


def test_an_invalid_room_is_refused(lambda_handler):
    event = rest_v1_event(path="/")
    event["queryStringParameters"] = {"channel": "no/slashes"}
    event["multiValueQueryStringParameters"] = {"channel": ["no/slashes"]}
    response = lambda_handler(event, None)
    assert (response["statusCode"], response["body"]) == (
        400,
        "Invalid channel: use 1 to 128 letters, digits, '-', '_' or '.'.",
    )
