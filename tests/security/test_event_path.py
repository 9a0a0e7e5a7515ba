"""Origins, connect tokens, permissions, rate limits, channel rules and error handling on the event path."""

import json
import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from tests.aws_events import API_ID, connect_event, message_event
from websockets_app.models import ApiGateway, ConnectToken, WebSocketChannelMembership, WebSocketSession
from websockets_app.security.origins import origin_allowed, parse_origin
from websockets_app.security.tokens import hash_token, issue_connect_token

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]

OK = {"statusCode": 200, "body": ""}


def make_user(username: str, *permissions: str, staff: bool = False):
    user = get_user_model().objects.create_user(username, is_staff=staff)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def session_cookie(user) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value}


def rows() -> list[tuple[str, bool]]:
    return list(WebSocketSession.objects.order_by("connection_id").values_list("connection_id", "connected"))


class TestOrigin:
    @pytest.mark.parametrize(
        ("origin", "allowed"),
        [
            ("https://www.example.com", True),
            ("http://www.example.com", True),
            ("https://www.example.com:443", True),
            ("https://WWW.EXAMPLE.COM", True),
            ("http://localhost:8000", True),
            ("http://127.0.0.1:8000", True),
            ("https://www.example.com.evil.net", False),
            ("https://evil-www.example.com", False),
            ("https://evil.net/www.example.com", False),
            ("https://www.example.com@evil.net", False),
            ("https://evil.net?www.example.com", False),
            ("https://evil.net#www.example.com", False),
            ("ftp://www.example.com", False),
            ("null", False),
            ("file://", False),
            ("https://", False),
            ("https://www.example.com:99999", False),
            ("www.example.com", False),
            ("https://www.example.com/path", False),
        ],
    )
    def test_default_follows_allowed_hosts_exactly(self, origin, allowed):
        assert origin_allowed(origin) is allowed

    @pytest.mark.parametrize(
        ("origin", "allowed"),
        [
            ("https://example.com", True),
            ("https://chat.example.com", True),
            ("https://a.b.example.com", True),
            ("http://example.com", False),
            ("https://example.com:8443", False),
            ("https://example.com.evil.net", False),
            ("https://notexample.com", False),
            ("https://partner.org:8443", True),
            ("https://partner.org", False),
            ("https://www.partner.org:8443", False),
        ],
    )
    def test_configured_origins_match_scheme_host_and_port(self, settings, origin, allowed):
        settings.WEBSOCKETS = {"ALLOWED_ORIGINS": ["https://.example.com", "https://partner.org:8443"]}

        assert origin_allowed(origin) is allowed

    def test_parse_origin(self):
        assert parse_origin("HTTPS://Chat.Example.com:8443") == ("https", "chat.example.com", 8443)
        assert parse_origin("http://[::1]:8000") == ("http", "::1", 8000)

    def test_refused_origin_stores_nothing(self, lambda_handler):
        response = lambda_handler(connect_event(origin="https://www.example.com.evil.net"), None)

        assert response == {"statusCode": 403, "body": "Forbidden: origin not allowed."}
        assert rows() == []

    def test_missing_origin_is_allowed_by_default(self, lambda_handler):
        assert lambda_handler(connect_event(origin=None), None) == OK

    def test_missing_origin_can_be_refused(self, lambda_handler, settings):
        settings.WEBSOCKETS = {"ALLOW_MISSING_ORIGIN": False}

        assert lambda_handler(connect_event(origin=None), None)["statusCode"] == 403
        assert rows() == []

    @pytest.mark.parametrize("origin", ["wss://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com", "ws://10.0.0.2:80"])
    @pytest.mark.parametrize(("allow_missing", "status"), [(True, 200), (False, 403)])
    def test_a_websocket_url_origin_counts_as_no_origin(self, lambda_handler, settings, origin, allow_missing, status):
        settings.WEBSOCKETS = {"ALLOW_MISSING_ORIGIN": allow_missing}

        assert lambda_handler(connect_event(origin=origin), None)["statusCode"] == status
        assert len(rows()) == (1 if status == 200 else 0)


