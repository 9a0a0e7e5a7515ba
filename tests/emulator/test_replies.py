"""The emulator answers the sender of a message as a two-way route on AWS does, read by a real WebSocket client."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

from tests.emulator_support import RecordingHandler, running_emulator
from websockets_app.emulator import app as emulator_app
from websockets_app.models import ApiGateway, ApiGatewayAdditionalRoute

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def emulator(settings, lambda_handler):
    with running_emulator(settings, RecordingHandler(lambda_handler)) as server:
        yield server


@pytest.fixture
def management_requests(monkeypatch):
    """Every request the emulator's @connections API answers, by method."""
    seen: list[str] = []
    answer = emulator_app.answer_connections_request

    async def counting(registry, *, method, **kwargs):
        seen.append(method)
        return await answer(registry, method=method, **kwargs)

    monkeypatch.setattr(emulator_app, "answer_connections_request", counting)
    return seen


def room(emulator, channel="replies"):
    return f"ws://{emulator.app.api.domain_name}/local?channel={channel}"


def test_the_handlers_answer_is_sent_back_byte_for_byte_with_the_id(emulator):
    with connect(room(emulator)) as websocket:
        websocket.send(json.dumps({"action": "whoami", "id": 1}))
        assert websocket.recv(timeout=10) == '{"id":1,"type": "whoami", "user": "anonymous", "channel": "replies"}'
        websocket.send(json.dumps({"action": "whoami"}))
        assert websocket.recv(timeout=10) == '{"type": "whoami", "user": "anonymous", "channel": "replies"}'


def test_a_handler_returning_nothing_is_answered_with_the_empty_message_aws_sends(emulator):
    with connect(room(emulator)) as websocket:
        websocket.send(json.dumps({"action": "sendmessage", "message": "hello"}))
        # The demo's rooms keep history: the broadcast arrives numbered, its data as sent.
        broadcast = json.loads(websocket.recv(timeout=10))
        assert broadcast["data"] == {"type": "message", "user": "anonymous", "message": "hello"}
        assert websocket.recv(timeout=10) == ""
        websocket.send(json.dumps({"action": "sendmessage", "message": "asked", "id": "s"}))
        broadcast = json.loads(websocket.recv(timeout=10))
        assert broadcast["data"] == {"type": "message", "user": "anonymous", "message": "asked"}
        assert websocket.recv(timeout=10) == '{"id":"s","reply":null}'


@pytest.mark.parametrize(
    ("message", "frame"),
    [
        (
            {"action": "sendmessage", "message": " ", "id": 3},
            {"error": {"status": 400, "message": "message must be a non-empty string."}, "id": 3},
        ),
        (
            {"action": "sendmessage", "message": "x" * 2001},
            {"error": {"status": 400, "message": "message must be at most 2000 characters."}},
        ),
        ({"action": "nope", "id": "n"}, {"error": {"status": 400, "message": "Unknown action: 'nope'."}, "id": "n"}),
        (
            {"action": "whoami", "id": ["not", "an", "id"]},
            {
                "error": {
                    "status": 400,
                    "message": '"id" must be a string of 1 to 128 characters or an integer of at most '
                    "9007199254740991 in size.",
                }
            },
        ),
    ],
)
def test_refusals_arrive_as_one_error_frame(emulator, message, frame):
    with connect(room(emulator)) as websocket:
        websocket.send(json.dumps(message))
        assert json.loads(websocket.recv(timeout=10)) == frame


def test_text_that_is_not_json_is_told_so(emulator):
    with connect(room(emulator)) as websocket:
        websocket.send("hello?")
        assert json.loads(websocket.recv(timeout=10)) == {
            "error": {"status": 400, "message": "The message is not JSON: send a JSON object with an action."}
        }


def test_a_reply_costs_no_management_api_request(emulator, management_requests):
    with connect(room(emulator, "alone")) as websocket:
        websocket.send(json.dumps({"action": "whoami", "id": 1}))
        assert json.loads(websocket.recv(timeout=10))["id"] == 1
        assert management_requests == []
        # The same answer sent with send_message (a broadcast to the one member) costs one request.
        websocket.send(json.dumps({"action": "sendmessage", "message": "to myself"}))
        assert json.loads(websocket.recv(timeout=10))["data"]["message"] == "to myself"
        assert websocket.recv(timeout=10) == ""
    assert management_requests == ["POST"]


def test_routes_provisioned_one_way_send_nothing_back(settings, lambda_handler):
    api = ApiGateway.objects.create(api_name="chat", stage_name="local", two_way=False)
    ApiGatewayAdditionalRoute.objects.create(api_gateway=api, route_key="whoami")
    recorder = RecordingHandler(lambda_handler)
    with running_emulator(settings, recorder) as emulator, connect(room(emulator)) as websocket:
        assert emulator.app.one_way_routes == frozenset({"$default"})
        websocket.send(json.dumps({"action": "nope", "id": 1}))  # to $default: answered 400, which AWS drops
        recorder.wait_for(lambda event: event.get("body") == '{"action": "nope", "id": 1}')
        websocket.send(json.dumps({"action": "whoami", "id": 2}))  # its own route, two-way
        assert json.loads(websocket.recv(timeout=10)) == {
            "id": 2,
            "type": "whoami",
            "user": "anonymous",
            "channel": "replies",
        }
    [(_, refused)] = [call for call in recorder.calls if call[0].get("body") == '{"action": "nope", "id": 1}']
    assert refused["statusCode"] == 400
