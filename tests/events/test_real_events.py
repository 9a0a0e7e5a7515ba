"""Published captures of real API Gateway events (``tests/real_events``, each file naming its source).

(a) Each goes through the real ``lambda_handler`` with the outcome API Gateway's caller should see.
(b) Every event the emulator and the test kit build has the same keys, value types and header casing as the real
    events of its kind (``tests/event_shapes.py`` says exactly what "the same" means).
"""

from __future__ import annotations

import copy
import json
import urllib.request
from datetime import UTC, datetime

import pytest
from websockets.sync.client import connect

from tests.aws_events import http_v2_event, rest_v1_event
from tests.emulator_support import RecordingHandler, running_emulator
from tests.event_shapes import captures, real_events, shape_differences
from websockets_app.models import WebSocketSession
from websockets_app.testing import WebSocketTestClient, connect_event, disconnect_event, message_event

# The captures come from APIs in us-east-1 and ap-northeast-1: the deployment there accepts its API's hostnames.
REAL_HOSTS = [".execute-api.us-east-1.amazonaws.com", ".execute-api.ap-northeast-1.amazonaws.com", "localhost"]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


@pytest.fixture
def real_hosts(settings):
    settings.ALLOWED_HOSTS = REAL_HOSTS


def capture(name):
    return copy.deepcopy(
        next(item["event"] for items in real_events().values() for item in items if item["file"] == name)
    )


def on_its_connection(name, lambda_handler):
    """A MESSAGE or DISCONNECT capture and the answer to it, once the real $connect capture opened its connection."""
    event = capture(name)
    opening = capture("websocket-connect-no-user-agent.json")
    context = event["requestContext"]
    opening["requestContext"].update(
        connectionId=context["connectionId"], connectedAt=context["connectedAt"], apiId=context["apiId"]
    )
    assert lambda_handler(opening, None)["statusCode"] == 200
    return event, lambda_handler(event, None)


def test_every_capture_names_its_source():
    for kind, items in real_events().items():
        for item in items:
            source = item["source"]
            assert {"repo", "path", "commit"} <= set(source) or source["url"].startswith("https://docs.aws.amazon.com/")
            assert item["event"], (kind, item["file"])
    assert set(real_events()) == {"CONNECT", "MESSAGE", "DISCONNECT", "REST_V1", "HTTP_V2"}


# (a) Each real event through lambda_handler.


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["websocket-connect-no-user-agent.json", "websocket-connect-aws-docs.json"])
def test_a_real_connect_opens_a_session(name, lambda_handler, real_hosts):
    event = capture(name)
    context = event["requestContext"]

    answer = lambda_handler(event, None)

    assert answer["statusCode"] == 200
    session = WebSocketSession.objects.get(connection_id=context["connectionId"])
    assert (session.connected, session.api_id, session.stage, session.domain_name, session.source_ip) == (
        True,
        context["apiId"],
        context["stage"],
        context["domainName"],
        context["identity"]["sourceIp"],
    )
    assert session.connected_at == datetime.fromtimestamp(context["connectedAt"] / 1000, tz=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "status", "body"),
    [
        # $default with a body that names no action; a route ("chat") the demo has no handler for.
        ("websocket-message-browser.json", 400, {"error": {"status": 400, "message": "No action given."}}),
        ("websocket-message-route.json", 400, {"error": {"status": 400, "message": "Unknown action: 'chat'."}}),
    ],
)
def test_a_real_message_reaches_the_view_of_its_connection(name, status, body, lambda_handler, real_hosts):
    _, answer = on_its_connection(name, lambda_handler)
    assert (answer["statusCode"], json.loads(answer["body"])) == (status, body)


@pytest.mark.django_db
def test_a_real_message_from_an_unknown_connection_is_refused_and_changes_nothing(lambda_handler, real_hosts):
    answer = lambda_handler(capture("websocket-message-browser.json"), None)

    assert answer["statusCode"] == 410
    assert not WebSocketSession.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "code", "reason"),
    [
        ("websocket-disconnect-browser.json", 1001, ""),
        ("websocket-disconnect-no-status.json", 1005, "Client-side close frame status not set"),
        ("websocket-disconnect-aws-docs.json", 1005, "Client-side close frame status not set"),
    ],
)
def test_a_real_disconnect_closes_the_session_with_its_code_and_reason(name, code, reason, lambda_handler, real_hosts):
    event, answer = on_its_connection(name, lambda_handler)
    assert answer["statusCode"] == 200
    session = WebSocketSession.objects.get(connection_id=event["requestContext"]["connectionId"])
    assert (session.connected, session.disconnect_status_code, session.disconnect_reason) == (False, code, reason)


@pytest.mark.django_db
def test_a_real_rest_request_to_an_unknown_path_is_django_s_404(lambda_handler, real_hosts):
    answer = lambda_handler(capture("rest-v1-postman.json"), None)

    assert answer["statusCode"] == 404


@pytest.mark.django_db
def test_a_real_http_api_request_for_the_root_is_the_chat_page(lambda_handler, settings):
    settings.ALLOWED_HOSTS = [".execute-api.us-west-2.amazonaws.com"]
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "URL": "wss://ws.example.com/prod"}

    answer = lambda_handler(capture("http-v2-curl.json"), None)

    assert answer["statusCode"] == 200
    assert "wss://ws.example.com/prod?channel=lobby" in answer["body"]


# (b) The events this project builds have the real events' shape.


