"""Each connection's messages are rate-limited in the query that loads it; a connection that keeps flooding is closed.

Time is frozen or stepped by the test (``timezone.now``), never measured: every count here is exact.
"""

import json
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.aws_events import API_ID, REGION, STAGE, connect_event, message_event
from tests.test_concurrency import run_in_threads
from websockets_app.events import session_lookup
from websockets_app.models import MessageClock, WebSocketChannelMembership, WebSocketSession

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.urls")]

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ENDPOINT = f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{STAGE}"
SLOW_DOWN = {"error": {"status": 429, "message": "Too many messages: slow down."}}
CLOSED = {"error": {"status": 429, "message": "Too many messages: this connection is closed."}}
GONE = {"error": {"status": 410, "message": "Gone: unknown or closed connection."}}


class Clock:
    """``timezone.now`` as the test sets it."""

    def __init__(self, monkeypatch) -> None:
        self.now = START
        monkeypatch.setattr("django.utils.timezone.now", lambda: self.now)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def connect(lambda_handler, connections_api):
    def connect(connection_id: str) -> None:
        connections_api.open(connection_id)
        assert lambda_handler(connect_event(connection_id=connection_id), None)["statusCode"] == 200

    return connect


def send(lambda_handler, connection_id: str, body: str = '{"action": "echo"}') -> dict:
    answer = lambda_handler(message_event(connection_id=connection_id, body=body), None)
    return {"statusCode": 200} if answer["statusCode"] == 200 else json.loads(answer["body"])


def test_a_flood_of_200_in_one_second_runs_the_handler_31_times_and_another_connection_is_served(
    lambda_handler, connections_api, connect, clock
):
    connect("flood=")
    connect("calm=")
    flood, calm = [], []

    for n in range(200):  # one message every 5 ms; the calm connection sends one every 50 ms in the same second
        flood.append(send(lambda_handler, "flood="))
        if n % 10 == 0:
            calm.append(send(lambda_handler, "calm="))
        clock.advance(milliseconds=5)

    # The default, 30 at once and 30 more every 3 s: each message moves the connection's clock 100 ms on, and is
    # handled while that clock is at most 3 s ahead of now. Message n (from 0) moves it to 100 * (n + 1) ms at
    # 5 * n ms: handled up to n = 30 (3,050 - 150 <= 3,000), refused up to n = 62 (the clock at most 6 s ahead; refused
    # messages move it too), and message 63 closes the connection; the rest find it closed.
    assert flood == [{"statusCode": 200}] * 31 + [SLOW_DOWN] * 32 + [CLOSED] + [GONE] * 136
    assert flood.count({"statusCode": 200}) <= 50
    assert calm == [{"statusCode": 200}] * 20
    assert WebSocketSession.objects.get(connection_id="flood=").disconnect_reason == (
        "Closed by the server: it kept sending more messages than its rate limit allows."
    )
    assert connections_api.requests == [("DELETE", f"{ENDPOINT}/@connections/flood=")]
    assert WebSocketSession.objects.get(connection_id="calm=").connected


def test_messages_over_the_limit_are_refused_before_their_handler_runs_with_their_id(
    lambda_handler, settings, connect, clock
):
    settings.WEBSOCKETS = {"PATH_PREFIX": "/replies/", "MESSAGE_RATE_LIMIT": (2, 10)}
    connect("r=")
    send(lambda_handler, "r=", '{"action": "text"}')
    send(lambda_handler, "r=", '{"action": "text"}')

    answer = lambda_handler(message_event(connection_id="r=", body='{"action": "join", "id": 7}'), None)

    assert answer == {
        "statusCode": 429,
        "body": '{"error":{"status":429,"message":"Too many messages: slow down."},"id":7}',
    }
    assert not WebSocketChannelMembership.objects.exists()  # join_channel never ran


def test_slowing_down_lets_messages_through_again(lambda_handler, settings, connect, clock):
    settings.WEBSOCKETS = {"MESSAGE_RATE_LIMIT": (2, 10)}  # a message moves the clock 5 s on; handled up to 10 s ahead
    connect("s=")
    answers = [send(lambda_handler, "s=") for _ in range(3)]  # the clock 5, 10, then 15 s ahead: refused
    clock.advance(seconds=9.9)
    answers.append(send(lambda_handler, "s="))  # moves it from 15 to 20 s: 10.1 s ahead, refused
    clock.advance(seconds=5.1)
    answers.append(send(lambda_handler, "s="))  # at 15 s, from 20 to 25: 10 s ahead, handled
    clock.advance(seconds=25)
    answers += [send(lambda_handler, "s=") for _ in range(3)]  # at 40 s the bucket is full again: two at once

    assert answers == [{"statusCode": 200}] * 2 + [SLOW_DOWN] * 2 + [{"statusCode": 200}] * 3 + [SLOW_DOWN]


