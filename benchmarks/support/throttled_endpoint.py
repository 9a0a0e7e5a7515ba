"""A stand-in for API Gateway's ``@connections`` under the account's throttle, in its own process, counting everything.

API Gateway throttles every API of an account and Region together with one token bucket (about 10,000 requests a
second, a burst of 5,000: "Amazon API Gateway quotas"); a request beyond it is answered 429 with
``x-amzn-ErrorType: LimitExceededException``. This endpoint keeps one bucket of ``rate`` tokens a second holding at
most ``burst``, answers an accepted post 200 after ``latency_ms`` (as from inside the Region), and counts every
delivery by connection id, and every request second by second, so a benchmark can tell what was lost, what came
twice and how much of the throttle's capacity was used. ``GET /__stats`` returns the counts as JSON.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from benchmarks.support import fetch_stats, http_answer, serve_forever, serving_process

THROTTLED_BODY = b'{"message":"Too Many Requests"}'


@dataclass
class Bucket:
    """API Gateway's token bucket: ``rate`` tokens a second, at most ``burst`` held; it starts full."""

    rate: float
    burst: float
    tokens: float = 0.0
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class Counts:
    delivered: Counter[str] = field(default_factory=Counter)
    accepted_per_second: Counter[int] = field(default_factory=Counter)
    throttled_per_second: Counter[int] = field(default_factory=Counter)
    first_request_at: float | None = None
    last_delivery_at: float | None = None

    def as_json(self) -> bytes:
        return json.dumps(
            {
                "delivered": self.delivered,
                "accepted_per_second": sorted(self.accepted_per_second.items()),
                "throttled_per_second": sorted(self.throttled_per_second.items()),
                "first_request_at": self.first_request_at,
                "last_delivery_at": self.last_delivery_at,
            }
        ).encode()


def _serve(rate: float, burst: float, latency: float, certificate: str | None, port_sink: Any) -> None:
    bucket = Bucket(rate, burst)
    counts = Counts()

    async def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        if path == "/__stats":
            return http_answer("200 OK", counts.as_json())
        if "/@connections/" not in path:
            return http_answer("404 Not Found", b'{"message":"Not Found"}')
        now = time.time()
        counts.first_request_at = counts.first_request_at or now
        second = int(now - counts.first_request_at)
        if not bucket.take():
            counts.throttled_per_second[second] += 1
            extra = "x-amzn-ErrorType: LimitExceededException\r\n"
            return http_answer("429 Too Many Requests", THROTTLED_BODY, extra)
        counts.accepted_per_second[second] += 1
        await asyncio.sleep(latency)
        if method == "POST":
            counts.delivered[unquote(path.rsplit("/@connections/", 1)[1])] += 1
            counts.last_delivery_at = time.time()
        return http_answer("200 OK", b"")

    serve_forever(answer, port_sink, certificate=certificate)


@contextmanager
def throttled_endpoint(
    *, rate: float, burst: float, latency_ms: float, stage: str, certificate: str | None = None
) -> Iterator[str]:
    """Start the endpoint; yields its URL (``http://127.0.0.1:PORT/<stage>``) and stops it afterwards."""
    with serving_process(_serve, rate, burst, latency_ms / 1000, certificate) as port:
        yield f"{'https' if certificate else 'http'}://127.0.0.1:{port}/{stage}"


def endpoint_stats(endpoint_url: str) -> dict[str, Any]:
    """What the endpoint counted so far."""
    parts = urlsplit(endpoint_url)
    return fetch_stats(f"http://{parts.netloc}")
