"""Broadcasts past one invocation: recorded, queued before any is sent, and neither repeated nor lost by Lambda's
retries, its timeouts or API Gateway's throttle; every outcome on the broadcast's row."""

import json
import uuid
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.test.utils import override_settings
from django.utils import timezone
from moto.awslambda.models import LambdaBackend
from zappa.asynchronous import route_lambda_task

from tests.aws_events import API_ID, STAGE
from websockets_app.models import Broadcast, BroadcastBatch, WebSocketSession, WebSocketSessionQuerySet
from websockets_app.sending import batches as broadcast_tasks
from websockets_app.sending import capacity as send_capacity
from websockets_app.sending.messaging import batch_size
from websockets_app.signals import broadcast_finished

pytestmark = pytest.mark.django_db

ESTABLISHED = timezone.now() - timedelta(minutes=5)
IDS = [f"c{n}=" for n in range(7)]
MESSAGE = b'{"type":"hi"}'


class LambdaContext:
    """What Lambda passes a handler, as far as the batch reads it: the milliseconds left, one figure per call."""

    def __init__(self, *remaining_ms: int) -> None:
        self.remaining = list(remaining_ms)

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


@pytest.fixture
def on_lambda(monkeypatch, connections_api):
    """Zappa's async tasks invoke this function asynchronously; the events are kept for the test to deliver, with
    how many posts had been made when each was queued."""
    invocations = []

    def record_invocation(self, function_name, qualifier, body, headers, response_headers):
        invocations.append({**json.loads(body), "posts_before": len(connections_api.requests)})
        return b""

    monkeypatch.setattr(LambdaBackend, "invoke", record_invocation)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "site-dev")
    return invocations


@pytest.fixture
def seven_open(connections_api, monkeypatch):
    """Seven open connections; batches of four (c0-c3 sent by the caller, c4-c6 queued), chunks of two."""
    monkeypatch.setattr(broadcast_tasks, "CHECKPOINT_KEYS", 2)
    connections_api.open(*IDS)
    with override_settings(WEBSOCKETS={"SEND_BATCH_SIZE": 4}):
        yield [
            WebSocketSession.objects.create(connection_id=cid, api_id=API_ID, stage=STAGE, connected_at=ESTABLISHED).pk
            for cid in IDS
        ]


def deliver(event: dict, context: LambdaContext | None, monkeypatch) -> dict:
    """Lambda running the invocation through the project's entry point (Zappa's handler routes the task)."""
    from zappa.handler import LambdaHandler

    from project.lambda_handler import lambda_handler

    monkeypatch.setattr(LambdaHandler, "lambda_handler", classmethod(lambda cls, e, c: route_lambda_task(e, c)))
    event = {key: value for key, value in event.items() if key != "posts_before"}
    return lambda_handler(event, context)


def broadcast_hi() -> dict:
    """``send_message`` to every row, as JSON data (what a queued batch returns too)."""
    return WebSocketSession.objects.all().send_message({"type": "hi"}).as_dict()


def posted(connections_api) -> list[str]:
    return sorted(url.rsplit("/", 1)[1] for _method, url in connections_api.requests)


def outcome(sent=0, gone=(), failed=None, queued=0, broadcast=None) -> dict:
    return {"sent": sent, "gone": list(gone), "failed": failed or {}, "queued": queued, "broadcast": broadcast}


def row(broadcast_id: str) -> dict:
    fields = ("targets", "sent", "gone", "failed", "failures", "batches", "batches_finished", "state")
    return Broadcast.objects.values(*fields).get(id=broadcast_id)


class TestStarting:
    def test_every_batch_is_recorded_and_queued_before_the_first_is_sent(self, connections_api, seven_open, on_lambda):
        result = broadcast_hi()

        broadcast_id = result["broadcast"]
        assert result == outcome(sent=4, queued=3, broadcast=broadcast_id)
        [event] = on_lambda
        assert event["posts_before"] == 0
        # The keys live in the batch's row: the event names the batch, whatever its size.
        assert event["task_path"] == "websockets_app.sending.batches.send_batch"
        assert (event["args"], list(event["kwargs"])) == ([], ["batch_id"])
        assert BroadcastBatch.objects.get(id=event["kwargs"]["batch_id"]).keys == ",".join(map(str, seven_open[4:]))
        assert posted(connections_api) == IDS[:4]
        expected = {"targets": 7, "sent": 4, "gone": 0, "failed": 0, "failures": {}}
        assert row(broadcast_id) == {**expected, "batches": 2, "batches_finished": 1, "state": "sending"}

    def test_one_batchs_worth_is_sent_at_once_with_no_record(self, connections_api, seven_open):
        with override_settings(WEBSOCKETS={"SEND_BATCH_SIZE": 7}):
            assert broadcast_hi() == outcome(sent=7)
        assert Broadcast.objects.count() == 0

    def test_off_lambda_the_batches_run_inline_and_the_broadcast_finishes_with_its_signal(
        self, connections_api, seven_open
    ):
        connections_api.backend.delete_connection(connection_id="c5=")  # 410: gone
        WebSocketSession.objects.filter(connection_id="c6=").update(connected=False)  # closed before it was split
        connections_api.fail("c2=", 403)
        heard = []

        def receiver(**kwargs):
            heard.append(kwargs)

        broadcast_finished.connect(receiver)
        try:
            result = broadcast_hi()
        finally:
            broadcast_finished.disconnect(receiver)

        broadcast_id = result["broadcast"]
        assert result == outcome(
            sent=4, gone=["c5="], failed={"c2=": "ForbiddenException (HTTP 403)"}, broadcast=broadcast_id
        )
        assert row(broadcast_id) == {
            "targets": 6,
            "sent": 4,
            "gone": 1,
            "failed": 1,
            "failures": {"c2=": "ForbiddenException (HTTP 403)"},
            "batches": 2,
            "batches_finished": 2,
            "state": "finished",
        }
        [signal] = heard
        assert signal["sender"] is Broadcast
        assert str(signal["broadcast"].id) == broadcast_id
        assert signal["broadcast"].finished_at is not None


