"""HTTP through the Lambda entry point where a site has configured little: no Host header, no WebSocket API yet."""

from __future__ import annotations

import pytest

from tests.aws_events import http_v2_event, rest_v1_event


def without_host(event: dict) -> dict:
    event["headers"] = {name: value for name, value in event["headers"].items() if name.lower() != "host"}
    if "multiValueHeaders" in event:
        event["multiValueHeaders"] = {
            name: values for name, values in event["multiValueHeaders"].items() if name.lower() != "host"
        }
    return event


@pytest.mark.django_db
@pytest.mark.parametrize(
    "event",
    [
        rest_v1_event(path="/login/", domain_name="www.example.com"),
        http_v2_event(raw_path="/login/", domain_name="www.example.com"),
    ],
    ids=["rest-v1", "http-v2"],
)
def test_a_request_without_host_is_served_on_the_apis_domain(lambda_handler, settings, event):
    settings.ALLOWED_HOSTS = ["www.example.com"]

    response = lambda_handler(without_host(event), None)

    assert response["statusCode"] == 200


@pytest.mark.django_db
def test_the_chat_page_without_a_websocket_api_says_what_to_configure(client, settings):
    settings.WEBSOCKETS = {}

    response = client.get("/")

    assert response.status_code == 503
    assert response.content.decode() == (
        "No WebSocket API is known: set WEBSOCKETS['URL'], provision an ApiGateway, "
        "or run `python manage.py runserver`, which serves one locally."
    )
