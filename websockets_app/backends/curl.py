"""The default send backend: libcurl's multi interface (through pycurl), driven from one thread per container.

A broadcast is CPU-bound in Python, and a 512 MB Lambda has about a third of a core, so the sender is built for CPU
per message: the HTTP work (connections, TLS, proxies, parsing answers) is libcurl's, in C, and what is left in
Python per post is its SigV4 signature and a few options. One thread owns the multi handle for the life of the
container, so its connection cache keeps API Gateway's TLS connections alive between invocations; callers on any
thread hand it a batch and wait for the outcomes.

Everything a user of botocore expects of the way out comes from libcurl: proxies from the environment
(``HTTPS_PROXY``, ``NO_PROXY``), the CA bundle botocore would use (``AWS_CA_BUNDLE``, the config file's
``ca_bundle``, else botocore's own), each of a name's addresses tried within the connect timeout, and an answer
larger than :data:`MAX_ANSWER_BYTES` dropped as it arrives instead of being held.

A throttled answer (429) is backpressure: every attempt, retries included, starts only when the thread's
:class:`~websockets_app.backends.pacing.AdaptiveRate` allows it, so the sender stays under ``SendOptions.rate_limit``
and slows down further when API Gateway throttles it; with a deadline, a throttled post waits its turn again instead
of spending the retry budget.
"""

from __future__ import annotations

import atexit
import hashlib
import heapq
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets_app.backends import outcomes
from websockets_app.backends.base import Post, SendBackend, SendOptions, is_header_safe
from websockets_app.backends.outcomes import CURLE_OPERATION_TIMEDOUT, HELD_BACK, SENT, PostOutcome
from websockets_app.backends.pacing import AdaptiveRate
from websockets_app.backends.retries import RetryBudget, RetryPolicy
from websockets_app.backends.sigv4 import Credentials, RequestSigner

__all__ = ("MAX_ANSWER_BYTES", "CurlBackend", "botocore_ca_bundle")

# The most of an answer's body the sender reads: API Gateway's answers are a few dozen bytes of JSON.
MAX_ANSWER_BYTES = 64 * 1024
# How long an idle connection to the endpoint is kept for the next send.
KEEPALIVE_SECONDS = 60
# How long closing may take, so that a process never hangs on its way out.
CLOSE_TIMEOUT_SECONDS = 5
# How much longer than connecting and reading libcurl lets a transfer last, should the thread's read timeout not end it.
BACKSTOP_SECONDS = 1.0
# While transfers are in flight, how often the thread looks for batches handed to it meanwhile.
BUSY_WAIT_SECONDS = 0.005
# Headers libcurl would add on its own, which the signature does not cover: sent empty, they are not sent at all.
UNSIGNED_DEFAULTS = ("Accept:", "Content-Type:", "Expect:", "User-Agent:")
_ERROR_TYPE = b"x-amzn-errortype:"

BackoffWait = Callable[[float], float]


def botocore_ca_bundle(session: Any = None) -> str:
    """The CA bundle botocore verifies AWS with: ``AWS_CA_BUNDLE`` or the config file's ``ca_bundle``, else its own
    default (certifi's, or the one botocore ships)."""
    import botocore.httpsession
    import botocore.session

    configured = (session or botocore.session.get_session()).get_config_variable("ca_bundle")
    return str(configured or botocore.httpsession.get_cert_path(True))


