"""Throttling is backpressure, not loss: the libcurl backend against a stub that throttles as API Gateway does (one
token bucket, 429 ``LimitExceededException`` beyond it; ``benchmarks/support/throttled_endpoint.py``), counting at the
stub what arrived and when.

The bounds are in requests and in whole seconds counted at the stub, never in how fast this machine is, beyond
generous limits on how long a test may take."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from benchmarks.support.throttled_endpoint import endpoint_stats, throttled_endpoint
from tests.backends.test_curl import Credentials, answering, server
from websockets_app.backends.base import SendOptions, connection_post
from websockets_app.backends.curl import CurlBackend
from websockets_app.backends.outcomes import HELD_BACK, SENT, failed
from websockets_app.backends.pacing import BURST_SECONDS

OPTIONS = SendOptions(concurrency=64, connect_timeout=5, read_timeout=5, max_attempts=3, region="eu-west-1")


@pytest.fixture
def backend() -> Iterator[CurlBackend]:
    backend = CurlBackend(credentials=Credentials())
    yield backend
    backend.close()


def send(backend: CurlBackend, endpoint: str, count: int, options: SendOptions) -> list:
    posts = [connection_post(endpoint, f"C{number:04d}=") for number in range(count)]
    return backend.post_all(posts, b'{"n": 1}', options)


def in_seconds(seconds: float, **options: float) -> SendOptions:
    """``OPTIONS`` with a deadline ``seconds`` from now, and ``options``."""
    return replace(OPTIONS, deadline=time.monotonic() + seconds, **options)


def test_throttled_posts_are_delivered_as_the_throttle_allows_without_spending_the_retry_budget(backend):
    """API Gateway allows 50 posts a second (a burst of 25); the sender may start 1,000. Every post is delivered,
    once, in about the 12 seconds 600 posts take at 50 a second, and the sender slows down instead of failing posts
    once its retries run out.

    How many 429s: the first volley is at most the pacer's burst (100 at 1,000 a second) and what starts before the
    first 429 comes back; the stub takes 25 of it, so at most about 75 are throttled, and they cut the rate once, to
    0.7 of the rate measured. From then on the rate climbs back by a fifth of that a second, and each time it passes
    50 the requests started before the first 429 of that round comes back are throttled (one or two at 5 ms of
    latency), and the cut that follows takes it below 50 for a second or more: a dozen rounds at most in 12 seconds.
    100 for the first volley and 5 for each round leave room for a busy machine, and are a small part of the 600 a
    storm of retries would have made of every post."""
    with throttled_endpoint(rate=50, burst=25, latency_ms=5, stage="dev") as endpoint:
        outcomes = send(backend, endpoint, 600, in_seconds(120, rate_limit=1000))
        stats = endpoint_stats(endpoint)
    assert outcomes == [SENT] * 600
    assert sorted(stats["delivered"].values()) == [1] * 600
    assert backend.budget.tokens == backend.budget.capacity
    throttled = sum(count for _, count in stats["throttled_per_second"])
    assert throttled <= 100 + 12 * 5


def test_the_sender_starts_no_more_requests_a_second_than_its_rate_limit(backend):
    """The stub would accept 10,000 a second; the sender is allowed 200, a burst of a tenth of a second at most. In
    any second the stub counts, at most 200 and a burst of 20 arrive (a tenth more for requests a busy machine
    delivers late, into the next second)."""
    with throttled_endpoint(rate=10_000, burst=10_000, latency_ms=5, stage="dev") as endpoint:
        outcomes = send(backend, endpoint, 600, in_seconds(120, rate_limit=200))
        stats = endpoint_stats(endpoint)
    assert outcomes == [SENT] * 600
    per_second = dict(stats["accepted_per_second"])
    assert sum(per_second.values()) == 600
    assert stats["throttled_per_second"] == []
    assert max(per_second.values()) <= (200 + 200 * BURST_SECONDS) * 1.1
    assert len(per_second) >= 3  # 600 at 200 a second take three seconds at least


def test_a_post_still_throttled_at_its_deadline_comes_back_throttled_not_lost_nor_late(backend):
    """The stub throttles everything: the posts are tried again, ever more slowly, until their deadline; then each
    comes back throttled (to be sent later): with the 429 of its last attempt, or held back by the pacer before it
    was tried at all. The call returns at the deadline, not after a backoff or max_attempts."""
    with throttled_endpoint(rate=0.001, burst=0, latency_ms=5, stage="dev") as endpoint:
        options = in_seconds(1.5, rate_limit=100)
        outcomes = send(backend, endpoint, 20, options)
        returned_at = time.monotonic()
        stats = endpoint_stats(endpoint)
    throttled = failed("LimitExceededException (HTTP 429)", 5, throttled=True)
    assert set(outcomes) == {throttled, HELD_BACK}
    assert outcomes[0] == throttled  # the first posts were tried
    assert options.deadline <= returned_at < options.deadline + OPTIONS.read_timeout
    assert stats["delivered"] == {}
    assert backend.budget.tokens == backend.budget.capacity


def test_posts_the_pacer_held_back_until_the_deadline_come_back_throttled(backend):
    """Allowed 10 a second, a deadline a second away: a burst of one and about ten more are sent, the rest were never
    started and come back throttled, to be sent by another call."""
    with throttled_endpoint(rate=10_000, burst=10_000, latency_ms=5, stage="dev") as endpoint:
        outcomes = send(backend, endpoint, 100, in_seconds(1, rate_limit=10))
        stats = endpoint_stats(endpoint)
    sent = outcomes.count(SENT)
    held_back = [outcome for outcome in outcomes if outcome is not SENT]
    assert 5 <= sent <= 12
    assert {(o.status, o.throttled, o.retryable) for o in held_back} == {("failed", True, True)}
    assert sum(stats["delivered"].values()) == sent


def test_a_5xx_under_a_deadline_is_not_waited_for_past_it(backend):
    """Backoffs are up to 1 s, then 2 s, 4 s...: with max_attempts 10 and a deadline 0.3 s away, a backoff that would
    end after the deadline is not waited; the last 5xx is the outcome, well before the backoffs would have ended."""
    error = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
    with server(answering(*[error] * 10)) as seen:
        options = in_seconds(0.3, max_attempts=10)
        began = time.monotonic()
        [outcome] = backend.post_all([connection_post(seen["endpoint"], "A")], b"hi", options)
        took = time.monotonic() - began
    assert outcome == failed("Error (HTTP 503)", 14)
    assert took < 0.3 + 1.0  # the deadline, and a second for a busy machine; the backoffs alone could take minutes
