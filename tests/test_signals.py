"""websocket_connected, websocket_message and websocket_disconnected: when they are sent and what they carry."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.dispatch import receiver

from tests.aws_events import connect_event, disconnect_event
from tests.websocket_views import ActionView
from websockets_app.models import WebSocketSession
from websockets_app.signals import websocket_connected, websocket_disconnected, websocket_message

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]


@pytest.fixture
def received():
    """Every signal sent during the test, as (signal name, sender, kwargs)."""
    calls = []

    def recorder(name):
        def record(sender, signal, **kwargs):
            calls.append((name, sender, kwargs))

        return record

    receivers = {
        websocket_connected: recorder("connected"),
        websocket_message: recorder("message"),
        websocket_disconnected: recorder("disconnected"),
    }
    for signal, record in receivers.items():
        signal.connect(record)
    yield calls
    for signal, record in receivers.items():
        signal.disconnect(record)


def test_connected_carries_the_session_user_and_event_once_committed(websocket_client, received):
    alice = get_user_model().objects.create_user("alice")
    websocket_client.force_login(alice)

    connection = websocket_client.connect(channel="room-1")

    [(name, sender, kwargs)] = received
    assert (name, sender) == ("connected", ActionView)
    assert kwargs["session"] == WebSocketSession.objects.get(connection_id=connection.connection_id)
    assert kwargs["user"] == alice
    assert kwargs["event"]["requestContext"]["connectionId"] == connection.connection_id
    assert kwargs["event"]["queryStringParameters"] == {"channel": "room-1"}


def test_connected_waits_for_the_commit(lambda_handler, received, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        lambda_handler(connect_event(connection_id="pending="), None)
        assert received == []

    callbacks[0]()
    assert [(name, kwargs["session"].connection_id) for name, _, kwargs in received] == [("connected", "pending=")]


def test_a_refused_connect_sends_nothing(websocket_client, received):
    connection = websocket_client.connect(query={"refuse": "after-super"})

    assert connection.response["statusCode"] == 403
    assert received == []
    assert WebSocketSession.objects.count() == 0


def test_message_is_sent_after_the_handler_with_its_name_and_response(websocket_client, received):
    connection = websocket_client.connect()
    received.clear()

    reply = connection.send_json({"action": "echo", "n": 1})

    [(name, sender, kwargs)] = received
    assert (name, sender, kwargs["handler"]) == ("message", ActionView, "echo")
    assert kwargs["session"].connection_id == connection.connection_id
    assert isinstance(kwargs["user"], AnonymousUser)
    assert kwargs["event"]["body"] == '{"action": "echo", "n": 1}'
    assert kwargs["response"].status_code == connection.last_response["statusCode"] == 200
    assert json.loads(kwargs["response"].content) == reply


def test_rejected_messages_send_nothing(websocket_client, received):
    connection = websocket_client.connect()
    received.clear()

    assert connection.send_json({"action": "reject"})["error"]["status"] == 422
    assert received == []


def test_disconnected_is_sent_after_the_row_is_closed(websocket_client, received):
    alice = get_user_model().objects.create_user("alice")
    websocket_client.force_login(alice)
    connection = websocket_client.connect()
    states = []

    @receiver(websocket_disconnected)
    def look_at_the_row(sender, session, **kwargs):
        states.append(WebSocketSession.objects.get(pk=session.pk).connected)

    try:
        connection.disconnect(status_code=1001, reason="Going away")
    finally:
        websocket_disconnected.disconnect(look_at_the_row)

    name, sender, kwargs = received[-1]
    assert (name, sender, kwargs["user"], states) == ("disconnected", ActionView, alice, [False])
    assert kwargs["event"]["requestContext"]["disconnectStatusCode"] == 1001
    assert kwargs["session"].connected is False


def test_a_second_disconnect_sends_nothing_more(websocket_client, lambda_handler, received):
    connection = websocket_client.connect()
    connection.disconnect()
    received.clear()

    assert lambda_handler(disconnect_event(connection_id=connection.connection_id), None)["statusCode"] == 200
    assert received == []
