"""Channel history: numbered broadcasts, one row each, replayed to a client that asks for what it missed."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from websockets_app.channels.broadcasting import broadcast
from websockets_app.channels.history import MAX_DATA_BYTES
from websockets_app.channels.patterns import matches_channel
from websockets_app.cleanup import clear_sessions
from websockets_app.exceptions import MessageTooLarge
from websockets_app.models import ApiGateway, ChannelMessage, ChannelSequence

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _history_rooms(settings):
    # Presence events are tested in test_presence: here members receive only what is broadcast.
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "HISTORY_CHANNELS": ["room-*"], "PRESENCE_EVENTS_CHANNELS": ()}


def frames(connection):
    return connection.received_json()


def kept(channel):
    return list(ChannelMessage.objects.filter(channel_name=channel).order_by("seq").values_list("seq", flat=True))


def ask(connection, **question):
    """The reply the connection gets to a history question (parsed), as the view returns it on the two-way route."""
    return connection.send_json({"action": "history", **question})


def ask_raw(connection, **question):
    return connection.send(json.dumps({"action": "history", **question}))


def test_each_broadcast_is_numbered_and_kept_once_however_many_receive_it(websocket_client):
    members = [websocket_client.connect(channel="room-1") for _ in range(3)]
    first = broadcast("room-1", {"text": "one"})
    second = broadcast("room-1", "two")

    assert (first.seq, second.seq) == (1, 2)
    assert (first.delivery.sent, second.delivery.sent) == (3, 3)
    rows = list(ChannelMessage.objects.order_by("seq").values_list("channel_name", "seq", "message_id"))
    assert rows == [("room-1", 1, uuid.UUID(first.message_id)), ("room-1", 2, uuid.UUID(second.message_id))]
    for member in members:
        received = frames(member)
        assert [(f["history"], f["channel"], f["seq"], f["id"], f["data"]) for f in received] == [
            ("message", "room-1", 1, first.message_id, {"text": "one"}),
            ("message", "room-1", 2, second.message_id, "two"),
        ]
        assert all(f["at"].endswith("Z") for f in received)


def test_channels_are_numbered_independently(websocket_client):
    websocket_client.connect(channel="room-a")
    assert [broadcast("room-a", n).seq for n in range(3)] == [1, 2, 3]
    assert [broadcast("room-b", n).seq for n in range(2)] == [1, 2]
    assert dict(ChannelSequence.objects.values_list("channel_name", "last_seq")) == {"room-a": 3, "room-b": 2}


def test_a_channel_without_history_gets_the_data_as_is_and_keeps_nothing(websocket_client):
    member = websocket_client.connect(channel="lobby")
    result = broadcast("lobby", {"text": "plain"})

    assert (result.seq, result.message_id, result.delivery.sent) == (None, None, 1)
    assert frames(member) == [{"text": "plain"}]
    assert not ChannelMessage.objects.exists()


def test_an_apis_default_channel_can_keep_history(websocket_client):
    ApiGateway.objects.create(api_name="chat", default_channel_name="hall", default_channel_history=True)
    ApiGateway.objects.create(api_name="other", default_channel_name="quiet")
    assert broadcast("hall", "kept").seq == 1
    assert broadcast("quiet", "not kept").seq is None
    assert kept("hall") == [1]
    assert kept("quiet") == []


def test_a_message_too_large_to_replay_is_refused_before_it_takes_a_number(websocket_client):
    member = websocket_client.connect(channel="room-1")
    with pytest.raises(MessageTooLarge):
        broadcast("room-1", "x" * MAX_DATA_BYTES)
    assert broadcast("room-1", "x" * (MAX_DATA_BYTES - 2)).seq == 1  # a JSON string adds its two quotes
    assert kept("room-1") == [1]
    assert [f["seq"] for f in frames(member)] == [1]


def test_a_reconnected_client_gets_what_it_missed_in_order_in_one_reply(websocket_client):
    websocket_client.connect(channel="room-1")
    sent = [broadcast("room-1", {"n": n}) for n in range(1, 6)]
    returning = websocket_client.connect(channel="room-1")

    replay = ask_raw(returning, channel="room-1", after=2)

    stored = dict(ChannelMessage.objects.values_list("seq", "frame"))
    assert returning.received == []  # the reply is API Gateway's to carry: no management-API post
    assert replay == (
        '{"history":"replay","channel":"room-1","after":2,"head":5,"more":false,"messages":['
        f"{stored[3]},{stored[4]},{stored[5]}]}}"
    )
    assert [m["id"] for m in json.loads(replay)["messages"]] == [s.message_id for s in sent[2:]]


def test_the_channel_defaults_to_the_connections_own(websocket_client):
    returning = websocket_client.connect(channel="room-1")
    broadcast("room-1", "a")
    assert [m["seq"] for m in ask(returning, after=0)["messages"]] == [1]


def test_a_client_that_missed_nothing_gets_an_empty_replay(websocket_client):
    member = websocket_client.connect(channel="room-1")
    broadcast("room-1", "a")
    assert ask(member, after=1) == {
        "history": "replay",
        "channel": "room-1",
        "after": 1,
        "head": 1,
        "more": False,
        "messages": [],
    }


def test_an_empty_channel_answers_an_empty_replay_at_zero(websocket_client):
    member = websocket_client.connect(channel="room-9")
    empty = {"history": "replay", "channel": "room-9", "after": 0, "head": 0, "more": False, "messages": []}
    assert ask(member, after=0) == empty
    assert ask(member, last=10) == empty


def test_a_gap_older_than_what_is_kept_gets_a_reset(websocket_client, settings):
    member = websocket_client.connect(channel="room-1")
    for n in range(6):
        broadcast("room-1", n)
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "HISTORY_MAX_MESSAGES": 3}
    assert clear_sessions().history_deleted == 3
    assert ask(member, after=1) == {"history": "reset", "channel": "room-1", "after": 1, "head": 6, "oldest": 4}
    assert ask(member, after=2) == {"history": "reset", "channel": "room-1", "after": 2, "head": 6, "oldest": 4}
    assert [m["seq"] for m in ask(member, after=3)["messages"]] == [4, 5, 6]


def test_a_client_ahead_of_the_channel_gets_a_reset(websocket_client):
    member = websocket_client.connect(channel="room-1")
    broadcast("room-1", "a")
    assert ask(member, after=7) == {"history": "reset", "channel": "room-1", "after": 7, "head": 1, "oldest": None}


def test_a_page_that_joins_asks_for_the_last_messages(websocket_client):
    websocket_client.connect(channel="room-1")
    for n in range(1, 8):
        broadcast("room-1", {"n": n})
    newcomer = websocket_client.connect(channel="room-1")
    replay = ask(newcomer, last=3)
    assert {key: replay[key] for key in ("history", "after", "head", "more")} == {
        "history": "replay",
        "after": 4,
        "head": 7,
        "more": False,
    }
    assert [m["data"] for m in replay["messages"]] == [{"n": 5}, {"n": 6}, {"n": 7}]


def test_a_long_gap_is_replayed_in_pages(websocket_client, settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "HISTORY_REPLAY_LIMIT": 2}
    member = websocket_client.connect(channel="room-1")
    for n in range(5):
        broadcast("room-1", n)
    pages = []
    after = 0
    while True:
        page = ask(member, after=after)
        pages.append(([m["seq"] for m in page["messages"]], page["more"]))
        if not page["more"]:
            break
        after = page["messages"][-1]["seq"]
    assert pages == [([1, 2], True), ([3, 4], True), ([5], False)]


def test_a_replay_frame_stays_within_api_gateways_message_limit(websocket_client):
    member = websocket_client.connect(channel="room-1")
    for _ in range(5):
        broadcast("room-1", "y" * 50_000)
    after_page, last_page = ask_raw(member, after=0), ask_raw(member, last=5)
    assert len(after_page.encode()) <= 128 * 1024
    assert len(last_page.encode()) <= 128 * 1024
    assert ([m["seq"] for m in json.loads(after_page)["messages"]], json.loads(after_page)["more"]) == ([1, 2], True)
    assert [m["seq"] for m in json.loads(last_page)["messages"]] == [4, 5]


@pytest.mark.parametrize(
    ("question", "status", "reason"),
    [
        ({}, 400, "Give either after (the last sequence number seen) or last (how many)."),
        ({"after": 1, "last": 2}, 400, "Give either after (the last sequence number seen) or last (how many)."),
        ({"after": -1}, 400, "after must be a whole number, 0 or more."),
        ({"after": "3"}, 400, "after must be a whole number, 0 or more."),
        ({"after": True}, 400, "after must be a whole number, 0 or more."),
        ({"after": 1.5}, 400, "after must be a whole number, 0 or more."),
        ({"after": 2**63}, 400, "after must be a whole number, 0 or more."),
        ({"last": 0}, 400, "last must be a whole number from 1 to 100."),
        ({"last": 101}, 400, "last must be a whole number from 1 to 100."),
        ({"channel": ["room-1"], "after": 0}, 400, "channel must be the name of a channel this connection is in."),
        ({"channel": "no/slash", "after": 0}, 400, "channel must be the name of a channel this connection is in."),
        ({"channel": "room-2", "after": 0}, 403, "Forbidden: this connection is not in that channel."),
        ({"channel": "lobby", "after": 0}, 403, "Forbidden: this connection is not in that channel."),
    ],
)
def test_bad_history_questions_are_refused_with_the_reason(websocket_client, question, status, reason):
    member = websocket_client.connect(channel="room-1")
    broadcast("room-2", "secret")
    assert ask(member, **question) == {"error": {"status": status, "message": reason}}
    assert member.received == []


def test_a_channel_without_history_says_so(websocket_client):
    member = websocket_client.connect(channel="lobby")
    assert ask(member, after=0) == {"error": {"status": 400, "message": "Channel 'lobby' keeps no history."}}


def test_a_channel_joined_at_runtime_can_be_asked_about(websocket_client):
    from websockets_app.models import WebSocketSession

    member = websocket_client.connect(channel="lobby")
    WebSocketSession.objects.get(connection_id=member.connection_id).join("room-3")
    broadcast("room-3", "hello")
    assert [m["data"] for m in ask(member, channel="room-3", last=5)["messages"]] == ["hello"]


def test_retention_keeps_the_newest_per_channel_and_nothing_too_old(websocket_client, settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "HISTORY_MAX_MESSAGES": 2, "HISTORY_MAX_AGE": 3600}
    for n in range(4):
        broadcast("room-a", n)
    broadcast("room-b", "only")
    for n in range(3):
        broadcast("room-c", n)
    ChannelMessage.objects.filter(channel_name="room-c", seq=3).update(created_at=timezone.now() - timedelta(hours=2))

    assert clear_sessions(dry_run=True).history_deleted == 4
    assert len(kept("room-a")) == 4
    assert clear_sessions().history_deleted == 4

    assert (kept("room-a"), kept("room-b"), kept("room-c")) == ([3, 4], [1], [2])
    assert broadcast("room-a", "next").seq == 5  # numbers are never given twice


@pytest.mark.parametrize(
    ("channel", "patterns", "matches"),
    [
        ("room-1", ["room-*"], True),
        ("room-1", ["lobby"], False),
        ("lobby", ["*", "!default"], True),
        ("default", ["*", "!default"], False),
        ("room-1", ["*", "!room-*"], False),
        ("room-1", ["!lobby"], False),  # leaving one out includes nothing by itself
        ("room-1", [], False),
    ],
)
def test_channel_patterns(channel, patterns, matches):
    assert matches_channel(channel, patterns) is matches


def test_clear_websocket_sessions_says_how_much_history_it_deleted(websocket_client, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "HISTORY_MAX_MESSAGES": 1}
    for n in range(3):
        broadcast("room-1", n)
    out = StringIO()
    call_command("clear_websocket_sessions", "--dry-run", stdout=out)
    assert out.getvalue().splitlines()[-1] == "Would delete 2 channel history message(s) past retention."
    assert kept("room-1") == [1, 2, 3]
    out = StringIO()
    call_command("clear_websocket_sessions", stdout=out)
    assert out.getvalue().splitlines()[-1] == "Deleted 2 channel history message(s) past retention."
    assert kept("room-1") == [3]


def test_every_action_the_channel_mixin_answers_is_a_built_in_action():
    from websockets_app.channels.actions import ChannelActions
    from websockets_app.views import BUILT_IN_ACTIONS

    public = {
        name for name in vars(ChannelActions) if not name.startswith("_") and callable(vars(ChannelActions)[name])
    }
    assert public == set(ChannelActions.ACTIONS) == {"history", "presence"}
    assert {"heartbeat", "history", "presence"} == BUILT_IN_ACTIONS
