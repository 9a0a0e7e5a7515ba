"""What a send backend is: the interface every one implements, and the posts and options it is handed.

Django sends mail through ``EMAIL_BACKEND``; the app posts to ``@connections`` through ``WEBSOCKETS["SEND_BACKEND"]``
the same way. A backend takes one message and the connections it goes to and answers one
:class:`~websockets_app.backends.outcomes.PostOutcome` per connection; everything above it (410 closing rows, the
``$connect`` window, ``SendResult``) is the same whichever backend made the posts.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from websockets_app.backends.outcomes import PostOutcome

__all__ = ("Post", "SendBackend", "SendOptions", "connection_post", "is_header_safe")


class Post(NamedTuple):
    """One connection's ``POST @connections/{id}``: the endpoint and connection it is for, the URL as sent
    (percent-encoded as botocore encodes it), its path, and the Host header SigV4 signs ("" when the endpoint is not
    a URL a request can be written for)."""

    endpoint: str
    connection_id: str
    url: str
    path: str
    host: str


@dataclass(frozen=True)
class SendOptions:
    """What one batch is sent with, read from the settings by the caller.

    ``rate_limit``: the most ``@connections`` requests a second this call's posts may start, retries included (this
    sender's share of the site's ``SEND_RATE_LIMIT``); None: unpaced. Either way a throttled answer slows the sender
    down (:mod:`~websockets_app.backends.pacing`).

    ``deadline``: a :func:`time.monotonic` instant the posts must be answered by. With one, a throttled post is tried
    again, paced and without spending the retry budget or ``max_attempts``, until it is sent, gone, refused, or the
    deadline passes; a post still throttled then (or not yet started) comes back throttled, to be sent later. Other
    retryable failures keep the budget and ``max_attempts``, but a backoff that would end after the deadline is not
    waited. Without one, throttled posts are retried under the budget like any other retryable failure.
    """

    concurrency: int
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    region: str
    rate_limit: float | None = None
    deadline: float | None = None


class SendBackend(ABC):
    """How posts reach ``@connections``. One instance per process, built on first use from ``SEND_BACKEND`` and
    shared by every thread that sends, so an implementation must be thread-safe."""

    @abstractmethod
    def post_all(self, posts: Sequence[Post], payload: bytes, options: SendOptions) -> list[PostOutcome]:
        """Post ``payload`` to each of ``posts``; one outcome each, in their order. Never raises for one post: what
        cannot be sent is a failed outcome with its reason."""

    def close(self) -> None:  # noqa: B027  (a backend holding nothing has nothing to release)
        """Release what the backend holds (connections, threads): at exit and in tests; a container just ends."""


def connection_post(endpoint: str, connection_id: str) -> Post:
    """The ``POST @connections/{id}`` for a connection through ``endpoint``."""
    scheme_and_netloc, base_path, host = _endpoint_parts(endpoint)
    path = f"{base_path}/@connections/{_percent_encoded(connection_id)}"
    return Post(endpoint, connection_id, f"{scheme_and_netloc}{path}", path, host)


# What quote(text, safe="-_.~") makes of each ASCII character it encodes, as botocore encodes a connection id.
_ENCODED_ASCII = {code: f"%{code:02X}" for code in range(128) if not (chr(code).isalnum() or chr(code) in "-_.~")}


def _percent_encoded(connection_id: str) -> str:
    """``quote(connection_id, safe="-_.~")``: through a table for the ASCII ids API Gateway issues (a third of the
    time, once per post of a broadcast), through ``quote`` for any other."""
    if connection_id.isascii():
        return connection_id.translate(_ENCODED_ASCII)
    return quote(connection_id, safe="-_.~")


# An endpoint's host and path go into the request line and the Host header as they are: visible ASCII only, so
# that nothing in a configured URL can end a header line or add one.
_UNSAFE_IN_REQUEST = frozenset(map(chr, [*range(0x21), 0x7F]))


def is_header_safe(text: str) -> bool:
    """Whether ``text`` may go into a request line or a header value as it is."""
    return not _UNSAFE_IN_REQUEST.intersection(text)


@lru_cache(maxsize=64)
def _endpoint_parts(endpoint: str) -> tuple[str, str, str]:
    """``scheme://netloc``, the base path and the Host header of an endpoint: parsed once, not once per post."""
    parts = urlsplit(endpoint)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    base_path = parts.path.rstrip("/")
    try:
        port = parts.port or default_port
    except ValueError:
        port = None
    hostname = parts.hostname or ""
    host = f"[{hostname}]" if ":" in hostname else hostname  # an IPv6 literal keeps its brackets in Host
    host = f"{host}:{port}" if port != default_port else host
    usable = default_port and port and hostname and is_header_safe(host + base_path)
    return f"{parts.scheme}://{parts.netloc}", base_path, host if usable else ""
