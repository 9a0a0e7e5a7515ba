"""Benchmark: ``send_message`` to N connections against the plain sequential ``post_to_connection`` loop.

A stub management endpoint runs in its own process and answers every ``POST /@connections/{id}`` after a fixed
latency, as API Gateway does from inside its region. Both ways send the same message to the same N rows through
the same stub, one after the other in one run; the figures are wall time and the CPU this process spent per
delivered message (Lambda bills the CPU: about a third of a core at 512 MB). Warm figures: each way first sends
to a few connections so clients, pools and threads exist, as they do in a warm Lambda. ``--tls`` serves the stub
over TLS with a certificate from a throwaway CA both ways trust, as API Gateway answers; the first measured run then
also opens the connections the warm-up did not (each a TLS handshake).

    python benchmarks/bench_send_message.py [--connections 300 3000] [--latency-ms 20] [--repeat 3] [--concurrency 64]
                                            [--tls]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.support.stub_endpoint import stub_endpoint, throwaway_certificate, trust  # noqa: E402

GOAL_SPEEDUP = {300: 100, 3000: 150}  # over the sequential boto3 loop, 20 ms stub
GOAL_CPU_MS = 0.08
API_ID = "benchapi01"
STAGE = "bench"
WARM_UP = 20


def measure(action: Callable[[], int]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of this process, messages delivered) for one run of ``action``."""
    wall, cpu = time.perf_counter(), time.process_time()
    delivered = action()
    return time.perf_counter() - wall, time.process_time() - cpu, delivered


def setup_django(database: Path) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("AWS_REGION", "eu-west-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "benchmark")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def run(connections: int, latency_ms: float, repeat: int, endpoint: str, ca_file: str | None) -> tuple[float, float]:
    import boto3
    from django.conf import settings
    from django.utils import timezone

    from websockets_app.conf import conf
    from websockets_app.models import WebSocketSession

    WebSocketSession.objects.all().delete()
    WebSocketSession.objects.bulk_create(
        WebSocketSession(
            connection_id=f"bench{i:06d}=",
            channel_name="warm-up" if i < WARM_UP else "bench",
            api_id=API_ID,
            stage=STAGE,
        )
        for i in range(connections + WARM_UP)
    )
    # The sender's own speed: the site's SEND_RATE_LIMIT (5,000 a second by default) is a policy, set out of reach.
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "ENDPOINT_URL": endpoint, "SEND_RATE_LIMIT": 10**7}
    message = {"type": "chat", "user": "alice", "text": "Hello, everyone! " * 8, "at": timezone.now()}
    warm_up = WebSocketSession.objects.filter(channel_name="warm-up")
    measured = WebSocketSession.objects.filter(channel_name="bench")
    plain_client = boto3.client(
        "apigatewaymanagementapi", endpoint_url=endpoint, region_name="eu-west-1", verify=ca_file or True
    )

    def with_send_message(rows: Any) -> Callable[[], int]:
        return lambda: rows.send_message(message).sent

    def sequential_loop(rows: Any) -> Callable[[], int]:
        def loop() -> int:
            from websockets_app.sending.encoding import encode_message

            data = encode_message(message)
            sent = 0
            for connection_id in rows.values_list("connection_id", flat=True):
                plain_client.post_to_connection(ConnectionId=connection_id, Data=data)
                sent += 1
            return sent

        return loop

    figures: dict[str, list[tuple[float, float, int]]] = {}
    for name, make in (("send_message", with_send_message), ("sequential loop", sequential_loop)):
        make(warm_up)()
        runs = [measure(make(measured)) for _ in range(repeat)]
        for _wall, _cpu, delivered in runs:
            if delivered != connections:
                raise SystemExit(f"{name} delivered {delivered} of {connections} messages")
        figures[name] = runs

    print(
        f"\nsend_message vs sequential post_to_connection: N={connections}, stub latency {latency_ms:g} ms, "
        f"SEND_CONCURRENCY={conf.SEND_CONCURRENCY}, {'TLS' if ca_file else 'plain HTTP'}, median of {repeat} (min-max)"
    )
    for name, runs in figures.items():
        walls = [run[0] * 1000 for run in runs]
        per_message = [run[1] * 1000 / connections for run in runs]
        print(
            f"  {name:16} wall {statistics.median(walls):9.1f} ms ({min(walls):.1f}-{max(walls):.1f})   "
            f"CPU {statistics.median(per_message):.3f} ms/message ({min(per_message):.3f}-{max(per_message):.3f})"
        )
    speedup = statistics.median(r[0] for r in figures["sequential loop"]) / statistics.median(
        r[0] for r in figures["send_message"]
    )
    cpu_per_message = statistics.median(r[1] for r in figures["send_message"]) * 1000 / connections
    goal = GOAL_SPEEDUP.get(connections)
    print(f"  speed-up {speedup:.1f}x" + (f" (goal >= {goal}x at N={connections}, 20 ms)" if goal else ""))
    print(f"  send_message CPU {cpu_per_message:.3f} ms/message (goal <= {GOAL_CPU_MS} ms)")
    return speedup, cpu_per_message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, nargs="+", default=[300, 3000])
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, help="SEND_CONCURRENCY (default: the app's default)")
    parser.add_argument("--tls", action="store_true", help="the stub answers over TLS")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as directory:
        certificate, ca_file = throwaway_certificate(Path(directory)) if args.tls else (None, None)
        with stub_endpoint(args.latency_ms, STAGE, certificate) as endpoint:
            setup_django(Path(directory) / "bench.sqlite3")
            from websockets_app.backends import loading

            if args.concurrency:
                from django.conf import settings

                settings.WEBSOCKETS = {**settings.WEBSOCKETS, "SEND_CONCURRENCY": args.concurrency}
            if ca_file:
                trust(ca_file)
            for connections in args.connections:
                run(connections, args.latency_ms, args.repeat, endpoint, ca_file)
            loading.close_backends()


if __name__ == "__main__":
    main()
