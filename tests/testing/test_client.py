"""WebSocketTestClient: the real lambda_handler with AWS-shaped events, and what the app sent captured."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from websockets_app.conf import conf
from websockets_app.models import WebSocketSession
from websockets_app.testing import WebSocketTestClient

pytestmark = pytest.mark.django_db


def connections_api():
    """A boto3 client for the management API, pointed where the app is told to send."""
    return boto3.client("apigatewaymanagementapi", endpoint_url=conf.ENDPOINT_URL, region_name="eu-west-1")


def whoami(user: str, channel: str = "default") -> dict:
    return {"type": "whoami", "user": user, "channel": channel}


def test_connects_sends_and_disconnects_through_the_lambda_handler(websocket_client):
    connection = websocket_client.connect(channel="room-1")

    assert (connection.accepted, connection.response) == (True, {"statusCode": 200, "body": ""})
    assert connection.send_json({"action": "whoami"}) == whoami("anonymous", "room-1")
    assert connection.disconnect(status_code=1001, reason="Going away") == {"statusCode": 200, "body": ""}
    row = WebSocketSession.objects.get(connection_id=connection.connection_id)
    assert (row.connected, row.disconnect_status_code, row.disconnect_reason) == (False, 1001, "Going away")


def test_force_login_connects_as_that_user(websocket_client):
    websocket_client.force_login(get_user_model().objects.create_user("alice"))

    assert websocket_client.connect().send_json({"action": "whoami"}) == whoami("alice")

    websocket_client.logout()
    assert websocket_client.connect().send_json({"action": "whoami"}) == whoami("anonymous")


def test_a_refused_connection_cannot_be_used(websocket_client):
    connection = websocket_client.connect(channel="not a channel!")

    assert (connection.accepted, connection.response["statusCode"]) == (False, 400)
    with pytest.raises(RuntimeError, match=r"Connection test-\d+= is closed \(or was refused\)\."):
        connection.send("hello")


def test_captures_what_is_posted_to_each_connection(websocket_client):
    first, second = websocket_client.connect(), websocket_client.connect()
    api = connections_api()

    api.post_to_connection(ConnectionId=first.connection_id, Data=b'{"n": 1}')
    api.post_to_connection(ConnectionId=second.connection_id, Data="h\u00e9".encode())
    api.post_to_connection(ConnectionId=first.connection_id, Data=b"\xff\x00")

    assert first.received == ['{"n": 1}', b"\xff\x00"]
    assert second.received == ["h\u00e9"]


def test_received_json_parses_each_message(websocket_client):
    connection = websocket_client.connect()

    connections_api().post_to_connection(ConnectionId=connection.connection_id, Data=b'{"type": "hello", "n": [1, 2]}')

    assert connection.received_json() == [{"type": "hello", "n": [1, 2]}]


def test_answers_like_aws_for_closed_unknown_and_oversized(websocket_client):
    connection = websocket_client.connect()
    connection.disconnect()
    api = connections_api()

    for connection_id, data, code in [
        (connection.connection_id, b"late", "GoneException"),
        ("never-connected=", b"hi", "GoneException"),
    ]:
        with pytest.raises(ClientError) as error:
            api.post_to_connection(ConnectionId=connection_id, Data=data)
        assert (error.value.response["Error"]["Code"], error.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
            code,
            410,
        )
    live = websocket_client.connect()
    with pytest.raises(ClientError) as error:
        api.post_to_connection(ConnectionId=live.connection_id, Data=b"x" * (128 * 1024 + 1))
    assert error.value.response["Error"]["Code"] == "PayloadTooLargeException"
    assert live.received == []


def test_session_info_reads_the_connection_as_boto3_parses_aws_answer(websocket_client):
    connection = websocket_client.connect(headers={"User-Agent": "pytest-browser/1.0"})
    session = WebSocketSession.objects.get(connection_id=connection.connection_id)

    connected_at = datetime.fromtimestamp(connection.connected_at / 1000, tz=UTC)
    assert session.info() == {
        "ConnectedAt": connected_at,
        "LastActiveAt": connected_at,
        "Identity": {"SourceIp": "203.0.113.7", "UserAgent": "pytest-browser/1.0"},
    }


def test_a_connection_the_app_deletes_gets_its_disconnect(websocket_client):
    connection = websocket_client.connect()

    connections_api().delete_connection(ConnectionId=connection.connection_id)
    websocket_client.connect()  # the next event the client drives delivers the $disconnect AWS would send

    assert connection.closed
    assert connection.disconnect_response == {"statusCode": 200, "body": ""}
    assert WebSocketSession.objects.get(connection_id=connection.connection_id).connected is False


@pytest.mark.urls("tests.urls")
def test_captures_what_the_app_sends_with_send_message(websocket_client, settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "PRESENCE_EVENTS_CHANNELS": ()}  # only what the view sends
    websocket_client.force_login(get_user_model().objects.create_user("alice"))
    alice = websocket_client.connect(channel="room-1")
    websocket_client.logout()
    bob, elsewhere = websocket_client.connect(channel="room-1"), websocket_client.connect(channel="room-2")

    assert alice.send_json({"action": "say", "text": "hello"}) is None
    assert alice.last_response == {"statusCode": 200, "body": ""}

    assert alice.received_json() == bob.received_json() == [{"from": "alice", "text": "hello"}]
    assert elsewhere.received == []


def test_send_message_from_test_code_is_captured_and_gone_rows_are_closed(websocket_client):
    open_connection, closed = websocket_client.connect(), websocket_client.connect()
    closed_row = WebSocketSession.objects.get(connection_id=closed.connection_id)
    # Open for a minute (past the $connect window), then AWS forgets it while the row still says open.
    WebSocketSession.objects.filter(pk=closed_row.pk).update(connected_at=timezone.now() - timedelta(minutes=1))
    connections_api().delete_connection(ConnectionId=closed.connection_id)

    sessions = WebSocketSession.objects.filter(
        connection_id__in=[open_connection.connection_id, closed_row.connection_id]
    )
    outcome = sessions.send_message("ping")

    assert (outcome.sent, outcome.gone, outcome.failed) == (1, [closed.connection_id], {})
    assert open_connection.received == ["ping"]
    assert WebSocketSession.objects.get(pk=closed_row.pk).connected is False


def test_the_endpoint_override_lasts_only_as_long_as_the_client(db):
    before = dict(settings.WEBSOCKETS)
    with WebSocketTestClient() as client:
        assert conf.ENDPOINT_URL.startswith("http://127.0.0.1:")
        assert client.connect().accepted
    assert conf.ENDPOINT_URL is None
    assert before == settings.WEBSOCKETS


def test_send_returns_the_reply_its_sender_receives(websocket_client):
    connection = websocket_client.connect(channel="room-1")

    assert connection.send('{"action": "whoami", "id": "w"}') == (
        '{"id":"w","type": "whoami", "user": "anonymous", "channel": "room-1"}'
    )
    assert connection.send_json({"action": "sendmessage", "message": ""}) == {
        "error": {"status": 400, "message": "message must be a non-empty string."}
    }
    assert connection.last_response["statusCode"] == 400


def test_send_returns_none_when_the_handler_returns_nothing(websocket_client):
    connection = websocket_client.connect(channel="room-1")

    assert connection.send_json({"action": "sendmessage", "message": "hi"}) is None
    assert connection.last_response == {"statusCode": 200, "body": ""}
    # The demo's rooms keep history: the broadcast arrives numbered, its data as sent.
    assert [frame["data"] for frame in connection.received_json()] == [
        {"type": "message", "user": "anonymous", "message": "hi"}
    ]


def test_a_one_way_client_gets_no_replies(db):
    with WebSocketTestClient("project.lambda_handler.lambda_handler", two_way=False) as client:
        connection = client.connect()

        assert connection.send_json({"action": "whoami", "id": 1}) is None
        assert json.loads(connection.last_response["body"]) == {
            "id": 1,
            "type": "whoami",
            "user": "anonymous",
            "channel": "default",
        }


def test_a_binary_frame_closes_the_connection_with_1003_as_aws_does(websocket_client):
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-binary-media-types.html
    connection = websocket_client.connect()

    assert connection.send(b"\x00\x01binary") is None

    assert connection.closed
    assert connection.disconnect_response["statusCode"] == 200
    session = WebSocketSession.objects.get(connection_id=connection.connection_id)
    assert (session.connected, session.disconnect_status_code, session.disconnect_reason) == (
        False,
        1003,
        "Binary frames are not supported",
    )


def test_binary_frames_can_be_passed_on_as_the_emulator_option_does(db):
    with WebSocketTestClient("project.lambda_handler.lambda_handler", binary_frames=True) as client:
        connection = client.connect()
        reply = connection.send(b"\x00\x01binary")
    assert not connection.closed
    assert json.loads(reply) == {
        "error": {"status": 400, "message": "The message is not JSON: send a JSON object with an action."}
    }


def test_works_with_startproject_allowed_hosts_and_leaves_them_as_they_were(settings):
    """startproject's ALLOWED_HOSTS = []: under test, Django accepts only ``testserver``, not the client's API host."""
    settings.ALLOWED_HOSTS = ["testserver"]
    with WebSocketTestClient() as client:
        connection = client.connect(channel="room-1")
        answer = connection.send_json({"action": "whoami"})

    assert connection.response == {"statusCode": 200, "body": ""}
    assert answer == whoami("anonymous", "room-1")
    assert settings.ALLOWED_HOSTS == ["testserver"]
