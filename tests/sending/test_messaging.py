import json
import socket
import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from moto.awslambda.models import LambdaBackend

from tests.aws_events import API_ID, REGION, STAGE
from websockets_app.backends import curl, get_backend
from websockets_app.exceptions import ConnectionNotReady, ManagementApiError, MessageTooLarge
from websockets_app.models import Broadcast, BroadcastBatch, WebSocketSession
from websockets_app.sending import connections, delivery
from websockets_app.sending.delivery import GONE_REASON, NOT_READY_REASON, SendResult, connecting

pytestmark = pytest.mark.django_db

ENDPOINT = f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{STAGE}"


ESTABLISHED = timezone.now() - timedelta(minutes=5)  # past the $connect window: 410 means gone for good


def make_session(connection_id: str, **fields) -> WebSocketSession:
    fields = {"channel_name": "room", "api_id": API_ID, "stage": STAGE, "connected_at": ESTABLISHED, **fields}
    return WebSocketSession.objects.create(connection_id=connection_id, **fields)


def is_connected(connection_id: str) -> bool:
    return WebSocketSession.objects.get(connection_id=connection_id).connected


# Unicast, channels, endpoints.


def test_a_session_sends_json_to_its_own_connection(connections_api):
    connections_api.open("A=")
    result = make_session("A=").send_message({"type": "hello", "n": 1})
    assert result == SendResult(sent=1)
    assert connections_api.received("A=") == b'{"type":"hello","n":1}'
    assert connections_api.requests == [("POST", f"{ENDPOINT}/@connections/A=")]


def test_a_channel_send_reaches_its_connected_rows_only(connections_api):
    connections_api.open("A=", "B=", "C=", "D=")
    make_session("A=")
    make_session("B=")
    make_session("C=", channel_name="other")
    make_session("D=", connected=False)
    result = WebSocketSession.objects.filter(channel_name="room").send_message("hi")
    assert result == SendResult(sent=2)
    assert [connections_api.received(c) for c in ("A=", "B=", "C=", "D=")] == [b"hi", b"hi", b"", b""]


def test_a_channel_joined_at_runtime_is_sent_to_like_the_connect_time_one(connections_api):
    connections_api.open("A=", "B=", "C=")
    make_session("A=")
    make_session("B=", channel_name="lobby").join("room")
    make_session("C=", channel_name="lobby")
    assert WebSocketSession.objects.in_channel("room").send_message("hi") == SendResult(sent=2)
    assert [connections_api.received(c) for c in ("A=", "B=", "C=")] == [b"hi", b"hi", b""]


def test_each_connection_is_sent_through_the_api_it_came_from(connections_api):
    connections_api.open("A=", "B=", "C=")
    make_session("A=")
    make_session("B=", api_id="zz99yy88xx", stage="prod")
    make_session("C=", api_id="zz99yy88xx", stage="prod")
    result = WebSocketSession.objects.all().send_message("hi")
    assert result == SendResult(sent=3)
    assert sorted(connections_api.requests) == [
        ("POST", f"{ENDPOINT}/@connections/A="),
        ("POST", f"https://zz99yy88xx.execute-api.{REGION}.amazonaws.com/prod/@connections/B="),
        ("POST", f"https://zz99yy88xx.execute-api.{REGION}.amazonaws.com/prod/@connections/C="),
    ]


def test_the_endpoint_url_setting_overrides_the_api_endpoint_when_sending(connections_api):
    connections_api.open("A=")
    session = make_session("A=")
    override = f"https://custom0001.execute-api.{REGION}.amazonaws.com/live"
    with override_settings(WEBSOCKETS={"ENDPOINT_URL": override}):
        session.send_message("one")
    session.send_message("two")
    assert connections_api.requests == [
        ("POST", f"{override}/@connections/A="),
        ("POST", f"{ENDPOINT}/@connections/A="),
    ]


def test_without_a_region_or_endpoint_url_sending_says_what_to_set(monkeypatch):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(
        ImproperlyConfigured, match=r"^No AWS region .*: set AWS_REGION .* or WEBSOCKETS\['ENDPOINT_URL'\]"
    ):
        make_session("A=").send_message("hi")


def test_clients_are_built_once_per_endpoint():
    assert connections._client_for(API_ID, STAGE) is connections._client_for(API_ID, STAGE)
    assert connections._client_for(API_ID, STAGE) is not connections._client_for(API_ID, "prod")


def test_clients_use_standard_retries_a_pool_sized_to_the_concurrency_and_short_timeouts():
    with override_settings(WEBSOCKETS={"SEND_CONCURRENCY": 7, "SEND_CONNECT_TIMEOUT": 1, "SEND_READ_TIMEOUT": 3}):
        config = connections._client_for(API_ID, STAGE).meta.config
    assert (config.max_pool_connections, config.connect_timeout, config.read_timeout) == (7, 1, 3)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