class TestConnectTokens:
    def test_endpoint_issues_a_token_for_the_logged_in_user(self):
        alice = make_user("alice")
        client = Client()
        client.force_login(alice)

        response = client.post("/websockets/connect-token/")

        assert response.status_code == 200
        assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
        payload = response.json()
        assert payload["expires_in"] == 60
        assert ConnectToken.objects.get().user == alice
        assert ConnectToken.objects.get().token_hash == hash_token(payload["token"])

    def test_token_is_stored_hashed(self):
        token = issue_connect_token(make_user("alice"))

        stored = ConnectToken.objects.get()
        assert token not in stored.token_hash
        assert not ConnectToken.objects.filter(token_hash=token).exists()

    def test_endpoint_requires_login(self):
        assert Client().post("/websockets/connect-token/").json() == {"error": "Log in first."}
        assert not ConnectToken.objects.exists()

    def test_endpoint_requires_post(self):
        client = Client()
        client.force_login(make_user("alice"))

        assert client.get("/websockets/connect-token/").status_code == 405

    def test_endpoint_is_csrf_protected(self):
        client = Client(enforce_csrf_checks=True)
        client.force_login(make_user("alice"))

        assert client.post("/websockets/connect-token/").status_code == 403
        assert not ConnectToken.objects.exists()

    def test_token_connects_as_its_user(self, lambda_handler):
        token = issue_connect_token(make_user("alice"))

        assert lambda_handler(connect_event(connection_id="t=", query={"token": token}), None) == OK
        assert WebSocketSession.objects.get().user.username == "alice"
        assert ConnectToken.objects.get().used_at is not None

    def test_token_is_single_use(self, lambda_handler):
        token = issue_connect_token(make_user("alice"))
        lambda_handler(connect_event(connection_id="first=", query={"token": token}), None)

        response = lambda_handler(connect_event(connection_id="second=", query={"token": token}), None)

        assert response == {"statusCode": 403, "body": "Forbidden: invalid, expired or used token."}
        assert rows() == [("first=", True)]

    def test_expired_token_is_refused(self, lambda_handler, settings):
        settings.WEBSOCKETS = {"CONNECT_TOKEN_MAX_AGE": 5}
        token = issue_connect_token(make_user("alice"))
        stored = ConnectToken.objects.get()
        assert stored.expires_at - stored.created_at == timedelta(seconds=5)
        ConnectToken.objects.update(expires_at=timezone.now() - timedelta(milliseconds=1))

        response = lambda_handler(connect_event(query={"token": token}), None)

        assert response["statusCode"] == 403
        assert rows() == []

    @pytest.mark.parametrize(("age", "status"), [(29, 200), (31, 403)])
    def test_configured_lifetime_is_enforced(self, lambda_handler, settings, monkeypatch, age, status):
        settings.WEBSOCKETS = {"CONNECT_TOKEN_MAX_AGE": 30}
        token = issue_connect_token(make_user("alice"))
        later = timezone.now() + timedelta(seconds=age)
        monkeypatch.setattr("websockets_app.security.tokens.timezone.now", lambda: later)

        assert lambda_handler(connect_event(query={"token": token}), None)["statusCode"] == status

    def test_token_of_another_user_than_the_cookie_is_refused(self, lambda_handler):
        token = issue_connect_token(make_user("alice"))
        mallory = make_user("mallory")

        response = lambda_handler(connect_event(query={"token": token}, cookies=session_cookie(mallory)), None)

        assert response == {"statusCode": 403, "body": "Forbidden: the token belongs to another user."}
        assert rows() == []

    def test_refused_connection_does_not_use_up_the_token(self, lambda_handler):
        token = issue_connect_token(make_user("alice"))

        refused = lambda_handler(connect_event(query={"token": token, "channel": "bad channel"}), None)
        accepted = lambda_handler(connect_event(query={"token": token}), None)

        assert (refused["statusCode"], accepted) == (400, OK)

    @pytest.mark.parametrize("token", ["", "x", "a" * 129, "' OR 1=1 --", "\u202e"])
    def test_unknown_tokens_are_refused(self, lambda_handler, token):
        assert lambda_handler(connect_event(query={"token": token}), None)["statusCode"] == 403
        assert rows() == []

    def test_inactive_users_token_is_refused(self, lambda_handler):
        alice = make_user("alice")
        token = issue_connect_token(alice)
        get_user_model().objects.filter(pk=alice.pk).update(is_active=False)

        assert lambda_handler(connect_event(query={"token": token}), None)["statusCode"] == 403


