"""The sender's HTTP/1.1 client against real sockets: answers as servers may frame them, and every way of not
getting one. Each server here is a plain socket speaking bytes, so what is asserted is what went over the wire."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator

import pytest
import trustme

from tests.raw_http import OK, read_request
from websockets_app.backends.http_pool import (
    Answer,
    BadAnswer,
    ConnectFailed,
    ConnectionPool,
    ConnectTimeout,
    Disconnected,
    Origin,
    ReadTimeout,
)
from websockets_app.backends.outcomes import SENT, failed
from websockets_app.backends.sender import Sender, SendOptions, connection_post

REQUEST = b"POST /dev/@connections/A HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\nhi"


@contextlib.contextmanager
def server(answer: Callable[[socket.socket, list[bytes]], None], wrap: ssl.SSLContext | None = None) -> Iterator[dict]:
    """A server on a local port running ``answer(connection, requests)`` for each connection it accepts."""
    seen: dict = {"accepted": 0, "requests": []}
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(connection: socket.socket) -> None:
        with contextlib.suppress(OSError), contextlib.closing(connection):
            connection = wrap.wrap_socket(connection, server_side=True) if wrap else connection
            with connection:
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
    seen["origin"] = Origin("http", "127.0.0.1", listener.getsockname()[1], "test")
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


def exchange(origin: Origin, *requests: bytes, pool: ConnectionPool | None = None, **timeouts: float) -> list:
    """Each request's answer (or the error it raised), one after the other on one pool."""

    async def run() -> list:
        used = pool or ConnectionPool(4, keepalive=60)
        results = []
        for request in requests:
            try:
                results.append(await used.request(origin, request, connect_timeout=2, read_timeout=2, **timeouts))
            except Exception as error:
                results.append(error)
        await used.close()
        return results

    return asyncio.run(run())


def test_a_chunked_error_answer_gives_its_status_aws_error_type_and_whole_body():
    chunked = (
        b"HTTP/1.1 410 Gone\r\nx-amzn-ErrorType: GoneException:http://internal.amazon.com/coral/\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n'
    )
    with server(answering(chunked, OK)) as seen:
        results = exchange(seen["origin"], REQUEST, REQUEST)
    assert results == [
        Answer(410, "GoneException:http://internal.amazon.com/coral/", b'{"a": 1}'),
        Answer(200, None, b""),
    ]
    assert (seen["accepted"], seen["requests"]) == (1, [REQUEST, REQUEST])  # kept alive: one connection


def test_an_answer_that_closes_the_connection_is_read_whole_and_the_next_request_opens_another():
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"
    until_close = b"HTTP/1.1 500 Internal Server Error\r\n\r\nno length: the body ends at the close"

    def answer_once(reply: bytes) -> Callable[[socket.socket, list[bytes]], None]:
        def answer(connection: socket.socket, requests: list[bytes]) -> None:
            requests.append(read_request(connection))
            connection.sendall(reply)

        return answer

    replies = iter([closing, until_close])
    with server(lambda connection, requests: answer_once(next(replies))(connection, requests)) as seen:
        results = exchange(seen["origin"], REQUEST, REQUEST)
    assert results == [Answer(200, None, b"{}"), Answer(500, None, b"no length: the body ends at the close")]
    assert seen["accepted"] == 2