# Gone, throttling, size, failures.


def test_gone_connections_are_reported_and_closed_in_one_query(connections_api):
    connections_api.open("A=", "C=")
    for connection_id in ("A=", "B=", "C=", "D="):
        make_session(connection_id)
    with CaptureQueriesContext(connection) as queries:
        result = WebSocketSession.objects.filter(channel_name="room").send_message("hi")
    assert (result.sent, sorted(result.gone), result.failed) == (2, ["B=", "D="], {})
    assert [query["sql"].split()[0] for query in queries] == ["SELECT", "UPDATE"]
    assert [(s.connection_id, s.connected, s.disconnect_reason) for s in WebSocketSession.objects.order_by("pk")] == [
        ("A=", True, ""),
        ("B=", False, GONE_REASON),
        ("C=", True, ""),
        ("D=", False, GONE_REASON),
    ]


def test_a_session_found_gone_is_marked_closed(connections_api):
    session = make_session("A=")
    assert session.send_message("hi") == SendResult(gone=["A="])
    assert (session.connected, is_connected("A=")) == (False, False)


def test_a_closed_session_is_reported_gone_without_a_request(connections_api):
    assert make_session("A=", connected=False).send_message("hi") == SendResult(gone=["A="])
    assert connections_api.requests == []


def test_throttling_slows_the_sender_and_the_post_goes_again_without_spending_the_retry_budget(connections_api):
    connections_api.open("A=")
    connections_api.fail("A=", *[429] * 6)  # more than SEND_MAX_ATTEMPTS
    backend = get_backend()

    assert make_session("A=").send_message("hi") == SendResult(sent=1)
    assert connections_api.received("A=") == b"hi"
    assert len(connections_api.requests) == 7
    assert connections_api.sleeps == []  # paced by the adaptive rate, not backed off
    assert backend.budget.tokens == backend.budget.capacity


def test_throttling_that_outlasts_the_invocation_is_reported(connections_api, monkeypatch):
    connections_api.open("A=")
    connections_api.fail("A=", *[429] * 100_000)
    monkeypatch.setattr(delivery, "THROTTLED_RETRY_SECONDS", 0.3)  # off Lambda, 25 s

    result = make_session("A=").send_message("hi")

    assert result == SendResult(failed={"A=": "LimitExceededException (HTTP 429)"})
    assert connections_api.received("A=") == b""
    assert is_connected("A=")


def test_messages_over_128_kb_are_refused_before_anything_is_sent(connections_api):
    connections_api.open("A=")
    session = make_session("A=")
    assert session.send_message("x" * 128 * 1024) == SendResult(sent=1)
    with pytest.raises(MessageTooLarge, match=r"^The message is 131073 bytes; API Gateway accepts at most 131072"):
        session.send_message("x" * (128 * 1024 + 1))
    with pytest.raises(MessageTooLarge):
        WebSocketSession.objects.all().send_message({"text": "x" * 128 * 1024})
    assert len(connections_api.requests) == 1


def test_payload_too_large_answered_by_aws_is_reported(connections_api):
    connections_api.open("A=")
    connections_api.fail("A=", 413)
    assert make_session("A=").send_message("hi") == SendResult(failed={"A=": "PayloadTooLargeException (HTTP 413)"})


def test_one_failing_connection_never_stops_the_others(connections_api, monkeypatch):
    connections_api.open("A=", "B=", "C=", "D=", "E=")
    connections_api.fail("B=", 403)
    connections_api.fail("C=", 500, 500, 500)
    for connection_id in ("A=", "B=", "C=", "D=", "E="):
        make_session(connection_id)
    make_session("F=", api_id="", stage="")
    real_sign = curl.RequestSigner.header_lines

    def explode(signer, path, now):
        if path.endswith("/D%3D"):
            raise RuntimeError("boom")
        return real_sign(signer, path, now)

    monkeypatch.setattr(curl.RequestSigner, "header_lines", explode)
    result = WebSocketSession.objects.all().send_message("hi")
    assert result == SendResult(
        sent=2,
        failed={
            "B=": "ForbiddenException (HTTP 403)",
            "C=": "InternalServerErrorException (HTTP 500)",
            "D=": "RuntimeError: boom",
            "F=": "No API recorded for this connection.",
        },
    )
    assert [connections_api.received(c) for c in ("A=", "B=", "C=", "D=", "E=")] == [b"hi", b"", b"", b"", b"hi"]
    assert WebSocketSession.objects.filter(connected=True).count() == 6


