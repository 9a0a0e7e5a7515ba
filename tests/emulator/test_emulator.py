"""The local emulator behind runserver, driven by the real ``websockets`` client and boto3 over loopback."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import threading
import time
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError
from django.contrib.auth import get_user_model
from django.test import Client
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.emulator_support import RecordingHandler, of_type, running_emulator, signed_request
from websockets_app.emulator.limits import Limits
from websockets_app.emulator.parity import Parity
from websockets_app.models import ApiGateway, ApiGatewayAdditionalRoute, WebSocketSession

pytestmark = pytest.mark.django_db(transaction=True)


def ws_url(server, path="/", query=""):
    return f"ws://{server.app.api.domain_name}{path}{query}"


def management_client(settings):
    return boto3.client("apigatewaymanagementapi", endpoint_url=settings.WEBSOCKETS["ENDPOINT_URL"])


def last_connection_id(recorder):
    return recorder.events("CONNECT")[-1]["requestContext"]["connectionId"]


def close_code(websocket):
    """Read until the server closes the connection; the code and reason it closed with."""
    with pytest.raises(ConnectionClosed) as closed:
        read_until_closed(websocket)
    return closed.value.rcvd.code, closed.value.rcvd.reason


def send_until_closed(websocket, message):
    websocket.send(message)
    read_until_closed(websocket)


def read_until_closed(websocket):
    while True:
        websocket.recv(timeout=10)


def beat_until_closed(websocket):
    while True:
        websocket.send(json.dumps({"action": "heartbeat"}))
        with contextlib.suppress(TimeoutError):
            websocket.recv(timeout=0.05)


# Plain HTTP


def test_http_goes_through_lambda_handler_as_a_rest_event(emulator, recorder):
    with urllib.request.urlopen(f"{emulator.url}/?channel=room-1") as response:
        page = response.read().decode()
        status = response.status
    assert status == 200
    assert f'"ws://{emulator.app.api.domain_name}/local?channel=room-1"' in page
    event, answer = recorder.calls[-1]
    assert (event["httpMethod"], event["path"], event["queryStringParameters"]) == ("GET", "/", {"channel": "room-1"})
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    assert answer["statusCode"] == 200


def test_static_files_are_served(emulator):
    with urllib.request.urlopen(f"{emulator.url}/static/websockets_app/lambda-websocket.js") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/javascript")
        assert b"class LambdaWebSocket extends EventTarget" in response.read()


# $connect


def test_connect_carries_cookies_query_origin_and_headers_and_records_the_session(emulator, recorder):
    user = get_user_model().objects.create_user("alice", password="secret-pass-123")
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}; theme=dark"
    with connect(
        ws_url(emulator, "/any/path", "?channel=room-1&channel=room-2&x="),
        origin="http://127.0.0.1:8000",
        additional_headers={"Cookie": cookie, "X-Custom": "yes"},
    ):
        event, answer = recorder.wait_for(of_type("CONNECT"))
    context = event["requestContext"]
    assert answer == {"statusCode": 200, "body": ""}
    assert (context["routeKey"], context["apiId"], context["stage"]) == ("$connect", "local", "local")
    assert context["domainName"] == emulator.app.api.domain_name
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert event["headers"]["Cookie"] == cookie
    assert event["headers"]["Origin"] == "http://127.0.0.1:8000"
    assert event["headers"]["X-Custom"] == "yes"
    assert event["headers"]["Host"] == emulator.app.api.domain_name
    assert event["queryStringParameters"] == {"channel": "room-2", "x": ""}
    assert event["multiValueQueryStringParameters"] == {"channel": ["room-1", "room-2"], "x": [""]}
    session = WebSocketSession.objects.get(connection_id=context["connectionId"])
    assert (session.user, session.channel_name, session.api_id, session.stage) == (user, "room-2", "local", "local")
    assert (session.domain_name, session.source_ip) == (emulator.app.api.domain_name, "127.0.0.1")


def test_a_refused_connect_refuses_the_upgrade_with_its_status(emulator, recorder):
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(emulator, "/", "?channel=bad%21"))
    assert refused.value.response.status_code == 400
    assert refused.value.response.body == b"Invalid channel: use 1 to 128 letters, digits, '-', '_' or '.'."
    assert WebSocketSession.objects.count() == 0
    assert recorder.events("DISCONNECT") == []


# Messages and route selection


def test_messages_without_a_matching_route_go_to_default_and_the_view_dispatches_on_the_action(settings, recorder):
    with (
        running_emulator(settings, recorder, parity=Parity(ordered_messages=True, binary_frames=True)) as emulator,
        connect(ws_url(emulator)) as websocket,
    ):
        websocket.send(json.dumps({"action": "whoami"}))
        websocket.send("not json")
        websocket.send(b"\x00\x01binary")
        recorder.wait_for(lambda event: event.get("body") == base64.b64encode(b"\x00\x01binary").decode())
    messages = recorder.events("MESSAGE")
    assert [event["requestContext"]["routeKey"] for event in messages] == ["$default"] * 3
    assert [(event["body"], event["isBase64Encoded"]) for event in messages] == [
        ('{"action": "whoami"}', False),
        ("not json", False),
        (base64.b64encode(b"\x00\x01binary").decode(), True),
    ]
    assert "headers" not in messages[0]
    answers = [answer for event, answer in recorder.calls if event in messages]
    assert [answer["statusCode"] for answer in answers] == [200, 400, 400]
    assert json.loads(answers[0]["body"]) == {"type": "whoami", "user": "anonymous", "channel": "default"}


def test_route_selection_uses_the_api_expression_and_its_routes(settings, recorder):
    api = ApiGateway.objects.create(api_name="chat", route_selection_expression="$request.body.kind", stage_name="dev")
    ApiGatewayAdditionalRoute.objects.create(api_gateway=api, route_key="whoami")
    with (
        running_emulator(settings, recorder, parity=Parity(ordered_messages=True)) as emulator,
        connect(ws_url(emulator)) as websocket,
    ):
        websocket.send(json.dumps({"kind": "whoami"}))
        websocket.send(json.dumps({"kind": "unknown", "action": "whoami"}))
        websocket.send(json.dumps({"action": "whoami"}))
        recorder.wait_for(lambda event: event.get("body") == '{"action": "whoami"}')
    assert [event["requestContext"]["routeKey"] for event in recorder.events("MESSAGE")] == [
        "whoami",
        "$default",
        "$default",
    ]
    assert {event["requestContext"]["stage"] for event in recorder.events("MESSAGE")} == {"dev"}
    assert settings.WEBSOCKETS["ENDPOINT_URL"] == f"http://{emulator.app.api.domain_name}/dev"


def test_a_binary_frame_closes_the_connection_with_1003_as_api_gateway_does(emulator, recorder):
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-binary-media-types.html:
    # "If a client app sends a binary frame, API Gateway rejects it and disconnects the client with code 1003."
    with connect(ws_url(emulator)) as websocket:
        connection_id = last_connection_id(recorder)
        websocket.send(b"\x00\x01binary")
        assert close_code(websocket) == (1003, "Binary frames are not supported")
    event, _ = recorder.wait_for(of_type("DISCONNECT", connection_id))
    assert event["requestContext"]["disconnectStatusCode"] == 1003
    assert recorder.events("MESSAGE") == []


def test_a_connections_messages_are_not_kept_in_order_as_on_aws(settings, lambda_handler):
    # AWS invokes the Lambda once per message with no ordering guarantee: a slow first message does not hold
    # back the second, which finishes first.
    first_started = threading.Event()

    def slow_first(event, context):
        if event.get("body") == "first":
            first_started.set()
            time.sleep(0.5)
        elif event.get("body") == "second":
            assert first_started.wait(10)
        return lambda_handler(event, context)

    recorder = RecordingHandler(slow_first)
    with running_emulator(settings, recorder) as emulator, connect(ws_url(emulator)) as websocket:
        websocket.send("first")
        websocket.send("second")
        recorder.wait_for(lambda event: event.get("body") == "first")
    assert [event["body"] for event in recorder.events("MESSAGE")] == ["second", "first"]


def test_each_connection_keeps_its_order_when_asked_to(settings, recorder):
    with (
        running_emulator(settings, recorder, parity=Parity(ordered_messages=True)) as emulator,
        connect(ws_url(emulator)) as websocket,
    ):
        for number in range(30):
            websocket.send(json.dumps({"action": "heartbeat", "n": number}))
        recorder.wait_for(lambda event: event.get("body") == '{"action": "heartbeat", "n": 29}')
    assert [json.loads(event["body"])["n"] for event in recorder.events("MESSAGE")] == list(range(30))


def test_events_of_different_connections_run_concurrently(settings, lambda_handler):
    # Each "meet" message waits in the handler until the other connection's arrives: run one at a time, they
    # would never meet and the barrier would break.
    barrier = threading.Barrier(2, timeout=10)

    def meeting_handler(event, context):
        if event.get("body") == "meet":
            barrier.wait()
        return lambda_handler(event, context)

    recorder = RecordingHandler(meeting_handler)
    with (
        running_emulator(settings, recorder) as emulator,
        connect(ws_url(emulator)) as first,
        connect(ws_url(emulator)) as second,
    ):
        first.send("meet")
        second.send("meet")
        recorder.wait_for(lambda event: event.get("body") == "meet" and len(recorder.events("MESSAGE")) == 2)
    assert not barrier.broken


def test_pings_are_answered_while_a_connections_events_queue_up(settings, lambda_handler):
    # API Gateway answers pings at its edge: a slow Lambda must not make a busy client's keepalive time out.
    release = threading.Event()

    def slow_handler(event, context):
        if event.get("body") == "slow":
            release.wait(10)
        return lambda_handler(event, context)

    recorder = RecordingHandler(slow_handler)
    with (
        running_emulator(settings, recorder, parity=Parity(ordered_messages=True)) as emulator,
        connect(ws_url(emulator)) as websocket,
    ):
        websocket.send("slow")
        websocket.send("queued behind it")
        pong = websocket.ping()
        answered_while_busy = pong.wait(10)
        release.set()
        recorder.wait_for(lambda event: event.get("body") == "queued behind it")
    assert answered_while_busy
    assert [event["body"] for event in recorder.events("MESSAGE")] == ["slow", "queued behind it"]


def test_a_failing_lambda_answers_the_client_as_api_gateway_does(settings, lambda_handler):
    def failing_on_messages(event, context):
        if event["requestContext"].get("eventType") == "MESSAGE":
            raise RuntimeError("boom")
        return lambda_handler(event, context)

    recorder = RecordingHandler(failing_on_messages)
    with running_emulator(settings, recorder) as emulator, connect(ws_url(emulator)) as websocket:
        websocket.send("hello")
        error = json.loads(websocket.recv(timeout=10))
    assert error["message"] == "Internal server error"
    assert set(error) == {"message", "connectionId", "requestId"}


# $disconnect


def test_closing_sends_disconnect_with_the_code_and_reason(emulator, recorder):
    with connect(ws_url(emulator)) as websocket:
        connection_id = last_connection_id(recorder)
        websocket.close(4000, "bye now")
    event, answer = recorder.wait_for(of_type("DISCONNECT", connection_id))
    assert (event["requestContext"]["disconnectStatusCode"], event["requestContext"]["disconnectReason"]) == (
        4000,
        "bye now",
    )
    assert answer == {"statusCode": 200, "body": ""}
    session = WebSocketSession.objects.get(connection_id=connection_id)
    assert (session.connected, session.disconnect_status_code, session.disconnect_reason) == (False, 4000, "bye now")


# The management API


def test_management_api_posts_gets_and_deletes_with_boto3(emulator, recorder, settings):
    client = management_client(settings)
    with connect(ws_url(emulator), user_agent_header="pytest-client") as websocket:
        connection_id = last_connection_id(recorder)
        client.post_to_connection(ConnectionId=connection_id, Data=b'{"type": "hello"}')
        assert websocket.recv(timeout=10) == '{"type": "hello"}'
        client.post_to_connection(ConnectionId=connection_id, Data=b"\xff\x00")
        assert websocket.recv(timeout=10) == b"\xff\x00"
        info = client.get_connection(ConnectionId=connection_id)
        assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "pytest-client"}
        assert info["LastActiveAt"] >= info["ConnectedAt"]
        client.delete_connection(ConnectionId=connection_id)
        assert close_code(websocket) == (1000, "Connection closed by the server")
    event, _ = recorder.wait_for(of_type("DISCONNECT", connection_id))
    assert event["requestContext"]["disconnectStatusCode"] == 1000
    with pytest.raises(ClientError) as gone:
        client.post_to_connection(ConnectionId=connection_id, Data=b"late")
    assert gone.value.response["Error"]["Code"] == "GoneException"
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


@pytest.mark.parametrize("method", ["post_to_connection", "get_connection", "delete_connection"])
def test_management_api_answers_410_for_unknown_connections(emulator, settings, method):
    arguments = {"ConnectionId": "unknownConn0="} | ({"Data": b"x"} if method == "post_to_connection" else {})
    with pytest.raises(ClientError) as gone:
        getattr(management_client(settings), method)(**arguments)
    assert gone.value.response["Error"]["Code"] == "GoneException"


def test_management_api_refuses_payloads_over_128_kb(emulator, recorder, settings):
    with connect(ws_url(emulator)), pytest.raises(ClientError) as too_large:
        management_client(settings).post_to_connection(
            ConnectionId=last_connection_id(recorder), Data=b"x" * (128 * 1024 + 1)
        )
    assert too_large.value.response["Error"]["Code"] == "PayloadTooLargeException"


def test_management_api_refuses_a_body_over_a_lambda_payload_without_posting_anything(emulator, recorder, settings):
    client = management_client(settings)
    with connect(ws_url(emulator)) as websocket:
        connection_id = last_connection_id(recorder)
        with pytest.raises(ClientError) as too_large:
            client.post_to_connection(ConnectionId=connection_id, Data=b"x" * (6 * 1024 * 1024 + 1))
        client.post_to_connection(ConnectionId=connection_id, Data=b"next")
        assert websocket.recv(timeout=10) == "next"
    assert too_large.value.response["Error"]["Code"] == "PayloadTooLargeException"
    assert too_large.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


def test_management_api_is_reachable_without_the_stage_prefix(emulator, recorder):
    with connect(ws_url(emulator)) as websocket:
        request = signed_request("POST", f"{emulator.url}/@connections/{last_connection_id(recorder)}", b"plain")
        with urllib.request.urlopen(request) as response:
            assert response.status == 200
        assert websocket.recv(timeout=10) == "plain"


# AWS's limits


def test_a_frame_over_32_kb_closes_with_1009(emulator, recorder):
    with connect(ws_url(emulator), max_size=None) as websocket:
        connection_id = last_connection_id(recorder)
        websocket.send("x" * (32 * 1024 + 1))
        assert close_code(websocket)[0] == 1009
    event, _ = recorder.wait_for(of_type("DISCONNECT", connection_id))
    assert event["requestContext"]["disconnectStatusCode"] == 1009
    assert recorder.events("MESSAGE") == []


def test_a_128_kb_message_in_32_kb_frames_is_accepted_and_one_byte_more_closes_with_1009(emulator, recorder):
    frame = "x" * (32 * 1024)
    with connect(ws_url(emulator), max_size=None) as websocket:
        websocket.send(iter([frame] * 4))
        recorder.wait_for(of_type("MESSAGE"))
        with pytest.raises(ConnectionClosed) as closed:  # the close may overtake the end of the send
            send_until_closed(websocket, iter([frame] * 4 + ["y"]))
        assert closed.value.rcvd.code == 1009
    assert [len(event["body"]) for event in recorder.events("MESSAGE")] == [128 * 1024]


def test_an_idle_connection_is_closed_with_1001(settings, recorder):
    with running_emulator(settings, recorder, Limits(idle_seconds=0.3)) as emulator:
        with connect(ws_url(emulator)) as websocket:
            connection_id = last_connection_id(recorder)
            assert close_code(websocket) == (1001, "Going away")
        event, _ = recorder.wait_for(of_type("DISCONNECT", connection_id))
    assert event["requestContext"]["disconnectStatusCode"] == 1001
    assert not WebSocketSession.objects.get(connection_id=connection_id).connected


def test_a_connection_is_closed_at_its_maximum_lifetime_even_when_busy(settings, recorder):
    settings.WEBSOCKETS = {"MESSAGE_RATE_LIMIT": None}  # beats as fast as it can: the app would close it for flooding
    with (
        running_emulator(settings, recorder, Limits(lifetime_seconds=0.5, idle_seconds=60)) as emulator,
        connect(ws_url(emulator)) as websocket,
        pytest.raises(ConnectionClosed) as closed,
    ):
        beat_until_closed(websocket)
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "Going away")
    assert recorder.events("MESSAGE") != []


def test_management_api_refuses_callers_off_this_machine(emulator):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"hi", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/@connections/abc=",
        "raw_path": b"/@connections/abc=",
        "query_string": b"",
        "headers": [],
        "client": ("192.0.2.10", 50000),
    }
    asyncio.run(emulator.app(scope, receive, send))
    assert sent == [
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"application/json"), (b"x-amzn-errortype", b"ForbiddenException")],
        },
        {"type": "http.response.body", "body": b'{"message": "Forbidden"}'},
    ]
