"""A broadcast larger than one Lambda under API Gateway's account throttle: what arrives, what is lost, how fast.

One ``send_message`` to N connected rows (PostgreSQL: ``BENCH_DATABASE_URL``), split into batches that run at once as
separate Lambda containers through Zappa's real asynchronous-task path into the project's ``lambda_handler``
(``support.lambda_service``), against an ``@connections`` endpoint that throttles as API Gateway does
(``support.throttled_endpoint``: one token bucket, 429 ``LimitExceededException`` beyond it, accepted posts answered
after 20 ms). Every delivery is counted by connection id. The baseline is the physical limit: N / R seconds at the
throttle's rate R.

Scenarios (each printed, then the memory figure): N=40,000 in 8 batches, throttle 4,000/s (burst 2,000),
``SEND_RATE_LIMIT`` 4,000; and five times oversubscribed: N=20,000, throttle 1,000/s (burst 500), ``SEND_RATE_LIMIT``
2,000. Then the broadcasting process's peak memory at 20,000 against 200,000 rows (each in a fresh process; the batches
it queues are recorded, not run); ``--memory`` prints only that.

Run: ``BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python benchmarks/bench_broadcast_throttled.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.support import ROOT, report, run
from benchmarks.support.lambda_service import (
    container_env,
    lambda_service,
    service_stats,
    wait_until_idle,
    warm_up,
)
from benchmarks.support.throttled_endpoint import endpoint_stats, throttled_endpoint

STAGE = "bench"
API_ID = "benchapi01"
SETTINGS_MODULE = "benchmarks.broadcast_settings"


def database_url() -> str | None:
    url = os.environ.get("BENCH_DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def create_rows(count: int) -> list[str]:
    """``count`` connected rows, all past the $connect window; their connection ids."""
    from datetime import timedelta

    from django.utils import timezone

    from websockets_app.models import WebSocketSession

    long_ago = timezone.now() - timedelta(minutes=5)
    ids = [f"c{number:07d}=" for number in range(count)]
    WebSocketSession.objects.bulk_create(
        (
            WebSocketSession(
                connection_id=cid, api_id=API_ID, stage=STAGE, connected_at=long_ago, last_seen_at=long_ago
            )
            for cid in ids
        ),
        batch_size=5000,
    )
    return ids


def zappa_settings_dir() -> str:
    """A folder holding zappa_settings.py for the dev stage, as the package Zappa builds has at its root."""
    folder = tempfile.mkdtemp(prefix="bench-lambda-")
    zappa = str(Path(sys.executable).parent / "zappa")
    run([zappa, "save-python-settings-file", "dev", "-o", f"{folder}/zappa_settings.py"], cwd=ROOT)
    return folder


def scenario(*, connections: int, batches: int, rate: float, burst: float, send_rate_limit: int, db_url: str) -> None:
    from django.conf import settings
    from django.db import connection

    from websockets_app.models import WebSocketSession

    WebSocketSession.objects.all().delete()
    ids = set(create_rows(connections))
    connection.close()
    package_dir = zappa_settings_dir()
    with throttled_endpoint(rate=rate, burst=burst, latency_ms=20, stage=STAGE) as endpoint:
        env = container_env(
            DATABASE_URL=db_url,
            DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
            BENCH_ENDPOINT_URL=endpoint,
            BENCH_SEND_BATCH_SIZE=str(connections // batches),
            BENCH_SEND_RATE_LIMIT=str(send_rate_limit),
            LAMBDA_PACKAGE_DIR=package_dir,
            PYTHONPATH=str(ROOT),
        )
        with lambda_service(env, max_containers=4 * batches) as lambda_url:
            os.environ["AWS_LAMBDA_FUNCTION_NAME"] = env["AWS_LAMBDA_FUNCTION_NAME"]
            os.environ["AWS_ENDPOINT_URL_LAMBDA"] = lambda_url
            settings.WEBSOCKETS = {
                **settings.WEBSOCKETS,
                "ENDPOINT_URL": endpoint,
                "SEND_BATCH_SIZE": connections // batches,
                "SEND_RATE_LIMIT": send_rate_limit,
            }
            warm_up(batches)
            wait_until_idle(lambda_url)
            warm_invocations = len(service_stats(lambda_url)["invocations"])
            started = time.time()
            result = WebSocketSession.objects.all().send_message({"type": "bench", "body": "x" * 64})
            returned = time.time()
            stats = wait_until_idle(lambda_url, quiet_seconds=2)
            counts = endpoint_stats(endpoint)
    delivered = counts["delivered"]
    lost = len(ids - set(delivered))
    duplicates = sum(count - 1 for count in delivered.values() if count > 1)
    accepted = sum(n for _, n in counts["accepted_per_second"])
    throttled = sum(n for _, n in counts["throttled_per_second"])
    worst_second = max((n for _, n in counts["throttled_per_second"]), default=0)
    last = (counts["last_delivery_at"] or started) - started
    span = (counts["last_delivery_at"] or started) - (counts["first_request_at"] or started)
    capacity = burst + rate * span
    limit_seconds = connections / rate
    invocations = stats["invocations"][warm_invocations:]
    report(
        f"Broadcast to {connections:,} connections in {batches} batches, throttle {rate:,.0f}/s (burst {burst:,.0f}), "
        f"SEND_RATE_LIMIT {send_rate_limit:,}",
        [
            ("lost", f"{lost:,} ({lost / connections:.1%})"),
            ("duplicates", f"{duplicates:,}"),
            (
                "last delivery after send_message",
                f"{last:.2f} s = {last / limit_seconds:.2f} x N/R ({limit_seconds:.1f} s)",
            ),
            ("send_message returned after", f"{returned - started:.2f} s"),
            ("throttle capacity used", f"{accepted / capacity:.0%} ({accepted:,} accepted of {capacity:,.0f})"),
            ("429 answers", f"{throttled:,} (at most {worst_second:,} in one second)"),
            ("asynchronous invocations", f"{len(invocations)} ({sum(1 for i in invocations if not i['ok'])} failed)"),
            ("SendResult", json.dumps(_summary(result))[:300]),
        ],
    )
    for error in sorted(
        {(i["error"].strip() or "no error given").splitlines()[-1] for i in invocations if not i["ok"]}
    ):
        print(f"  failed invocation: {error}")


def _summary(result: object) -> dict[str, object]:
    as_dict = getattr(result, "as_dict", None)
    data = as_dict() if callable(as_dict) else {"result": repr(result)}
    if isinstance(data.get("failed"), dict):
        data["failed"] = len(data["failed"])
    if isinstance(data.get("gone"), list):
        data["gone"] = len(data["gone"])
    return data


def memory_run() -> tuple[int, int]:
    """In this (fresh) process: its peak memory before and after a broadcast to the rows there are (kilobytes), the
    batches the broadcast queues recorded but not run."""
    from django.conf import settings

    from websockets_app.models import WebSocketSession

    with (
        throttled_endpoint(rate=10**9, burst=10**9, latency_ms=0, stage=STAGE) as endpoint,
        lambda_service(container_env(), discard=True) as lambda_url,
    ):
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "django-lambda-websockets-dev"
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = lambda_url
        # The first batch is sent here, unthrottled: the figure is the broadcast's memory, not its pace.
        settings.WEBSOCKETS = {
            **settings.WEBSOCKETS,
            "ENDPOINT_URL": endpoint,
            "SEND_BATCH_SIZE": 5000,
            "SEND_RATE_LIMIT": 10**6,
        }
        import zappa.asynchronous  # noqa: F401  (its clients are made on import: not the broadcast's memory)

        before = peak_kilobytes()
        WebSocketSession.objects.all().send_message({"type": "bench"})
        return before, peak_kilobytes()


def peak_kilobytes() -> int:
    """This process's peak resident memory (``VmHWM``: unlike ``ru_maxrss``, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise SystemExit("benchmark set-up failed: no /proc/self/status (the memory figure needs Linux)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory", action="store_true", help="only the peak memory at 20,000 against 200,000 rows")
    parser.add_argument("--memory-run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    args = parser.parse_args()
    db_url = database_url()
    if db_url is None:
        print("\n== Broadcast under the throttle: skipped (set BENCH_DATABASE_URL to a PostgreSQL database)")
        return
    from benchmarks.support import setup_django
    from benchmarks.support.lambda_service import AWS_ENVIRONMENT

    for name, value in AWS_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    setup_django(flush=not args.memory_run)
    if args.memory_run:
        print(*memory_run())
        return
    if args.scenario:
        connections, batches, rate, burst, limit = (int(part) for part in args.scenario.split(","))
        scenario(connections=connections, batches=batches, rate=rate, burst=burst, send_rate_limit=limit, db_url=db_url)
        return
    if not args.memory:
        # Each in a process of its own, as a broadcast starts in a Lambda container of its own.
        for arguments in ("40000,8,4000,2000,4000", "20000,8,1000,500,2000"):
            print(run([sys.executable, __file__, "--scenario", arguments], cwd=ROOT), end="")
    report_memory()


def report_memory() -> None:
    from websockets_app.models import WebSocketSession

    peaks = {}
    for rows in (20_000, 200_000):
        WebSocketSession.objects.all().delete()
        create_rows(rows)
        before, after = (int(kb) for kb in run([sys.executable, __file__, "--memory-run"], cwd=ROOT).split()[-2:])
        peaks[rows] = (before, after)
    WebSocketSession.objects.all().delete()
    report(
        "Peak memory of the broadcasting process (VmHWM, from its start)",
        [
            *(
                (f"{n:,} rows", f"{after / 1024:.1f} MB (+{(after - before) / 1024:.1f} MB for the broadcast)")
                for n, (before, after) in peaks.items()
            ),
            ("200,000 against 20,000", f"{peaks[200_000][1] / peaks[20_000][1]:.2f}x (goal <= 1.2x)"),
        ],
    )


if __name__ == "__main__":
    main()
