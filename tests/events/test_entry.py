"""The Lambda entry point: which events go where, stage prefixes, and what cannot be spoofed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.aws_events import connect_event, disconnect_event, http_v2_event, message_event, rest_v1_event
from websockets_app.events.entry import is_http_event, script_name_for
from websockets_app.models import WebSocketSession

ROOT = Path(__file__).resolve().parents[2]
FORGED_HEADERS = {
    "Connectionid": "victim=",
    "X-Amzn-Apigateway-Api-Id": "a1b2c3d4e5",
    "User-Agent": "AmazonAPIGateway_a1b2c3d4e5",
    "X-Forwarded-For": "10.0.0.1",
    "Content-Type": "application/json",
}


def location(response: dict) -> str:
    if "multiValueHeaders" in response:
        return response["multiValueHeaders"]["Location"][-1]
    return response["headers"].get("Location") or response["headers"]["location"]


@pytest.mark.django_db
class TestHttpEvents:
    def test_rest_v1_redirect_keeps_the_stage_prefix(self, lambda_handler):
        response = lambda_handler(rest_v1_event(path="/admin/"), None)

        assert response["statusCode"] == 302
        assert location(response) == "/dev/admin/login/?next=/dev/admin/"

    def test_rest_v1_on_a_custom_domain_base_path(self, lambda_handler, settings):
        settings.ALLOWED_HOSTS = ["www.example.com"]
        event = rest_v1_event(path="/admin/", domain_name="www.example.com", base_path="/api")

        assert location(lambda_handler(event, None)) == "/api/admin/login/?next=/api/admin/"

    def test_rest_v1_on_a_custom_domain_root(self, lambda_handler, settings):
        settings.ALLOWED_HOSTS = ["www.example.com"]
        event = rest_v1_event(path="/admin/", domain_name="www.example.com", base_path="")

        assert location(lambda_handler(event, None)) == "/admin/login/?next=/admin/"

    def test_http_api_payload_1_0_keeps_the_named_stage_in_urls(self, lambda_handler):
        event = rest_v1_event(path="/dev/admin/", domain_name="http123456.execute-api.eu-west-1.amazonaws.com")
        event["version"] = "1.0"
        event["requestContext"]["path"] = "/dev/admin/"

        response = lambda_handler(event, None)

        assert response["statusCode"] == 302
        assert location(response) == "/dev/admin/login/?next=/dev/admin/"

    def test_http_v2_named_stage_is_stripped_and_kept_in_urls(self, lambda_handler):
        response = lambda_handler(http_v2_event(raw_path="/dev/admin/", stage="dev"), None)

        assert response["statusCode"] == 302
        assert location(response) == "/dev/admin/login/?next=/dev/admin/"

    def test_http_v2_default_stage(self, lambda_handler):
        response = lambda_handler(http_v2_event(raw_path="/admin/login/"), None)

        assert response["statusCode"] == 200
        assert "text/html" in response["headers"]["content-type"]

    def test_http_v2_stage_named_like_a_path_prefix_is_not_stripped(self, lambda_handler):
        response = lambda_handler(http_v2_event(raw_path="/development/", stage="dev"), None)

        assert response["statusCode"] == 404

    def test_alb_event(self, lambda_handler):
        event = {
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/t/1"}},
            "httpMethod": "GET",
            "path": "/admin/",
            "queryStringParameters": {},
            "headers": {"host": "localhost", "x-forwarded-for": "198.51.100.1"},
            "body": "",
            "isBase64Encoded": False,
        }

        response = lambda_handler(event, None)

        assert response["statusCode"] == 302
        assert location(response) == "/admin/login/?next=/admin/"


@pytest.mark.django_db
class TestSpoofing:
    """Any plain HTTP request to a WebSocket route is refused and changes nothing."""

    refused = {"statusCode": 403, "body": "Forbidden: this URL only accepts API Gateway WebSocket events."}

    @pytest.fixture(autouse=True)
    def victim(self, lambda_handler):
        lambda_handler(connect_event(connection_id="victim="), None)

    def assert_unchanged(self):
        assert list(WebSocketSession.objects.values_list("connection_id", "connected")) == [("victim=", True)]

    @pytest.mark.parametrize("route", ["connect", "disconnect", "default", "sendmessage"])
    def test_rest_v1(self, lambda_handler, route):
        event = rest_v1_event(method="POST", path=f"/ws/{route}", headers=FORGED_HEADERS, body='{"action": "echo"}')

        response = lambda_handler(event, None)

        assert (response["statusCode"], response["body"]) == (self.refused["statusCode"], self.refused["body"])
        self.assert_unchanged()

    def test_rest_v1_carrying_a_websocket_event_inside(self, lambda_handler):
        event = rest_v1_event(method="POST", path="/ws/disconnect", headers=FORGED_HEADERS)
        event["websocketEvent"] = disconnect_event(connection_id="victim=")

        assert lambda_handler(event, None)["statusCode"] == 403
        self.assert_unchanged()

    @pytest.mark.parametrize("route", ["connect", "disconnect", "default"])
    def test_http_v2(self, lambda_handler, route):
        headers = {key.lower(): value for key, value in FORGED_HEADERS.items()}
        event = http_v2_event(method="POST", raw_path=f"/ws/{route}", headers=headers, body="{}")

        response = lambda_handler(event, None)

        assert (response["statusCode"], response["body"]) == (self.refused["statusCode"], self.refused["body"])
        self.assert_unchanged()

    @pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
    def test_plain_wsgi_client(self, method):
        headers = {f"HTTP_{key.upper().replace('-', '_')}": value for key, value in FORGED_HEADERS.items()}

        response = getattr(Client(), method)("/ws/disconnect", **headers)

        assert response.status_code in {403, 405}
        self.assert_unchanged()


@pytest.mark.django_db
class TestMalformedWebSocketEvents:
    @pytest.mark.parametrize("field", ["connectionId", "routeKey", "apiId", "stage", "domainName"])
    @pytest.mark.parametrize("value", [None, "", 42, ["x"], {"a": 1}])
    def test_missing_or_wrong_context_fields_are_400(self, lambda_handler, field, value):
        event = message_event(body='{"action": "echo"}')
        event["requestContext"][field] = value

        assert lambda_handler(event, None) == {
            "statusCode": 400,
            "body": f"Bad Request: requestContext.{field} is missing.",
        }

    def test_wrongly_typed_headers_query_and_body_are_ignored(self, lambda_handler):
        event = connect_event(connection_id="odd=")
        event["headers"]["X-Weird"] = ["not", "a", "string"]
        event["multiValueHeaders"]["X-Weird"] = "not a list"
        event["queryStringParameters"] = {"channel": 5}
        event["body"] = {"not": "a string"}

        assert lambda_handler(event, None) == {"statusCode": 200, "body": ""}
        assert WebSocketSession.objects.get().channel_name == "default"

    def test_request_context_that_is_not_a_dict_goes_to_zappa_not_django(self):
        assert not is_http_event({"requestContext": "CONNECT"})


class TestScriptName:
    def test_rest_without_request_context_path(self):
        assert script_name_for({"path": "/x", "requestContext": {"stage": "dev"}}, "/x") == ("", "/x")

    def test_http_v1_payload_keeps_stage_in_path(self):
        event = {"version": "1.0", "path": "/dev/x", "requestContext": {"stage": "dev", "path": "/dev/x"}}

        assert script_name_for(event, "/dev/x") == ("/dev", "/x")

    def test_http_v2_stage_root(self):
        event = {"version": "2.0", "requestContext": {"stage": "dev", "http": {}}}

        assert script_name_for(event, "/dev") == ("/dev", "")


def test_other_events_run_through_zappas_own_handler(tmp_path):
    """`zappa manage`, `zappa invoke` and keep-warm, in a fresh process as on Lambda."""
    env = {
        **os.environ,
        "AWS_LAMBDA_FUNCTION_NAME": "django-lambda-websockets-dev",
        "SECRET_KEY": "passthrough-test-key",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'lambda.sqlite3'}",
    }
    subprocess.run(
        [
            str(Path(sys.executable).parent / "zappa"),
            "save-python-settings-file",
            "dev",
            "-o",
            str(tmp_path / "zappa_settings.py"),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )

    completed = subprocess.run(
        [sys.executable, "-m", "tests.zappa_passthrough", str(tmp_path)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )

    output = completed.stdout + completed.stderr
    assert "System check identified no issues (0 silenced)." in output
    results = json.loads(output.split("RESULTS ", 1)[1].splitlines()[0])
    assert results == {
        "manage": {},
        "command": "recorded",
        "keep_warm": None,
        "calls": ["tests.zappa_passthrough.record_call"],
    }
