"""Concurrent broadcasts share ``SEND_RATE_LIMIT``: counted at a local ``@connections`` stand-in, second by second."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from benchmarks.support.throttled_endpoint import endpoint_stats, throttled_endpoint
from websockets_app.backends import loading
from websockets_app.backends.curl import CurlBackend
from websockets_app.models import Broadcast, WebSocketSession

RATE_LIMIT = 100
# The sender's pacer may start a tenth of a second's worth at once; nothing else lets it past the limit.
BURST = RATE_LIMIT // 10
ROOMS = {"north": 120, "south": 120}


@pytest.fixture
def curl_backend(monkeypatch):
    """A fresh libcurl sender, as a new container has (its pacer starts anew)."""
    backend = CurlBackend()
    monkeypatch.setattr(loading, "_instances", {"websockets_app.backends.CurlBackend": backend})
    yield backend
    backend.close()


@pytest.mark.django_db(transaction=True)
def test_concurrent_broadcasts_together_stay_under_the_rate_limit(settings, curl_backend):
    long_ago = timezone.now() - timedelta(minutes=5)
    WebSocketSession.objects.bulk_create(
        WebSocketSession(
            connection_id=f"{room}-{number}=", channel_name=room, api_id="ratesapi1", stage="dev", connected_at=long_ago
        )
        for room, size in ROOMS.items()
        for number in range(size)
    )
    results = {}

    def broadcast(room: str) -> None:
        try:
            results[room] = WebSocketSession.objects.filter(channel_name=room).send_message({"room": room})
        finally:
            connection.close()

    # No throttle at the stand-in: whatever the limit, only the senders' pace keeps to it.
    with throttled_endpoint(rate=10**6, burst=10**6, latency_ms=5, stage="dev") as endpoint:
        settings.WEBSOCKETS = {"ENDPOINT_URL": endpoint, "SEND_BATCH_SIZE": 40, "SEND_RATE_LIMIT": RATE_LIMIT}
        threads = [threading.Thread(target=broadcast, args=(room,)) for room in ROOMS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        counts = endpoint_stats(endpoint)

    assert {room: (result.sent, result.failed) for room, result in results.items()} == {
        "north": (120, {}),
        "south": (120, {}),
    }
    assert Counter(counts["delivered"].values()) == {1: 240}  # every connection once
    assert counts["throttled_per_second"] == []
    per_second = [accepted for _second, accepted in counts["accepted_per_second"]]
    assert sum(per_second) == 240
    assert max(per_second) <= RATE_LIMIT + BURST, per_second
    assert sorted(Broadcast.objects.values_list("sent", "state")) == [(120, "finished"), (120, "finished")]