def test_an_interim_100_continue_is_skipped_for_the_answer_after_it():
    with server(answering(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx")) as seen:
        assert exchange(seen["origin"], REQUEST) == [Answer(201, None, b"x")]


def test_what_is_not_http_is_a_bad_answer():
    with server(answering(b"SSH-2.0-OpenSSH_9.6\r\n")) as seen:
        [error] = exchange(seen["origin"], REQUEST)
    assert isinstance(error, BadAnswer)
    assert str(error).startswith("Not an HTTP answer: ")


def test_no_answer_in_time_is_a_read_timeout_and_the_connection_is_dropped():
    def never_answers(connection: socket.socket, requests: list[bytes]) -> None:
        requests.append(read_request(connection))
        connection.recv(65536)  # returns when the client drops the connection

    with server(never_answers) as seen:

        async def run() -> tuple[Exception, int]:
            pool = ConnectionPool(4, keepalive=60)
            try:
                await pool.request(seen["origin"], REQUEST, connect_timeout=2, read_timeout=0.2)
            except Exception as error:
                return error, len(pool._idle.get(seen["origin"], []))
            raise AssertionError("answered")

        error, idle = asyncio.run(run())
    assert (type(error), str(error), idle) == (ReadTimeout, "No answer within 0.2 s", 0)


def test_a_kept_alive_connection_closed_by_the_endpoint_is_a_disconnect_of_a_reused_connection():
    def answers_then_hangs_up(connection: socket.socket, requests: list[bytes]) -> None:
        requests.append(read_request(connection))
        connection.sendall(OK)
        requests.append(read_request(connection))  # the second request: closed without an answer

    with server(answers_then_hangs_up) as seen:
        first, second = exchange(seen["origin"], REQUEST, REQUEST)
    assert first == Answer(200, None, b"")
    assert (type(second), second.reused) == (Disconnected, True)


def test_a_closed_port_fails_to_connect_and_a_blackhole_times_out():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        closed_port = taken.getsockname()[1]
    [refused] = exchange(Origin("http", "127.0.0.1", closed_port, "test"), REQUEST)
    assert isinstance(refused, ConnectFailed)

    async def slow_lookup() -> Exception:
        async def never(hostname: str, port: int) -> list:
            await asyncio.sleep(5)
            return []

        pool = ConnectionPool(1, keepalive=60)
        pool._lookup = never  # a name server that does not answer: the connect timeout covers the lookup too
        try:
            await pool.request(Origin("http", "example.invalid", 80, "x"), REQUEST, connect_timeout=0.2, read_timeout=1)
        except Exception as error:
            return error
        raise AssertionError("connected")

    timed_out = asyncio.run(slow_lookup())
    assert (type(timed_out), str(timed_out)) == (ConnectTimeout, "No connection to x within 0.2 s")


def test_an_idle_connection_past_the_keepalive_is_not_reused():
    with server(answering(OK, OK)) as seen:

        async def run() -> None:
            pool = ConnectionPool(4, keepalive=0.1)
            for pause in (0, 0.3):
                await asyncio.sleep(pause)
                await pool.request(seen["origin"], REQUEST, connect_timeout=2, read_timeout=2)
            await pool.close()

        asyncio.run(run())
    assert seen["accepted"] == 2


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


def test_tls_checks_the_certificate_against_the_host_name(certificate_authority):
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("api.example.test").configure_cert(served)
    trusting = ssl.create_default_context()
    certificate_authority.configure_trust(trusting)
    with server(answering(OK), wrap=served) as seen:
        port = seen["origin"].port
        here = lambda hostname, port_: [("127.0.0.1", port)]  # noqa: E731
        right = Origin("https", "api.example.test", port, "api.example.test")
        wrong = Origin("https", "other.example.test", port, "other.example.test")
        ok = exchange(right, REQUEST, pool=ConnectionPool(1, keepalive=60, ssl_context=trusting, resolve=here))
        mismatch = exchange(wrong, REQUEST, pool=ConnectionPool(1, keepalive=60, ssl_context=trusting, resolve=here))
        untrusted = exchange(right, REQUEST, pool=ConnectionPool(1, keepalive=60, resolve=here))  # the system's CAs
    assert ok == [Answer(200, None, b"")]
    assert [type(mismatch[0]), type(untrusted[0])] == [ConnectFailed, ConnectFailed]
    assert "certificate verify failed" in str(mismatch[0])
    assert "certificate verify failed" in str(untrusted[0])
    assert seen["requests"] == [REQUEST]  # nothing was sent where the certificate did not verify


OPTIONS = SendOptions(concurrency=2, connect_timeout=2, read_timeout=2, max_attempts=1, region="eu-west-1")


def test_the_sender_writes_the_signed_post_and_nothing_else():
    class Credentials:
        def get_frozen_credentials(self):
            return type("Frozen", (), {"access_key": "AKIDEXAMPLE", "secret_key": "secret", "token": "TOKEN"})

    with server(answering(OK)) as seen:
        endpoint = f"http://127.0.0.1:{seen['origin'].port}/dev"
        sender = Sender(credentials=Credentials())
        try:
            outcomes = sender.post_all([connection_post(endpoint, "A=")], b'{"m": 1}', OPTIONS)
        finally:
            sender.close()
    head, _, body = seen["requests"][0].partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert (outcomes, request_line, body) == ([SENT], "POST /dev/@connections/A%3D HTTP/1.1", b'{"m": 1}')
    assert sorted(headers) == ["Authorization", "Content-Length", "Host", "X-Amz-Date", "X-Amz-Security-Token"]
    assert (headers["Host"], headers["Content-Length"], headers["X-Amz-Security-Token"]) == (
        f"127.0.0.1:{seen['origin'].port}",
        "8",
        "TOKEN",
    )
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")


def test_the_sender_reports_what_cannot_be_sent_without_sending_it():
    class Credentials:
        def __init__(self, token: str) -> None:
            self.token = token

        def get_frozen_credentials(self):
            return type("Frozen", (), {"access_key": "AKIDEXAMPLE", "secret_key": "secret", "token": self.token})

    with socket.create_server(("127.0.0.1", 0)) as taken:
        closed_port = taken.getsockname()[1]
    sender = Sender(credentials=Credentials("TOKEN\r\nX-Injected: 1"))
    good = connection_post(f"http://127.0.0.1:{closed_port}/dev", "A")
    assert sender.post_all([good], b"{}", OPTIONS) == [
        failed("InvalidCredentials: the access key or session token holds characters a header cannot")
    ]
    sender = Sender(credentials=Credentials(""))
    try:
        refused, bad_endpoint = sender.post_all(
            [good, connection_post("https://exa mple.com/dev", "A")], b"{}", OPTIONS
        )
    finally:
        sender.close()
    assert refused.reason.startswith(f'EndpointConnectionError: Could not connect to the endpoint URL: "{good.url}" (')
    assert bad_endpoint == failed(
        'InvalidEndpoint: Not a URL a request can be sent to: "https://exa mple.com/dev/@connections/A"'
    )


def test_an_answer_cut_short_is_a_disconnect_but_not_of_an_unused_request():
    """Once part of an answer has come back the endpoint had the request: the sender must not post it again free."""

    def answers_then_cuts_the_second_answer(connection: socket.socket, requests: list[bytes]) -> None:
        requests.append(read_request(connection))
        connection.sendall(OK)
        requests.append(read_request(connection))
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}")

    with server(answers_then_cuts_the_second_answer) as seen:
        first, second = exchange(seen["origin"], REQUEST, REQUEST)
    assert first == Answer(200, None, b"")
    assert (type(second), second.reused) == (Disconnected, False)


def test_an_upgrade_answer_is_a_bad_answer():
    upgrade = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    with server(answering(upgrade)) as seen:
        [error] = exchange(seen["origin"], REQUEST)
    assert (type(error), str(error)[:20]) == (BadAnswer, "Not an HTTP answer: ")


def test_connections_opened_at_once_share_one_name_lookup_and_spread_over_the_addresses():
    lookups: list[str] = []

    async def run() -> list[list[tuple[str, int]]]:
        pool = ConnectionPool(8, keepalive=60)

        async def resolve_name(hostname: str, port: int) -> list[tuple[str, int]]:
            lookups.append(hostname)
            await asyncio.sleep(0.05)
            return [("192.0.2.1", port), ("192.0.2.2", port), ("192.0.2.3", port)]

        pool._resolve_name = resolve_name
        return await asyncio.gather(*(pool._lookup("api.example.test", 443) for _ in range(4)))

    orders = asyncio.run(run())
    assert lookups == ["api.example.test"]
    assert [order[0][0] for order in orders] == ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.1"]
    assert all(sorted(order) == sorted(orders[0]) for order in orders)
