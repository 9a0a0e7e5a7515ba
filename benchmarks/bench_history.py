"""Channel history and presence: what they cost, side by side with what the app does without them.

1. A broadcast to a channel with history against the same broadcast to a channel without (the extra cost is the
   numbering transaction: it does not grow with the members, so it is measured with none, then with 20 members on
   a local management-API stub).
2. A client that missed 100 messages asks for them: the whole MESSAGE event through ``lambda_handler`` (queries,
   ms) against a heartbeat, the cheapest event on the same path.
3. ``presence(channel)`` with 100,000 session rows in the table: the query plan and ms, against the same members
   read alone through ``in_channel()``, as a broadcast reads them (no user columns).

    PYTHONPATH=. python benchmarks/bench_history.py   # SQLite; BENCH_DATABASE_URL=postgres://... for PostgreSQL
"""

import json
import os
import sys
from datetime import timedelta
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import expect, report, setup_django, side_by_side

SESSION_ROWS = 100_000
ROOM_CONNECTIONS = 300
MISSED = 100
CHAT_MESSAGE = {"type": "message", "user": "alice", "message": "x" * 200}


def main() -> None:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "benchmark")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
    database = setup_django()
    from django.conf import settings

    settings.DEBUG = False  # no query log growing over thousands of broadcasts

    from websockets_app.testing.connections_api import StubConnection, connections_api_stub

    stub = connections_api_stub()
    settings.WEBSOCKETS = {
        **settings.WEBSOCKETS,
        "ENDPOINT_URL": f"{stub.url}/bench",
        "HISTORY_CHANNELS": ["kept-*"],
        "HISTORY_MAX_MESSAGES": 100_000,
        "PRESENCE_EVENTS_CHANNELS": (),
    }
    broadcast_figures()
    stub.open(StubConnection(connection_id="returning=", source_ip="127.0.0.1"))  # a member of the replayed room
    replay_figures()
    presence_figures()
    print(f"\n(database: {database}; figures from a shared 2-core machine are noisy: compare the sides, not runs)")


def queries_of(action) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def broadcast_figures() -> None:
    from websockets_app.channels.broadcasting import broadcast
    from websockets_app.models import ChannelMessage
    from websockets_app.sending.encoding import encode_json

    kept, plain = "kept-broadcast", "plain-broadcast"
    expect(broadcast(kept, CHAT_MESSAGE).seq == 1, "the kept channel numbers its broadcasts")
    expect(broadcast(plain, CHAT_MESSAGE).seq is None, "the plain channel keeps nothing")
    with_history, without = side_by_side(
        partial(broadcast, kept, CHAT_MESSAGE), partial(broadcast, plain, CHAT_MESSAGE), per_round=30, rounds=5
    )
    queries = queries_of(partial(broadcast, kept, CHAT_MESSAGE)), queries_of(partial(broadcast, plain, CHAT_MESSAGE))
    report(
        "Broadcast with history against without, no members (medians of 5 interleaved rounds)",
        [
            ("with history", f"{with_history * 1000:.3f} ms, {queries[0]} queries (read, numbering transaction)"),
            ("baseline: without", f"{without * 1000:.3f} ms, {queries[1]} queries (history check, members read)"),
            (
                "extra cost per broadcast",
                f"+{(with_history - without) * 1000:.3f} ms, +{queries[0] - queries[1]} queries",
            ),
        ],
    )
    frame = ChannelMessage.objects.filter(channel_name=kept).latest("seq").frame
    envelope = len(frame.encode()) - len(encode_json(CHAT_MESSAGE).encode())
    print(f"  (delivery takes the same path either way; the numbered frame is {envelope} bytes longer)")


def replay_figures() -> None:
    from project.lambda_handler import lambda_handler
    from websockets_app.channels.broadcasting import broadcast
    from websockets_app.testing.events import connect_event, message_event

    connected = lambda_handler(
        connect_event(connection_id="returning=", query={"channel": "kept-room"}, origin=None), None
    )
    expect(connected["statusCode"] == 200, f"the returning client connects: {connected}")
    for n in range(200):
        broadcast("kept-room", {"type": "message", "user": "alice", "message": f"message {n} " + "y" * 150})
    ask = message_event(connection_id="returning=", body=json.dumps({"action": "history", "after": 100}))
    heartbeat = message_event(connection_id="returning=", body='{"action": "heartbeat"}')

    def replay() -> str:
        answer = lambda_handler(ask, None)
        expect(answer["statusCode"] == 200, "the history question is answered")
        return answer["body"]

    def beat() -> None:
        expect(lambda_handler(heartbeat, None)["statusCode"] == 200, "the heartbeat is answered")

    reply = replay()
    expect([m["seq"] for m in json.loads(reply)["messages"]] == list(range(101, 201)), "the reply holds the 100 missed")
    replay_s, beat_s = side_by_side(replay, beat, per_round=20, rounds=5)
    report(
        f"Replay of {MISSED} missed messages: one MESSAGE event through lambda_handler, answered as its reply",
        [
            (
                "history question (after: 100)",
                f"{replay_s * 1000:.2f} ms, {queries_of(replay)} queries, 1 reply of {len(reply.encode())} bytes, "
                "0 management-API requests",
            ),
            ("baseline: heartbeat", f"{beat_s * 1000:.2f} ms, {queries_of(beat)} queries"),
        ],
    )


def presence_figures() -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from websockets_app.channels.roster import _member_rows, live_sessions, presence
    from websockets_app.models import WebSocketSession

    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"bench-user-{n}") for n in range(1000)], batch_size=1000
    )
    now = timezone.now()
    rows = []
    for n in range(SESSION_ROWS):
        in_room = n < ROOM_CONNECTIONS
        rows.append(
            WebSocketSession(
                connection_id=f"p{n:06d}=",
                channel_name="busy-room" if in_room else f"room-{n % 2000}",
                user=users[n % 97] if n % 3 else None,
                connected=n % 10 != 9,
                last_seen_at=now - timedelta(minutes=n % 15),
                connected_at=now - timedelta(minutes=30),
            )
        )
    WebSocketSession.objects.bulk_create(rows, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    here = presence("busy-room")
    expect(len(here.users) > 0 and here.anonymous > 0, "the busy room has users and anonymous connections")

    def naive() -> int:
        return len(list(live_sessions().in_channel("busy-room").values_list("pk")))

    expect(naive() == len(_member_rows(live_sessions(), "busy-room")), "both ways read the same connections")
    ours, baseline = side_by_side(lambda: presence("busy-room"), naive, per_round=20, rounds=5)
    fields = ("pk", "user_id", "user__username", "user__is_active")  # what presence() reads
    plan = live_sessions().in_channel("busy-room").values_list(*fields).explain()
    naive_plan = live_sessions().in_channel("busy-room").values_list("pk").explain()
    report(
        f"presence() at {SESSION_ROWS:,} session rows ({ROOM_CONNECTIONS} in the room)",
        [
            ("presence('busy-room')", f"{ours * 1000:.2f} ms: {len(here.users)} users, {here.anonymous} anonymous"),
            ("baseline: in_channel() read of the same rows' keys", f"{baseline * 1000:.2f} ms"),
        ],
    )
    print("  plan (presence):\n    " + plan.replace("\n", "\n    "))
    print("  plan (baseline in_channel):\n    " + naive_plan.replace("\n", "\n    "))


if __name__ == "__main__":
    main()
