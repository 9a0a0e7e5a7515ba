"""Posting one message to many connections: one asyncio loop per container, hundreds of requests in flight.

A broadcast is CPU-bound in Python, and a 512 MB Lambda has about a third of a core, so the sender is built for CPU
per message. One event loop (uvloop where installed) runs in a daemon thread for the life of the container, so its
connection pool (:mod:`websockets_app.backends.http_pool`) keeps API Gateway's TLS connections alive between
invocations; callers on any thread hand it a batch and wait for the outcomes. Each request is signed by
:mod:`websockets_app.backends.sigv4` with credentials from botocore's provider chain (refreshed when they expire).
429, 5xx and timeouts are retried with full-jitter backoff while a retry budget lasts (AWS's "standard" retry
quota), so an endpoint in trouble is not stormed.
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import os
import random
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlsplit

from websockets_app.backends import outcomes
from websockets_app.backends.outcomes import SENT, PostOutcome
from websockets_app.backends.sigv4 import Credentials, sign_request

if TYPE_CHECKING:
    import ssl

    from websockets_app.backends.http_pool import ConnectionPool, Origin, Resolve

__all__ = ("Post", "SendOptions", "Sender", "connection_post")

# AWS's "standard" retry mode: a quota of 500, backoff of up to 1 s, 2 s, 4 s... (full jitter), capped at 20 s.
RETRY_BUDGET = 500
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 20.0
# What a first-attempt success gives back to the budget.
SUCCESS_REFUND = 1
# How long an idle connection to the endpoint is kept for the next send.
KEEPALIVE_SECONDS = 60
# How long closing the pool may take.
CLOSE_TIMEOUT_SECONDS = 5


class Post(NamedTuple):
    """Where one connection's message goes: the URL as sent (percent-encoded), its path, and the origin it is sent
    to (None when the endpoint is not a URL a request can be written for)."""

    url: str
    path: str
    origin: Origin | None = None

    @property
    def host(self) -> str:
        """The Host header's value (what SigV4 signs as ``host``)."""
        return self.origin.host_header if self.origin else ""


def connection_post(endpoint: str, connection_id: str) -> Post:
    """The ``POST @connections/{id}`` for a connection through ``endpoint`` (encoded as botocore encodes it)."""
    scheme_and_netloc, base_path, origin = _endpoint_parts(endpoint)
    path = f"{base_path}/@connections/{quote(connection_id, safe='-_.~')}"
    return Post(f"{scheme_and_netloc}{path}", path, origin)


# An endpoint's host and path go into the request line and the Host header as they are: visible ASCII only, so
# that nothing in a configured URL can end a header line or add one.
_UNSAFE_IN_REQUEST = frozenset(map(chr, [*range(0x21), 0x7F]))


@lru_cache(maxsize=64)
def _endpoint_parts(endpoint: str) -> tuple[str, str, Origin | None]:
    """``scheme://netloc``, the base path and the origin of an endpoint: parsed once, not once per post."""
    from websockets_app.backends.http_pool import Origin

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
    usable = default_port and port and hostname and not _UNSAFE_IN_REQUEST.intersection(host + base_path)
    origin = Origin(parts.scheme, hostname, port, host) if usable and port else None
    return f"{parts.scheme}://{parts.netloc}", base_path, origin


@dataclass(frozen=True)
class SendOptions:
    """What one batch is sent with, read from the settings by the caller."""

    concurrency: int
    connect_timeout: float
    read_timeout: float
    max_attempts: int
    region: str


class RetryBudget:
    """Retries left for the container: each costs tokens, successes give some back (AWS's standard quota)."""

    def __init__(self, capacity: int = RETRY_BUDGET) -> None:
        self.capacity = capacity
        self.tokens = capacity

    def take(self, cost: int) -> bool:
        if cost > self.tokens:
            return False
        self.tokens -= cost
        return True

    def give_back(self, amount: int) -> None:
        self.tokens = min(self.capacity, self.tokens + amount)


@dataclass(frozen=True)
class _Batch:
    """What every post of one batch shares."""

    pool: ConnectionPool
    payload: bytes
    payload_sha256: str
    credentials: Credentials
    options: SendOptions


