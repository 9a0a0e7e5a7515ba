"""HTTP/1.1 requests over a bounded pool of kept-alive connections, at a few microseconds of Python per request.

The sender's CPU per message is what a broadcast costs on Lambda (a 512 MB function has a third of a core), and a
general HTTP client spends most of it on request and response objects, header multidicts and URL handling. A post to
``@connections`` is one small request and one small answer, so here the request is written as bytes and the answer
is read by httptools (llhttp, the parser of Node.js). Only what the sender needs is kept of an answer: the status,
AWS's ``x-amzn-ErrorType`` header and the body. Runs in the sender's event loop only.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
from collections.abc import Callable
from typing import Any, NamedTuple

import httptools

__all__ = (
    "Answer",
    "BadAnswer",
    "ConnectFailed",
    "ConnectTimeout",
    "ConnectionPool",
    "Disconnected",
    "Origin",
    "ReadTimeout",
    "TransportError",
)

# How long a resolved address is used before the name is looked up again (as aiohttp's default DNS cache).
DNS_TTL_SECONDS = 10.0

Resolve = Callable[[str, int], list[tuple[str, int]]]


class Origin(NamedTuple):
    """Where requests go: ``https`` or ``http``, the host name (TLS checks its certificate against it), the port
    and the Host header."""

    scheme: str
    hostname: str
    port: int
    host_header: str


class Answer(NamedTuple):
    status: int
    error_type: str | None  # the x-amzn-ErrorType header, when the answer has one
    body: bytes


class TransportError(Exception):
    """No answer came back."""


class ConnectTimeout(TransportError, TimeoutError):
    """No connection within the connect timeout."""


class ReadTimeout(TransportError, TimeoutError):
    """The request was sent; no complete answer within the read timeout."""


class ConnectFailed(TransportError):
    """The name did not resolve, the endpoint refused, or its certificate did not verify: nothing was sent."""


class Disconnected(TransportError):
    """The endpoint closed the connection before answering. ``reused``: it was a kept-alive connection, which an
    endpoint may close at any time while idle, and no byte of an answer had come back, so the request most likely
    never reached it (once an answer has begun, the request was received: it is not "reused")."""

    def __init__(self, message: str, *, reused: bool) -> None:
        super().__init__(message)
        self.reused = reused


class BadAnswer(TransportError):
    """What came back is not an HTTP/1.1 answer."""


class ConnectionPool:
    """At most ``limit`` requests at once, each on a connection of its own, kept alive for ``keepalive`` seconds
    of idleness. ``ssl_context`` and ``resolve`` (host, port -> addresses) are injectable for tests."""

    def __init__(
        self,
        limit: int,
        *,
        keepalive: float,
        ssl_context: ssl.SSLContext | None = None,
        resolve: Resolve | None = None,
    ) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._keepalive = keepalive
        self._ssl_context = ssl_context
        self._resolve = resolve
        self._idle: dict[Origin, list[_Connection]] = {}
        self._in_use: set[_Connection] = set()
        self._addresses: dict[tuple[str, int], tuple[float, list[tuple[str, int]]]] = {}
        self._lookups: dict[tuple[str, int], asyncio.Future[list[tuple[str, int]]]] = {}
        self._closed = False

    async def request(
        self, origin: Origin, request: bytes, *, connect_timeout: float, read_timeout: float, fresh: bool = False
    ) -> Answer:
        """Send ``request`` (head and body, as bytes) and read its answer; ``fresh`` opens a new connection."""
        async with self._slots:
            if self._closed:
                raise ConnectFailed("The connection pool is closed")
            connection = None if fresh else self._reusable(origin)
            if connection is None:
                connection = await self._connect(origin, connect_timeout)
            self._in_use.add(connection)
            try:
                answer, keep_alive = await connection.exchange(request, read_timeout)
            except BaseException:
                connection.close()
                raise
            finally:
                self._in_use.discard(connection)
            if keep_alive and not connection.closed:
                connection.idle_since = asyncio.get_running_loop().time()
                self._idle.setdefault(origin, []).append(connection)
            else:
                connection.close()
            return answer

    async def close(self) -> None:
        """Drop every connection, idle or in use (the process is ending: no graceful TLS shutdown to wait for)."""
        self._closed = True
        for connection in [*self._in_use, *(c for idle in self._idle.values() for c in idle)]:
            connection.abort()
        self._idle.clear()
        await asyncio.sleep(0)  # the transports close in the loop's next iteration

    def _reusable(self, origin: Origin) -> _Connection | None:
        """The most recently used idle connection that is still open and fresh enough; stale ones are closed."""
        idle = self._idle.get(origin)
        oldest_allowed = asyncio.get_running_loop().time() - self._keepalive
        while idle:
            connection = idle.pop()
            if not connection.closed and connection.idle_since >= oldest_allowed:
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin, timeout: float) -> _Connection:
        loop = asyncio.get_running_loop()
        secure = origin.scheme == "https"
        errors: list[str] = []
        try:
            async with asyncio.timeout(timeout):
                for host, port in await self._lookup(origin.hostname, origin.port):
                    try:
                        _, connection = await loop.create_connection(
                            _Connection,
                            host,
                            port,
                            ssl=(self._ssl_context or _default_ssl_context()) if secure else None,
                            server_hostname=origin.hostname if secure else None,
                        )
                    except OSError as error:
                        errors.append(str(error) or type(error).__name__)
                    else:
                        return connection
        except TimeoutError:
            raise ConnectTimeout(f"No connection to {origin.host_header} within {timeout:g} s") from None
        raise ConnectFailed("; ".join(errors) or f"{origin.hostname} has no address")

    async def _lookup(self, hostname: str, port: int) -> list[tuple[str, int]]:
        """The addresses to try, first one turned to the back each time, so connections spread over them. The
        hundreds of connections a cold container opens at once share one lookup."""
        if self._resolve is not None:
            return self._resolve(hostname, port)
        loop = asyncio.get_running_loop()
        key = (hostname, port)
        cached = self._addresses.get(key)
        if cached and cached[0] > loop.time():
            addresses = cached[1]
        else:
            lookup = self._lookups.get(key)
            if lookup is None:
                lookup = self._lookups[key] = asyncio.ensure_future(self._resolve_name(hostname, port))
                lookup.add_done_callback(functools.partial(self._lookup_done, key))
            addresses = await asyncio.shield(lookup)
        addresses.append(addresses.pop(0))
        return [addresses[-1], *addresses[:-1]]

    def _lookup_done(self, key: tuple[str, int], lookup: asyncio.Future[list[tuple[str, int]]]) -> None:
        del self._lookups[key]
        if not lookup.cancelled():
            lookup.exception()  # retrieved here too: every waiter may have timed out before it failed

    async def _resolve_name(self, hostname: str, port: int) -> list[tuple[str, int]]:
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise ConnectFailed(f"Cannot resolve {hostname}: {error}") from None
        addresses = list(dict.fromkeys((str(address[4][0]), int(address[4][1])) for address in found))
        if not addresses:
            raise ConnectFailed(f"{hostname} has no address")
        self._addresses[(hostname, port)] = (loop.time() + DNS_TTL_SECONDS, addresses)
        return addresses


@functools.lru_cache(maxsize=1)
def _default_ssl_context() -> ssl.SSLContext:
    """The system's trusted CAs with host name checks, built once: loading the CA store takes milliseconds."""
    return ssl.create_default_context()