class TestPermissions:
    @pytest.fixture(autouse=True)
    def guarded(self, settings):
        settings.WEBSOCKETS = {"PATH_PREFIX": "/guarded/"}

    def connect_as(self, lambda_handler, user, connection_id="g="):
        cookies = session_cookie(user) if user else None
        return lambda_handler(connect_event(connection_id=connection_id, cookies=cookies), None)

    def send(self, lambda_handler, action, connection_id="g=", **body):
        event = message_event(connection_id=connection_id, body=json.dumps({"action": action, **body}))
        return lambda_handler(event, None)

    def test_anonymous_is_refused(self, lambda_handler):
        assert self.connect_as(lambda_handler, None) == {"statusCode": 403, "body": "Forbidden: log in first."}
        assert rows() == []

    def test_user_without_the_views_permission_is_refused(self, lambda_handler):
        response = self.connect_as(lambda_handler, make_user("bob"))

        assert response == {"statusCode": 403, "body": "Forbidden: permission denied."}
        assert rows() == []

    def test_user_with_the_views_permission_connects(self, lambda_handler):
        assert self.connect_as(lambda_handler, make_user("carol", "auth.view_user")) == OK

    def test_action_needing_all_permissions(self, lambda_handler):
        self.connect_as(lambda_handler, make_user("carol", "auth.view_user", "auth.delete_user"))

        assert self.send(lambda_handler, "kick") == {
            "statusCode": 403,
            "body": '{"error":{"status":403,"message":"Forbidden: permission denied."}}',
        }

    def test_action_with_all_permissions(self, lambda_handler):
        self.connect_as(lambda_handler, make_user("dan", "auth.view_user", "auth.delete_user", "auth.change_user"))

        assert self.send(lambda_handler, "kick") == {"statusCode": 200, "body": '{"handler": "kick"}'}

    @pytest.mark.parametrize(("permission", "status"), [("auth.add_user", 200), ("auth.change_user", 200), (None, 403)])
    def test_action_needing_any_permission(self, lambda_handler, permission, status):
        extra = (permission,) if permission else ()
        self.connect_as(lambda_handler, make_user("erin", "auth.view_user", *extra))

        assert self.send(lambda_handler, "post")["statusCode"] == status

    def test_losing_the_views_permission_stops_messages(self, lambda_handler):
        frank = make_user("frank", "auth.view_user")
        self.connect_as(lambda_handler, frank)
        frank.user_permissions.clear()

        assert self.send(lambda_handler, "join", channel="x")["statusCode"] == 403

    def test_a_deactivated_users_connection_is_refused_and_closed(self, lambda_handler):
        grace = make_user("grace", "auth.view_user")
        self.connect_as(lambda_handler, grace)
        get_user_model().objects.filter(pk=grace.pk).update(is_active=False)

        answer = self.send(lambda_handler, "join", channel="x")

        assert answer["statusCode"] == 403
        assert json.loads(answer["body"]) == {
            "error": {"status": 403, "message": "Forbidden: the login this connection was opened with has ended."}
        }
        assert rows() == [("g=", False)]


