"""Broadcasts to one channel from concurrent Lambdas (threads with their own PostgreSQL connections).

Their numbers must come out gap-free and strictly increasing, and no reader may ever see a number before the one
that precedes it is committed (else a resuming client would skip it for good).
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from tests.aws_events import STAGE, connect_event, message_event
from websockets_app.channels.history import replay_frame
from websockets_app.models import ChannelMessage
from websockets_app.testing.connections_api import StubConnection, connections_api_stub

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers: PostgreSQL"),
]

SPEAKERS = 6
MESSAGES_EACH = 25
TOTAL = SPEAKERS * MESSAGES_EACH


@pytest.fixture
def stub(settings):
    stub = connections_api_stub()
    settings.WEBSOCKETS = {
        **settings.WEBSOCKETS,
        "CONNECT_RATE_LIMIT_PER_IP": None,
        "CONNECT_RATE_LIMIT_PER_USER": None,
        "ENDPOINT_URL": f"{stub.url}/{STAGE}",
        "HISTORY_CHANNELS": ["race"],
        "HISTORY_REPLAY_LIMIT": 1000,
        "PRESENCE_EVENTS_CHANNELS": (),
    }
    yield stub
    for cid in [*speakers(), "listener="]:
        stub.close(cid)


def speakers():
    return [f"speaker{n}=" for n in range(SPEAKERS)]


def test_concurrent_broadcasts_are_numbered_without_gaps_in_commit_order(lambda_handler, stub):
    for cid in [*speakers(), "listener="]:
        stub.open(StubConnection(connection_id=cid, source_ip="203.0.113.7"))
        assert lambda_handler(connect_event(connection_id=cid, query={"channel": "race"}), None)["statusCode"] == 200
    events = [
        message_event(connection_id=cid, body=json.dumps({"action": "sendmessage", "message": f"{cid} {n}"}))
        for n in range(MESSAGES_EACH)
        for cid in speakers()
    ]
    snapshots: list[list[int]] = []
    done = threading.Event()

    def read_while_writing():
        # What a client resuming from 0 would be told, again and again while the broadcasts commit.
        try:
            while not done.is_set():
                replay = json.loads(replay_frame("race", after=0))
                snapshots.append([message["seq"] for message in replay["messages"]])
        finally:
            connections.close_all()

    def run(event):
        try:
            return lambda_handler(event, None)
        finally:
            connections.close_all()

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    with ThreadPoolExecutor(max_workers=SPEAKERS) as pool:
        responses = list(pool.map(run, events))
    done.set()
    reader.join(timeout=30)

    assert {response["statusCode"] for response in responses} == {200}
    rows = list(ChannelMessage.objects.order_by("pk").values_list("seq", "frame"))
    # Gap-free and strictly increasing, in the order the rows were written.
    assert [seq for seq, _ in rows] == list(range(1, TOTAL + 1))
    # Every message once (a connection's messages may be handled in any order, on AWS as here).
    texts = [json.loads(frame)["data"]["message"] for _, frame in rows]
    assert sorted(texts) == sorted(f"{cid} {n}" for cid in speakers() for n in range(MESSAGES_EACH))
    # A reader only ever saw a prefix 1..k: never a number whose predecessor was not yet committed.
    assert len(snapshots) > 1
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in snapshots)
    # The listener got each broadcast once, numbered as stored.
    received = sorted(json.loads(frame)["seq"] for frame in stub._open["listener="].received)
    assert received == list(range(1, TOTAL + 1))
