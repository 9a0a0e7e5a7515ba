"""A request answered by the handler's return value, against the same answer sent with ``send_message``.

The emulator runs in this process (so its CPU time is the server's: the event loop, the Lambda worker threads,
the ``@connections`` API); one WebSocket client runs in a child process and asks ``--requests`` questions per
block, blocks of the two ways alternating (``--blocks`` each), after a warm-up. ``reply`` returns a
``JsonResponse``, which the two-way route carries back; ``push`` sends the same JSON with ``send_message`` (a
signed POST to ``@connections``) and returns nothing. Prints latency (median, p95), server CPU per answer and the
management-API requests per answer, side by side; asserts nothing.

    PYTHONPATH=. python benchmarks/bench_replies.py [--requests 300] [--blocks 3]

``DATABASE_URL`` picks the database (default: a temporary SQLite file).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

WAYS = ("reply", "push")
LABELS = {"reply": "returned JsonResponse", "push": "send_message"}
WARM_UP = 50


def client(url: str, requests: int, blocks: int, pipe: Any) -> None:
    """The child process: one connection, ``blocks`` blocks of each way in turn; sends back the latencies."""
    from websockets.sync.client import connect

    latencies: dict[str, list[float]] = {way: [] for way in WAYS}
    with connect(url, open_timeout=30) as websocket:

        def ask(way: str, number: int) -> float:
            started = time.perf_counter()
            websocket.send(json.dumps({"action": way, "n": number}))
            while True:  # push's own (empty) reply, and late frames, are skipped
                frame = websocket.recv(timeout=30)
                if frame and json.loads(frame).get("n") == number:
                    return time.perf_counter() - started

        number = 0
        for way in WAYS * (WARM_UP // 2):
            number += 1
            ask(way, number)
        for _ in range(blocks):
            for way in WAYS:
                pipe.send(("start", way))
                pipe.recv()
                for _ in range(requests):
                    number += 1
                    latencies[way].append(ask(way, number))
                pipe.send(("end", way))
                pipe.recv()
    pipe.send(("latencies", latencies))


def serve_and_measure(requests: int, blocks: int) -> tuple[dict[str, list[float]], dict[str, float], dict[str, int]]:
    from django.core.management import call_command

    from websockets_app.emulator import app as emulator_app
    from websockets_app.emulator import server

    call_command("migrate", "--noinput", verbosity=0)
    management_requests = [0]
    answer = emulator_app.answer_connections_request

    async def counting(*args: Any, **kwargs: Any) -> Any:
        management_requests[0] += 1
        return await answer(*args, **kwargs)

    emulator_app.answer_connections_request = counting
    sock = server.bind("127.0.0.1", 0)
    app = server.build_app(sock)
    server.point_django_at(app)
    cpu: dict[str, float] = dict.fromkeys(WAYS, 0.0)
    posts: dict[str, int] = dict.fromkeys(WAYS, 0)
    with server.BackgroundServer(app, sock):
        parent, child = multiprocessing.get_context("spawn").Pipe()
        url = f"ws://{app.api.domain_name}/{app.api.stage}?channel=bench"
        process = multiprocessing.get_context("spawn").Process(target=client, args=(url, requests, blocks, child))
        process.start()
        started: dict[str, tuple[float, int]] = {}
        while True:
            if not parent.poll(120):
                process.kill()
                raise RuntimeError("the client stopped answering: see its traceback above")
            kind, value = parent.recv()
            if kind == "latencies":
                break
            if kind == "start":
                started[value] = (time.process_time(), management_requests[0])
            else:
                cpu_then, posts_then = started[value]
                cpu[value] += time.process_time() - cpu_then
                posts[value] += management_requests[0] - posts_then
            parent.send("go")
        process.join(30)
    return value, cpu, posts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--blocks", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{Path(directory) / 'bench.sqlite3'}")
        os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.reply_settings"
        os.environ.setdefault("WEBSOCKETS_LOG_LEVEL", "WARNING")  # not a line per event
        import django

        django.setup()
        latencies, cpu, posts = serve_and_measure(options.requests, options.blocks)
    answers = options.requests * options.blocks
    database = os.environ["DATABASE_URL"].split(":", 1)[0]
    print(
        f"reply round trip through the emulator ({database}): {answers} answers each way, "
        f"{options.blocks} alternating blocks of {options.requests}"
    )
    rows = [
        ("latency median (ms)", {way: statistics.median(latencies[way]) * 1000 for way in WAYS}),
        ("latency p95 (ms)", {way: statistics.quantiles(latencies[way], n=20)[-1] * 1000 for way in WAYS}),
        ("server CPU per answer (ms)", {way: cpu[way] / answers * 1000 for way in WAYS}),
    ]
    print(f"  {'':30}{LABELS['reply']:>24}{LABELS['push']:>16}{'ratio':>9}")
    for label, figures in rows:
        ratio = figures["push"] / figures["reply"] if figures["reply"] else float("nan")
        print(f"  {label:30}{figures['reply']:>24.3f}{figures['push']:>16.3f}{ratio:>8.2f}x")
    per_answer = {way: posts[way] / answers for way in WAYS}
    print(f"  {'management API requests/answer':30}{per_answer['reply']:>24.2f}{per_answer['push']:>16.2f}")


if __name__ == "__main__":
    main()
