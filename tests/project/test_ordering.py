"""The project is correct when a connection's messages arrive in any order, as they may on AWS.

API Gateway invokes the Lambda once per message with no ordering guarantee, and the emulator does the same by
default: "send join, then send to the room" races there. These tests show the race is real locally (so it cannot
hide until production) and that the project's own patterns do not depend on the order.
"""

from __future__ import annotations

import json
import threading

import pytest
from websockets.sync.client import connect

from tests.emulator_support import RecordingHandler, running_emulator
from websockets_app.emulator.parity import Parity

pytestmark = pytest.mark.django_db(transaction=True)


def frames(websocket, *, until=None, timeout=10.0):
    """Every JSON frame received until ``until`` matches one (or, without ``until``, until ``timeout`` passes).

    Empty frames are skipped, as the browser client skips them: API Gateway's answer to a handler that replied
    nothing on a two-way route.
    """
    received = []
    while True:
        try:
            frame = websocket.recv(timeout=timeout)
        except TimeoutError:
            return received
        if frame:
            received.append(json.loads(frame))
            if until is not None and until(received[-1]):
                return received


def slow_joins(lambda_handler):
    """The real handler; a ``join`` takes a moment, as a database under load or a cold start would make it."""

    def handler(event, context):
        if '"join"' in (event.get("body") or ""):
            threading.Event().wait(0.5)
        return lambda_handler(event, context)

    return RecordingHandler(handler)


@pytest.fixture
def rooms(settings):
    settings.ROOT_URLCONF = "tests.ordering_urls"


def test_send_right_after_a_runtime_join_can_overtake_it_as_on_aws(settings, lambda_handler, rooms):
    recorder = slow_joins(lambda_handler)
    with running_emulator(settings, recorder) as emulator, connect(f"ws://{emulator.app.api.domain_name}/") as ws:
        ws.send(json.dumps({"action": "join", "channel": "room"}))
        ws.send(json.dumps({"action": "say", "channel": "room", "text": "too early"}))
        received = frames(ws, until=lambda frame: frame["type"] == "joined", timeout=10)
        received += frames(ws, timeout=1)  # anything "say" sent would have come before the join's answer
    # "say" ran while "join" was still running: the connection was not in the room yet. (The join's reply is the
    # answer to the join message itself, so it comes whatever the order.)
    assert received == [{"type": "joined", "channel": "room"}]
    assert [json.loads(event["body"])["action"] for event in recorder.events("MESSAGE")] == ["say", "join"]


def test_ordered_delivery_would_hide_that_race(settings, lambda_handler, rooms):
    recorder = slow_joins(lambda_handler)
    with (
        running_emulator(settings, recorder, parity=Parity(ordered_messages=True)) as emulator,
        connect(f"ws://{emulator.app.api.domain_name}/") as ws,
    ):
        ws.send(json.dumps({"action": "join", "channel": "room"}))
        ws.send(json.dumps({"action": "say", "channel": "room", "text": "in order"}))
        received = frames(ws, until=lambda frame: frame["type"] == "said")
    assert received == [{"type": "joined", "channel": "room"}, {"type": "said", "text": "in order"}]


def test_waiting_for_the_joins_answer_before_sending_is_correct_in_any_order(settings, lambda_handler, rooms):
    recorder = slow_joins(lambda_handler)
    with running_emulator(settings, recorder) as emulator, connect(f"ws://{emulator.app.api.domain_name}/") as ws:
        ws.send(json.dumps({"action": "join", "channel": "room"}))
        joined = frames(ws, until=lambda frame: frame["type"] == "joined", timeout=10)
        ws.send(json.dumps({"action": "say", "channel": "room", "text": "after the join"}))
        said = frames(ws, until=lambda frame: frame["type"] == "said", timeout=10)
    assert (joined, said) == ([{"type": "joined", "channel": "room"}], [{"type": "said", "text": "after the join"}])


def test_the_demo_chat_joins_on_connect_so_its_first_messages_reach_the_room(settings, lambda_handler):
    # The demo's room comes with ?channel= and is joined during $connect, which API Gateway (and the emulator)
    # answers before any message of the connection is handled: sending at once, many at a time, is safe.
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "URL": "wss://ws.example.com"}
    with running_emulator(settings, RecordingHandler(lambda_handler)) as emulator:
        room = f"ws://{emulator.app.api.domain_name}/?channel=room-1"
        with connect(room) as listener, connect(room) as sender:
            for number in range(20):
                sender.send(json.dumps({"action": "sendmessage", "message": f"message {number}"}))
            # The demo's rooms keep history and announce arrivals: the listener hears of the sender first, then
            # gets each message numbered (docs/topics/history-presence.md), its data as sent.
            heard = [frames(listener, until=lambda frame: True, timeout=10)[0] for _ in range(21)]
    assert heard[0] == {"presence": "joined", "channel": "room-1", "user": None}
    received = [frame["data"] for frame in heard[1:]]
    assert sorted(frame["message"] for frame in received) == sorted(f"message {number}" for number in range(20))
    assert {frame["type"] for frame in received} == {"message"}
