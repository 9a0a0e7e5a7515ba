"""The sender's own behaviour: a kept-alive connection the endpoint closed costs neither a retry nor a backoff."""

import socket
import threading

from tests.raw_http import OK, read_request
from websockets_app.backends.outcomes import SENT
from websockets_app.backends.sender import Sender, SendOptions, connection_post

OPTIONS = SendOptions(concurrency=4, connect_timeout=2, read_timeout=2, max_attempts=3, region="eu-west-1")


def closes_each_connection_after_one_answer(server: socket.socket, served: list[int]) -> None:
    """Answers a request with keep-alive, then drops the connection unanswered when it is used again."""
    while True:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        with connection:
            if read_request(connection):
                connection.sendall(OK)
                served.append(1)
            read_request(connection)  # the reuse: closed without an answer


def test_a_connection_the_endpoint_closed_is_replaced_without_a_retry_or_backoff():
    served: list[int] = []
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    sender = Sender(sleep=record)
    with socket.create_server(("127.0.0.1", 0)) as server:
        threading.Thread(target=closes_each_connection_after_one_answer, args=(server, served), daemon=True).start()
        post = connection_post(f"http://127.0.0.1:{server.getsockname()[1]}/dev", "A=")
        try:
            first = sender.post_all([post], b"one", OPTIONS)
            second = sender.post_all([post], b"two", OPTIONS)
        finally:
            sender.close()

    assert (first, second, served) == ([SENT], [SENT], [1, 1])
    assert (sleeps, sender.budget.tokens) == ([], sender.budget.capacity)


def test_batches_sent_at_once_share_the_containers_connections():
    """Two batches from two threads (the emulator's workers share one sender) open no more connections together
    than one batch may: the rest wait for a pooled connection instead of piling up connects the endpoint is slow
    to accept."""
    open_now, peak, lock = [0], [0], threading.Lock()

    def answer_slowly(connection: socket.socket) -> None:
        with lock:
            open_now[0] += 1
            peak[0] = max(peak[0], open_now[0])
        with connection:
            while read_request(connection):
                threading.Event().wait(0.05)
                connection.sendall(OK)
        with lock:
            open_now[0] -= 1

    def accept(server: socket.socket) -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer_slowly, args=(connection,), daemon=True).start()

    sender = Sender()
    outcomes: list[list] = []
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        threading.Thread(target=accept, args=(server,), daemon=True).start()
        endpoint = f"http://127.0.0.1:{server.getsockname()[1]}/dev"
        posts = [connection_post(endpoint, f"C{number}=") for number in range(8)]
        try:
            sender.post_all(posts[:1], b"warm", OPTIONS)  # the pool exists, as in a warm container
            batches = [
                threading.Thread(target=lambda: outcomes.append(sender.post_all(posts, b"hi", OPTIONS)))
                for _ in range(2)
            ]
            for batch in batches:
                batch.start()
            for batch in batches:
                batch.join()
        finally:
            sender.close()

    assert outcomes == [[SENT] * 8, [SENT] * 8]
    assert peak[0] == OPTIONS.concurrency
