"""Presence: who is in a channel, from the session rows, one entry per user, without the connections that died."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from websockets_app.channels.roster import Presence, PresentUser, presence
from websockets_app.models import WebSocketChannelMembership, WebSocketSession

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_presence_events(settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "PRESENCE_EVENTS_CHANNELS": ()}


@pytest.fixture
def users():
    model = get_user_model()
    return {name: model.objects.create_user(name) for name in ("bob", "alice", "Carol")}


def connect_as(client, user, channel):
    if user is None:
        client.logout()
    else:
        client.force_login(user)
    return client.connect(channel=channel)


def seen(connection, *, minutes_ago=0, connected_minutes_ago=None):
    fields = {"last_seen_at": timezone.now() - timedelta(minutes=minutes_ago)}
    if connected_minutes_ago is not None:
        fields["connected_at"] = timezone.now() - timedelta(minutes=connected_minutes_ago)
    WebSocketSession.objects.filter(connection_id=connection.connection_id).update(**fields)


def test_a_user_with_three_tabs_is_one_entry_and_anonymous_connections_are_counted(websocket_client, users):
    for _ in range(3):
        connect_as(websocket_client, users["alice"], "room")
    connect_as(websocket_client, users["bob"], "room")
    connect_as(websocket_client, users["Carol"], "elsewhere")
    connect_as(websocket_client, None, "room")
    connect_as(websocket_client, None, "room")

    assert presence("room") == Presence(
        channel_name="room",
        users=(PresentUser(users["alice"].pk, "alice", 3), PresentUser(users["bob"].pk, "bob", 1)),
        anonymous=2,
    )
    assert presence("nobody-here") == Presence(channel_name="nobody-here", users=(), anonymous=0)


def test_present_until_the_last_tab_leaves(websocket_client, users):
    tabs = [connect_as(websocket_client, users["alice"], "room") for _ in range(2)]
    tabs[0].disconnect()
    assert [user.name for user in presence("room").users] == ["alice"]
    tabs[1].disconnect()
    assert presence("room").users == ()


def test_connections_whose_disconnect_never_came_stop_counting(websocket_client, users):
    quiet = connect_as(websocket_client, users["alice"], "room")
    silent = connect_as(websocket_client, users["bob"], "room")
    ancient = connect_as(websocket_client, users["Carol"], "room")
    seen(quiet, minutes_ago=10)  # within API Gateway's idle limit and the minute last_seen_at may lag
    seen(silent, minutes_ago=12)  # past it: API Gateway has closed it, whatever the row says
    seen(ancient, connected_minutes_ago=121)  # past the 2-hour limit, however busy
    assert [user.name for user in presence("room").users] == ["alice"]


def test_the_heartbeat_keeps_a_quiet_connection_present(websocket_client, users):
    tab = connect_as(websocket_client, users["alice"], "room")
    seen(tab, minutes_ago=5)
    later = timezone.now() + timedelta(minutes=7)
    assert presence("room", now=later).users == ()  # 12 minutes without a sign of life

    assert tab.send_json({"action": "heartbeat"}) is None

    assert [user.name for user in presence("room", now=later).users] == ["alice"]


def test_channels_joined_at_runtime_count_and_a_connection_counts_once(websocket_client, users):
    tab = connect_as(websocket_client, users["alice"], "lobby")
    row = WebSocketSession.objects.get(connection_id=tab.connection_id)
    row.join("room")
    WebSocketChannelMembership.objects.create(session=row, channel_name="lobby")  # in lobby both ways
    assert presence("room").users == (PresentUser(users["alice"].pk, "alice", 1),)
    assert presence("lobby").users == (PresentUser(users["alice"].pk, "alice", 1),)


def test_an_inactive_users_connections_count_as_anonymous(websocket_client, users):
    connect_as(websocket_client, users["alice"], "room")
    get_user_model().objects.filter(pk=users["alice"].pk).update(is_active=False)
    assert presence("room") == Presence(channel_name="room", users=(), anonymous=1)


def test_the_presence_action_answers_the_state_of_the_connections_channel(websocket_client, users):
    connect_as(websocket_client, users["bob"], "room")
    asking = connect_as(websocket_client, None, "room")
    assert asking.send_json({"action": "presence", "id": 7}) == {
        "id": 7,
        "presence": "state",
        "channel": "room",
        "users": [{"id": users["bob"].pk, "name": "bob", "connections": 1}],
        "anonymous": 1,
    }
    assert asking.send_json({"action": "presence", "channel": "elsewhere"}) == {
        "error": {"status": 403, "message": "Forbidden: this connection is not in that channel."}
    }
    assert asking.received == []


def test_members_are_told_when_a_users_first_tab_arrives_and_last_tab_leaves(websocket_client, users, settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "PRESENCE_EVENTS_CHANNELS": ["room-*"]}
    watcher = connect_as(websocket_client, users["bob"], "room-1")
    first = connect_as(websocket_client, users["alice"], "room-1")
    second = connect_as(websocket_client, users["alice"], "room-1")
    anonymous = connect_as(websocket_client, None, "room-1")
    first.disconnect()
    anonymous.disconnect()
    second.disconnect()
    alice = {"id": users["alice"].pk, "name": "alice"}
    assert watcher.received_json() == [
        {"presence": "joined", "channel": "room-1", "user": alice},
        {"presence": "joined", "channel": "room-1", "user": None},
        {"presence": "left", "channel": "room-1", "user": None},
        {"presence": "left", "channel": "room-1", "user": alice},
    ]
    # The joining connection is in its $connect, when AWS refuses posts: it is not sent its own arrival.
    assert first.received_json() == [{"presence": "joined", "channel": "room-1", "user": None}]


def test_channels_not_listed_send_no_presence_events(websocket_client, users, settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "PRESENCE_EVENTS_CHANNELS": ["room-*"]}
    watcher = connect_as(websocket_client, users["bob"], "lobby")
    connect_as(websocket_client, users["alice"], "lobby").disconnect()
    assert watcher.received == []


def test_a_presence_event_that_cannot_be_sent_does_not_refuse_the_connection(
    websocket_client, users, settings, monkeypatch, caplog
):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "PRESENCE_EVENTS_CHANNELS": ["*"]}

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("websockets_app.channels.roster.presence_changed", broken)
    with caplog.at_level(logging.ERROR, logger="websockets_app.channels.roster"):
        tab = connect_as(websocket_client, users["alice"], "room")
    assert tab.accepted
    assert caplog.messages == [f"Presence event for connection {tab.connection_id} not sent"]
