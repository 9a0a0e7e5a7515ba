"""The boto3 send backend: every post through boto3's ``apigatewaymanagementapi`` client.

Slower than libcurl (one post at a time, in the caller's thread, with botocore's per-request work), and that is its
point: each post is an ordinary botocore call, so moto's ``mock_aws``, botocore's ``Stubber`` and X-Ray's botocore
patching see every one, and botocore's own retries, endpoints, proxies and CA bundle apply. ``close()`` and
``info()`` use the same clients whichever backend sends.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from functools import cache
from typing import Any

from websockets_app.backends import outcomes
from websockets_app.backends.base import Post, SendBackend, SendOptions
from websockets_app.backends.outcomes import SENT, PostOutcome

__all__ = ("Boto3Backend", "management_client")

_clients: dict[tuple[str, SendOptions], Any] = {}
_clients_lock = threading.Lock()


class Boto3Backend(SendBackend):
    """Posts through boto3, one after the other, each retried by botocore's "standard" mode."""

    def post_all(self, posts: Sequence[Post], payload: bytes, options: SendOptions) -> list[PostOutcome]:
        results = []
        for post in posts:
            try:
                client = management_client(post.endpoint, options)
                client.post_to_connection(ConnectionId=post.connection_id, Data=payload)
            except Exception as error:
                results.append(outcomes.from_botocore(error))
            else:
                results.append(SENT)
        return results


def management_client(endpoint: str, options: SendOptions) -> Any:
    """The process's ``apigatewaymanagementapi`` client for ``endpoint``, built once per endpoint and options (the
    pace and deadline of one send are not the client's)."""
    key = (endpoint, dataclasses.replace(options, rate_limit=None, deadline=None))
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
