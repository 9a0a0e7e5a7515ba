"""The boto3 send backend: every post through boto3's ``apigatewaymanagementapi`` client.

Slower than libcurl (one post at a time, in the caller's thread, with botocore's per-request work), and that is its
point: each post is an ordinary botocore call, so moto's ``mock_aws``, botocore's ``Stubber`` and X-Ray's botocore
patching see every one, and botocore's own retries, endpoints, proxies and CA bundle apply. ``close()`` and
``info()`` use clients from here whichever backend sends (with "standard" retries: one call each, never held behind
a rate limiter).

The backend's posts leave throttling to botocore's "adaptive" retry mode: "standard" retries and quota, plus a
client-side rate limiter. What it does: from the first throttled answer on, every request (retries included) waits
for a token of a bucket whose rate is cut to 0.7 of the rate measured and climbs back as requests succeed (CUBIC),
one bucket per client, shared by the threads that use it (a client per endpoint in a process). What it does not:
honour ``SendOptions.rate_limit`` (it has no ceiling; posting one at a time, a thread starts at most one request
per round trip), pace anything before the first throttle, or stop waiting at a deadline (a request may wait for its
token past it, up to 2 s at botocore's lowest rate). On top of it, with ``SendOptions.deadline`` this backend tries
a throttled post again until the deadline and starts no post after it (those come back throttled), as libcurl's does.
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

__all__ = ("Boto3Backend", "management_client")

_clients: dict[tuple[str, str, int, float, float, int, str], Any] = {}
_clients_lock = threading.Lock()


class Boto3Backend(SendBackend):
    """Posts through boto3, one after the other, each retried by botocore's "adaptive" mode."""

    def post_all(self, posts: Sequence[Post], payload: bytes, options: SendOptions) -> list[PostOutcome]:
        deadline = options.deadline
        results = []
        for post in posts:
            if deadline is not None and time.monotonic() >= deadline:
                results.append(HELD_BACK)
                continue
            outcome = _post(post, payload, options)
            while outcome.throttled and deadline is not None and time.monotonic() < deadline:
                outcome = _post(post, payload, options)
            results.append(outcome)
        return results


def _post(post: Post, payload: bytes, options: SendOptions) -> PostOutcome:
    try:
        client = management_client(post.endpoint, options, retry_mode="adaptive")
        client.post_to_connection(ConnectionId=post.connection_id, Data=payload)
    except Exception as error:
        return outcomes.from_botocore(error)
    return SENT


def management_client(endpoint: str, options: SendOptions, *, retry_mode: str = "standard") -> Any:
    """The process's ``apigatewaymanagementapi`` client for ``endpoint``, built once per endpoint, botocore retry mode
    and the options a client is built with (not a call's rate limit or deadline)."""
    key = (
        endpoint,
        retry_mode,
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
                client = _clients[key] = _build_client(endpoint, options, retry_mode)
    return client


def _build_client(endpoint: str, options: SendOptions, retry_mode: str) -> Any:
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
        retries={"mode": retry_mode, "total_max_attempts": options.max_attempts},
        tcp_keepalive=True,
    )
    return _boto3_session().client(
        "apigatewaymanagementapi", endpoint_url=endpoint, region_name=options.region, config=config
    )


@cache
def _boto3_session() -> Any:
    import boto3

    return boto3.session.Session()