class TestChannels:
    @pytest.fixture(autouse=True)
    def guarded(self, settings):
        settings.WEBSOCKETS = {"PATH_PREFIX": "/guarded/"}

    def connect_as(self, lambda_handler, user, connection_id="g=", **query):
        event = connect_event(connection_id=connection_id, cookies=session_cookie(user), query=query or None)
        return lambda_handler(event, None)

    def send(self, lambda_handler, action, connection_id="g=", **body):
        event = message_event(connection_id=connection_id, body=json.dumps({"action": action, **body}))
        return json.loads(lambda_handler(event, None)["body"] or "null")

    def test_join_and_leave_at_runtime(self, lambda_handler):
        self.connect_as(lambda_handler, make_user("amy", "auth.view_user"), channel="lobby")

        assert self.send(lambda_handler, "join", channel="room-2") == {"joined": True, "channels": ["lobby", "room-2"]}
        assert self.send(lambda_handler, "join", channel="room-1") == {
            "joined": True,
            "channels": ["lobby", "room-1", "room-2"],
        }
        assert self.send(lambda_handler, "join", channel="room-1")["joined"] is False
        assert self.send(lambda_handler, "leave", channel="lobby") == {"left": True, "channels": ["room-1", "room-2"]}
        assert self.send(lambda_handler, "leave", channel="nowhere") == {
            "left": False,
            "channels": ["room-1", "room-2"],
        }

    def test_sending_to_a_channel_reaches_members(self, lambda_handler):
        amy = make_user("amy", "auth.view_user")
        self.connect_as(lambda_handler, amy, connection_id="a=", channel="lobby")
        self.connect_as(lambda_handler, amy, connection_id="b=", channel="room-1")
        self.connect_as(lambda_handler, amy, connection_id="c=", channel="lobby")
        self.send(lambda_handler, "join", connection_id="b=", channel="lobby")
        self.send(lambda_handler, "leave", connection_id="c=", channel="lobby")

        members = WebSocketSession.objects.in_channel("lobby").order_by("connection_id")

        assert list(members.values_list("connection_id", flat=True)) == ["a=", "b="]
        assert members.count() == 2

    def test_hook_refuses_a_channel_on_connect(self, lambda_handler):
        response = self.connect_as(lambda_handler, make_user("amy", "auth.view_user"), channel="staff-room")

        assert response == {"statusCode": 403, "body": "Forbidden: you may not join this channel."}
        assert rows() == []

    def test_hook_admits_staff_on_connect(self, lambda_handler):
        boss = make_user("boss", "auth.view_user", staff=True)

        assert self.connect_as(lambda_handler, boss, channel="staff-room") == OK

    def test_hook_refuses_a_runtime_join(self, lambda_handler):
        self.connect_as(lambda_handler, make_user("amy", "auth.view_user"))
        event = message_event(connection_id="g=", body='{"action": "join", "channel": "staff-only"}')

        assert lambda_handler(event, None) == {
            "statusCode": 403,
            "body": '{"error":{"status":403,"message":"Forbidden: you may not join this channel."}}',
        }
        assert not WebSocketChannelMembership.objects.exists()

    @pytest.mark.parametrize("where", ["setting", "api row"])
    def test_hook_refuses_a_default_channel_on_connect(self, lambda_handler, settings, where):
        if where == "setting":
            settings.WEBSOCKETS = {"PATH_PREFIX": "/guarded/", "DEFAULT_CHANNEL_NAME": "staff-lobby"}
        else:
            ApiGateway.objects.create(api_name="chat", api_id=API_ID, default_channel_name="staff-lobby")

        response = self.connect_as(lambda_handler, make_user("amy", "auth.view_user"))

        assert response == {"statusCode": 403, "body": "Forbidden: you may not join this channel."}
        assert rows() == []
        assert self.connect_as(lambda_handler, make_user("boss", "auth.view_user", staff=True)) == OK
        assert list(WebSocketSession.objects.values_list("channel_name", flat=True)) == ["staff-lobby"]

    def test_no_channel_matches_no_connection(self, lambda_handler):
        amy = make_user("amy", "auth.view_user")
        self.connect_as(lambda_handler, amy, connection_id="a=", channel="lobby")
        self.connect_as(lambda_handler, amy, connection_id="b=", channel="lobby")
        self.send(lambda_handler, "join", connection_id="a=", channel="room")
        self.send(lambda_handler, "leave", connection_id="a=", channel="lobby")

        assert list(WebSocketSession.objects.in_channel("").values_list("connection_id", flat=True)) == []
        assert list(WebSocketSession.objects.in_channel("room").values_list("connection_id", flat=True)) == ["a="]

    def test_runtime_joins_are_capped_per_connection(self, lambda_handler, settings):
        settings.WEBSOCKETS = {"PATH_PREFIX": "/guarded/", "MAX_JOINED_CHANNELS": 3}
        self.connect_as(lambda_handler, make_user("amy", "auth.view_user"), channel="lobby")
        for number in range(3):
            assert self.send(lambda_handler, "join", channel=f"room-{number}")["joined"] is True
        event = message_event(connection_id="g=", body='{"action": "join", "channel": "room-3"}')

        assert lambda_handler(event, None) == {
            "statusCode": 400,
            "body": '{"error":{"status":400,"message":"Too many channels: a connection may join at most 3."}}',
        }
        assert self.send(lambda_handler, "join", channel="room-1")["joined"] is False  # a member already
        assert self.send(lambda_handler, "join", channel="lobby")["joined"] is False  # its connect-time channel
        assert sorted(WebSocketChannelMembership.objects.values_list("channel_name", flat=True)) == [
            "room-0",
            "room-1",
            "room-2",
        ]

    def test_the_join_cap_defaults_to_a_hundred(self, lambda_handler):
        self.connect_as(lambda_handler, make_user("amy", "auth.view_user"))
        session = WebSocketSession.objects.get()
        for number in range(100):
            assert session.join(f"room-{number}") is True

        with pytest.raises(ValidationError, match="at most 100"):
            session.join("room-100")
        assert WebSocketChannelMembership.objects.count() == 100

    @pytest.mark.parametrize("channel", [None, 5, "", "bad channel", "x" * 129, ["a"]])
    def test_invalid_runtime_join_is_400(self, lambda_handler, channel):
        self.connect_as(lambda_handler, make_user("amy", "auth.view_user"))
        event = message_event(connection_id="g=", body=json.dumps({"action": "join", "channel": channel}))

        response = lambda_handler(event, None)

        assert response["statusCode"] == 400
        assert json.loads(response["body"]) == {
            "error": {"status": 400, "message": "Invalid channel: use 1 to 128 letters, digits, '-', '_' or '.'."}
        }
        assert not WebSocketChannelMembership.objects.exists()


