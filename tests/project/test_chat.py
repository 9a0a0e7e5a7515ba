"""The demo chat: its page through the real lambda_handler, its protocol through the emulator."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from websockets.sync.client import connect

from tests.aws_events import rest_v1_event
from tests.emulator_support import RecordingHandler, running_emulator

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _websocket_url(settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "URL": "wss://ws.example.com"}


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


def chat_message(frame):
    """What a numbered chat frame says, without the number, id and time it was given."""
    assert set(frame) == {"history", "channel", "seq", "id", "at", "data"}
    return frame["history"], frame["channel"], frame["seq"], frame["data"]


@pytest.mark.django_db(transaction=True)
def test_everyone_in_the_room_gets_each_message_the_sender_included(settings, lambda_handler):
    client = Client()
    alice_user = get_user_model().objects.create_user("alice", password="secret-pass-123")
    client.force_login(alice_user)
    alice_cookie = f"sessionid={client.cookies['sessionid'].value}"
    with running_emulator(settings, RecordingHandler(lambda_handler)) as emulator:
        room = f"ws://{emulator.app.api.domain_name}/local?channel="
        with connect(room + "room-1", additional_headers={"Cookie": alice_cookie}) as alice:
            alice.send(json.dumps({"action": "presence"}))  # answered by the view itself, as its reply
            assert json.loads(alice.recv(timeout=10)) == {
                "presence": "state",
                "channel": "room-1",
                "users": [{"id": alice_user.pk, "name": "alice", "connections": 1}],
                "anonymous": 0,
            }
            with connect(room + "room-1") as anonymous, connect(room + "room-2") as elsewhere:
                # The room is told who arrived (the newcomer, still in $connect, is not).
                assert json.loads(alice.recv(timeout=10)) == {"presence": "joined", "channel": "room-1", "user": None}
                alice.send(json.dumps({"action": "sendmessage", "message": "hello room"}))
                expected = ("message", "room-1", 1, {"type": "message", "user": "alice", "message": "hello room"})
                assert chat_message(json.loads(alice.recv(timeout=10))) == expected
                assert chat_message(json.loads(anonymous.recv(timeout=10))) == expected
                # sendmessage returns nothing: on its two-way route the sender gets the empty message AWS sends.
                assert alice.recv(timeout=10) == ""
                anonymous.send(json.dumps({"action": "sendmessage", "message": "hi alice"}))
                expected = ("message", "room-1", 2, {"type": "message", "user": "anonymous", "message": "hi alice"})
                assert chat_message(json.loads(alice.recv(timeout=10))) == expected
                assert chat_message(json.loads(anonymous.recv(timeout=10))) == expected
                assert anonymous.recv(timeout=10) == ""
                # Had room-1's messages reached room-2, they would arrive before room-2's own.
                elsewhere.send(json.dumps({"action": "sendmessage", "message": "anyone?"}))
                assert chat_message(json.loads(elsewhere.recv(timeout=10))) == (
                    "message",
                    "room-2",
                    1,
                    {"type": "message", "user": "anonymous", "message": "anyone?"},
                )
            # The anonymous tab left: the room is told.
            assert json.loads(alice.recv(timeout=10)) == {"presence": "left", "channel": "room-1", "user": None}
