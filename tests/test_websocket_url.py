"""The WebSocket URL a page is given: the emulator locally, the API's custom domain or execute-api URL on AWS."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from websockets_app.models import ApiGateway
from websockets_app.websocket_url import websocket_url

pytestmark = pytest.mark.django_db


def request_from(host):
    return RequestFactory().get("/", HTTP_HOST=host)


def test_the_setting_wins_and_host_becomes_the_page_host(settings):
    settings.WEBSOCKETS = {"URL": "ws://{host}/local"}
    ApiGateway.objects.create(api_name="chat", api_id="abc123")
    assert websocket_url(request_from("localhost:8000")) == "ws://localhost:8000/local"


ENDPOINT = "wss://abc123.execute-api.eu-west-2.amazonaws.com"


def test_a_provisioned_api_gives_its_recorded_endpoint_with_the_stage():
    ApiGateway.objects.create(api_name="not provisioned")
    ApiGateway.objects.create(api_name="chat", api_id="abc123", api_endpoint=ENDPOINT, stage_name="production")
    assert websocket_url(request_from("example.com")) == f"{ENDPOINT}/production"


def test_the_local_region_plays_no_part(monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    ApiGateway.objects.create(api_name="chat", api_id="abc123", api_endpoint=ENDPOINT)
    assert websocket_url(request_from("example.com")) == f"{ENDPOINT}/dev"


def test_a_created_custom_domain_is_preferred():
    ApiGateway.objects.create(
        api_name="chat",
        api_id="abc123",
        api_endpoint=ENDPOINT,
        custom_domain_name="ws.example.com",
        custom_domain_created=True,
    )
    assert websocket_url(request_from("example.com")) == "wss://ws.example.com"


def test_a_custom_domain_not_created_yet_is_not_given():
    ApiGateway.objects.create(
        api_name="chat", api_id="abc123", api_endpoint=ENDPOINT, custom_domain_name="ws.example.com"
    )
    assert websocket_url(request_from("example.com")) == f"{ENDPOINT}/dev"


def test_without_any_api_the_error_says_how_to_fix_it():
    with pytest.raises(ImproperlyConfigured, match="runserver"):
        websocket_url(request_from("example.com"))
