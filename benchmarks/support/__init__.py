"""Shared by the benchmark scripts: a Django set up on a throwaway database, side-by-side timing, one report format.

Benchmarks print figures; they never fail on a number. Each figure is a ratio against a baseline run side by side
(interleaved rounds on the same machine), so a busy machine slows both alike.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def setup_django(*, flush: bool = True) -> str:
    """Configure the example project on a throwaway database, migrated and emptied; returns its engine's name.

    The database is a fresh SQLite file, or ``BENCH_DATABASE_URL`` (e.g. a PostgreSQL database kept for the
    purpose: it is flushed, unless ``flush`` is false). ``DATABASE_URL`` is never used, so a benchmark cannot touch
    real data. Connections are
    kept open between events, as on Lambda with PostgreSQL (``conn_max_age``), so a figure is the cost of an
    event, not of reconnecting.
    """
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("AWS_REGION", "eu-west-1")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or (
        f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/bench.sqlite3"
    )
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    settings.DATABASES["default"]["CONN_MAX_AGE"] = None
    call_command("migrate", verbosity=0)
    if flush:
        call_command("flush", interactive=False, verbosity=0)
    return settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]


def side_by_side(
    ours: Callable[[], object], baseline: Callable[[], object], *, per_round: int, rounds: int
) -> tuple[float, float]:
    """Median seconds per call of each, from interleaved rounds (after one warm-up round each)."""
    baseline_times, ours_times = interleaved([baseline, ours], per_round=per_round, rounds=rounds)
    return statistics.median(ours_times), statistics.median(baseline_times)


def interleaved(functions: list[Callable[[], object]], *, per_round: int, rounds: int) -> list[list[float]]:
    """Seconds per call of each function in every round, the functions taking turns (after one warm-up round)."""
    times: list[list[float]] = [[] for _ in functions]
    for round_number in range(rounds + 1):
        for function, its_times in zip(functions, times, strict=True):
            start = time.perf_counter()
            for _ in range(per_round):
                function()
            if round_number:
                its_times.append((time.perf_counter() - start) / per_round)
    return times


def expect(condition: bool, what: str) -> None:
    """Stop a benchmark whose two sides do not do the same work: its figure would mean nothing."""
    if not condition:
        raise SystemExit(f"benchmark set-up failed: {what}")


def run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command the benchmark depends on; its output, or the benchmark stops with the command's errors."""
    completed = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    expect(
        completed.returncode == 0,
        f"{' '.join(args[:3])} failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}",
    )
    return completed.stdout


def blank_zappa_project(directory: Path, bin_dir: Path, env: dict[str, str] | None = None) -> str:
    """The baseline: ``django-admin startproject blank`` with a minimal Zappa stage; returns the stage's name."""
    run([str(bin_dir / "django-admin"), "startproject", "blank", str(directory)], cwd=directory, env=env)
    stage = {
        "django_settings": "blank.settings",
        "project_name": "blank",
        "aws_region": "eu-west-1",
        "runtime": "python3.11",
        "s3_bucket": "bench-bucket",
    }
    (directory / "zappa_settings.json").write_text(json.dumps({"bench": stage}))
    return "bench"


def report(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n== {title}")
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")


def verdict(ratio: float, goal: float) -> str:
    return f"{ratio:.2f}x (goal <= {goal}x: {'met' if ratio <= goal else 'NOT met'})"


# A stand-in service's answer to one request (method, path, headers with lower-case names, body): the answer's bytes.
Answerer = Callable[[str, str, dict[str, str], bytes], Awaitable[bytes]]


@contextmanager
def serving_process(target: Callable[..., None], *args: Any) -> Iterator[int]:
    """Run ``target(*args, port_sink)`` in a process of its own (spawned: no state shared with the benchmark) for
    the block; yields the port it sends to ``port_sink``."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(*args, send), daemon=True)
    process.start()
    try:
        yield receive.recv()
    finally:
        process.terminate()
        process.join()


def serve_forever(
    answer: Answerer,
    port_sink: Any,
    *,
    certificate: str | None = None,
    on_port: Callable[[int], None] | None = None,
) -> None:
    """Serve HTTP/1.1 with kept-alive connections on 127.0.0.1 (over TLS with ``certificate``, a PEM of key and
    chain), each request answered by ``answer``, on uvloop when it is installed; the port goes to ``on_port``, then to
    ``port_sink``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                writer.write(await answer(*await read_request(reader)))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        context = None
        if certificate:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certificate)
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096, ssl=context)
        port = server.sockets[0].getsockname()[1]
        if on_port is not None:
            on_port(port)
        port_sink.send(port)
        async with server:
            await server.serve_forever()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


async def read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str], bytes]:
    """The next HTTP/1.1 request on a kept-alive connection: method, path, headers (names in lower case), body."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    request_line, *header_lines = head.split("\r\n")
    method, path, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length") or 0))
    return method, path, headers, body


def http_answer(status: str, body: bytes = b"", extra_headers: str = "") -> bytes:
    """An HTTP/1.1 answer with a JSON body (``extra_headers``: more header lines, each ending in CRLF)."""
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra_headers}Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def fetch_stats(url: str) -> dict[str, Any]:
    """What a stand-in service counted so far: its ``GET /__stats``, as JSON (``url``: its scheme and address)."""
    with urllib.request.urlopen(f"{url}/__stats", timeout=30) as response:  # noqa: S310  (a local stand-in)
        stats: dict[str, Any] = json.loads(response.read())
    return stats
