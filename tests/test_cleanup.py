"""clear_websocket_sessions: closes what API Gateway has certainly closed, deletes closed rows, says what it did."""

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models.signals import post_delete
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from websockets_app import cleanup
from websockets_app.cleanup import STALE_REASON, scheduled
from websockets_app.models import (
    Broadcast,
    BroadcastBatch,
    MessageClock,
    WebSocketChannelMembership,
    WebSocketSession,
)

pytestmark = pytest.mark.django_db


def session(connection_id: str, *, age: timedelta, idle: timedelta, closed_for: timedelta | None = None):
    now = timezone.now()
    return WebSocketSession.objects.create(
        connection_id=connection_id,
        connected=closed_for is None,
        connected_at=now - age,
        last_seen_at=now - idle,
        disconnected_at=None if closed_for is None else now - closed_for,
    )


@pytest.fixture
def sessions():
    session("live=", age=timedelta(minutes=30), idle=timedelta(minutes=9))
    session("idle=", age=timedelta(minutes=30), idle=timedelta(minutes=11, seconds=5))
    session("idle-within-resolution=", age=timedelta(minutes=30), idle=timedelta(minutes=10, seconds=30))
    session("too-old=", age=timedelta(hours=2, minutes=1), idle=timedelta(seconds=5))
    session("closed-today=", age=timedelta(hours=3), idle=timedelta(hours=3), closed_for=timedelta(hours=1))
    session("closed-last-week=", age=timedelta(days=8), idle=timedelta(days=8), closed_for=timedelta(days=8))


def run(*args: str) -> str:
    out = StringIO()
    call_command("clear_websocket_sessions", *args, stdout=out)
    return out.getvalue()


def remaining() -> dict[str, bool]:
    return dict(WebSocketSession.objects.order_by("connection_id").values_list("connection_id", "connected"))


def test_closes_stale_sessions_and_deletes_every_closed_one(sessions):
    assert run() == "Marked 2 stale session(s) closed.\nDeleted 4 closed session(s).\n"

    assert remaining() == {"idle-within-resolution=": True, "live=": True}


def test_keep_days_keeps_recently_closed_rows_and_closes_stale_ones(sessions):
    output = run("--keep-days", "7")

    assert output == (
        "Marked 2 stale session(s) closed.\nDeleted 1 closed session(s) (keeping those closed in the last 7 days).\n"
    )
    assert remaining() == {
        "closed-today=": False,
        "idle-within-resolution=": True,
        "idle=": False,
        "live=": True,
        "too-old=": False,
    }
    assert set(
        WebSocketSession.objects.filter(disconnect_reason=STALE_REASON).values_list("connection_id", flat=True)
    ) == {
        "idle=",
        "too-old=",
    }


def test_dry_run_changes_nothing_and_says_what_it_would_do(sessions):
    before = remaining()

    assert run("--dry-run") == "Would mark 2 stale session(s) closed.\nWould delete 4 closed session(s).\n"
    assert run("--dry-run", "--keep-days", "7") == (
        "Would mark 2 stale session(s) closed.\n"
        "Would delete 1 closed session(s) (keeping those closed in the last 7 days).\n"
    )
    assert remaining() == before


def test_closed_rows_without_a_close_time_count_as_old(sessions):
    WebSocketSession.objects.create(connection_id="tombstone=", connected=False, disconnected_at=None)

    run("--keep-days", "7")

    assert "tombstone=" not in remaining()


def test_nothing_to_do_is_said_plainly():
    assert run() == "Marked 0 stale session(s) closed.\nDeleted 0 closed session(s).\n"


def test_negative_keep_days_is_refused():
    with pytest.raises(CommandError, match=r"--keep-days must be 0 or more\."):
        run("--keep-days", "-1")


def test_zappa_schedule_entry_point_reads_its_kwargs(sessions):
    assert scheduled({"detail-type": "Scheduled Event", "kwargs": {"keep_days": 7}}, None) == {
        "marked_closed": 2,
        "deleted": 1,
        "tokens_deleted": 0,
        "counters_deleted": 0,
        "history_deleted": 0,
    }
    assert scheduled({"detail-type": "Scheduled Event", "kwargs": {}}, None) == {
        "marked_closed": 0,
        "deleted": 3,
        "tokens_deleted": 0,
        "counters_deleted": 0,
        "history_deleted": 0,
    }