class TestResuming:
    def test_a_retried_batch_never_posts_again_to_connections_it_reached(
        self, connections_api, seven_open, on_lambda, monkeypatch
    ):
        broadcast_hi()
        [event] = on_lambda
        connections_api.backend.delete_connection(connection_id="c5=")  # gone: closing its row is the first write
        real_mark_closed = WebSocketSessionQuerySet.mark_closed
        failures = [OperationalError("server closed the connection unexpectedly")]

        def fails_once(self, **kwargs):
            if failures:
                raise failures.pop()
            return real_mark_closed(self, **kwargs)

        monkeypatch.setattr(WebSocketSessionQuerySet, "mark_closed", fails_once)

        with pytest.raises(OperationalError):
            deliver(event, LambdaContext(30_000), monkeypatch)
        assert posted(connections_api) == IDS[:6]  # the caller's four, the batch's first chunk, then the failure
        retried = deliver(event, LambdaContext(30_000), monkeypatch)  # Lambda's retry of the failed invocation

        broadcast_id = retried["broadcast"]
        assert retried == outcome(sent=1, broadcast=broadcast_id)
        assert posted(connections_api) == IDS  # each connection exactly once, over both invocations
        assert [connections_api.received(cid) for cid in IDS] == [MESSAGE] * 5 + [None] + [MESSAGE]
        assert row(broadcast_id)["sent"] == 6
        assert row(broadcast_id)["gone"] == 1  # counted once, by the invocation that reached it

    def test_a_batch_running_out_of_time_hands_the_rest_on_and_nothing_is_lost(
        self, connections_api, seven_open, on_lambda, monkeypatch
    ):
        broadcast_hi()
        [event] = on_lambda

        # 30 s left when the batch is claimed and before its first chunk, then 1 s: less than the margin.
        first = deliver(event, LambdaContext(30_000, 30_000, 1_000), monkeypatch)

        broadcast_id = first["broadcast"]
        assert first == outcome(sent=2, queued=1, broadcast=broadcast_id)
        assert posted(connections_api) == IDS[:6]
        [_, continuation] = on_lambda
        assert continuation["kwargs"] == event["kwargs"]  # the same batch: its progress carries over
        assert deliver(continuation, LambdaContext(30_000), monkeypatch) == outcome(sent=1, broadcast=broadcast_id)
        assert posted(connections_api) == IDS
        assert [connections_api.received(cid) for cid in IDS] == [MESSAGE] * 7
        assert row(broadcast_id)["state"] == "finished"

    def test_a_continuation_carries_the_connections_still_throttled_and_delivers_them_once_it_lifts(
        self, connections_api, seven_open, on_lambda, monkeypatch
    ):
        broadcast_hi()
        [event] = on_lambda
        connections_api.fail("c5=", *[429] * 100_000)  # throttled for as long as the invocation lasts

        # Claimed with 30 s left; 2.5 s left before the first chunk: its posts are retried for 0.5 s (2 s are kept
        # to record); then 1 s left: the rest goes to a continuation.
        first = deliver(event, LambdaContext(30_000, 2_500, 1_000), monkeypatch)

        broadcast_id = first["broadcast"]
        assert first == outcome(sent=1, queued=2, broadcast=broadcast_id)  # c4 sent; c5 and c6 handed on
        batch = BroadcastBatch.objects.get(id=event["kwargs"]["batch_id"])
        assert batch.retry_keys == str(seven_open[5])
        assert not batch.finished
        [_, continuation] = on_lambda
        assert connections_api.received("c5=") == b""
        connections_api.scripted.clear()  # the throttle lifts

        assert deliver(continuation, LambdaContext(30_000), monkeypatch) == outcome(sent=2, broadcast=broadcast_id)
        assert [connections_api.received(cid) for cid in IDS] == [MESSAGE] * 7
        assert row(broadcast_id) | {"failures": None} == {
            "targets": 7,
            "sent": 7,
            "gone": 0,
            "failed": 0,
            "failures": None,
            "batches": 2,
            "batches_finished": 2,
            "state": "finished",
        }

    def test_a_continuation_zappa_cannot_queue_is_recorded_failed_for_what_was_left_only(
        self, connections_api, seven_open, on_lambda, monkeypatch
    ):
        broadcast_hi()
        [event] = on_lambda

        def refuse(self, *args):
            raise RuntimeError("no invoke permission")

        monkeypatch.setattr(LambdaBackend, "invoke", refuse)
        first = deliver(event, LambdaContext(30_000, 30_000, 1_000), monkeypatch)

        assert (first["sent"], list(first["failed"])) == (2, ["c6="])
        assert first["failed"]["c6="].startswith("Batch not queued: ")
        counts = row(first["broadcast"])
        assert (counts["targets"], counts["sent"], counts["failed"], counts["state"]) == (7, 6, 1, "finished")

    def test_a_duplicate_delivery_sends_nothing_while_the_first_holds_the_batch(
        self, connections_api, seven_open, on_lambda, monkeypatch
    ):
        broadcast_hi()
        [event] = on_lambda
        BroadcastBatch.objects.filter(id=event["kwargs"]["batch_id"]).update(
            claimed_until=timezone.now() + timedelta(seconds=20)
        )
        requests_before = len(connections_api.requests)

        result = deliver(event, LambdaContext(30_000), monkeypatch)

        assert result == outcome(broadcast=result["broadcast"])
        assert len(connections_api.requests) == requests_before

    def test_a_finished_batch_delivered_again_sends_nothing(self, connections_api, seven_open, on_lambda, monkeypatch):
        broadcast_hi()
        [event] = on_lambda
        deliver(event, LambdaContext(30_000), monkeypatch)
        requests_before = len(connections_api.requests)

        deliver(event, LambdaContext(30_000), monkeypatch)

        assert len(connections_api.requests) == requests_before
        assert row(broadcast_hi_id(event))["batches_finished"] == 2

    def test_past_the_broadcasts_deadline_what_is_left_is_recorded_failed_not_sent(
        self, connections_api, seven_open, on_lambda, monkeypatch
    ):
        broadcast_hi()
        [event] = on_lambda
        Broadcast.objects.update(deadline=timezone.now() - timedelta(seconds=1))

        result = deliver(event, LambdaContext(30_000), monkeypatch)

        reason = broadcast_tasks.DEADLINE_REASON
        assert result["failed"] == {"c4=": reason, "c5=": reason, "c6=": reason}
        assert posted(connections_api) == IDS[:4]
        broadcast_id = broadcast_hi_id(event)
        assert row(broadcast_id)["failed"] == 3
        assert row(broadcast_id)["state"] == "finished"