class CurlBackend(SendBackend):
    """Posts through libcurl, hundreds in flight on kept-alive connections, paced, retrying under a budget.

    The keyword arguments are libcurl's own means of pointing elsewhere, for tests and unusual networks:
    ``connect_to`` (``CURLOPT_CONNECT_TO``: "host:port:connect-to-host:connect-to-port"), ``resolve``
    (``CURLOPT_RESOLVE``), ``ca_bundle`` (instead of botocore's). ``backoff_wait`` maps a backoff to the seconds
    actually waited (tests record it and wait none); ``credentials`` defaults to botocore's provider chain.
    """

    def __init__(
        self,
        *,
        connect_to: Sequence[str] = (),
        resolve: Sequence[str] = (),
        ca_bundle: str | None = None,
        backoff_wait: BackoffWait | None = None,
        credentials: Any = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self._connect_to = list(connect_to)
        self._resolve = list(resolve)
        self._ca_bundle = ca_bundle
        self._backoff_wait = backoff_wait or (lambda seconds: seconds)
        self._credentials = credentials
        self._max_answer_bytes = max_answer_bytes
        self._botocore_session: Any = None
        self._lock = threading.Lock()
        self._transfers: _Transfers | None = None
        self._pid = 0
        self._closes_at_exit = False
        self.retries = RetryPolicy()

    @property
    def budget(self) -> RetryBudget:
        """The container's retry budget (tests read what is left of it)."""
        return self.retries.budget

    def post_all(self, posts: Sequence[Post], payload: bytes, options: SendOptions) -> list[PostOutcome]:
        if not posts:
            return []
        try:
            credentials = self._frozen_credentials()
            ca_bundle = self._ca_bundle or botocore_ca_bundle(self._session())
        except Exception as error:
            return [outcomes.from_botocore(error)] * len(posts)
        if credentials is None:
            return [outcomes.failed("NoCredentialsError: Unable to locate credentials")] * len(posts)
        if not is_header_safe(credentials.access_key + (credentials.token or "")):
            reason = "InvalidCredentials: the access key or session token holds characters a header cannot"
            return [outcomes.failed(reason)] * len(posts)
        if not options.region or not is_header_safe(options.region):
            return [outcomes.failed(f"InvalidRegion: {options.region!r} cannot be signed for")] * len(posts)
        batch = _Batch(
            payload=payload,
            payload_sha256=hashlib.sha256(payload).hexdigest(),
            credentials=credentials,
            options=options,
            ca_bundle=ca_bundle,
            results=[SENT] * len(posts),
        )
        attempts = []
        for index, post in enumerate(posts):
            if post.host:
                attempts.append(_Attempt(batch, index, post))
            else:
                batch.results[index] = outcomes.failed(
                    f'InvalidEndpoint: Not a URL a request can be sent to: "{post.url}"'
                )
        if attempts:
            batch.left = len(attempts)
            self._running(options.concurrency).submit(batch, attempts)
            batch.done.wait()
        return batch.results

    def close(self) -> None:
        """Stop the thread and close every connection (at exit and in tests). Bounded in time."""
        with self._lock:
            transfers, self._transfers = self._transfers, None
        if transfers is not None and self._pid == os.getpid():
            transfers.stop()

    def _session(self) -> Any:
        if self._botocore_session is None:
            import botocore.session

            self._botocore_session = botocore.session.get_session()
        return self._botocore_session

    def _frozen_credentials(self) -> Credentials | None:
        if self._credentials is None:
            self._credentials = self._session().get_credentials()
            if self._credentials is None:
                return None
        frozen = self._credentials.get_frozen_credentials()  # refreshes credentials about to expire
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    def _running(self, connection_limit: int) -> _Transfers:
        """The thread, started by the first batch (again in a forked child): at most ``connection_limit``
        transfers at once however many batches run together (one on Lambda; several in the emulator, whose worker
        threads share the process), so concurrent batches queue instead of opening more connections."""
        with self._lock:
            if self._transfers is None or self._pid != os.getpid() or not self._transfers.alive:
                self._transfers = _Transfers(
                    limit=connection_limit,
                    retries=self.retries,
                    backoff_wait=self._backoff_wait,
                    fixed_options=self._fixed_options(),
                )
                self._pid = os.getpid()
                if not self._closes_at_exit:
                    # A script or management command that sent ends with its connections closed.
                    atexit.register(self.close)
                    self._closes_at_exit = True
            return self._transfers

    def _fixed_options(self) -> list[tuple[int, Any]]:
        """The libcurl options every transfer shares."""
        import pycurl

        options: list[tuple[int, Any]] = [
            (pycurl.NOSIGNAL, 1),  # threads: no SIGALRM for name lookups
            (pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS),
            (pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1),
            (pycurl.TCP_KEEPALIVE, 1),
            (pycurl.MAXAGE_CONN, KEEPALIVE_SECONDS),
            (pycurl.MAXFILESIZE_LARGE, self._max_answer_bytes),
        ]
        if self._connect_to:
            options.append((pycurl.CONNECT_TO, self._connect_to))
        if self._resolve:
            options.append((pycurl.RESOLVE, self._resolve))
        return options


@dataclass(eq=False)
class _Batch:
    """What every post of one batch shares, and where their outcomes go."""

    payload: bytes
    payload_sha256: str
    credentials: Credentials
    options: SendOptions
    ca_bundle: str
    results: list[PostOutcome]
    left: int = 0
    done: threading.Event = field(default_factory=threading.Event)
    expired: bool = False
    # By Host: a batch's posts go to one endpoint, or a few.
    signers: dict[str, RequestSigner] = field(default_factory=dict)

    def signer(self, host: str) -> RequestSigner:
        """What signs this batch's posts to ``host`` (made on its first post there, in the sender's thread)."""
        signer = self.signers.get(host)
        if signer is None:
            signer = self.signers[host] = RequestSigner(
                host=host, payload_sha256=self.payload_sha256, credentials=self.credentials, region=self.options.region
            )
        return signer


@dataclass(eq=False)
class _Attempt:
    """One connection's post, and how far its retries have gone."""

    batch: _Batch
    index: int
    post: Post
    number: int = 1
    retry_cost: int = 0
    started: float = 0.0
    outcome: PostOutcome | None = None  # the last attempt's, while another is to come


class _Handle:
    """An easy handle, reused post after post, with what came back of the last answer."""

    def __init__(self, curl: Any) -> None:
        self.curl = curl
        self.headers: list[bytes] = []
        self.body: list[bytes] = []
        self.payload: bytes | None = None
        self.limits: tuple[float, float] | None = None
        self.ca_bundle = ""


class _Transfers:
    """The thread that owns the multi handle. Only :meth:`submit`, :meth:`stop` and :attr:`alive` are called from
    other threads; everything else runs in it."""

    def __init__(
        self,
        *,
        limit: int,
        retries: RetryPolicy,
        backoff_wait: BackoffWait,
        fixed_options: list[tuple[int, Any]],
    ) -> None:
        self._limit = limit
        self._retries = retries
        self._backoff_wait = backoff_wait
        self._fixed_options = fixed_options
        self._inbox: deque[_Attempt] = deque()
        self._new_batches: list[_Batch] = []
        self._inbox_changed = threading.Condition()
        self._stopping = False
        self._waiting: deque[_Attempt] = deque()
        self._backing_off: list[tuple[float, int, _Attempt]] = []
        # One pacer for the container's posts, whichever batch they are for: the rate API Gateway allows is the
        # account's, not a batch's.
        self._pacer = AdaptiveRate()
        # When the pacer allows the next start, while the waiting line waits for it (0.0: it does not).
        self._token_due = 0.0
        # The batches with a deadline, by deadline: when to settle what of them is still waiting.
        self._expiries: list[tuple[float, int, _Batch]] = []
        self._in_flight: dict[Any, tuple[_Handle, _Attempt]] = {}
        self._free: list[_Handle] = []
        self._sequence = 0
        # When to look whether an attempt in flight has waited longer than its read timeout for its answer.
        self._deadlines: list[tuple[float, int, Any, _Attempt]] = []
        self._thread = threading.Thread(target=self._run, name="websockets-sender", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, batch: _Batch, attempts: list[_Attempt]) -> None:
        with self._inbox_changed:
            self._inbox.extend(attempts)
            self._new_batches.append(batch)
            self._inbox_changed.notify()

    def stop(self) -> None:
        with self._inbox_changed:
            self._stopping = True
            self._inbox_changed.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(CLOSE_TIMEOUT_SECONDS)

    # In the thread.

    def _run(self) -> None:
        import pycurl

        self._multi = pycurl.CurlMulti()
        # The connection cache holds at least one connection per transfer in flight, so a warm container reuses
        # every one of them; and no more are opened than that.
        self._multi.setopt(pycurl.M_MAXCONNECTS, self._limit)
        self._multi.setopt(pycurl.M_MAX_TOTAL_CONNECTIONS, self._limit)
        try:
            while self._take_new_work():
                self._start_what_may_start(time.monotonic())
                if self._in_flight:
                    self._drive()
                else:
                    self._wait_for_work()
        finally:
            self._shut_down()

    def _take_new_work(self) -> bool:
        """Move what was handed in to the waiting line; False when the thread is to stop."""
        with self._inbox_changed:
            if self._stopping:
                return False
            self._waiting.extend(self._inbox)
            self._inbox.clear()
            batches, self._new_batches = self._new_batches, []
        now = time.monotonic()
        for batch in batches:
            # The latest batch's rate limit is the ceiling. On Lambda one batch runs at a time; in the emulator, whose
            # worker threads share the backend, batches sent together share the latest one's.
            self._pacer.limit(batch.options.rate_limit, now)
            if batch.options.deadline is not None:
                self._sequence += 1
                heapq.heappush(self._expiries, (batch.options.deadline, self._sequence, batch))
        while self._backing_off and self._backing_off[0][0] <= now:
            self._waiting.append(heapq.heappop(self._backing_off)[2])
        if self._expiries and self._expiries[0][0] <= now:
            self._expire(now)
        return True

    def _expire(self, now: float) -> None:
        """The batches whose deadline has passed: what of them still waits to start is settled with its last outcome
        (throttled, or held back by the pacer before its first attempt)."""
        while self._expiries and self._expiries[0][0] <= now:
            heapq.heappop(self._expiries)[2].expired = True
        waiting: deque[_Attempt] = deque()
        for attempt in self._waiting:
            if attempt.batch.expired:
                self._settle(attempt, attempt.outcome or HELD_BACK)
            else:
                waiting.append(attempt)
        self._waiting = waiting

    def _start_what_may_start(self, now: float) -> None:
        """Start what waits, as far as the connection limit and the pacer allow."""
        self._token_due = 0.0
        while self._waiting and len(self._in_flight) < self._limit:
            wait = self._pacer.take(now)
            if wait:
                self._token_due = now + wait
                return
            attempt = self._waiting.popleft()
            handle = self._free.pop() if self._free else self._new_handle()
            try:
                self._start(handle, attempt)
            except Exception as error:  # one post that cannot be made never stops the others
                self._free.append(handle)
                self._finish(attempt, outcomes.failed(f"{type(error).__name__}: {error}"), now)

    def _next_due(self) -> float:
        """When the thread has something to do that no socket will wake it for: a token for what waits, a deadline
        for what waits, a backoff's end (``math.inf``: none)."""
        due = self._backing_off[0][0] if self._backing_off else math.inf
        if self._waiting:
            due = min(due, self._token_due or math.inf, self._expiries[0][0] if self._expiries else math.inf)
        return due

    def _wait_for_work(self) -> None:
        """Nothing in flight: sleep until a batch comes in, or the next thing falls due."""
        due = self._next_due()
        timeout = None if due == math.inf else max(0.0, due - time.monotonic())
        with self._inbox_changed:
            if not self._inbox and not self._stopping:
                self._inbox_changed.wait(timeout)

    def _drive(self) -> None:
        import pycurl

        while self._multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        now = time.monotonic()
        self._collect(now)
        self._time_out_unanswered(now)
        may_start = self._waiting and len(self._in_flight) < self._limit and self._token_due <= now
        if self._in_flight and not may_start:
            curl_timeout = self._multi.timeout() / 1000
            wait = BUSY_WAIT_SECONDS if curl_timeout < 0 else min(curl_timeout, BUSY_WAIT_SECONDS)
            wait = min(wait, self._next_due() - now)
            if wait > 0:
                self._multi.select(wait)

    def _time_out_unanswered(self, now: float) -> None:
        """End the attempts whose request went out more than their read timeout ago with no whole answer since."""
        import pycurl

        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, curl, attempt = heapq.heappop(self._deadlines)
            if self._in_flight.get(curl, (None, None))[1] is not attempt:
                continue  # answered meanwhile
            connected_after = curl.getinfo(pycurl.PRETRANSFER_TIME)
            read_timeout = attempt.batch.options.read_timeout
            if connected_after and now >= attempt.started + connected_after + read_timeout:
                self._release(curl)
                timed_out = outcomes.from_curl_error(CURLE_OPERATION_TIMEDOUT, "", attempt.post.url, connected=True)
                self._finish(attempt, timed_out, now)
                continue
            # Still connecting (the connect timeout is libcurl's), or connected later than it started.
            check_at = attempt.started + connected_after + read_timeout if connected_after else now + read_timeout
            self._sequence += 1
            heapq.heappush(self._deadlines, (check_at, self._sequence, curl, attempt))

    def _start(self, handle: _Handle, attempt: _Attempt) -> None:
        import pycurl

        curl, batch, post = handle.curl, attempt.batch, attempt.post
        headers = batch.signer(post.host).header_lines(post.path, time.time())
        headers.extend(UNSIGNED_DEFAULTS)
        curl.setopt(pycurl.URL, post.url)
        curl.setopt(pycurl.HTTPHEADER, headers)
        if handle.payload is not batch.payload:
            curl.setopt(pycurl.POSTFIELDS, batch.payload)
            handle.payload = batch.payload
        limits = (batch.options.connect_timeout, batch.options.read_timeout)
        if handle.limits != limits:
            connect, read = limits
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, math.ceil(connect * 1000))
            # The read timeout is the thread's (libcurl has none: only a whole transfer's, kept as a backstop).
            curl.setopt(pycurl.TIMEOUT_MS, math.ceil((connect + read + BACKSTOP_SECONDS) * 1000))
            handle.limits = limits
        if handle.ca_bundle != batch.ca_bundle:
            curl.setopt(pycurl.CAINFO, batch.ca_bundle)
            handle.ca_bundle = batch.ca_bundle
        handle.headers.clear()
        handle.body.clear()
        self._in_flight[curl] = (handle, attempt)
        self._multi.add_handle(curl)
        attempt.started = time.monotonic()
        self._sequence += 1
        heapq.heappush(self._deadlines, (attempt.started + batch.options.read_timeout, self._sequence, curl, attempt))

    def _new_handle(self) -> _Handle:
        import pycurl

        handle = _Handle(pycurl.Curl())
        for option, value in self._fixed_options:
            handle.curl.setopt(option, value)
        handle.curl.setopt(pycurl.HEADERFUNCTION, handle.headers.append)
        handle.curl.setopt(pycurl.WRITEFUNCTION, handle.body.append)
        return handle

    def _collect(self, now: float) -> None:
        import pycurl

        while True:
            queued, done, errors = self._multi.info_read()
            for curl in done:
                handle, attempt = self._release(curl)
                status = curl.getinfo(pycurl.RESPONSE_CODE)
                if status < 300:
                    self._finish(attempt, SENT, now)
                else:
                    answer = outcomes.from_http_answer(status, _error_type(handle.headers), b"".join(handle.body))
                    self._finish(attempt, answer, now)
            for curl, code, message in errors:
                _, attempt = self._release(curl)
                connected = curl.getinfo(pycurl.REQUEST_SIZE) > 0
                error = outcomes.from_curl_error(code, message, attempt.post.url, connected=connected)
                self._finish(attempt, error, now)
            if not queued:
                return

    def _release(self, curl: Any) -> tuple[_Handle, _Attempt]:
        self._multi.remove_handle(curl)
        handle, attempt = self._in_flight.pop(curl)
        self._free.append(handle)
        return handle, attempt

    def _finish(self, attempt: _Attempt, outcome: PostOutcome, now: float) -> None:
        """The attempt's outcome: the post's, or another attempt (the one retry path)."""
        if outcome is SENT:
            self._retries.succeeded(attempt.retry_cost)
            self._pacer.succeeded(now)
        elif outcome.retry_cost:
            options = attempt.batch.options
            if outcome.throttled:
                self._pacer.throttled(attempt.started, now)
                if options.deadline is not None:
                    if now < options.deadline:
                        # Backpressure, not a failure: back in line, to start when the slower pace allows.
                        attempt.outcome = outcome
                        self._waiting.append(attempt)
                        return
                    self._settle(attempt, outcome)
                    return
            within = None if options.deadline is None else options.deadline - now
            delay = self._retries.delay(outcome, attempt.number, options.max_attempts, within)
            if delay is not None:
                attempt.number += 1
                attempt.retry_cost = outcome.retry_cost
                attempt.outcome = outcome
                self._sequence += 1
                heapq.heappush(self._backing_off, (now + self._backoff_wait(delay), self._sequence, attempt))
                return
        self._settle(attempt, outcome)

    def _settle(self, attempt: _Attempt, outcome: PostOutcome) -> None:
        """``outcome`` is the post's: the batch is done when it was the last one to come."""
        batch = attempt.batch
        batch.results[attempt.index] = outcome
        batch.left -= 1
        if not batch.left:
            batch.done.set()

    def _shut_down(self) -> None:
        """Every post not yet answered fails (no caller waits forever), then every connection closes."""
        closed = outcomes.failed("SenderClosed: the sender was closed before an answer came")
        with self._inbox_changed:
            self._stopping = True
            unanswered = [*self._inbox, *self._waiting, *(attempt for *_, attempt in self._backing_off)]
            self._inbox.clear()
        unanswered += [attempt for _, attempt in self._in_flight.values()]
        self._deadlines.clear()
        for curl, (handle, _) in list(self._in_flight.items()):
            self._multi.remove_handle(curl)
            self._free.append(handle)
        self._in_flight.clear()
        for attempt in unanswered:
            attempt.batch.results[attempt.index] = closed
            attempt.batch.left -= 1
            if not attempt.batch.left:
                attempt.batch.done.set()
        for handle in self._free:
            handle.curl.close()
        self._multi.close()


def _error_type(headers: list[bytes]) -> str | None:
    """AWS's ``x-amzn-ErrorType`` header among the answer's header lines, if any."""
    for line in headers:
        if line[: len(_ERROR_TYPE)].lower() == _ERROR_TYPE:
            return line[len(_ERROR_TYPE) :].strip().decode("latin-1")
    return None
