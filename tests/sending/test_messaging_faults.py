"""Broadcasts under every failure AWS can answer, mixed: each connection ends in exactly one outcome, the same
through each send backend."""

from datetime import timedelta

import pytest
from django.test.utils import override_settings
from django.utils import timezone

from tests.aws_events import API_ID, STAGE
from tests.connections_api import BACKENDS
from websockets_app.models import WebSocketSession
from websockets_app.sending.delivery import GONE_REASON

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("connections_api", BACKENDS, indirect=True)]

ESTABLISHED = timezone.now() - timedelta(minutes=5)  # past the $connect window: 410 means gone for good
TIMED_OUT = "ReadTimeoutError: Read timeout on endpoint URL"
# What AWS answers each attempt, and the outcome expected: throttled posts go again until they are answered otherwise,
# errors and timeouts up to SEND_MAX_ATTEMPTS (3) attempts.
SCENARIOS = {
    "ok": ([], "sent"),
    "gone": ([410], "gone"),
    "throttled once": ([429], "sent"),
    "throttled twice": ([429, 429], "sent"),
    "throttled long": ([429] * 5, "sent"),  # throttling slows the sender; it is no failure while there is time
    "throttled then gone": ([429, 410], "gone"),
    "server error once": ([500], "sent"),
    "server error throughout": ([500, 500, 500], "InternalServerErrorException (HTTP 500)"),
    "timeout once": (["timeout"], "sent"),
    "timeout throughout": (["timeout", "timeout", "timeout"], TIMED_OUT),
    "timeout then server error": (["timeout", 500], "sent"),
    "forbidden": ([403], "ForbiddenException (HTTP 403)"),
    "too large for aws": ([413], "PayloadTooLargeException (HTTP 413)"),
}


def open_connections(connections_api, scenarios: dict, rounds: int) -> dict[str, str]:
    expected = {}
    for name, (answers, outcome) in scenarios.items():
        for n in range(rounds):
            connection_id = f"{name.replace(' ', '-')}-{n}="
            WebSocketSession.objects.create(
                connection_id=connection_id, channel_name="all", api_id=API_ID, stage=STAGE, connected_at=ESTABLISHED
            )
            connections_api.open(connection_id)
            connections_api.fail(connection_id, *answers)
            expected[connection_id] = outcome
    return expected


def test_every_failure_mixed_in_one_broadcast(connections_api):
    expected = open_connections(connections_api, SCENARIOS, rounds=3)

    with override_settings(WEBSOCKETS={"SEND_CONCURRENCY": 8}):
        result = WebSocketSession.objects.in_channel("all").send_message({"type": "news"})

    sent = {cid for cid, outcome in expected.items() if outcome == "sent"}
    gone = {cid for cid, outcome in expected.items() if outcome == "gone"}
    failed = {cid: outcome for cid, outcome in expected.items() if outcome not in ("sent", "gone")}
    assert (result.sent, sorted(result.gone), sorted(result.failed)) == (len(sent), sorted(gone), sorted(failed))
    assert {cid: reason.split(': "')[0] for cid, reason in result.failed.items()} == failed
    delivered = {cid for cid in expected if connections_api.received(cid) == b'{"type":"news"}'}
    assert delivered == sent
    closed = dict(WebSocketSession.objects.filter(connected=False).values_list("connection_id", "disconnect_reason"))
    assert closed == dict.fromkeys(gone, GONE_REASON)
    assert len(connections_api.requests) == len(expected) + 3 * sum(map(retries, SCENARIOS.values()))


def retries(scenario: tuple[list, str]) -> int:
    """Retries the sender makes: one per leading throttled answer, then one per 5xx or timeout answer, two at most."""
    answers, _ = scenario
    throttled = 0
    while throttled < len(answers) and answers[throttled] == 429:
        throttled += 1
    errors = 0
    for answer in answers[throttled:]:
        if answer not in (500, "timeout"):
            break
        errors += 1
    return throttled + min(errors, 2)


def test_mass_failure_stops_retrying_instead_of_storming(connections_api):
    """The retry budget ends retries once failures pile up; every connection is still accounted for."""
    expected = open_connections(connections_api, {"down": ([500, 500, 500], "failed")}, rounds=200)

    result = WebSocketSession.objects.in_channel("all").send_message("hi")

    assert (result.sent, result.gone, sorted(result.failed)) == (0, [], sorted(expected))
    assert set(result.failed.values()) == {"InternalServerErrorException (HTTP 500)"}
    # AWS's standard retry quota as botocore charges it: 500 tokens, 14 per retry after an error that is not
    # throttling.
    assert len(connections_api.requests) == 200 + 500 // 14
    assert WebSocketSession.objects.filter(connected=True).count() == 200
