"""The libcurl backend against real sockets: what goes over the wire, answers as servers may frame them, every way of
not getting one, and the connections it keeps. Each server here is a plain socket speaking bytes, so what is
asserted is what went over the wire."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from tests.raw_http import OK, read_request
from websockets_app.backends.base import SendOptions, connection_post
from websockets_app.backends.curl import MAX_ANSWER_BYTES, CurlBackend
from websockets_app.backends.outcomes import GONE, SENT, failed

OPTIONS = SendOptions(concurrency=4, connect_timeout=2, read_timeout=2, max_attempts=3, region="eu-west-1")
ONE_ATTEMPT = SendOptions(concurrency=4, connect_timeout=2, read_timeout=2, max_attempts=1, region="eu-west-1")


class Frozen:
    def __init__(self, token: str | None = "TOKEN", access_key: str = "AKIDEXAMPLE") -> None:  # noqa: S107
        self.access_key, self.secret_key, self.token = access_key, "secret", token


class Credentials:
    def __init__(self, **frozen) -> None:
        self.frozen = Frozen(**frozen)

    def get_frozen_credentials(self) -> Frozen:
        return self.frozen


@contextlib.contextmanager
def server(answer: Callable[[socket.socket, list[bytes]], None], host: str = "127.0.0.1") -> Iterator[dict]:
    """A server on a local port running ``answer(connection, requests)`` for each connection it accepts."""
    seen: dict = {"accepted": 0, "requests": []}
    listener = socket.create_server((host, 0))

    def serve(connection: socket.socket) -> None:
        with contextlib.suppress(OSError), connection:
            answer(connection, seen["requests"])

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            seen["accepted"] += 1
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    seen["port"] = listener.getsockname()[1]
    seen["endpoint"] = f"http://{host}:{seen['port']}/dev"
    try:
        yield seen
    finally:
        listener.close()


def answering(*answers: bytes) -> Callable[[socket.socket, list[bytes]], None]:
    """Answers each request on a connection with the next of ``answers``, then waits for the client to close."""

    def answer(connection: socket.socket, requests: list[bytes]) -> None:
        for reply in answers:
            request = read_request(connection)
            if not request:
                return
            requests.append(request)
            connection.sendall(reply)
        while connection.recv(65536):
            pass

    return answer


@pytest.fixture
def backend() -> Iterator[CurlBackend]:
    sleeps: list[float] = []
    backend = CurlBackend(credentials=Credentials(), backoff_wait=lambda seconds: sleeps.append(seconds) or 0)
    backend.sleeps = sleeps
    yield backend
    backend.close()


def post(seen: dict, backend: CurlBackend, *connection_ids: str, options: SendOptions = ONE_ATTEMPT) -> list:
    return backend.post_all([connection_post(seen["endpoint"], c) for c in connection_ids or ("A=",)], b"hi", options)


def test_the_post_is_the_signed_headers_and_the_body_and_nothing_else(backend):
    with server(answering(OK)) as seen:
        outcomes = backend.post_all([connection_post(seen["endpoint"], "A=")], b'{"m": \x00 1}', OPTIONS)
    head, _, body = seen["requests"][0].partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert (outcomes, request_line, body) == ([SENT], "POST /dev/@connections/A%3D HTTP/1.1", b'{"m": \x00 1}')
    # No User-Agent, Accept, Content-Type or Expect: libcurl's defaults are headers the signature does not cover.
    assert sorted(headers) == ["Authorization", "Content-Length", "Host", "X-Amz-Date", "X-Amz-Security-Token"]
    assert (headers["Host"], headers["Content-Length"], headers["X-Amz-Security-Token"]) == (
        f"127.0.0.1:{seen['port']}",
        "10",
        "TOKEN",
    )
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token, " in headers["Authorization"]


def test_what_cannot_be_sent_is_reported_without_being_sent():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        closed_port = taken.getsockname()[1]
    good = connection_post(f"http://127.0.0.1:{closed_port}/dev", "A")
    injecting = CurlBackend(credentials=Credentials(token="TOKEN\r\nX-Injected: 1"))
    assert injecting.post_all([good], b"{}", ONE_ATTEMPT) == [
        failed("InvalidCredentials: the access key or session token holds characters a header cannot")
    ]
    backend = CurlBackend(credentials=Credentials(token=None))
    try:
        refused, bad_endpoint = backend.post_all(
            [good, connection_post("https://exa mple.com/dev", "A")], b"{}", OPTIONS
        )
    finally:
        backend.close()
    assert refused.reason.startswith(f'EndpointConnectionError: Could not connect to the endpoint URL: "{good.url}" (')
    assert refused.retry_cost == 14
    assert bad_endpoint == failed(
        'InvalidEndpoint: Not a URL a request can be sent to: "https://exa mple.com/dev/@connections/A"'
    )


def test_an_error_answer_gives_aws_error_type_chunked_or_not(backend):
    chunked_gone = (
        b"HTTP/1.1 410 Gone\r\nx-amzn-ErrorType: GoneException:http://internal.amazon.com/coral/\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
    )
    forbidden = b'HTTP/1.1 403 Forbidden\r\nContent-Length: 34\r\n\r\n{"__type": "x#ForbiddenException"}'
    with server(answering(chunked_gone, forbidden, OK)) as seen:
        answers = [post(seen, backend, connection_id)[0] for connection_id in ("A", "B", "C")]
    assert answers == [GONE, failed("ForbiddenException (HTTP 403)"), SENT]
    assert seen["accepted"] == 1  # kept alive: one connection


def test_an_answer_that_ends_at_the_close_is_read_whole_and_the_next_post_opens_another_connection(backend):
    replies = iter([b"HTTP/1.1 500 Internal Server Error\r\n\r\nno length: the body ends at the close", OK])

    def answer_once(connection: socket.socket, requests: list[bytes]) -> None:
        requests.append(read_request(connection))
        connection.sendall(next(replies))

    with server(answer_once) as seen:
        answers = [post(seen, backend, connection_id)[0] for connection_id in ("A", "B")]
    assert answers == [failed("Error (HTTP 500)", 14), SENT]
    assert seen["accepted"] == 2


def test_an_interim_100_continue_is_skipped_for_the_answer_after_it(backend):
    with server(answering(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx")) as seen:
        assert post(seen, backend) == [SENT]


def test_no_answer_within_the_read_timeout_is_a_read_timeout(backend):
    def never_answers(connection: socket.socket, requests: list[bytes]) -> None:
        requests.append(read_request(connection))
        connection.recv(65536)  # returns when the client drops the connection

    options = SendOptions(concurrency=1, connect_timeout=30, read_timeout=0.3, max_attempts=1, region="eu-west-1")
    with server(never_answers) as seen:
        [outcome] = post(seen, backend, options=options)
    expected = f'ReadTimeoutError: Read timeout on endpoint URL: "{seen["endpoint"]}/@connections/A%3D"'
    assert outcome == failed(expected, 14)


def test_a_kept_alive_connection_the_endpoint_closed_is_replaced_without_a_retry_or_backoff(backend):
    served: list[int] = []

    def closes_after_one_answer(connection: socket.socket, requests: list[bytes]) -> None:
        if read_request(connection):
            served.append(1)  # before answering, so the count is whole when the sender has its answers
            connection.sendall(OK)
        read_request(connection)  # the reuse: closed without an answer

    with server(closes_after_one_answer) as seen:
        first, second = post(seen, backend, "A", options=OPTIONS), post(seen, backend, "B", options=OPTIONS)
    assert (first, second, served) == ([SENT], [SENT], [1, 1])
    assert (backend.sleeps, backend.budget.tokens) == ([], backend.budget.capacity)


def test_connections_are_reused_across_batches(backend):
    with server(answering(*[OK] * 8)) as seen:
        for connection_id in ("A", "B", "C", "D"):
            assert post(seen, backend, connection_id, connection_id + "2") == [SENT, SENT]
    assert (len(seen["requests"]), seen["accepted"]) == (8, 2)


def test_batches_sent_at_once_share_the_containers_connections():
    """Two batches from two threads (the emulator's workers share one backend) open no more connections together
    than one batch may: the rest wait for a connection instead of piling up connects."""
    open_now, peak, lock = [0], [0], threading.Lock()

    def answer_slowly(connection: socket.socket, requests: list[bytes]) -> None:
        with lock:
            open_now[0] += 1
            peak[0] = max(peak[0], open_now[0])
        while read_request(connection):
            threading.Event().wait(0.05)
            connection.sendall(OK)
        with lock:
            open_now[0] -= 1

    backend = CurlBackend(credentials=Credentials())
    outcomes: list[list] = []
    with server(answer_slowly) as seen:
        posts = [connection_post(seen["endpoint"], f"C{number}=") for number in range(8)]
        try:
            backend.post_all(posts[:1], b"warm", OPTIONS)  # the thread exists, as in a warm container
            batches = [
                threading.Thread(target=lambda: outcomes.append(backend.post_all(posts, b"hi", OPTIONS)))
                for _ in range(2)
            ]
            for batch in batches:
                batch.start()
            for batch in batches:
                batch.join()
        finally:
            backend.close()
    assert outcomes == [[SENT] * 8, [SENT] * 8]
    assert peak[0] == OPTIONS.concurrency


def test_an_endless_answer_is_dropped_as_it_arrives_not_held(backend):
    written = [0]

    def endless(connection: socket.socket, requests: list[bytes]) -> None:
        requests.append(read_request(connection))
        connection.sendall(b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
        with contextlib.suppress(OSError):
            while written[0] < 1 << 30:  # a gibibyte at most, so that a failure of this test ends
                connection.sendall(chunk)
                written[0] += len(chunk)

    with server(endless) as seen:
        [outcome] = post(seen, backend)
    assert outcome.reason.startswith(f'ResponseTooLarge: The answer from "{seen["endpoint"]}/@connections/A%3D" is ')
    assert outcome.retry_cost == 0
    assert written[0] < 64 * MAX_ANSWER_BYTES + (16 << 20)  # stopped near the cap (socket buffers aside)


def test_an_answer_announcing_a_body_over_the_cap_is_refused_before_it_is_read(backend):
    huge = b"HTTP/1.1 200 OK\r\nContent-Length: 209715200\r\n\r\n"
    with server(answering(huge)) as seen:
        [outcome] = post(seen, backend)
    assert (outcome.status, outcome.reason.split(":")[0], outcome.retry_cost) == ("failed", "ResponseTooLarge", 0)


def test_a_header_too_large_is_refused(backend):
    def huge_header(connection: socket.socket, requests: list[bytes]) -> None:
        requests.append(read_request(connection))
        with contextlib.suppress(OSError):
            connection.sendall(b"HTTP/1.1 200 OK\r\nX-Big: ")
            for _ in range(1024):  # up to 64 MiB
                connection.sendall(b"y" * 0x10000)

    with server(huge_header) as seen:
        [outcome] = post(seen, backend)
    assert outcome.status == "failed"
    assert outcome.reason.split(":")[0] in ("ResponseTooLarge", "EndpointConnectionError")


def test_a_silent_first_address_falls_back_to_the_next_within_the_connect_timeout():
    """The name resolves to two addresses; the first never answers a connect, the second does. Both within one 2 s
    connect timeout."""
    with server(answering(OK), host="127.0.0.3") as seen, silent_address("127.0.0.2", seen["port"]):
        backend = CurlBackend(
            credentials=Credentials(), resolve=[f"api.example.test:{seen['port']}:127.0.0.2,127.0.0.3"]
        )
        try:
            [outcome] = backend.post_all(
                [connection_post(f"http://api.example.test:{seen['port']}/dev", "A")], b"hi", ONE_ATTEMPT
            )
        finally:
            backend.close()
    assert outcome == SENT
    assert len(seen["requests"]) == 1


@contextlib.contextmanager
def silent_address(host: str, port: int) -> Iterator[None]:
    """``host:port`` accepts no connection: its listener's queue is full, so the kernel drops further SYNs."""
    silent = socket.socket()
    silent.bind((host, port))
    silent.listen(0)
    queued = [socket.socket() for _ in range(3)]
    for client in queued:
        client.setblocking(False)
        client.connect_ex((host, port))
    threading.Event().wait(0.2)
    try:
        yield
    finally:
        for client in queued:
            client.close()
        silent.close()


def test_no_connection_within_the_connect_timeout_is_a_connect_timeout():
    with socket.create_server(("127.0.0.4", 0)) as taken:
        port = taken.getsockname()[1]
    with silent_address("127.0.0.4", port):
        backend = CurlBackend(credentials=Credentials())
        options = SendOptions(concurrency=1, connect_timeout=0.3, read_timeout=30, max_attempts=1, region="eu-west-1")
        try:
            [outcome] = backend.post_all([connection_post(f"http://127.0.0.4:{port}/dev", "A")], b"hi", options)
        finally:
            backend.close()
    url = f"http://127.0.0.4:{port}/dev/@connections/A"
    assert outcome == failed(f'ConnectTimeoutError: Connect timeout on endpoint URL: "{url}"', 14)


def test_what_is_not_http_is_a_failure_not_worth_retrying(backend):
    with server(answering(b"SSH-2.0-OpenSSH_9.6\r\n")) as seen:
        [outcome] = post(seen, backend, options=OPTIONS)
    assert (outcome.status, outcome.retry_cost, len(seen["requests"])) == ("failed", 0, 1)
    assert outcome.reason.startswith("CurlError ")