def broadcast_hi_id(event: dict) -> str:
    return str(BroadcastBatch.objects.get(id=event["kwargs"]["batch_id"]).broadcast_id)


class TestRateShares:
    def test_the_limit_is_shared_by_every_batch_sending_now_in_every_broadcast(self, settings, monkeypatch):
        settings.WEBSOCKETS = {"SEND_RATE_LIMIT": 3000}
        mine, other = (
            Broadcast.objects.create(payload=b"{}", deadline=timezone.now() + timedelta(minutes=15)) for _ in range(2)
        )
        soon = timezone.now() + timedelta(seconds=20)
        for broadcast, claimed in ((mine, [soon, None, None]), (other, [soon, soon])):
            for until in claimed:
                BroadcastBatch.objects.create(id=uuid.uuid4(), broadcast=broadcast, claimed_until=until)

        # Inline (off Lambda), batches run one after another: only those sending now count.
        assert broadcast_tasks._rate_share(mine) == 1000
        # On Lambda, the broadcast's unfinished batches start at once, so they count before they have claimed.
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "site-dev")
        assert broadcast_tasks._rate_share(mine) == 1000
        BroadcastBatch.objects.filter(broadcast=other).update(claimed_until=None, finished=True)
        assert broadcast_tasks._rate_share(mine) == 1000  # its own three
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME")
        assert broadcast_tasks._rate_share(mine) == 3000  # the one sending


def test_the_batch_size_is_what_the_sender_sends_in_25_seconds_at_the_functions_memory(monkeypatch):
    per_vcpu_second = send_capacity.MESSAGES_PER_VCPU_SECOND
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")  # Lambda's smallest: 0.072 vCPU
    assert batch_size() == int(per_vcpu_second * 128 / 1769 * 25)
    # Not bounded by the asynchronous payload limit: the keys live in the batch's row.
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1769")
    assert batch_size() == per_vcpu_second * 25
    with override_settings(WEBSOCKETS={"SEND_BATCH_SIZE": 700}):
        assert batch_size() == 700
