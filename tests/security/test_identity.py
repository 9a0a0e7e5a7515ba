"""A connection acts as its user only while the Django login it was opened with lasts."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.aws_events import API_ID, REGION, STAGE, connect_event, message_event
from websockets_app.models import ConnectToken, WebSocketSession
from websockets_app.security.identity import IDENTITY_USER_FIELDS, LOGIN_ENDED_REASON, close_user_connections

# Transactional: connections are closed through AWS once the change that ended the login has committed.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.urls")]

ENDPOINT = f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{STAGE}"
ENDED = {
    "statusCode": 403,
    "body": '{"error":{"status":403,"message":"Forbidden: the login this connection was opened with has ended."}}',
}
GONE = {"statusCode": 410, "body": '{"error":{"status":410,"message":"Gone: unknown or closed connection."}}'}


@pytest.fixture
def alice():
    return get_user_model().objects.create_user("alice", password="old password")


def logged_in_browser(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def connect(lambda_handler, connection_id: str, browser: Client | None = None, query=None) -> None:
    cookies = {"sessionid": browser.cookies["sessionid"].value} if browser else None
    event = connect_event(connection_id=connection_id, cookies=cookies, query=query)
    assert lambda_handler(event, None)["statusCode"] == 200


def whoami(lambda_handler, connection_id: str) -> dict:
    response = lambda_handler(message_event(connection_id=connection_id, body='{"action": "echo"}'), None)
    return response if response["statusCode"] != 200 else {"user": json.loads(response["body"])["user"]}


def states() -> dict[str, tuple[bool, str]]:
    return {
        row.connection_id: (row.connected, row.disconnect_reason)
        for row in WebSocketSession.objects.order_by("connection_id")
    }


OPEN = (True, "")
CLOSED = (False, LOGIN_ENDED_REASON)


def test_logout_closes_the_connections_opened_with_that_session_only(lambda_handler, connections_api, alice):
    laptop, phone = logged_in_browser(alice), logged_in_browser(alice)
    connections_api.open("laptop-1=", "laptop-2=", "phone=")
    connect(lambda_handler, "laptop-1=", laptop)
    connect(lambda_handler, "laptop-2=", laptop)
    connect(lambda_handler, "phone=", phone)

    laptop.logout()

    assert states() == {"laptop-1=": CLOSED, "laptop-2=": CLOSED, "phone=": OPEN}
    assert sorted(connections_api.requests) == [
        ("DELETE", f"{ENDPOINT}/@connections/laptop-1="),
        ("DELETE", f"{ENDPOINT}/@connections/laptop-2="),
    ]
    assert whoami(lambda_handler, "laptop-1=") == GONE
    assert whoami(lambda_handler, "phone=") == {"user": "alice"}


def test_a_password_change_closes_every_connection_of_the_user(lambda_handler, connections_api, alice):
    bob = get_user_model().objects.create_user("bob")
    connections_api.open("a-1=", "a-2=", "b=")
    connect(lambda_handler, "a-1=", logged_in_browser(alice))
    connect(lambda_handler, "a-2=", logged_in_browser(alice))
    connect(lambda_handler, "b=", logged_in_browser(bob))

    alice.set_password("new password")
    alice.save()

    assert states() == {"a-1=": CLOSED, "a-2=": CLOSED, "b=": OPEN}
    assert sorted(connections_api.requests) == [
        ("DELETE", f"{ENDPOINT}/@connections/a-1="),
        ("DELETE", f"{ENDPOINT}/@connections/a-2="),
    ]


def test_deactivation_closes_every_connection_of_the_user(lambda_handler, connections_api, alice):
    connections_api.open("a=")
    connect(lambda_handler, "a=", logged_in_browser(alice))

    alice.is_active = False
    alice.save(update_fields=["is_active"])

    assert states() == {"a=": CLOSED}
    assert connections_api.requests == [("DELETE", f"{ENDPOINT}/@connections/a=")]


def test_a_login_elsewhere_leaves_the_connections_open(lambda_handler, connections_api, alice):
    connect(lambda_handler, "a=", logged_in_browser(alice))

    assert Client().login(username="alice", password="old password")  # saves last_login only
    alice.first_name = "Alice"
    alice.save()

    assert states() == {"a=": OPEN}
    assert connections_api.requests == []
    assert whoami(lambda_handler, "a=") == {"user": "alice"}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"password": "changed without signals"}, id="password"),
        pytest.param({"is_active": False}, id="deactivated"),
    ],
)
def test_every_event_checks_the_login_even_when_no_signal_was_sent(lambda_handler, connections_api, alice, change):
    connections_api.open("a=")
    connect(lambda_handler, "a=", logged_in_browser(alice))
    get_user_model().objects.filter(pk=alice.pk).update(**change)

    assert whoami(lambda_handler, "a=") == ENDED
    assert states() == {"a=": CLOSED}
    assert connections_api.requests == [("DELETE", f"{ENDPOINT}/@connections/a=")]


def test_the_check_reads_only_the_named_user_columns(lambda_handler, alice):
    connect(lambda_handler, "a=", logged_in_browser(alice))
    get_user_model().objects.filter(pk=alice.pk).update(
        username="renamed", first_name="x", last_name="y", email="z@example.com", is_staff=True
    )

    assert IDENTITY_USER_FIELDS == ("password", "is_active")
    assert whoami(lambda_handler, "a=") == {"user": "renamed"}


def test_a_rotated_secret_key_keeps_the_connection(lambda_handler, settings, alice):
    connect(lambda_handler, "a=", logged_in_browser(alice))
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a brand new secret key, long enough to be a real one 0123456789"

    assert whoami(lambda_handler, "a=") == {"user": "alice"}


def test_a_forged_binding_is_refused(lambda_handler, connections_api, alice):
    connect(lambda_handler, "a=", logged_in_browser(alice))
    WebSocketSession.objects.update(session_auth_hash="0" * 64)

    assert whoami(lambda_handler, "a=") == ENDED


def test_a_user_assigned_to_an_anonymous_connection_is_not_taken_on(lambda_handler, connections_api, alice):
    connect(lambda_handler, "anon=")
    WebSocketSession.objects.update(user=alice)

    assert whoami(lambda_handler, "anon=") == ENDED


def test_logging_out_ends_the_connection_a_token_of_that_session_opened(lambda_handler, connections_api, alice):
    site = logged_in_browser(alice)
    token = site.post("/websockets/connect-token/").json()["token"]
    connections_api.open("t=")
    connect(lambda_handler, "t=", query={"token": token})
    assert whoami(lambda_handler, "t=") == {"user": "alice"}

    site.logout()

    assert states() == {"t=": CLOSED}
    assert connections_api.requests == [("DELETE", f"{ENDPOINT}/@connections/t=")]


def test_close_user_connections_logs_the_user_out_everywhere(lambda_handler, connections_api, alice):
    connections_api.open("a-1=", "a-2=", "anon=")
    connect(lambda_handler, "a-1=", logged_in_browser(alice))
    connect(lambda_handler, "a-2=", logged_in_browser(alice))
    connect(lambda_handler, "anon=")

    assert close_user_connections(alice) == 2
    assert close_user_connections(alice) == 0

    assert states() == {"a-1=": CLOSED, "a-2=": CLOSED, "anon=": OPEN}
    assert sorted(connections_api.requests) == [
        ("DELETE", f"{ENDPOINT}/@connections/a-1="),
        ("DELETE", f"{ENDPOINT}/@connections/a-2="),
    ]


def test_a_connection_aws_cannot_close_is_still_closed_in_the_table(lambda_handler, connections_api, alice, caplog):
    connections_api.open("a=")
    connections_api.fail("a=", 403)
    connect(lambda_handler, "a=", logged_in_browser(alice))

    assert close_user_connections(alice) == 1

    assert states() == {"a=": CLOSED}
    assert "Could not close connection a=" in caplog.text
    assert whoami(lambda_handler, "a=") == GONE


REFUSED_TOKEN = {"statusCode": 403, "body": "Forbidden: invalid, expired or used token."}


def token_from(site: Client) -> str:
    return site.post("/websockets/connect-token/").json()["token"]


class TestATokenDiesWithTheLogin:
    """A connect token opens a connection only while the login that asked for it lasts."""

    def test_logging_out_before_connecting_spends_the_token(self, lambda_handler, alice):
        site = logged_in_browser(alice)
        token = token_from(site)

        site.logout()

        assert lambda_handler(connect_event(connection_id="t=", query={"token": token}), None) == REFUSED_TOKEN
        assert states() == {}

    def test_a_password_change_before_connecting_spends_the_token(self, lambda_handler, alice):
        token = token_from(logged_in_browser(alice))

        alice.set_password("new password")
        alice.save()

        assert lambda_handler(connect_event(connection_id="t=", query={"token": token}), None) == REFUSED_TOKEN

    def test_a_password_changed_without_signals_spends_the_token_too(self, lambda_handler, alice):
        token = token_from(logged_in_browser(alice))

        get_user_model().objects.filter(pk=alice.pk).update(password="changed behind the app's back")

        assert lambda_handler(connect_event(connection_id="t=", query={"token": token}), None) == REFUSED_TOKEN

    def test_deleting_the_session_before_connecting_spends_the_token(self, lambda_handler, alice):
        site = logged_in_browser(alice)
        token = token_from(site)

        Session.objects.filter(session_key=site.cookies["sessionid"].value).delete()

        assert lambda_handler(connect_event(connection_id="t=", query={"token": token}), None) == REFUSED_TOKEN

    def test_a_token_of_a_live_login_connects_and_its_connection_ends_with_the_session(
        self, lambda_handler, connections_api, alice
    ):
        site = logged_in_browser(alice)
        connections_api.open("t=")
        connect(lambda_handler, "t=", query={"token": token_from(site)})
        assert whoami(lambda_handler, "t=") == {"user": "alice"}

        Session.objects.filter(session_key=site.cookies["sessionid"].value).delete()

        assert states() == {"t=": CLOSED}
        assert connections_api.requests == [("DELETE", f"{ENDPOINT}/@connections/t=")]


class TestDeletingSessionRows:
    """Deleting a session row (clearsessions, "log out everywhere") ends the connections opened with it."""

    @pytest.fixture(params=["django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db"])
    def engine(self, request, settings):
        settings.SESSION_ENGINE = request.param
        return request.param

    def test_deleting_every_session_of_a_user_closes_their_connections(
        self, lambda_handler, connections_api, alice, engine
    ):
        bob = get_user_model().objects.create_user("bob")
        connections_api.open("laptop=", "phone=", "bob=", "anon=")
        connect(lambda_handler, "laptop=", logged_in_browser(alice))
        connect(lambda_handler, "phone=", logged_in_browser(alice))
        connect(lambda_handler, "bob=", logged_in_browser(bob))
        connect(lambda_handler, "anon=")

        alices = [s.pk for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(alice.pk)]
        Session.objects.filter(pk__in=alices).delete()

        assert states() == {"anon=": OPEN, "bob=": OPEN, "laptop=": CLOSED, "phone=": CLOSED}
        assert sorted(connections_api.requests) == [
            ("DELETE", f"{ENDPOINT}/@connections/laptop="),
            ("DELETE", f"{ENDPOINT}/@connections/phone="),
        ]
        assert whoami(lambda_handler, "laptop=") == GONE
        assert whoami(lambda_handler, "bob=") == {"user": "bob"}

    def test_clearsessions_closes_the_connections_of_expired_sessions(self, lambda_handler, connections_api, alice):
        stale, fresh = logged_in_browser(alice), logged_in_browser(alice)
        connections_api.open("stale=", "fresh=")
        connect(lambda_handler, "stale=", stale)
        connect(lambda_handler, "fresh=", fresh)
        Session.objects.filter(session_key=stale.cookies["sessionid"].value).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )

        call_command("clearsessions")

        assert states() == {"fresh=": OPEN, "stale=": CLOSED}
        assert connections_api.requests == [("DELETE", f"{ENDPOINT}/@connections/stale=")]

    @pytest.mark.parametrize("in_use", [True, False])
    def test_clearsessions_keeps_djangos_one_statement_delete(self, lambda_handler, connections_api, alice, in_use):
        stale = logged_in_browser(alice)
        if in_use:
            connections_api.open("stale=")
            connect(lambda_handler, "stale=", stale)
        expired = timezone.now() - timedelta(days=1)
        Session.objects.bulk_create(
            Session(session_key=f"{n:032d}", session_data="", expire_date=expired) for n in range(100)
        )
        Session.objects.update(expire_date=expired)

        with CaptureQueriesContext(connection) as queries:
            call_command("clearsessions")
        # What each statement on the sessions does (PostgreSQL reads through a server-side cursor: DECLARE).
        verbs = [query["sql"].split()[0] for query in queries if '"django_session"' in query["sql"]]
        on_sessions = ["SELECT" if verb == "DECLARE" else verb for verb in verbs]

        assert Session.objects.count() == 0
        # In use: the expired keys read once (to find the logins to end), then Django's one DELETE; else the DELETE.
        assert on_sessions == (["SELECT", "DELETE"] if in_use else ["DELETE"])
        assert states() == ({"stale=": CLOSED} if in_use else {})

    def test_a_flush_without_logout_closes_the_connections_of_that_session(
        self, lambda_handler, connections_api, alice
    ):
        site = logged_in_browser(alice)
        connections_api.open("a=")
        connect(lambda_handler, "a=", site)

        SessionStore(session_key=site.cookies["sessionid"].value).flush()

        assert states() == {"a=": CLOSED}

    def test_another_user_logging_in_in_the_same_browser_ends_the_first_login(
        self, lambda_handler, connections_api, alice
    ):
        get_user_model().objects.create_user("bob", password="bob's password")
        browser = Client()
        assert browser.login(username="alice", password="old password")
        connections_api.open("alice=", "bob=")
        connect(lambda_handler, "alice=", browser)

        assert browser.login(username="bob", password="bob's password")  # Django flushes alice's session
        connect(lambda_handler, "bob=", browser)

        assert states() == {"alice=": CLOSED, "bob=": OPEN}
        assert whoami(lambda_handler, "bob=") == {"user": "bob"}

    def test_a_rolled_back_deletion_ends_nothing(self, lambda_handler, connections_api, alice):
        site = logged_in_browser(alice)
        connect(lambda_handler, "a=", site)

        with transaction.atomic():
            Session.objects.all().delete()
            transaction.set_rollback(True)  # changed my mind

        assert states() == {"a=": OPEN}
        assert whoami(lambda_handler, "a=") == {"user": "alice"}

    def test_deleting_many_sessions_costs_a_few_queries_not_a_few_per_session(
        self, lambda_handler, connections_api, alice
    ):
        browsers = [logged_in_browser(alice) for _ in range(30)]
        connections_api.open("first=", "last=")
        connect(lambda_handler, "first=", browsers[0])
        connect(lambda_handler, "last=", browsers[-1])

        with CaptureQueriesContext(connection) as queries:
            Session.objects.all().delete()
        ours = [query["sql"] for query in queries if "websockets_app_" in query["sql"]]

        assert states() == {"first=": CLOSED, "last=": CLOSED}
        # For the 30 logins: the open connections read and marked closed, the unused tokens deleted; then one UPDATE
        # per connection the management API closed (WebSocketSession.close() records it).
        assert len(ours) == 3 + 2


def test_the_connection_table_holds_no_session_key(lambda_handler, alice):
    site = logged_in_browser(alice)
    session_key = site.cookies["sessionid"].value
    connect(lambda_handler, "a=", site)
    connect(lambda_handler, "t=", query={"token": token_from(site)})

    stored = [str(value) for row in WebSocketSession.objects.values() for value in row.values()]
    stored += [str(value) for row in ConnectToken.objects.values() for value in row.values()]

    assert not any(session_key in value for value in stored)
