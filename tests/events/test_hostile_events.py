"""Malformed and hostile events: never a 5xx, never a changed row, never a method that is not a handler."""

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.aws_events import connect_event, disconnect_event, message_event
from tests.websocket_views import ActionView
from websockets_app.models import ConnectToken, WebSocketChannelMembership, WebSocketSession

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]

# Written out, not derived from the dispatch code under test: ActionView's own handlers, the built-in heartbeat,
# and the three methods the event types call.
REACHABLE = frozenset(
    {"echo", "sendmessage", "broadcast", "debuglog", "say", "reject", "heartbeat", "connect", "disconnect", "default"}
)
VICTIM = "victim="


@pytest.fixture
def handlers_called(monkeypatch) -> list[str]:
    """Every handler ActionView runs, read from its own debug log."""
    called: list[str] = []
    original = ActionView._debug

    def record(view: ActionView, message: str) -> None:
        if message.startswith("handler "):
            called.append(message.removeprefix("handler "))
        original(view, message)

    monkeypatch.setattr(ActionView, "_debug", record)
    return called


@pytest.fixture
def no_message_rate_limit(settings) -> None:
    """Hundreds of generated events share one victim: what is tried here is hijacking, not flooding."""
    settings.WEBSOCKETS = {"MESSAGE_RATE_LIMIT": None}


@pytest.fixture
def victim(lambda_handler) -> None:
    assert lambda_handler(connect_event(connection_id=VICTIM, query={"channel": "room"}), None)["statusCode"] == 200


def database_state() -> list[Any]:
    """Every row the app owns, except the last-seen time that any message from a live connection refreshes."""
    sessions = WebSocketSession.objects.order_by("pk").values(
        "connection_id", "channel_name", "user_id", "connected", "disconnect_status_code", "disconnect_reason"
    )
    return [
        list(sessions),
        list(WebSocketChannelMembership.objects.order_by("pk").values("session_id", "channel_name")),
        list(ConnectToken.objects.order_by("pk").values("token_hash", "used_at")),
    ]