class Sender:
    """The container's sender. ``ssl_context``, ``resolve`` and ``sleep`` are injectable for tests (a local TLS
    endpoint, recorded backoff); ``credentials`` defaults to botocore's provider chain."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        resolve: Resolve | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        credentials: Any = None,
    ) -> None:
        self._ssl_context = ssl_context
        self._resolve = resolve
        self._sleep = sleep
        self._credentials = credentials
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._pool: ConnectionPool | None = None
        self._closes_at_exit = False
        self.budget = RetryBudget()

    def post_all(self, posts: Sequence[Post], payload: bytes, options: SendOptions) -> list[PostOutcome]:
        """Post ``payload`` to every one of ``posts``; the outcomes in their order. Never raises for one post."""
        if not posts:
            return []
        try:
            credentials = self._frozen_credentials()
        except Exception as error:
            return [outcomes.from_botocore(error)] * len(posts)
        if credentials is None:
            return [outcomes.failed("NoCredentialsError: Unable to locate credentials")] * len(posts)
        if _UNSAFE_IN_REQUEST.intersection(credentials.access_key + (credentials.token or "")):
            reason = "InvalidCredentials: the access key or session token holds characters a header cannot"
            return [outcomes.failed(reason)] * len(posts)
        if _UNSAFE_IN_REQUEST.intersection(options.region) or not options.region:
            return [outcomes.failed(f"InvalidRegion: {options.region!r} cannot be signed for")] * len(posts)
        job = self._post_all(posts, payload, credentials, options)
        return asyncio.run_coroutine_threadsafe(job, self._running_loop()).result()

    def close(self) -> None:
        """Close the connection pool and stop the loop (at exit and in tests; a container just ends).

        Bounded in time, so that a process never hangs on its way out."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
        if loop is None or thread is None or not thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._close_pool(), loop).result(CLOSE_TIMEOUT_SECONDS)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CLOSE_TIMEOUT_SECONDS)

    # In the caller's thread.

    def _frozen_credentials(self) -> Credentials | None:
        if self._credentials is None:
            import botocore.session

            self._credentials = botocore.session.get_session().get_credentials()
            if self._credentials is None:
                return None
        frozen = self._credentials.get_frozen_credentials()  # refreshes credentials about to expire
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid() or not self._thread or not self._thread.is_alive():
                self._loop = _new_event_loop()
                self._pool = None
                self._pid = os.getpid()
                self._thread = threading.Thread(target=_run, args=(self._loop,), name="websockets-sender", daemon=True)
                self._thread.start()
                if not self._closes_at_exit:
                    # A script or management command that sent ends with its connections closed, not with
                    # "unclosed transport" warnings (a Lambda container is frozen and killed instead).
                    atexit.register(self.close)
                    self._closes_at_exit = True
            return self._loop

    # In the loop's thread.

    async def _post_all(
        self, posts: Sequence[Post], payload: bytes, credentials: Credentials, options: SendOptions
    ) -> list[PostOutcome]:
        batch = _Batch(
            pool=self._connection_pool(options.concurrency),
            payload=payload,
            payload_sha256=hashlib.sha256(payload).hexdigest(),
            credentials=credentials,
            options=options,
        )
        results: list[PostOutcome] = [SENT] * len(posts)
        pending = iter(enumerate(posts))

        async def work() -> None:
            for index, post in pending:
                results[index] = await self._post(batch, post)

        await asyncio.gather(*(work() for _ in range(min(options.concurrency, len(posts)))))
        return results

    async def _post(self, batch: _Batch, post: Post) -> PostOutcome:
        """One connection's outcome, after the retries it is worth; never raises."""
        if post.origin is None:
            return outcomes.failed(f'InvalidEndpoint: Not a URL a request can be sent to: "{post.url}"')
        content_length = f"Content-Length: {len(batch.payload)}\r\n\r\n".encode()
        attempt, retry_cost, stale_replaced, fresh_connection = 1, 0, False, False
        while True:
            try:
                headers = sign_request(
                    method="POST",
                    host=post.host,
                    path=post.path,
                    payload_sha256=batch.payload_sha256,
                    credentials=batch.credentials,
                    region=batch.options.region,
                    now=datetime.now(UTC),
                )
                signed = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
                head = f"POST {post.path} HTTP/1.1\r\nHost: {post.host}\r\n{signed}".encode()
                fresh, fresh_connection = fresh_connection, False  # only the attempt right after a stale one
                answer = await batch.pool.request(
                    post.origin,
                    head + content_length + batch.payload,
                    connect_timeout=batch.options.connect_timeout,
                    read_timeout=batch.options.read_timeout,
                    fresh=fresh,
                )
                if answer.status < 300:
                    self.budget.give_back(retry_cost or SUCCESS_REFUND)
                    return SENT
                outcome = outcomes.from_http_answer(answer.status, answer.error_type, answer.body)
            except Exception as error:
                if not stale_replaced and _is_stale_connection(error):
                    # A pooled connection the endpoint closed meanwhile: once more on a new one, free of the budget.
                    stale_replaced = fresh_connection = True
                    continue
                outcome = outcomes.from_transport_error(error, post.url)
            retry_cost = outcome.retry_cost
            if not retry_cost or attempt >= batch.options.max_attempts or not self.budget.take(retry_cost):
                return outcome
            await self._sleep(random.random() * min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)))  # noqa: S311
            attempt += 1

    def _connection_pool(self, connection_limit: int) -> ConnectionPool:
        """The pool, made by the first batch: at most ``connection_limit`` connections, however many batches run
        at once (one on Lambda; several in the emulator, whose worker threads share the process), so concurrent
        batches queue for a connection instead of opening more than the endpoint can accept in time."""
        from websockets_app.backends.http_pool import ConnectionPool

        if self._pool is None:
            self._pool = ConnectionPool(
                connection_limit, keepalive=KEEPALIVE_SECONDS, ssl_context=self._ssl_context, resolve=self._resolve
            )
        return self._pool

    async def _close_pool(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _is_stale_connection(error: BaseException) -> bool:
    """A kept-alive connection the endpoint had closed (while the container was frozen, say): nothing was sent."""
    from websockets_app.backends.http_pool import Disconnected

    return isinstance(error, Disconnected) and error.reused


def _run(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def _new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
