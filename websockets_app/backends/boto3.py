"""The boto3 send backend: every post through boto3's ``apigatewaymanagementapi`` client.

Slower than libcurl (one post at a time, in the caller's thread, with botocore's per-request work), and that is its
point: each post is an ordinary botocore call, so moto's ``mock_aws``, botocore's ``Stubber`` and X-Ray's botocore
patching see every one, and botocore's own retries, endpoints, proxies and CA bundle apply. ``close()`` and
``info()`` use clients from here whichever backend sends (with "standard" retries: one call each, never held behind
a rate limiter).

Throttling slows this backend as it slows libcurl's: every call of the client waits its turn from the same kind of
adaptive rate (:mod:`~websockets_app.backends.pacing`), under ``SendOptions.rate_limit``, one per process;
botocore's "standard" retries try each call up to ``max_attempts`` times; and with ``SendOptions.deadline`` a post
still throttled after them goes again, paced, until it is sent, gone, refused, or the deadline passes (then it comes
back throttled, as one not started by then does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from functools import cache
from typing import Any

from websockets_app.backends import outcomes
from websockets_app.backends.base import Post, SendBackend, SendOptions
from websockets_app.backends.outcomes import HELD_BACK, SENT, PostOutcome
from websockets_app.backends.pacing import AdaptiveRate

__all__ = ("Boto3Backend", "management_client")

_clients: dict[tuple[str, int, float, float, int, str], Any] = {}
_clients_lock = threading.Lock()


class Boto3Backend(SendBackend):
    """Posts through boto3, one after the other, paced by an adaptive rate and retried by botocore."""

    def __init__(self) -> None:
        self._pacer = AdaptiveRate()
        self._pacer_lock = threading.Lock()

    def post_all(self, posts: Sequence[Post], payload: bytes, options: SendOptions) -> list[PostOutcome]:
        deadline = options.deadline
        results = []
        for post in posts:
            outcome = HELD_BACK
            while self._wait_turn(options.rate_limit, deadline):
                started = time.monotonic()
                outcome = _post(post, payload, options)
                with self._pacer_lock:
                    if outcome.throttled:
                        self._pacer.throttled(started, time.monotonic())
                    else:
                        self._pacer.succeeded(time.monotonic())
                if not outcome.throttled or deadline is None:
                    break
            results.append(outcome)
        return results

    def _wait_turn(self, rate_limit: float | None, deadline: float | None) -> bool:
        """Sleep until the pacer lets a request start; False when that would be after ``deadline``."""
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return False
            with self._pacer_lock:
                self._pacer.limit(rate_limit, now)
                wait = self._pacer.take(now)
            if not wait:
                return True
            if deadline is not None and now + wait > deadline:
                return False
            time.sleep(wait)


def _post(post: Post, payload: bytes, options: SendOptions) -> PostOutcome:
    try:
        client = management_client(post.endpoint, options)
        client.post_to_connection(ConnectionId=post.connection_id, Data=payload)
    except Exception as error:
        return outcomes.from_botocore(error)
    return SENT


def management_client(endpoint: str, options: SendOptions) -> Any:
    """The process's ``apigatewaymanagementapi`` client for ``endpoint``, built once per endpoint and the options a
    client is built with (not a call's rate limit or deadline)."""
    key = (
        endpoint,
        options.concurrency,
        options.connect_timeout,
        options.read_timeout,
        options.max_attempts,
        options.region,
    )
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = _build_client(endpoint, options)
    return client


def _build_client(endpoint: str, options: SendOptions) -> Any:
    import botocore
    from botocore.config import Config

    config = Config(
        # A fixed User-Agent: botocore otherwise rebuilds it twice per request, a sixth of a message's CPU.
        user_agent=f"django-lambda-websockets botocore/{botocore.__version__}",
        # Only the app calls the client, with a str and bytes: checking them again per message is waste.
        parameter_validation=False,
        max_pool_connections=options.concurrency,
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        retries={"mode": "standard", "total_max_attempts": options.max_attempts},
        tcp_keepalive=True,
    )
    return _boto3_session().client(
        "apigatewaymanagementapi", endpoint_url=endpoint, region_name=options.region, config=config
    )


@cache
def _boto3_session() -> Any:
    import boto3

    return boto3.session.Session()