def with_context(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    event["requestContext"].update(changes)
    return event


def without_context(event: dict[str, Any], *fields: str) -> dict[str, Any]:
    for field in fields:
        event["requestContext"].pop(field, None)
    return event


def msg(body: Any = '{"action": "echo"}', **kwargs: Any) -> dict[str, Any]:
    event = message_event(connection_id=VICTIM, **kwargs)
    event["body"] = body
    return event


HOSTILE_EVENTS = {
    # Bodies.
    "huge body": msg("x" * 200_000),
    "huge json": msg(json.dumps({"action": "echo", "data": "x" * 200_000})),
    "deep nesting": msg("[" * 100_000 + "]" * 100_000),
    "deep object nesting": msg('{"a":' * 50_000 + "1" + "}" * 50_000),
    "body is null": msg(None),
    "body is a number": msg(12345),
    "body is an object": msg({"action": "echo"}),
    "body is a list": msg(["echo"]),
    "invalid utf-8 binary frame": message_event(connection_id=VICTIM, body=b"\xc3\x28\xa0\xa1"),
    "binary frame with json": message_event(connection_id=VICTIM, body=b'{"action": "dispatch"}'),
    "bad base64": {**msg("!!!not base64!!!"), "isBase64Encoded": True},
    "base64 flag as string": {**msg('{"action": "echo"}'), "isBase64Encoded": "true"},
    "nul bytes in body": msg('{"action": "echo\\u0000"}'),
    "surrogates in body": msg('{"action": "\\ud800"}'),
    "action is huge": msg(json.dumps({"action": "a" * 100_000})),
    "action of 131 KB of control characters": msg(json.dumps({"action": "\x01" * 131_000})),
    "id is a lone surrogate": msg('{"action": "echo", "id": "\\ud800"}'),
    "id ends in a lone surrogate": msg('{"action": "nope", "id": "x\\udfff"}'),
    "action dunder init": msg('{"action": "__init__"}'),
    "action dunder class": msg('{"action": "__class__"}'),
    "action mro": msg('{"action": "mro"}'),
    "action dispatch": msg('{"action": "dispatch"}'),
    "action setup": msg('{"action": "setup"}'),
    "action as_view": msg('{"action": "as_view"}'),
    "action connect": msg('{"action": "connect"}'),
    "action disconnect": msg('{"action": "disconnect"}'),
    "action private": msg('{"action": "_secret"}'),
    "action staticmethod": msg('{"action": "helper"}'),
    "action options": msg('{"action": "options"}'),
    "action http_method_not_allowed": msg('{"action": "http_method_not_allowed"}'),
    "action join_channel": msg('{"action": "join_channel", "channel": "staff"}'),
    "action may_join_channel": msg('{"action": "may_join_channel"}'),
    "action get_handler_name": msg('{"action": "get_handler_name"}'),
    "action with nul": msg('{"action": "echo\\u0000"}'),
    "action is an object": msg('{"action": {"__class__": "x"}}'),
    "duplicate action keys": msg('{"action": "echo", "action": "dispatch"}'),
    "NaN and Infinity": msg('{"action": "echo", "n": NaN, "m": Infinity}'),
    # Route keys.
    "route key is $connect": msg(route_key="$connect"),
    "route key is $disconnect": msg(route_key="$disconnect"),
    "route key climbs paths": msg(route_key="../../admin/"),
    "route key with slash": msg(route_key="a/b"),
    "route key is dunder": msg(route_key="__init__"),
    "route key is dispatch": msg(route_key="dispatch"),
    "route key too long": msg(route_key="r" * 10_000),
    "route key with nul": msg(route_key="echo\x00"),
    "route key with newline": msg(route_key="echo\nSet-Cookie: x=y"),
    "route key is unicode": msg(route_key="ëcho"),
    "route key is a number": with_context(msg(), routeKey=7),
    # Missing and malformed fields.
    "no request context fields": {"requestContext": {"eventType": "MESSAGE"}, "body": "{}"},
    "no connection id": without_context(msg(), "connectionId"),
    "no route key": without_context(msg(), "routeKey"),
    "no api id": without_context(msg(), "apiId"),
    "no stage": without_context(msg(), "stage"),
    "no domain name": without_context(msg(), "domainName"),
    "connection id too long": with_context(msg(), connectionId="c" * 129),
    "connection id with nul": with_context(msg(), connectionId="victim=\x00"),
    "connection id is a list": with_context(msg(), connectionId=[VICTIM]),
    "domain name is evil": with_context(msg(), domainName="evil.example.net"),
    "api id too long": with_context(msg(), apiId="a" * 65),
    "identity is a string": with_context(msg(), identity="203.0.113.7"),
    "source ip is garbage": with_context(msg(), identity={"sourceIp": "not-an-ip"}),
    "connectedAt is a string": with_context(msg(), connectedAt="yesterday"),
    "headers is a list": {**msg(), "headers": ["Host: evil"]},
    "multi value headers with non lists": {**msg(), "multiValueHeaders": {"Host": "evil"}},
    # Unknown connections.
    "message from unknown connection": message_event(connection_id="nobody=", body='{"action": "echo"}'),
    "message from unknown connection with dunder": message_event(
        connection_id="nobody=", body='{"action": "__init__"}'
    ),
    # Connect attempts that must be refused.
    "connect with evil origin": connect_event(connection_id="evil=", origin="https://www.example.com.evil.net"),
    "connect with null origin": connect_event(connection_id="evil=", origin="null"),
    "connect with bad channel": connect_event(connection_id="evil=", query={"channel": "a b"}),
    "connect with nul channel": connect_event(connection_id="evil=", query={"channel": "room\x00"}),
    "connect with huge channel": connect_event(connection_id="evil=", query={"channel": "c" * 5000}),
    "connect with forged token": connect_event(connection_id="evil=", query={"token": "forged"}),
    "connect with evil host": connect_event(connection_id="evil=", headers={"Host": "evil.example.net"}),
    "connect reusing the victim's id with bad channel": connect_event(
        connection_id=VICTIM, query={"channel": "not valid"}
    ),
    "connect with victim id from evil origin": connect_event(connection_id=VICTIM, origin="https://evil.net"),
    # Disconnects that must not touch the victim.
    "disconnect of another id with nul": disconnect_event(connection_id="x\x00"),
    "disconnect with overlong id": disconnect_event(connection_id="d" * 200),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_EVENTS))
def test_hostile_event(lambda_handler, victim, handlers_called, name):
    before = database_state()

    response = lambda_handler(HOSTILE_EVENTS[name], None)

    assert 200 <= response["statusCode"] < 500, response
    assert set(handlers_called) <= REACHABLE
    assert database_state() == before
    assert "Traceback" not in response["body"]
    assert len(response["body"].encode()) <= 128 * 1024  # what API Gateway can carry