def test_timeouts_are_reported():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}/{STAGE}"
        settings = {"ENDPOINT_URL": endpoint, "SEND_READ_TIMEOUT": 0.2, "SEND_MAX_ATTEMPTS": 1}
        with override_settings(WEBSOCKETS=settings):
            result = make_session("A=").send_message("hi")
    assert result == SendResult(
        failed={"A=": f'ReadTimeoutError: Read timeout on endpoint URL: "{endpoint}/@connections/A%3D"'}
    )
    assert is_connected("A=")


def test_many_connections_are_sent_concurrently_with_every_outcome_kept(connections_api):
    ids = [f"c{i:03d}=" for i in range(40)]
    connections_api.open(*ids[::2])
    for connection_id in ids:
        make_session(connection_id)
    with override_settings(WEBSOCKETS={"SEND_CONCURRENCY": 8}):
        result = WebSocketSession.objects.all().send_message("hi")
    assert (result.sent, sorted(result.gone), result.failed) == (20, ids[1::2], {})
    assert sorted(WebSocketSession.objects.filter(connected=True).values_list("connection_id", flat=True)) == ids[::2]


# A connection in its own $connect.


def test_a_session_cannot_be_sent_to_during_its_own_connect(connections_api):
    session = make_session("A=")
    with connecting("A="), pytest.raises(ConnectionNotReady, match=r"^Connection A= is still in \$connect"):
        session.send_message("welcome")
    assert connections_api.requests == []
    assert is_connected("A=")


def test_a_broadcast_during_a_connect_skips_the_connecting_one(connections_api):
    connections_api.open("A=")
    make_session("A=")
    make_session("B=")
    with connecting("B="):
        result = WebSocketSession.objects.all().send_message("B joined")
    assert result == SendResult(sent=1, failed={"B=": NOT_READY_REASON})
    assert connections_api.requests == [("POST", f"{ENDPOINT}/@connections/A=")]
    assert is_connected("B=")


# close() and info().


def test_close_disconnects_the_connection_and_marks_the_row_closed(connections_api):
    connections_api.open("A=")
    session = make_session("A=")
    assert session.close() is True
    assert connections_api.requests == [("DELETE", f"{ENDPOINT}/@connections/A=")]
    assert connections_api.received("A=") is None
    row = WebSocketSession.objects.get(connection_id="A=")
    assert (session.connected, row.connected, row.disconnect_reason) == (False, False, "Closed by the server.")


def test_closing_a_gone_connection_just_marks_it_closed(connections_api):
    session = make_session("A=")
    assert session.close() is False
    row = WebSocketSession.objects.get(connection_id="A=")
    assert (row.connected, row.disconnect_reason) == (False, GONE_REASON)


def test_a_close_refused_by_aws_raises_and_leaves_the_row(connections_api):
    connections_api.open("A=")
    connections_api.fail("A=", 403)
    with pytest.raises(ManagementApiError, match=r"^Connection A=: ForbiddenException \(HTTP 403\)$"):
        make_session("A=").close()
    assert is_connected("A=")


def test_info_describes_the_connection_as_aws_sees_it(connections_api):
    connections_api.open("A=")
    info = make_session("A=").info()
    assert sorted(info) == ["ConnectedAt", "Identity", "LastActiveAt"]
    assert info["Identity"] == {"SourceIp": "192.168.0.1", "UserAgent": "Moto Mocks"}
    assert connections_api.requests == [("GET", f"{ENDPOINT}/@connections/A=")]


def test_info_of_a_gone_connection_is_none_and_closes_the_row(connections_api):
    session = make_session("A=")
    assert session.info() is None
    assert (session.connected, is_connected("A=")) == (False, False)


# Broadcasts larger than one Lambda invocation.


def test_a_large_broadcast_runs_its_batches_inline_off_lambda(connections_api):
    ids = ["A=", "B=", "C=", "D=", "E="]
    connections_api.open(*ids)
    for connection_id in ids:
        make_session(connection_id)
    with override_settings(WEBSOCKETS={"SEND_BATCH_SIZE": 2}):
        result = WebSocketSession.objects.all().send_message("hi")
    assert result == SendResult(sent=5, broadcast=result.broadcast)
    assert Broadcast.objects.get(id=result.broadcast).state == Broadcast.State.FINISHED
    assert [connections_api.received(c) for c in ids] == [b"hi"] * 5


