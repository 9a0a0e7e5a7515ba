"""Benchmark: messages sent in 25 s by a process held to 0.3 vCPU (a 512 MB Lambda), the sender against boto3.

A 512 MB Lambda has about a third of a core, so what matters is how many messages a third of a core posts. Each way
runs in a child process that sets up Django and N rows first, then joins a CPU-quota cgroup and sends the same
message to the same rows, over and over, for 25 s of wall time, through a stub endpoint with 20 ms of latency in a
process of its own (outside the quota), over TLS with ``--tls`` as API Gateway answers:

- ``send_message``: the app's sender (libcurl's multi interface from one thread, cached SigV4);
- threaded boto3: the way before it, a boto3 client with a pool of 64 threads posting ``post_to_connection``.

The quota is cgroup v2's ``cpu.max`` where the machine gives the cpu controller to v2, else cgroup v1's CFS quota
(``cpu.cfs_quota_us``); the script says which, or that it could set none (then the figures are unthrottled).

    python benchmarks/bench_sender_quota.py [--cpu 0.3] [--seconds 25] [--repeat 3] [--connections 1000] [--tls]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.support.stub_endpoint import stub_endpoint, throwaway_certificate, trust  # noqa: E402

GOAL = 100_000
STAGE = "bench"
PERIOD_US = 100_000


@contextmanager
def cpu_quota(fraction: float) -> Iterator[tuple[str, Path | None]]:
    """A cgroup limited to ``fraction`` of a CPU: (how, the file a process joins it by), or ("none", None)."""
    name = f"bench-sender-{os.getpid()}"
    v2 = Path("/sys/fs/cgroup")
    v1 = Path("/sys/fs/cgroup/cpu")
    quota = int(fraction * PERIOD_US)
    group: Path | None = None
    v2_controllers = (v2 / "cgroup.controllers").read_text().split() if (v2 / "cgroup.controllers").exists() else []
    try:
        if "cpu" in v2_controllers:
            group = v2 / name
            group.mkdir()
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            how = f"cgroup v2 cpu.max {quota} {PERIOD_US}"
        elif (v1 / "cpu.cfs_quota_us").exists():
            group = v1 / name
            group.mkdir()
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
            how = f"cgroup v1 cpu.cfs_quota_us {quota} / cpu.cfs_period_us {PERIOD_US} (v2 has no cpu controller here)"
        else:
            how = "none"
    except OSError as error:
        group, how = None, f"none ({error})"
    try:
        yield how, (group / "cgroup.procs") if group else None
    finally:
        if group is not None:
            group.rmdir()


def child(way: str, endpoint: str, seconds: float, connections: int, procs: str, ca_file: str) -> None:
    """One way's run: set up, join the quota, send for ``seconds``; prints {"sent": N, "cpu": s} as JSON."""
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='bench-')}/quota.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("AWS_REGION", "eu-west-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "benchmark")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from websockets_app.models import WebSocketSession
    from websockets_app.sending.encoding import encode_message

    # What a third of a core sends: the site's SEND_RATE_LIMIT (a policy, 5,000 a second by default) out of reach.
    settings.WEBSOCKETS = {
        **settings.WEBSOCKETS,
        "ENDPOINT_URL": endpoint,
        "SEND_BATCH_SIZE": connections,
        "SEND_RATE_LIMIT": 10**7,
    }
    WebSocketSession.objects.bulk_create(
        WebSocketSession(connection_id=f"quota{i:06d}=", channel_name="bench", api_id="benchapi01", stage=STAGE)
        for i in range(connections)
    )
    rows = WebSocketSession.objects.filter(channel_name="bench")
    message = {"type": "chat", "user": "alice", "text": "Hello, everyone! " * 8}

    if way == "send_message":
        if ca_file:
            trust(ca_file)

        def send_once() -> int:
            return rows.send_message(message).sent

    else:
        from concurrent.futures import ThreadPoolExecutor

        import boto3
        from botocore.config import Config

        client = boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint,
            region_name="eu-west-1",
            verify=ca_file or True,
            config=Config(max_pool_connections=64, retries={"mode": "standard", "total_max_attempts": 3}),
        )
        pool = ThreadPoolExecutor(max_workers=64)
        data = encode_message(message)

        def post(connection_id: str) -> int:
            client.post_to_connection(ConnectionId=connection_id, Data=data)
            return 1

        def send_once() -> int:
            return sum(pool.map(post, list(rows.values_list("connection_id", flat=True))))

    send_once()  # warm: clients, pools and threads exist, as in a warm Lambda
    if procs:
        Path(procs).write_text(str(os.getpid()))
    sent, cpu, deadline = 0, time.process_time(), time.monotonic() + seconds
    while time.monotonic() < deadline:
        sent += send_once()
    print(json.dumps({"sent": sent, "cpu": time.process_time() - cpu}))
    os._exit(0)  # the sender's loop thread and the pool's threads need no orderly shutdown here


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", type=float, default=0.3)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--tls", action="store_true", help="the stub answers over TLS, as API Gateway does")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--procs", default="", help=argparse.SUPPRESS)
    parser.add_argument("--ca-file", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.endpoint, args.seconds, args.connections, args.procs, args.ca_file)
        return

    figures: dict[str, list[int]] = {"send_message": [], "threaded boto3": []}
    with tempfile.TemporaryDirectory(prefix="bench-quota-") as directory:
        certificate, ca_file = throwaway_certificate(Path(directory)) if args.tls else (None, "")
        with stub_endpoint(args.latency_ms, STAGE, certificate) as endpoint, cpu_quota(args.cpu) as (how, procs):
            for _ in range(args.repeat):
                for way in figures:
                    command = [
                        sys.executable,
                        __file__,
                        "--child",
                        way,
                        "--endpoint",
                        endpoint,
                        "--procs",
                        str(procs or ""),
                        "--ca-file",
                        ca_file,
                    ]
                    command += ["--seconds", str(args.seconds), "--connections", str(args.connections)]
                    output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout  # noqa: S603
                    figures[way].append(json.loads(output.strip().splitlines()[-1])["sent"])

    print(
        f"\nMessages sent in {args.seconds:g} s at {args.cpu:g} vCPU: N={args.connections} rows per send, "
        f"stub latency {args.latency_ms:g} ms, {'TLS' if args.tls else 'plain HTTP'}, median of {args.repeat} (min-max)"
    )
    print(f"  CPU quota: {how}")
    for way, counts in figures.items():
        print(f"  {way:16} {statistics.median(counts):>9,.0f}   ({min(counts):,}-{max(counts):,})")
    ours, theirs = statistics.median(figures["send_message"]), statistics.median(figures["threaded boto3"])
    print(f"  ratio {ours / theirs:.1f}x; goal >= {GOAL:,} for send_message: {'met' if ours >= GOAL else 'NOT met'}")


if __name__ == "__main__":
    main()