def test_the_matrix_is_large():
    assert len(HOSTILE_EVENTS) >= 70


def test_hostile_disconnect_status_and_reason_are_sanitised(lambda_handler, victim):
    event = disconnect_event(connection_id=VICTIM, status_code=2**40, reason="bye\x00" + "r" * 1000)

    assert lambda_handler(event, None) == {"statusCode": 200, "body": ""}
    session = WebSocketSession.objects.get(connection_id=VICTIM)
    assert (session.connected, session.disconnect_status_code, session.disconnect_reason) == (
        False,
        None,
        "bye" + "r" * 252,
    )


texts = st.text(max_size=40)
# JSON may carry what is no text: lone surrogates, which json.dumps writes as \udXXX escapes.
unpaired = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=10,
)
bodies = st.one_of(
    texts,
    st.binary(max_size=64).map(lambda raw: base64.b64encode(raw).decode()),
    st.builds(
        lambda action, extra: json.dumps({"action": action, **extra}),
        st.one_of(texts, st.sampled_from(sorted(dir(ActionView)))),
        st.dictionaries(texts, json_values, max_size=3),
    ),
    json_values.map(json.dumps),
    st.builds(lambda action, given: json.dumps({"action": action, "id": given}), texts | unpaired, unpaired),
    st.none(),
    st.integers(),
)
context_values = st.one_of(st.none(), texts, st.integers(), st.just(VICTIM), st.lists(texts, max_size=2))


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    event_type=st.sampled_from(["CONNECT", "MESSAGE", "DISCONNECT"]),
    route_key=st.one_of(st.sampled_from(["$connect", "$default", "$disconnect", "echo", "dispatch"]), texts),
    connection_id=st.one_of(st.just(VICTIM), texts),
    body=bodies,
    base64_flag=st.one_of(st.booleans(), st.none(), texts),
    broken_field=st.sampled_from(["", "connectionId", "apiId", "stage", "domainName", "identity", "connectedAt"]),
    broken_value=context_values,
    query=st.one_of(st.none(), st.dictionaries(st.sampled_from(["channel", "token", "x"]), texts, max_size=2)),
)
def test_generated_events_never_fail_or_hijack(
    lambda_handler,
    no_message_rate_limit,
    victim,
    handlers_called,
    event_type,
    route_key,
    connection_id,
    body,
    base64_flag,
    broken_field,
    broken_value,
    query,
):
    builders = {"CONNECT": connect_event, "MESSAGE": message_event, "DISCONNECT": disconnect_event}
    event = builders[event_type](connection_id="generated=")
    event["requestContext"].update(routeKey=route_key, connectionId=connection_id)
    if broken_field:
        event["requestContext"][broken_field] = broken_value
    event["body"] = body
    event["isBase64Encoded"] = base64_flag
    if query is not None:
        event["queryStringParameters"] = query
        event.pop("multiValueQueryStringParameters", None)
    victim_before = (
        WebSocketSession.objects.filter(connection_id=VICTIM).values("connected", "channel_name", "user_id").get()
    )

    response = lambda_handler(event, None)

    assert 200 <= response["statusCode"] < 500, response
    assert set(handlers_called) <= REACHABLE
    victim_after = (
        WebSocketSession.objects.filter(connection_id=VICTIM).values("connected", "channel_name", "user_id").get()
    )
    victim_disconnected = event_type == "DISCONNECT" and connection_id == VICTIM and broken_field != "connectionId"
    if not victim_disconnected:
        assert victim_after == victim_before


@pytest.mark.parametrize("event", ["action", "route key"])
def test_a_plain_mixins_public_methods_are_not_actions(lambda_handler, settings, event):
    settings.WEBSOCKETS = {"PATH_PREFIX": "/mixed/"}
    assert lambda_handler(connect_event(connection_id="mixed="), None)["statusCode"] == 200
    message = (
        message_event(connection_id="mixed=", body='{"action": "audit"}')
        if event == "action"
        else message_event(connection_id="mixed=", route_key="audit", body="{}")
    )

    response = lambda_handler(message, None)

    assert (response["statusCode"], json.loads(response["body"])["handler"]) == (200, "default")
