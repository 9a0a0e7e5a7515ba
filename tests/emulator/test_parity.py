"""The emulator does what API Gateway does where that is inconvenient too: timeouts, malformed answers.

Each expectation names the AWS documentation it comes from.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.emulator_support import RecordingHandler, running_emulator
from websockets_app.emulator.connection_rate import ConnectionRate
from websockets_app.emulator.limits import Limits
from websockets_app.emulator.parity import Parity

pytestmark = pytest.mark.django_db(transaction=True)

# https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-integration-requests.html
# (the 29-second default integration timeout); shrunk here so the test does not wait 29 s.
SHORT_TIMEOUT = Limits(integration_timeout_seconds=0.3)


def ws_url(server, query=""):
    return f"ws://{server.app.api.domain_name}/{query}"


@pytest.fixture
def release():
    """Lets handlers that outlive the timeout finish when the test ends, as a Lambda would on its own."""
    event = threading.Event()
    yield event
    event.set()


def slow_on(predicate, lambda_handler, release):
    """The real handler, except for events ``predicate`` picks: those answer late, and without the database."""

    def handler(event, context):
        if predicate(event):
            release.wait(10)
            return {"statusCode": 200, "body": ""}
        return lambda_handler(event, context)

    return RecordingHandler(handler)


def test_a_message_the_lambda_does_not_answer_in_time_gets_api_gateways_timeout_frame(
    settings, lambda_handler, release
):
    recorder = slow_on(lambda event: event.get("body") == "slow", lambda_handler, release)
    with (
        running_emulator(settings, recorder, SHORT_TIMEOUT) as emulator,
        connect(ws_url(emulator)) as websocket,
    ):
        websocket.send("slow")
        frame = json.loads(websocket.recv(timeout=10))
        connect_event = recorder.events("CONNECT")[0]
    assert set(frame) == {"message", "connectionId", "requestId"}
    assert frame["message"] == "Endpoint request timed out"
    assert frame["connectionId"] == connect_event["requestContext"]["connectionId"]


def test_an_http_request_the_lambda_does_not_answer_in_time_gets_504(settings, lambda_handler, release):
    recorder = slow_on(lambda event: event.get("path") == "/login/", lambda_handler, release)
    with (
        running_emulator(settings, recorder, SHORT_TIMEOUT) as emulator,
        pytest.raises(urllib.error.HTTPError) as refused,
    ):
        urllib.request.urlopen(f"{emulator.url}/login/", timeout=10)
    assert refused.value.code == 504
    assert json.loads(refused.value.read()) == {"message": "Endpoint request timed out"}


def test_a_connect_the_lambda_does_not_answer_in_time_refuses_the_upgrade_with_504(settings, lambda_handler, release):
    recorder = slow_on(lambda event: event["requestContext"].get("eventType") == "CONNECT", lambda_handler, release)
    with (
        running_emulator(settings, recorder, SHORT_TIMEOUT) as emulator,
        pytest.raises(InvalidStatus) as refused,
        connect(ws_url(emulator)),
    ):
        pass
    assert refused.value.response.status_code == 504


def test_without_a_timeout_the_emulator_waits_for_the_lambda(settings, lambda_handler):
    def slowish(event, context):
        if event.get("body") == "slow":
            threading.Event().wait(0.5)
            return {"statusCode": "not a status"}  # malformed, so the client hears about it at all
        return lambda_handler(event, context)

    with (
        running_emulator(settings, RecordingHandler(slowish), Limits(integration_timeout_seconds=None)) as emulator,
        connect(ws_url(emulator)) as websocket,
    ):
        websocket.send("slow")
        frame = json.loads(websocket.recv(timeout=10))
    assert frame["message"] == "Internal server error"


@pytest.mark.parametrize(
    "answer",
    [
        "not a dict",
        {"body": "no status"},
        {"statusCode": "200"},
        {"statusCode": 200, "headers": ["a"]},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "multiValueHeaders": {"X-A": "not a list"}},
        {"statusCode": 200, "headers": {"X-Name": "caf\u00e9 \u2615"}},
    ],
)
def test_a_malformed_answer_to_an_http_request_is_api_gateways_502(settings, lambda_handler, answer):
    def malformed(event, context):
        return answer if "httpMethod" in event else lambda_handler(event, context)

    with (
        running_emulator(settings, RecordingHandler(malformed)) as emulator,
        pytest.raises(urllib.error.HTTPError) as refused,
    ):
        urllib.request.urlopen(f"{emulator.url}/", timeout=10)
    assert refused.value.code == 502
    assert json.loads(refused.value.read()) == {"message": "Internal server error"}


def test_a_malformed_answer_to_a_message_is_api_gateways_error_frame(settings, lambda_handler):
    def malformed(event, context):
        if event["requestContext"].get("eventType") == "MESSAGE":
            return ["not", "a", "response"]
        return lambda_handler(event, context)

    with (
        running_emulator(settings, RecordingHandler(malformed)) as emulator,
        connect(ws_url(emulator)) as websocket,
    ):
        websocket.send("hello")
        frame = json.loads(websocket.recv(timeout=10))
    assert frame["message"] == "Internal server error"
    assert set(frame) == {"message", "connectionId", "requestId"}


def test_the_emulator_behaves_as_aws_unless_the_settings_relax_it(settings):
    from websockets_app.emulator.server import bind, build_app

    sock = bind("127.0.0.1", 0)
    try:
        app = build_app(sock, lambda_handler=lambda event, context: None)
        assert (app.parity, app.limits.integration_timeout_seconds, app.limits.connections_per_second) == (
            Parity(ordered_messages=False, binary_frames=False, require_signature=True, throttle_share=0),
            29,
            500,
        )
        app.close()
        settings.WEBSOCKETS = {
            **settings.WEBSOCKETS,
            "EMULATOR_ORDERED_MESSAGES": True,
            "EMULATOR_BINARY_FRAMES": True,
            "EMULATOR_INTEGRATION_TIMEOUT": None,
            "EMULATOR_REQUIRE_SIGNATURE": False,
            "EMULATOR_THROTTLE_SHARE": 0.1,
            "EMULATOR_CONNECTIONS_PER_SECOND": None,
        }
        app = build_app(sock, lambda_handler=lambda event, context: None)
        assert (app.parity, app.limits.integration_timeout_seconds, app.limits.connections_per_second) == (
            Parity(ordered_messages=True, binary_frames=True, require_signature=False, throttle_share=0.1),
            None,
            None,
        )
        app.close()
    finally:
        sock.close()


# New connections per second ("Amazon API Gateway quotas": 500 per account and region), shrunk here to one
# connection every 5 s, so that the machine's speed cannot refill the bucket between two connects.


def test_connections_over_the_accounts_rate_are_refused_429_before_any_connect(settings, lambda_handler):
    recorder = RecordingHandler(lambda_handler)
    with (
        running_emulator(settings, recorder, Limits(connections_per_second=0.2)) as emulator,
        connect(ws_url(emulator)),
    ):
        with pytest.raises(InvalidStatus) as refused, connect(ws_url(emulator)):
            pass
        connects_seen = len(recorder.events("CONNECT"))
    assert refused.value.response.status_code == 429
    assert json.loads(refused.value.response.body) == {"message": "Too Many Requests"}
    assert connects_seen == 1


def test_the_connection_rate_is_a_token_bucket():
    now = [0.0]
    rate = ConnectionRate(3, clock=lambda: now[0])
    assert [rate.allow() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.34  # a third of a second: one token
    assert [rate.allow(), rate.allow()] == [True, False]
    now[0] = 10.0  # never more than a second's worth
    assert [rate.allow() for _ in range(4)] == [True, True, True, False]
    assert all(ConnectionRate(None).allow() for _ in range(1000))
    slow = ConnectionRate(0.2, clock=lambda: now[0])  # fewer than one a second: a bucket of one
    assert [slow.allow(), slow.allow()] == [True, False]
    now[0] += 5
    assert slow.allow()


def test_runserver_says_how_it_behaves_as_aws():
    from websockets_app.emulator.server import bind, build_app, parity_summary

    sock = bind("127.0.0.1", 0)
    app = build_app(sock, lambda_handler=lambda event, context: None, limits=Limits(), parity=Parity())
    relaxed = build_app(
        sock,
        lambda_handler=lambda event, context: None,
        limits=Limits(integration_timeout_seconds=None, connections_per_second=None),
        parity=Parity(ordered_messages=True, binary_frames=True, require_signature=False, throttle_share=0.25),
    )
    try:
        assert parity_summary(app) == (
            "messages unordered, binary frames closed (1003), 29 s integration timeout, "
            "SigV4 required on @connections, 500 new connections/s"
        )
        assert parity_summary(relaxed) == (
            "messages in order, binary frames passed on, no integration timeout, unsigned @connections accepted, "
            "25% of @connections calls throttled, no connection rate limit"
        )
    finally:
        app.close()
        relaxed.close()
        sock.close()


def test_the_emulators_connections_send_without_waiting_for_the_clients_ack():
    """API Gateway's answers are not held back by Nagle's algorithm: an answer written in two parts (uvicorn writes
    the head, then the body) would otherwise wait for the client's delayed ACK, 40 ms on Linux, on every post."""
    import socket

    from websockets_app.emulator.server import bind

    with bind("127.0.0.1", 0) as listening, socket.create_connection(listening.getsockname()):
        accepted, _ = listening.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
