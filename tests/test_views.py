"""WebSocketView driven through the real lambda_handler with AWS-shaped events."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.aws_events import API_ID, DOMAIN_NAME, STAGE, connect_event, disconnect_event, message_event
from websockets_app.models import LAST_SEEN_RESOLUTION, ApiGateway, MessageClock, WebSocketSession

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]


def body_of(response: dict) -> dict:
    return json.loads(response["body"])


def described(handler: str, *, user: str | None = None, channel: str = "default", body: dict | None = None) -> dict:
    return {
        "statusCode": 200,
        "body": json.dumps({"handler": handler, "user": user, "channel": channel, "body": body or {}}),
    }


@pytest.fixture
def alice_cookie(db) -> dict[str, str]:
    alice = get_user_model().objects.create_user("alice", password="correct horse battery staple")
    client = Client()
    client.force_login(alice)
    return {"sessionid": client.cookies["sessionid"].value}


@pytest.fixture
def connected(lambda_handler) -> str:
    assert lambda_handler(connect_event(connection_id="c1="), None) == {"statusCode": 200, "body": ""}
    return "c1="


class TestConnect:
    def test_records_the_connection_with_what_the_event_says(self, lambda_handler):
        response = lambda_handler(connect_event(connection_id="abc=", query={"channel": "room-1"}), None)

        assert response == {"statusCode": 200, "body": ""}
        session = WebSocketSession.objects.get()
        assert (session.connection_id, session.channel_name, session.user, session.connected) == (
            "abc=",
            "room-1",
            None,
            True,
        )
        assert (session.api_id, session.stage, session.domain_name, session.source_ip) == (
            API_ID,
            STAGE,
            DOMAIN_NAME,
            "203.0.113.7",
        )
        assert session.connected_at.isoformat() == "2023-11-14T22:13:20+00:00"

    def test_stores_the_user_from_the_session_cookie(self, lambda_handler, alice_cookie):
        lambda_handler(connect_event(cookies=alice_cookie), None)

        assert WebSocketSession.objects.get().user.username == "alice"

    def test_an_unknown_session_cookie_connects_anonymously(self, lambda_handler):
        lambda_handler(connect_event(cookies={"sessionid": "not-a-session"}), None)

        assert WebSocketSession.objects.get().user is None

    def test_channel_defaults_to_the_apis_default_channel(self, lambda_handler):
        ApiGateway.objects.create(api_name="chat", api_id=API_ID, default_channel_name="lobby")

        lambda_handler(connect_event(), None)

        assert WebSocketSession.objects.get().channel_name == "lobby"

    def test_channel_defaults_to_the_setting_without_an_api_row(self, lambda_handler, settings):
        settings.WEBSOCKETS = {"DEFAULT_CHANNEL_NAME": "everyone"}

        lambda_handler(connect_event(), None)

        assert WebSocketSession.objects.get().channel_name == "everyone"

    @pytest.mark.parametrize(
        "channel",
        ["a" * 129, "room 1", "room/1", "<script>", "room\x00", "ümlaut", "room;drop", "../etc"],
    )
    def test_invalid_channel_is_refused_and_nothing_stored(self, lambda_handler, channel):
        response = lambda_handler(connect_event(query={"channel": channel}), None)

        assert response == {
            "statusCode": 400,
            "body": "Invalid channel: use 1 to 128 letters, digits, '-', '_' or '.'.",
        }
        assert not WebSocketSession.objects.exists()

    def test_longest_valid_channel_is_accepted(self, lambda_handler):
        channel = "a-Z_0." + "x" * 122

        assert lambda_handler(connect_event(query={"channel": channel}), None)["statusCode"] == 200
        assert WebSocketSession.objects.get().channel_name == channel

    def test_a_4xx_from_connect_refuses_and_rolls_back(self, lambda_handler):
        response = lambda_handler(connect_event(query={"refuse": "after-super"}), None)

        assert response == {"statusCode": 403, "body": "Forbidden: not today."}
        assert not WebSocketSession.objects.exists()

    def test_chosen_subprotocol_is_returned_in_headers(self, lambda_handler):
        response = lambda_handler(connect_event(query={"protocol": "chat.v1"}), None)

        assert response == {"statusCode": 200, "body": "", "headers": {"Sec-WebSocket-Protocol": "chat.v1"}}

    def test_a_repeated_connect_keeps_one_row(self, lambda_handler):
        lambda_handler(connect_event(connection_id="dup="), None)
        assert lambda_handler(connect_event(connection_id="dup="), None) == {"statusCode": 200, "body": ""}

        assert WebSocketSession.objects.filter(connection_id="dup=").count() == 1

    def test_a_disconnect_that_overtook_its_connect_wins(self, lambda_handler):
        assert lambda_handler(disconnect_event(connection_id="late="), None) == {"statusCode": 200, "body": ""}

        response = lambda_handler(connect_event(connection_id="late="), None)

        assert response == {"statusCode": 410, "body": "Gone: this connection has already disconnected."}
        session = WebSocketSession.objects.get(connection_id="late=")
        assert session.connected is False


class TestMessageDispatch:
    def test_default_route_dispatches_on_the_action(self, lambda_handler, connected):
        response = lambda_handler(message_event(connection_id=connected, body='{"action": "echo", "n": 1}'), None)

        assert response == described("echo", body={"action": "echo", "n": 1})

    def test_custom_route_key_calls_the_method_of_that_name(self, lambda_handler, connected):
        event = message_event(connection_id=connected, route_key="sendmessage", body='{"action": "sendmessage"}')

        assert lambda_handler(event, None) == described("sendmessage", body={"action": "sendmessage"})

    def test_custom_route_key_without_a_method_goes_to_default(self, lambda_handler, connected):
        event = message_event(connection_id=connected, route_key="nosuchroute", body="{}")

        assert lambda_handler(event, None) == described("default")

    @pytest.mark.parametrize(
        "body",
        [
            "",
            "not json",
            "[1, 2]",
            '"echo"',
            "null",
            '{"action": 5}',
            '{"action": null}',
            '{"action": ["echo"]}',
            '{"nothing": "here"}',
            "{" * 5000 + "}" * 5000,
        ],
    )
    def test_missing_or_unknown_actions_go_to_default(self, lambda_handler, connected, body):
        response = lambda_handler(message_event(connection_id=connected, body=body), None)

        assert response["statusCode"] == 200
        assert body_of(response)["handler"] == "default"

    @pytest.mark.parametrize(
        "action",
        [
            "dispatch",
            "setup",
            "as_view",
            "options",
            "http_method_not_allowed",
            "connect",
            "disconnect",
            "_secret",
            "__init__",
            "__class__",
            "get_handler_name",
            "get_channel_name",
            "_debug",
            "_call",
            "helper",
            "view_is_async",
            "http_method_names",
            "route_selection_key",
        ],
    )
    def test_only_handlers_defined_on_subclasses_are_reachable(self, lambda_handler, connected, action):
        body = json.dumps({"action": action})
        response = lambda_handler(message_event(connection_id=connected, body=body), None)

        assert response == described("default", body={"action": action})
        assert WebSocketSession.objects.get(connection_id=connected).connected is True

    @pytest.mark.parametrize("route_key", ["connect", "disconnect", "dispatch", "_secret", "$connect"])
    def test_route_keys_cannot_reach_non_handlers(self, lambda_handler, connected, route_key):
        event = message_event(connection_id=connected, route_key=route_key, body="{}")

        assert lambda_handler(event, None) == described("default")

    def test_binary_frames_are_decoded(self, lambda_handler, connected):
        response = lambda_handler(message_event(connection_id=connected, body=b'{"action": "echo"}'), None)

        assert response == described("echo", body={"action": "echo"})

    def test_binary_garbage_goes_to_default(self, lambda_handler, connected):
        response = lambda_handler(message_event(connection_id=connected, body=b"\xff\xfe\x00garbage"), None)

        assert response == described("default")

    def test_reject_event_answers_its_status_and_reason(self, lambda_handler, connected):
        response = lambda_handler(message_event(connection_id=connected, body='{"action": "reject"}'), None)

        assert response == {
            "statusCode": 422,
            "body": '{"error":{"status":422,"message":"Unprocessable: reject always refuses."}}',
        }

    def test_message_from_unknown_connection_is_refused(self, lambda_handler):
        response = lambda_handler(message_event(connection_id="ghost=", body='{"action": "echo"}'), None)

        assert response == {
            "statusCode": 410,
            "body": '{"error":{"status":410,"message":"Gone: unknown or closed connection."}}',
        }
        assert not WebSocketSession.objects.exists()

    def test_message_from_closed_connection_is_refused(self, lambda_handler, connected):
        lambda_handler(disconnect_event(connection_id=connected), None)

        response = lambda_handler(message_event(connection_id=connected, body='{"action": "echo"}'), None)

        assert response == {
            "statusCode": 410,
            "body": '{"error":{"status":410,"message":"Gone: unknown or closed connection."}}',
        }

    def test_message_updates_last_seen_once_it_is_a_minute_old(self, lambda_handler, connected):
        a_minute_ago = timezone.now() - LAST_SEEN_RESOLUTION
        WebSocketSession.objects.update(last_seen_at=a_minute_ago)

        lambda_handler(message_event(connection_id=connected, body='{"action": "echo"}'), None)

        assert WebSocketSession.objects.get().last_seen_at > a_minute_ago

    def test_a_message_costs_two_queries_when_last_seen_is_old(
        self, lambda_handler, connected, django_assert_num_queries
    ):
        WebSocketSession.objects.update(last_seen_at=timezone.now() - LAST_SEEN_RESOLUTION)
        with django_assert_num_queries(2):
            lambda_handler(message_event(connection_id=connected, body='{"action": "echo"}'), None)

    def test_a_message_costs_one_query_while_last_seen_is_recent(
        self, lambda_handler, connected, django_assert_num_queries
    ):
        before = WebSocketSession.objects.get().last_seen_at
        with django_assert_num_queries(1):
            lambda_handler(message_event(connection_id=connected, body='{"action": "echo"}'), None)
        assert WebSocketSession.objects.get().last_seen_at == before

    def test_a_message_from_a_user_costs_two_queries(self, lambda_handler, alice_cookie, django_assert_num_queries):
        lambda_handler(connect_event(connection_id="a=", cookies=alice_cookie), None)
        WebSocketSession.objects.update(last_seen_at=timezone.now() - LAST_SEEN_RESOLUTION)

        with django_assert_num_queries(2):
            response = lambda_handler(message_event(connection_id="a=", body='{"action": "echo"}'), None)

        assert body_of(response)["user"] == "alice"

    @pytest.mark.parametrize(("limit", "counted"), [((30, 3), True), (None, False)])
    def test_the_one_query_counts_the_message_unless_the_limit_is_off(
        self, lambda_handler, connected, settings, django_assert_num_queries, limit, counted
    ):
        settings.WEBSOCKETS = {"MESSAGE_RATE_LIMIT": limit}
        with django_assert_num_queries(1):
            lambda_handler(message_event(connection_id=connected, body='{"action": "echo"}'), None)
        assert MessageClock.objects.filter(session__connection_id=connected).exists() is counted


class TestUserOnEveryEvent:
    def test_user_is_restored_on_messages_without_cookies(self, lambda_handler, alice_cookie):
        lambda_handler(connect_event(connection_id="a=", cookies=alice_cookie, query={"channel": "r"}), None)

        response = lambda_handler(message_event(connection_id="a=", body='{"action": "echo"}'), None)

        assert response == described("echo", user="alice", channel="r", body={"action": "echo"})

    def test_anonymous_connection_stays_anonymous(self, lambda_handler, connected):
        response = lambda_handler(message_event(connection_id=connected, body='{"action": "echo"}'), None)

        assert body_of(response)["user"] is None

    def test_each_connection_keeps_its_own_user(self, lambda_handler, alice_cookie):
        bob = get_user_model().objects.create_user("bob")
        client = Client()
        client.force_login(bob)
        lambda_handler(connect_event(connection_id="a=", cookies=alice_cookie), None)
        lambda_handler(
            connect_event(connection_id="b=", cookies={"sessionid": client.cookies["sessionid"].value}), None
        )
        lambda_handler(connect_event(connection_id="n="), None)

        users = [
            body_of(lambda_handler(message_event(connection_id=cid, body='{"action": "echo"}'), None))["user"]
            for cid in ("a=", "b=", "n=", "a=")
        ]

        assert users == ["alice", "bob", None, "alice"]

    def test_deleting_the_user_deletes_their_connections(self, lambda_handler, alice_cookie):
        lambda_handler(connect_event(connection_id="a=", cookies=alice_cookie), None)

        get_user_model().objects.filter(username="alice").delete()

        assert not WebSocketSession.objects.exists()


class TestDisconnect:
    def test_marks_the_row_closed_and_keeps_it(self, lambda_handler, connected):
        response = lambda_handler(disconnect_event(connection_id=connected, status_code=1006, reason="abnormal"), None)

        assert response == {"statusCode": 200, "body": ""}
        session = WebSocketSession.objects.get()
        assert (session.connected, session.disconnect_status_code, session.disconnect_reason) == (
            False,
            1006,
            "abnormal",
        )
        assert session.disconnected_at is not None

    def test_is_idempotent(self, lambda_handler, connected):
        lambda_handler(disconnect_event(connection_id=connected, reason="first"), None)

        assert lambda_handler(disconnect_event(connection_id=connected, reason="second"), None) == {
            "statusCode": 200,
            "body": "",
        }
        assert WebSocketSession.objects.get().disconnect_reason == "first"

    def test_of_an_unknown_connection_leaves_a_closed_tombstone(self, lambda_handler):
        lambda_handler(disconnect_event(connection_id="ghost="), None)

        assert list(WebSocketSession.objects.values_list("connection_id", "connected", "channel_name")) == [
            ("ghost=", False, "")
        ]


class TestDebugLog:
    def test_debug_view_records_what_it_did(self, lambda_handler, connected):
        response = lambda_handler(message_event(connection_id=connected, body='{"action": "debuglog"}'), None)

        log = body_of(response)["log"]
        assert log == [f"MESSAGE $default connection={connected}", "handler debuglog"]

    def test_views_without_debug_record_nothing(self, lambda_handler, settings):
        settings.WEBSOCKETS = {"PATH_PREFIX": "/custom/"}
        lambda_handler(connect_event(connection_id="q="), None)

        response = lambda_handler(message_event(connection_id="q=", body='{"action": "debuglog"}'), None)

        assert body_of(response) == {"log": []}


class TestCustomDispatch:
    def test_a_subclass_overriding_dispatch_still_works(self, lambda_handler, alice_cookie, settings):
        settings.WEBSOCKETS = {"PATH_PREFIX": "/custom/"}

        response = lambda_handler(connect_event(connection_id="x=", cookies=alice_cookie), None)
        assert response == {"statusCode": 200, "body": ""}

        response = lambda_handler(message_event(connection_id="x=", body='{"action": "echo"}'), None)
        assert response == described("echo", user="alice", body={"action": "echo"})

    def test_a_view_without_handlers_answers_400_from_default(self, lambda_handler, settings):
        settings.WEBSOCKETS = {"PATH_PREFIX": "/plain/"}
        lambda_handler(connect_event(connection_id="p="), None)

        unknown = lambda_handler(message_event(connection_id="p=", body='{"action": "nope"}'), None)
        missing = lambda_handler(message_event(connection_id="p=", body="hello"), None)

        assert unknown == {"statusCode": 400, "body": '{"error":{"status":400,"message":"Unknown action: \'nope\'."}}'}
        assert missing == {
            "statusCode": 400,
            "body": '{"error":{"status":400,"message":"The message is not JSON: send a JSON object with an action."}}',
        }


class TestHeartbeat:
    def test_every_view_answers_the_browser_clients_heartbeat(self, lambda_handler, settings):
        settings.WEBSOCKETS = {"PATH_PREFIX": "/plain/"}
        lambda_handler(connect_event(connection_id="h="), None)

        response = lambda_handler(message_event(connection_id="h=", body='{"action": "heartbeat"}'), None)

        assert response == {"statusCode": 200, "body": ""}