def test_a_large_broadcast_on_lambda_queues_batches_through_zappa(connections_api, monkeypatch):
    from zappa.asynchronous import route_lambda_task

    invocations = []

    def record_invocation(self, function_name, qualifier, body, headers, response_headers):
        invocations.append((function_name, headers["X-Amz-Invocation-Type"], json.loads(body)))
        return b""

    monkeypatch.setattr(LambdaBackend, "invoke", record_invocation)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "site-dev")
    ids = ["A=", "B=", "C=", "D=", "E="]
    connections_api.open(*ids)
    for connection_id in ids:
        make_session(connection_id)
    with override_settings(WEBSOCKETS={"SEND_BATCH_SIZE": 2}):
        result = WebSocketSession.objects.order_by("pk").send_message("hi")
    assert result == SendResult(sent=2, queued=3, broadcast=result.broadcast)
    assert [connections_api.received(c) for c in ids] == [b"hi", b"hi", b"", b"", b""]
    batches = BroadcastBatch.objects.filter(broadcast=result.broadcast).order_by("keys")
    assert [
        (name, kind, event["command"], event["task_path"], event["args"], event["kwargs"])
        for name, kind, event in invocations
    ] == [
        (
            "site-dev",
            "Event",
            "zappa.asynchronous.route_lambda_task",
            "websockets_app.sending.batches.send_batch",
            [],
            {"batch_id": str(batch.id)},
        )
        for batch in batches[1:]
    ]

    # Each invocation, as Zappa's handler runs it on arrival.
    broadcast = str(result.broadcast)
    assert [route_lambda_task(event, None) for _name, _kind, event in invocations] == [
        {"sent": 2, "gone": [], "failed": {}, "queued": 0, "broadcast": broadcast},
        {"sent": 1, "gone": [], "failed": {}, "queued": 0, "broadcast": broadcast},
    ]
    assert [connections_api.received(c) for c in ids] == [b"hi"] * 5
    assert Broadcast.objects.values_list("sent", "state").get(id=broadcast) == (5, "finished")


def test_a_batch_zappa_cannot_queue_is_reported_and_the_rest_still_go(connections_api, monkeypatch):
    def refuse(self, *args):
        raise RuntimeError("no invoke permission")

    monkeypatch.setattr(LambdaBackend, "invoke", refuse)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "site-dev")
    connections_api.open("A=", "B=")
    make_session("A=")
    make_session("B=")
    with override_settings(WEBSOCKETS={"SEND_BATCH_SIZE": 1}):
        result = WebSocketSession.objects.order_by("pk").send_message("hi")
    assert (result.sent, result.queued, list(result.failed)) == (1, 0, ["B="])
    assert result.failed["B="].startswith("Batch not queued: ")


# The summary.


def test_the_summary_merges_and_travels_as_json():
    first = SendResult(sent=2, gone=["A="], failed={"B=": "ForbiddenException (HTTP 403)"})
    broadcast = uuid.uuid4()
    queued = SendResult(sent=1, gone=["C="], queued=4, broadcast=broadcast)
    second = SendResult.from_dict(json.loads(json.dumps(queued.as_dict())))
    assert first.merge(second) == SendResult(
        sent=3, gone=["A=", "C="], failed={"B=": "ForbiddenException (HTTP 403)"}, queued=4, broadcast=broadcast
    )
    assert (first.ok, SendResult(sent=1, gone=["D="]).ok) == (False, True)


# The $connect window: API Gateway answers 410 until $connect is answered, after the row is committed.


def test_a_410_within_the_connect_window_leaves_the_row_open(connections_api):
    make_session("new=", connected_at=timezone.now() - timedelta(seconds=5))
    make_session("old=")

    result = WebSocketSession.objects.all().send_message("hi")

    assert result == SendResult(gone=["old="], failed={"new=": delivery.MAYBE_CONNECTING_REASON})
    assert (is_connected("new="), is_connected("old=")) == (True, False)


def test_a_410_after_the_connect_window_closes_the_row(connections_api):
    make_session("settled=", connected_at=timezone.now() - timedelta(seconds=31))

    assert WebSocketSession.objects.all().send_message("hi") == SendResult(gone=["settled="])
    assert not is_connected("settled=")


def test_the_connect_window_is_judged_from_when_the_send_began(connections_api, monkeypatch):
    """A post that reaches API Gateway 5 s into a send, to a row connected 28 s before the send began: its $connect
    may still have been running when it was posted, so its 410 leaves the row open."""
    began = timezone.now()
    clock = [began]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    make_session("late=", connected_at=began - timedelta(seconds=28))
    answer = connections_api.answer

    def answer_later(method, url, body):
        clock[0] = began + timedelta(seconds=5)
        return answer(method, url, body)

    monkeypatch.setattr(connections_api, "answer", answer_later)

    result = WebSocketSession.objects.all().send_message("hi")

    assert result == SendResult(failed={"late=": delivery.MAYBE_CONNECTING_REASON})
    assert is_connected("late=")


def test_close_and_info_without_an_api_say_so(connections_api):
    session = make_session("lost=", api_id="", stage="")

    with pytest.raises(ManagementApiError, match=delivery.NO_API_REASON):
        session.close()
    with pytest.raises(ManagementApiError, match=delivery.NO_API_REASON):
        session.info()
    assert connections_api.requests == []