@pytest.fixture
def emulator_events(settings, lambda_handler):
    """Every kind of event the emulator sends, from a browser-like client: connect, message, closes, HTTP."""
    recorder = RecordingHandler(lambda_handler)
    with running_emulator(settings, recorder) as emulator:
        url = f"ws://{emulator.app.api.domain_name}/?channel=room"
        with connect(url, origin="http://localhost:8000", user_agent_header=BROWSER) as websocket:
            websocket.send(json.dumps({"action": "whoami"}))
            recorder.wait_for(lambda event: event.get("body") == '{"action": "whoami"}')
            websocket.close(1001, "")
        with connect(url, user_agent_header=None) as websocket, websocket.send_context():
            websocket.protocol.send_close()  # a close frame without a status: code 1005
        for path in ("/", "/login/?next=/"):
            with urllib.request.urlopen(f"{emulator.url}{path}", timeout=10) as response:
                response.read()
        recorder.wait_for(lambda event: len(recorder.events("DISCONNECT")) == 2)
        recorder.wait_for(lambda event: event.get("path") == "/login/")
    return recorder


@pytest.mark.django_db(transaction=True)
def test_the_emulators_events_have_the_real_events_shape(emulator_events):
    kinds = {"CONNECT": [], "MESSAGE": [], "DISCONNECT": [], "REST_V1": []}
    for event, _ in emulator_events.calls:
        kinds[event["requestContext"].get("eventType", "REST_V1")].append(event)
    assert [len(events) for events in kinds.values()] == [2, 1, 2, 2]
    assert {kind: [shape_differences(event, kind) for event in events] for kind, events in kinds.items()} == {
        kind: [[]] * len(events) for kind, events in kinds.items()
    }


@pytest.mark.django_db(transaction=True)
def test_the_emulators_events_say_what_api_gateway_says(emulator_events):
    browser, script = emulator_events.events("CONNECT")
    # No hop-by-hop headers; the ones API Gateway adds; the handshake's user agent repeated, or no key at all.
    assert {"Upgrade", "Connection"} & set(browser["headers"]) == set()
    assert {"X-Amzn-Trace-Id", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto"} <= set(browser["headers"])
    assert browser["headers"]["Sec-WebSocket-Key"]
    (message,) = emulator_events.events("MESSAGE")
    first_close, second_close = sorted(
        emulator_events.events("DISCONNECT"), key=lambda event: event["requestContext"]["disconnectStatusCode"]
    )
    for event in (browser, message, first_close):
        assert event["requestContext"]["identity"]["userAgent"] == BROWSER
    for event in (script, second_close):
        assert "userAgent" not in event["requestContext"]["identity"]
    assert (
        second_close["requestContext"]["disconnectStatusCode"],
        second_close["requestContext"]["disconnectReason"],
    ) == (
        1005,
        "Client-side close frame status not set",
    )
    root, login = [event for event, _ in emulator_events.calls if "httpMethod" in event]
    assert (root["resource"], root["pathParameters"], root["requestContext"]["resourcePath"]) == ("/", None, "/")
    assert (login["resource"], login["pathParameters"]) == ("/{proxy+}", {"proxy": "login/"})
    for event in (browser, message, root):
        moment = datetime.fromtimestamp(event["requestContext"]["requestTimeEpoch"] / 1000, tz=UTC)
        assert event["requestContext"]["requestTime"] == moment.strftime("%d/%b/%Y:%H:%M:%S +0000")


def test_the_test_kits_events_have_the_real_events_shape():
    events = {
        "CONNECT": [connect_event(), connect_event(user_agent=BROWSER, cookies={"sessionid": "x"}, query={"a": "b"})],
        "MESSAGE": [message_event(body='{"action": "x"}'), message_event(user_agent=BROWSER)],
        "DISCONNECT": [disconnect_event(), disconnect_event(user_agent=BROWSER, status_code=1005)],
        "REST_V1": [rest_v1_event(), rest_v1_event(path="/chat/", method="POST", body="x")],
        "HTTP_V2": [http_v2_event(), http_v2_event(raw_path="/x", cookies=["a=b"])],
    }
    assert {kind: [shape_differences(event, kind) for event in built] for kind, built in events.items()} == {
        kind: [[], []] for kind in events
    }


@pytest.mark.django_db
def test_the_test_clients_events_have_the_real_events_shape(lambda_handler):
    recorder = RecordingHandler(lambda_handler)
    with WebSocketTestClient(recorder, user_agent=BROWSER) as client:
        connection = client.connect(channel="room")
        connection.send_json({"action": "whoami"})
        connection.disconnect(status_code=1005)
    kinds = [event["requestContext"]["eventType"] for event, _ in recorder.calls]
    assert kinds == ["CONNECT", "MESSAGE", "DISCONNECT"]
    assert [shape_differences(event, kind) for (event, _), kind in zip(recorder.calls, kinds, strict=True)] == [[]] * 3
    assert {event["requestContext"]["identity"].get("userAgent") for event, _ in recorder.calls} == {BROWSER}


@pytest.mark.parametrize("kind", ["CONNECT", "MESSAGE", "DISCONNECT", "REST_V1", "HTTP_V2"])
def test_each_real_event_has_the_shape_of_its_kind(kind):
    # The comparison itself: every capture passes against its own kind, and a doctored one does not.
    assert [shape_differences(event, kind) for event in captures(kind)] == [[]] * len(captures(kind))
    doctored = copy.deepcopy(captures(kind)[0])
    doctored["requestContext"]["identity" if "identity" in doctored["requestContext"] else "http"] = None
    doctored["unexpected"] = 1
    assert len(shape_differences(doctored, kind)) == 2