class _Connection(asyncio.Protocol):
    """One connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._used = False
        self._reused = False
        self._answered = False  # a byte of the current answer has come back
        self._parser = httptools.HttpResponseParser(self)
        self._answer: asyncio.Future[tuple[Answer, bool]] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._error_type: str | None = None
        self._body: list[bytes] = []
        self._headers_done = False
        self._delimited = False  # Content-Length or chunked: the answer ends by itself, not at the close

    async def exchange(self, request: bytes, read_timeout: float) -> tuple[Answer, bool]:
        """The answer to ``request``, and whether the connection may carry another one."""
        loop = asyncio.get_running_loop()
        self._reused, self._used = self._used, True
        answer: asyncio.Future[tuple[Answer, bool]] = loop.create_future()
        self._answer = answer
        self._error_type, self._body, self._headers_done, self._delimited = None, [], False, False
        self._answered = False
        if self.transport is None or self.closed:
            raise Disconnected("The connection closed before the request was sent", reused=self._reused)
        self.transport.write(request)
        self._timer = loop.call_later(read_timeout, self._time_out, read_timeout)
        try:
            return await answer
        finally:
            self._timer.cancel()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._answered = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as error:
            self._fail(BadAnswer(f"Not an HTTP answer: {error}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is None or self._answer.done():
            return
        if self._headers_done and not self._delimited:
            self._complete(keep_alive=False)  # an answer that ends when the connection does
        else:
            self._fail(
                Disconnected(
                    "The endpoint closed the connection without answering", reused=self._reused and not self._answered
                )
            )

    # httptools' callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"x-amzn-errortype":
            self._error_type = value.decode("latin-1")
        elif name in (b"content-length", b"transfer-encoding"):
            self._delimited = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser.get_status_code() < 200:  # 100 Continue and other interim answers: the real one follows
            self._error_type, self._body, self._headers_done, self._delimited = None, [], False, False
            return
        self._complete(keep_alive=self._parser.should_keep_alive())

    # The answer's outcome.

    def _complete(self, *, keep_alive: bool) -> None:
        if self._answer is not None and not self._answer.done():
            status = self._parser.get_status_code()
            self._answer.set_result((Answer(status, self._error_type, b"".join(self._body)), keep_alive))

    def _fail(self, error: TransportError) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(error)

    def _time_out(self, seconds: float) -> None:
        self._fail(ReadTimeout(f"No answer within {seconds:g} s"))
        self.abort()