class TestRateLimits:
    def test_per_source_ip_from_the_event_not_forwarded_for(self, lambda_handler, settings):
        settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": (3, 60)}
        for n in range(3):
            event = connect_event(connection_id=f"ok{n}=", headers={"X-Forwarded-For": f"198.51.100.{n}"})
            assert lambda_handler(event, None) == OK

        spoofed = connect_event(connection_id="spoof=", headers={"X-Forwarded-For": "198.51.100.99"})
        other_ip = connect_event(connection_id="other=", source_ip="192.0.2.1")

        assert lambda_handler(spoofed, None) == {
            "statusCode": 429,
            "body": "Too many connections from this address; try again later.",
        }
        assert lambda_handler(other_ip, None) == OK
        assert len(rows()) == 4

    def test_per_user_across_addresses(self, lambda_handler, settings):
        settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_USER": (2, 60)}
        cookie = session_cookie(make_user("alice"))
        results = [
            lambda_handler(connect_event(connection_id=f"u{n}=", cookies=cookie, source_ip=f"192.0.2.{n}"), None)
            for n in range(3)
        ]

        assert [r["statusCode"] for r in results] == [200, 200, 429]
        assert results[2]["body"] == "Too many connections for this user; try again later."
        assert len(rows()) == 2

    def test_disabled_limits(self, lambda_handler, settings):
        settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": None}

        results = {lambda_handler(connect_event(connection_id=f"n{n}="), None)["statusCode"] for n in range(70)}

        assert results == {200}


class TestErrors:
    def test_unexpected_exception_is_logged_once_with_the_connection_and_mailed_as_a_views_would_be(
        self, lambda_handler, settings, caplog, admins
    ):
        settings.WEBSOCKETS = {"PATH_PREFIX": "/guarded/"}
        lambda_handler(
            connect_event(connection_id="bug=", cookies=session_cookie(make_user("amy", "auth.view_user"))), None
        )
        caplog.clear()

        with caplog.at_level(logging.INFO):
            response = lambda_handler(message_event(connection_id="bug=", body='{"action": "boom"}'), None)

        assert response == {"statusCode": 500, "body": '{"error":{"status":500,"message":"Internal server error."}}'}
        errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
        assert [record.getMessage() for record in errors] == [
            "Internal Server Error: /guarded/default (GuardedView, route $default, connection bug=)"
        ]
        assert len(mail.outbox) == 1
        assert "hunter2" not in response["body"]

    def test_no_response_body_leaks_settings_or_tracebacks(self, lambda_handler, settings):
        settings.DEBUG = True
        settings.WEBSOCKETS = {"PATH_PREFIX": "/guarded/"}
        lambda_handler(
            connect_event(connection_id="bug=", cookies=session_cookie(make_user("amy", "auth.view_user"))), None
        )

        response = lambda_handler(message_event(connection_id="bug=", body='{"action": "boom"}'), None)

        assert "hunter2" not in response["body"]
        assert "Traceback" not in response["body"]

    @pytest.mark.parametrize(
        ("event", "expected"),
        [
            pytest.param(
                connect_event(connection_id="h=", headers={"Host": "evil.example.net"}),
                {"statusCode": 400, "body": "Bad Request."},
                id="connect with a disallowed host",
            ),
            pytest.param(
                message_event(connection_id="h=", body="{}"),
                {"statusCode": 404, "body": '{"error":{"status":404,"message":"Not Found."}}'},
                id="route with no URL",
            ),
        ],
    )
    def test_events_refused_before_the_view_never_carry_a_debug_page(self, lambda_handler, settings, event, expected):
        settings.DEBUG = True
        settings.WEBSOCKETS = {"PATH_PREFIX": "/nowhere/"} if expected["statusCode"] == 404 else {}

        assert lambda_handler(event, None) == expected
        assert WebSocketSession.objects.count() == 0
