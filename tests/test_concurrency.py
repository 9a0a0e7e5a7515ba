"""Connect, message and disconnect events racing each other on PostgreSQL, as concurrent Lambdas do."""

import json
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from tests.aws_events import STAGE, connect_event, disconnect_event, message_event
from tests.websocket_views import SlowConnectView
from websockets_app.models import WebSocketSession
from websockets_app.testing.connections_api import StubConnection, connections_api_stub

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.urls"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a database with row locks: PostgreSQL"),
]


def run_in_threads(lambda_handler, events, workers=8):
    def run(event):
        try:
            return lambda_handler(event, None)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, events))


@pytest.fixture
def no_rate_limits(settings):
    settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": None, "CONNECT_RATE_LIMIT_PER_USER": None}


def test_shuffled_lifecycles_lose_and_duplicate_nothing(lambda_handler, no_rate_limits):
    ids = [f"conn{n:03d}=" for n in range(60)]
    events = []
    for cid in ids:
        events.append(connect_event(connection_id=cid, query={"channel": "race"}))
        events.extend(message_event(connection_id=cid, body=json.dumps({"action": "echo", "n": n})) for n in range(3))
        events.append(disconnect_event(connection_id=cid))
    random.Random(1234).shuffle(events)

    responses = run_in_threads(lambda_handler, events)

    assert all(response["statusCode"] < 500 for response in responses)
    counts = Counter(WebSocketSession.objects.values_list("connection_id", flat=True))
    assert sorted(counts) == ids
    assert set(counts.values()) == {1}
    assert not WebSocketSession.objects.filter(connected=True).exists()


def test_broadcasts_interleaved_with_connects_and_disconnects(lambda_handler, settings):
    """Sends read rows that other threads are opening and closing: each lands once, on a connected row."""
    stub = connections_api_stub()
    settings.WEBSOCKETS = {
        "CONNECT_RATE_LIMIT_PER_IP": None,
        "CONNECT_RATE_LIMIT_PER_USER": None,
        "ENDPOINT_URL": f"{stub.url}/{STAGE}",
    }
    ids = [f"bc{n:03d}=" for n in range(40)]
    for cid in [*ids, "speaker="]:
        stub.open(StubConnection(connection_id=cid, source_ip="203.0.113.7"))
    lambda_handler(connect_event(connection_id="speaker=", query={"channel": "race"}), None)
    events = []
    for cid in ids:
        events.append(connect_event(connection_id=cid, query={"channel": "race"}))
        events.append(disconnect_event(connection_id=cid))
    events += [
        message_event(connection_id="speaker=", body=json.dumps({"action": "broadcast", "n": n})) for n in range(20)
    ]
    random.Random(99).shuffle(events)

    responses = run_in_threads(lambda_handler, events)

    assert all(response["statusCode"] < 500 for response in responses)
    broadcasts = [json.loads(r["body"]) for r in responses if r["body"].startswith('{"sent"')]
    assert len(broadcasts) == 20
    assert all(result["gone"] == 0 and result["failed"] == 0 for result in broadcasts)
    for cid in ids:
        received = [json.loads(message)["n"] for message in stub._open[cid].received]
        assert len(received) == len(set(received))  # never twice the same broadcast
        stub.close(cid)
    stub.close("speaker=")
    assert list(WebSocketSession.objects.filter(connected=True).values_list("connection_id", flat=True)) == ["speaker="]
    assert WebSocketSession.objects.count() == 41


def test_connects_without_disconnects_all_stay_connected(lambda_handler, no_rate_limits):
    events = [connect_event(connection_id=f"live{n:03d}=") for n in range(80)]
    events += [connect_event(connection_id=f"live{n:03d}=") for n in range(0, 80, 4)]  # API Gateway retrying

    responses = run_in_threads(lambda_handler, events)

    assert {response["statusCode"] for response in responses} == {200}
    assert WebSocketSession.objects.filter(connected=True).count() == 80
    assert WebSocketSession.objects.count() == 80


def test_disconnect_arriving_while_its_connect_is_unfinished(lambda_handler, settings):
    settings.WEBSOCKETS = {"PATH_PREFIX": "/slow/"}
    SlowConnectView.row_written.clear()
    SlowConnectView.may_finish.clear()
    results = {}

    def connect():
        results["connect"] = lambda_handler(connect_event(connection_id="overtaken="), None)
        connections.close_all()

    def disconnect():
        SlowConnectView.row_written.wait(timeout=10)
        timer = threading.Timer(0.2, SlowConnectView.may_finish.set)  # lets the disconnect reach the row lock
        timer.start()
        results["disconnect"] = lambda_handler(disconnect_event(connection_id="overtaken="), None)
        connections.close_all()

    threads = [threading.Thread(target=connect), threading.Thread(target=disconnect)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results == {"connect": {"statusCode": 200, "body": ""}, "disconnect": {"statusCode": 200, "body": ""}}
    assert list(WebSocketSession.objects.values_list("connection_id", "connected")) == [("overtaken=", False)]