def test_closed_rows_go_in_chunks_with_their_memberships_and_no_row_is_loaded(monkeypatch):
    monkeypatch.setattr(cleanup, "DELETE_CHUNK", 2)
    now = timezone.now()
    live = session("live=", age=timedelta(minutes=1), idle=timedelta(seconds=1))
    live.join("lobby")
    for n in range(5):
        session(f"closed-{n}=", age=timedelta(hours=1), idle=timedelta(hours=1), closed_for=timedelta(minutes=1)).join(
            "lobby"
        )

    with CaptureQueriesContext(connection) as queries:
        result = cleanup.clear_sessions(now=now)

    assert result == cleanup.CleanupResult(marked_closed=0, deleted=5)
    assert remaining() == {"live=": True}
    assert list(WebSocketChannelMembership.objects.values_list("session__connection_id", "channel_name")) == [
        ("live=", "lobby")
    ]
    statements = [
        query["sql"].split()[0] + " " + query["sql"].split('"')[1] for query in queries if '"' in query["sql"]
    ]
    session_table, membership_table = WebSocketSession._meta.db_table, WebSocketChannelMembership._meta.db_table
    assert statements.count(f"DELETE {session_table}") == 3  # 2 + 2 + 1
    assert statements.count(f"DELETE {membership_table}") == 3
    # One key per chunk is read, never a row: the end of its key range.
    reads = [query["sql"] for query in queries if query["sql"].startswith("SELECT") and session_table in query["sql"]]
    assert [read.split(" FROM ")[0] for read in reads] == [f'SELECT "{session_table}"."id" AS "pk"'] * 3
    assert all(read.endswith("LIMIT 1 OFFSET 1") for read in reads)


def test_delete_signals_still_reach_their_receivers(sessions):
    deleted = []

    def record(sender, instance, **kwargs):
        deleted.append(instance.connection_id)

    post_delete.connect(record, sender=WebSocketSession)
    try:
        assert run() == "Marked 2 stale session(s) closed.\nDeleted 4 closed session(s).\n"
    finally:
        post_delete.disconnect(record, sender=WebSocketSession)
    assert sorted(deleted) == ["closed-last-week=", "closed-today=", "idle=", "too-old="]


@pytest.mark.parametrize(
    ("old_name", "new_name"),
    [
        ("clearWebSocketSessions", "clear_websocket_sessions"),
        ("createApiGateway", "create_api_gateway"),
        ("createCustomDomain", "create_custom_domain"),
    ],
)
def test_the_camel_case_names_of_01_are_aliases_of_the_commands(old_name, new_name):
    from django.core.management import get_commands, load_command_class

    assert get_commands()[old_name] == get_commands()[new_name] == "websockets_app"
    assert type(load_command_class("websockets_app", old_name)) is type(load_command_class("websockets_app", new_name))


@pytest.mark.django_db
def test_clearwebsocketsessions_still_runs_under_its_01_name():
    out = StringIO()
    call_command("clearWebSocketSessions", "--dry-run", stdout=out)
    assert out.getvalue() == "Would mark 0 stale session(s) closed.\nWould delete 0 closed session(s).\n"


@pytest.mark.django_db(transaction=True)  # the database checks its foreign keys at commit
def test_a_closed_connections_message_clock_goes_with_it():
    closed = session("closed=", age=timedelta(hours=3), idle=timedelta(hours=3), closed_for=timedelta(hours=1))
    live = session("live=", age=timedelta(minutes=3), idle=timedelta(minutes=1))
    MessageClock.objects.create(session=closed, clock=1)
    MessageClock.objects.create(session=live, clock=2)

    assert run() == "Marked 0 stale session(s) closed.\nDeleted 1 closed session(s).\n"

    assert list(MessageClock.objects.values_list("session__connection_id", "clock")) == [("live=", 2)]


def test_broadcast_records_are_kept_a_week_and_their_batches_a_day():
    now = timezone.now()
    for days in (8, 2):
        broadcast = Broadcast.objects.create(
            payload=b"{}", started_at=now - timedelta(days=days), deadline=now - timedelta(days=days)
        )
        BroadcastBatch.objects.create(
            id=uuid.uuid4(), broadcast=broadcast, keys="1,2", created_at=now - timedelta(days=days)
        )

    run()

    assert [(now - started).days for started in Broadcast.objects.values_list("started_at", flat=True)] == [2]
    assert BroadcastBatch.objects.count() == 0
