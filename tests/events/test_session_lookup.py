"""The connection's row for a MESSAGE or $disconnect: one query, the user's identity columns with it, no SELECT 1."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.aws_events import connect_event, message_event
from websockets_app.events.session_lookup import load_event_session
from websockets_app.models import WebSocketSession

pytestmark = pytest.mark.urls("tests.urls")

CONNECTED_AT = datetime(2026, 11, 30, 8, 0, 1, 250000, tzinfo=UTC)


def login_cookie(user) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value}


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", email="alice@example.com", first_name="Alice")


@pytest.mark.django_db
def test_a_message_from_a_user_is_one_query_reading_only_the_columns_the_event_needs(lambda_handler, alice):
    lambda_handler(connect_event(connection_id="a=", cookies=login_cookie(alice)), None)

    with CaptureQueriesContext(connection) as queries:
        response = lambda_handler(message_event(connection_id="a=", body='{"action": "heartbeat"}'), None)

    assert response["statusCode"] == 200
    assert len(queries) == 1
    sql = queries[0]["sql"]
    user_columns = {"password", "is_active", "username"}
    other_user_columns = {"email", "first_name", "last_name", "last_login", "date_joined", "is_staff", "is_superuser"}
    assert all(f'u."{column}"' in sql or f"u.{column}" in sql for column in user_columns)
    assert not any(f'u."{column}"' in sql or f"u.{column}" in sql for column in other_user_columns)


@pytest.mark.django_db
def test_the_row_comes_back_typed_as_the_orm_would_and_the_rest_of_the_user_loads_on_use(alice):
    WebSocketSession.objects.create(
        connection_id="a=",
        channel_name="room",
        user=alice,
        api_id="abc123",
        stage="dev",
        source_ip="2001:db8::7",
        connected_at=CONNECTED_AT,
        disconnect_status_code=None,
    )

    with CaptureQueriesContext(connection) as queries:
        session = load_event_session("a=")
    assert len(queries) == 1
    assert (session.connection_id, session.channel_name, session.connected, session.api_id, session.stage) == (
        "a=",
        "room",
        True,
        "abc123",
        "dev",
    )
    assert (session.source_ip, session.connected_at, session.disconnect_status_code) == (
        "2001:db8::7",
        CONNECTED_AT,
        None,
    )
    assert (session.user.pk, session.user.username, session.user.is_active) == (alice.pk, "alice", True)
    assert session.user.check_password("unusable") is False
    assert len(queries) == 1  # all of that was loaded

    with CaptureQueriesContext(connection) as queries:
        assert (session.user.email, session.user.first_name) == ("alice@example.com", "Alice")
    assert len(queries) == 2  # deferred: each column when first used


@pytest.mark.django_db
def test_an_anonymous_row_has_no_user_and_an_unknown_id_no_row():
    WebSocketSession.objects.create(connection_id="anon=", connected=False)

    session = load_event_session("anon=")

    assert (session.connection_id, session.user, session.connected) == ("anon=", None, False)
    assert load_event_session("missing=") is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a server that drops connections: PostgreSQL")
def test_a_connection_the_database_dropped_is_replaced_without_a_health_check_per_event(monkeypatch, settings):
    """CONN_HEALTH_CHECKS' SELECT 1 before every message is replaced by the message's own query, retried once."""
    import psycopg

    from project.lambda_handler import lambda_handler  # as on Lambda: Django's request signals manage connections

    settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": None}
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    health_checks = []
    is_usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: health_checks.append(1) or is_usable())
    assert lambda_handler(connect_event(connection_id="d="), None)["statusCode"] == 200
    health_checks.clear()  # $connect keeps Django's check: its first query runs inside a transaction
    heartbeat = message_event(connection_id="d=", body='{"action": "heartbeat"}')
    assert lambda_handler(heartbeat, None) == {"statusCode": 200, "body": ""}
    dropped = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [dropped])

    assert lambda_handler(heartbeat, None) == {"statusCode": 200, "body": ""}
    assert connection.connection.info.backend_pid != dropped
    assert lambda_handler(heartbeat, None) == {"statusCode": 200, "body": ""}
    assert health_checks == []