def test_a_refusal_and_the_count_cost_no_query_of_their_own(lambda_handler, settings, connect, clock):
    settings.WEBSOCKETS = {"MESSAGE_RATE_LIMIT": (1, 60)}
    connect("q=")
    counted = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            counted.append(send(lambda_handler, "q="))
        counted.append(len(queries))

    assert counted == [{"statusCode": 200}, 1, SLOW_DOWN, 1]


def test_refusals_are_not_logged_one_by_one_but_the_close_is(lambda_handler, settings, connect, clock, caplog):
    settings.WEBSOCKETS = {"MESSAGE_RATE_LIMIT": (1, 60)}
    connect("l=")

    with caplog.at_level(logging.INFO):
        answers = [send(lambda_handler, "l=") for _ in range(3)]

    assert answers == [{"statusCode": 200}, SLOW_DOWN, CLOSED]
    assert [(record.name, record.levelname, record.getMessage()) for record in caplog.records] == [
        (
            "websockets_app.views",
            "WARNING",
            "Connection l= closed: it kept sending past MESSAGE_RATE_LIMIT (1, 60)",
        )
    ]


def test_the_limit_can_be_turned_off(lambda_handler, settings, connect, clock):
    settings.WEBSOCKETS = {"MESSAGE_RATE_LIMIT": None}
    connect("off=")

    assert {json.dumps(send(lambda_handler, "off=")) for _ in range(100)} == {'{"statusCode": 200}'}


def test_databases_without_upserts_returning_rows_count_the_same(lambda_handler, settings, connect, clock, monkeypatch):
    monkeypatch.setattr(session_lookup, "COUNTING_VENDORS", frozenset())
    settings.WEBSOCKETS = {"MESSAGE_RATE_LIMIT": (2, 10)}
    connect("orm=")

    answers = [send(lambda_handler, "orm=") for _ in range(6)]

    assert answers == [{"statusCode": 200}] * 2 + [SLOW_DOWN] * 2 + [CLOSED, GONE]


def test_the_clock_lives_apart_from_the_connections_row(lambda_handler, connect, clock):
    connect("apart=")
    before = WebSocketSession.objects.values().get(connection_id="apart=")

    answers = [send(lambda_handler, "apart=") for _ in range(3)]

    assert answers == [{"statusCode": 200}] * 3
    assert WebSocketSession.objects.values().get(connection_id="apart=") == before  # not rewritten by messages
    # Three messages at one instant: the clock 3 x 100 ms past it, in microseconds since 1970.
    assert MessageClock.objects.get(session__connection_id="apart=").clock == (START.timestamp() + 0.3) * 1_000_000


@pytest.mark.skipif(connection.vendor != "postgresql", reason="UNLOGGED tables: PostgreSQL")
def test_clocks_stay_out_of_postgresqls_write_ahead_log():
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = %s", [MessageClock._meta.db_table])
        assert cursor.fetchone() == ("u",)  # UNLOGGED: a count commits without waiting for the disk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a database with row locks: PostgreSQL")
def test_concurrent_messages_of_one_connection_are_counted_one_after_another(lambda_handler, settings, connect, clock):
    settings.WEBSOCKETS = {"MESSAGE_RATE_LIMIT": (10, 60)}
    connect("race=")

    answers = run_in_threads(lambda_handler, [message_event(connection_id="race=", body="{}") for _ in range(40)])

    outcomes = Counter(answer["statusCode"] if answer["statusCode"] != 429 else answer["body"] for answer in answers)
    assert outcomes[200] == 10
    assert outcomes[json.dumps(SLOW_DOWN, separators=(",", ":"))] == 10
    # The 21st closes the connection; the others either saw it closed (410) or also found it flooding.
    closed = outcomes[json.dumps(CLOSED, separators=(",", ":"))]
    assert closed >= 1
    assert closed + outcomes[410] == 20
