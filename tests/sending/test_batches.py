"""Broadcast batches past one invocation: Lambda's retries and timeouts neither repeat nor lose a message."""

import base64
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
from websockets_app.models import BroadcastBatch, WebSocketSession, WebSocketSessionQuerySet
from websockets_app.sending import batches as broadcast_tasks
from websockets_app.sending import capacity as send_capacity

pytestmark = pytest.mark.django_db

ESTABLISHED = timezone.now() - timedelta(minutes=5)
IDS = [f"c{n}=" for n in range(7)]


class LambdaContext:
    """What Lambda passes a handler, as far as the batch reads it: the milliseconds left, one figure per call."""

    def __init__(self, *remaining_ms: int) -> None:
        self.remaining = list(remaining_ms)

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


@pytest.fixture
def on_lambda(monkeypatch):
    """Zappa's async tasks invoke this function asynchronously; the events are kept for the test to deliver."""
    invocations = []

    def record_invocation(self, function_name, qualifier, body, headers, response_headers):
        invocations.append(json.loads(body))
        return b""

    monkeypatch.setattr(LambdaBackend, "invoke", record_invocation)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "site-dev")
    monkeypatch.setattr(broadcast_tasks, "CHECKPOINT_KEYS", 3)
    return invocations


@pytest.fixture
def seven_open(connections_api):
    connections_api.open(*IDS)
    return [
        WebSocketSession.objects.create(connection_id=cid, api_id=API_ID, stage=STAGE, connected_at=ESTABLISHED).pk
        for cid in IDS
    ]


def deliver(event: dict, context: LambdaContext | None, monkeypatch) -> dict:
    """Lambda running the invocation through the project's entry point (Zappa's handler routes the task)."""
    from zappa.handler import LambdaHandler

    from project.lambda_handler import lambda_handler

    monkeypatch.setattr(LambdaHandler, "lambda_handler", classmethod(lambda cls, e, c: route_lambda_task(e, c)))
    return lambda_handler(event, context)


def queue_batch(session_pks: list[int], on_lambda: list[dict]) -> dict:
    """What messaging does for each batch beyond the first: hand it to Zappa, which invokes the function."""
    broadcast_tasks.send_batch(session_pks, base64.b64encode(b"hi").decode(), batch_id=str(uuid.uuid4()))
    return on_lambda.pop()


def posted(connections_api) -> list[str]:
    return sorted(url.rsplit("/", 1)[1] for _method, url in connections_api.requests)


def test_a_retried_batch_never_posts_again_to_connections_it_reached(
    connections_api, seven_open, on_lambda, monkeypatch
):
    connections_api.backend.delete_connection(connection_id="c4=")  # gone: closing its row is the second chunk's write
    event = queue_batch(seven_open, on_lambda)
    real_mark_closed = WebSocketSessionQuerySet.mark_closed
    failures = [OperationalError("server closed the connection unexpectedly")]

    def fails_once(self, **kwargs):
        if failures:
            raise failures.pop()
        return real_mark_closed(self, **kwargs)

    monkeypatch.setattr(WebSocketSessionQuerySet, "mark_closed", fails_once)

    with pytest.raises(OperationalError):
        deliver(event, LambdaContext(30_000), monkeypatch)
    assert posted(connections_api) == IDS[:6]  # two chunks of three, then the failure
    retried = deliver(event, LambdaContext(30_000), monkeypatch)  # Lambda's retry of the failed invocation

    assert retried == {"sent": 1, "gone": [], "failed": {}, "queued": 0}
    assert posted(connections_api) == IDS  # each connection exactly once, over both invocations
    assert [connections_api.received(cid) for cid in IDS] == [b"hi"] * 4 + [None] + [b"hi"] * 2


def test_a_batch_running_out_of_time_hands_the_rest_on_and_nothing_is_lost(
    connections_api, seven_open, on_lambda, monkeypatch
):
    event = queue_batch(seven_open, on_lambda)

    # 30 s left when the batch is claimed and before its first two chunks, then 1 s: less than the margin.
    first = deliver(event, LambdaContext(30_000, 30_000, 30_000, 1_000), monkeypatch)

    assert first == {"sent": 6, "gone": [], "failed": {}, "queued": 1}
    assert posted(connections_api) == IDS[:6]
    [continuation] = on_lambda
    assert continuation["task_path"] == "websockets_app.sending.batches.send_batch"
    assert continuation["args"] == [seven_open[6:], event["args"][1]]
    assert continuation["kwargs"] == event["kwargs"]  # the same batch: its progress carries over

    assert deliver(continuation, LambdaContext(30_000), monkeypatch) == {
        "sent": 1,
        "gone": [],
        "failed": {},
        "queued": 0,
    }
    assert posted(connections_api) == IDS
    assert [connections_api.received(cid) for cid in IDS] == [b"hi"] * 7


def test_a_duplicate_delivery_sends_nothing_while_the_first_holds_the_batch(
    connections_api, seven_open, on_lambda, monkeypatch
):
    event = queue_batch(seven_open, on_lambda)
    BroadcastBatch.objects.create(id=event["kwargs"]["batch_id"], claimed_until=timezone.now() + timedelta(seconds=20))

    assert deliver(event, LambdaContext(30_000), monkeypatch) == {"sent": 0, "gone": [], "failed": {}, "queued": 7}
    assert connections_api.requests == []


def test_the_batch_size_is_what_the_sender_sends_in_25_seconds_at_the_functions_memory(monkeypatch):
    from websockets_app.sending.messaging import batch_size_for

    per_vcpu_second = send_capacity.MESSAGES_PER_VCPU_SECOND
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")  # Lambda's smallest: 0.072 vCPU
    assert batch_size_for(b"{}", largest_key=99) == int(per_vcpu_second * 128 / 1769 * 25)
    # A 512 MB function sends more than one asynchronous event can list (256,000 bytes, 9 per 7-digit key).
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
    assert int(per_vcpu_second * 512 / 1769 * 25) > (256_000 - 2048 - 4) // 9
    assert batch_size_for(b"{}", largest_key=10**6) == (256_000 - 2048 - 4) // 9
    with override_settings(WEBSOCKETS={"SEND_BATCH_SIZE": 700}):
        assert batch_size_for(b"{}", largest_key=10**6) == 700
