"""Benchmark: the database at 10k, 100k and 1M connection rows, PostgreSQL: broadcast reads and the cleanup.

- The broadcast read of one channel (``in_channel`` + the columns sending needs) against the way before it (an OR of
  the channel column and the membership subquery), side by side, for a channel of the same size (100 rows connected
  with it, 100 that joined it) in a table that grows; the plans of both are printed.
- ``clear_websocket_sessions`` at 1M rows, half of them closed: the set-based, chunked cleanup against the way before
  it (``QuerySet.delete()`` on every closed row), each in a fresh process, wall time, CPU and peak memory.

It needs a PostgreSQL database of its own, which it empties: ``BENCH_DATABASE_URL`` (default
``postgres://postgres@127.0.0.1:5432/bench_13``; created when missing).

    python benchmarks/bench_database.py [--sizes 10000 100000 1000000] [--repeat 3] [--skip-cleanup]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_13"
CHANNEL = "bench-room"
READ_GOAL = 2.0  # the broadcast read at 1M within 2x of 10k
CLEANUP_GOAL = (5.0, 100)  # seconds, MB peak at 1M


def setup() -> None:
    os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_URL)
    _create_database(os.environ["BENCH_DATABASE_URL"])
    from support import setup_django

    setup_django()


def _create_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


def fill(rows: int) -> None:
    """``rows`` sessions, half of them closed, over 1,000 channels; the benchmarked channel keeps 100 + 100."""
    from django.db import connection

    from websockets_app.models import WebSocketChannelMembership, WebSocketSession

    session_table = WebSocketSession._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {session_table}, {WebSocketChannelMembership._meta.db_table} CASCADE")
        expressions = {
            "connection_id": "'bench' || g || '='",
            "channel_name": f"CASE WHEN g <= 100 THEN '{CHANNEL}' ELSE 'room' || mod(g, 1000) END",
            "connected": "(g <= 200 OR mod(g, 2) = 0)",
            "api_id": "'benchapi01'",
            "stage": "'bench'",
            "connected_at": "now() - interval '5 minutes'",
            "last_seen_at": "now() - interval '1 minute'",
            "disconnected_at": "CASE WHEN g <= 200 OR mod(g, 2) = 0 THEN NULL ELSE now() - interval '1 hour' END",
        }
        columns, values, params = [], [], []
        for field in WebSocketSession._meta.concrete_fields:
            if field.primary_key:
                continue
            columns.append(connection.ops.quote_name(field.column))
            if field.attname in expressions:
                values.append(expressions[field.attname])
            else:
                values.append("%s")
                params.append(field.get_db_prep_save(field.get_default(), connection))
        cursor.execute(
            f"INSERT INTO {session_table} ({', '.join(columns)}) "  # noqa: S608  (the benchmark's own names)
            f"SELECT {', '.join(values)} FROM generate_series(1, %s) g",
            [*params, rows],
        )
        cursor.execute(
            f"INSERT INTO {WebSocketChannelMembership._meta.db_table} (session_id, channel_name, joined_at) "  # noqa: S608
            f"SELECT id, %s, now() FROM {session_table} WHERE connection_id IN "
            f"(SELECT 'bench' || g || '=' FROM generate_series(101, 200) g)",
            [CHANNEL],
        )
        cursor.execute(f"ANALYZE {session_table}")
        cursor.execute(f"ANALYZE {WebSocketChannelMembership._meta.db_table}")


def broadcast_reads(repeat: int) -> dict[str, tuple[float, float, float, str]]:
    """Seconds per read (median, min, max) and the plan, for the app's read and the earlier one."""
    from django.db import connection
    from django.db.models import Q

    from websockets_app.models import WebSocketChannelMembership, WebSocketSession
    from websockets_app.sending.delivery import TARGET_FIELDS

    members = WebSocketChannelMembership.objects.filter(channel_name=CHANNEL).values("session_id")
    ways = {
        "in_channel (UNION)": WebSocketSession.objects.in_channel(CHANNEL),
        "OR (before)": WebSocketSession.objects.filter(Q(channel_name=CHANNEL) | Q(pk__in=members)),
    }
    figures = {}
    for name, queryset in ways.items():
        read = queryset.filter(connected=True).values_list(*TARGET_FIELDS)
        if len(list(read)) != 200:
            raise SystemExit(f"{name} read {len(list(read))} rows, not 200")
        times = []
        for _ in range(repeat * 5):
            start = time.perf_counter()
            list(read.all())
            times.append(time.perf_counter() - start)
        sql, params = read.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(f"      {line}" for (line,) in cursor.fetchall())
        figures[name] = (statistics.median(times), min(times), max(times), plan)
    return figures


def cleanup_child(way: str) -> None:
    """In a fresh process: run one way of the cleanup on the filled table; prints its figures as JSON."""
    setup_database_only()
    from django.db import transaction
    from django.utils import timezone

    from websockets_app.cleanup import STALE_REASON, clear_sessions, stale_sessions
    from websockets_app.models import WebSocketSession

    wall, cpu = time.perf_counter(), time.process_time()
    if way == "chunked":
        deleted = clear_sessions().deleted
    else:
        with transaction.atomic():
            stale_sessions(timezone.now()).mark_closed(reason=STALE_REASON)
            _, per_model = WebSocketSession.objects.filter(connected=False).delete()
        deleted = per_model.get(WebSocketSession._meta.label, 0)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "mb": peak_mb, "deleted": deleted}
        )
    )


def setup_database_only() -> None:
    """Django on the benchmark database, without the flush ``setup_django`` does (the table is already filled)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-cleanup", action="store_true")
    parser.add_argument("--cleanup-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cleanup_child:
        cleanup_child(args.cleanup_child)
        return
    setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("\nbench_database: needs PostgreSQL (BENCH_DATABASE_URL); skipped.")
        return

    print(f"\nBroadcast read of one channel (200 connected rows), PostgreSQL, median of {args.repeat * 5} (min-max)")
    medians: dict[str, dict[int, float]] = {}
    plans = {}
    for size in args.sizes:
        fill(size)
        for name, (median, low, high, plan) in broadcast_reads(args.repeat).items():
            medians.setdefault(name, {})[size] = median
            plans[(name, size)] = plan
            print(f"  {size:>9,} rows  {name:20} {median * 1000:8.2f} ms  ({low * 1000:.2f}-{high * 1000:.2f})")
    smallest, largest = min(args.sizes), max(args.sizes)
    for name, by_size in medians.items():
        growth = by_size[largest] / by_size[smallest]
        goal = f"; goal <= {READ_GOAL:g}x: {'met' if growth <= READ_GOAL else 'NOT met'}" if "UNION" in name else ""
        print(f"  {name}: {largest:,} rows / {smallest:,} rows = {growth:.1f}x{goal}")
    for (name, size), plan in plans.items():
        if size == largest:
            print(f"  plan, {name}, {size:,} rows:\n{plan}")
    if args.skip_cleanup:
        return

    size = max(args.sizes)
    print(
        f"\nclearWebSocketSessions at {size:,} rows ({size // 2:,} closed), fresh process each, median of {args.repeat}"
    )
    results: dict[str, list[dict]] = {"chunked": [], "QuerySet.delete (before)": []}
    for _ in range(args.repeat):
        for way, runs in results.items():
            fill(size)
            command = [sys.executable, __file__, "--cleanup-child", "chunked" if way == "chunked" else "before"]
            output = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout  # noqa: S603
            runs.append(json.loads(output.strip().splitlines()[-1]))
    for way, runs in results.items():
        walls, cpus, mbs = ([run[key] for run in runs] for key in ("wall", "cpu", "mb"))
        wall_figure = f"{statistics.median(walls):6.2f} s ({min(walls):.2f}-{max(walls):.2f})"
        memory_figure = f"peak {statistics.median(mbs):5.0f} MB ({min(mbs):.0f}-{max(mbs):.0f})"
        cpu_figure = f"CPU {statistics.median(cpus):6.2f} s"
        print(f"  {way:26} {wall_figure}  {cpu_figure}  {memory_figure}  deleted {runs[0]['deleted']:,}")
    chunked = results["chunked"]
    wall, mb = statistics.median(r["wall"] for r in chunked), statistics.median(r["mb"] for r in chunked)
    met = wall <= CLEANUP_GOAL[0] and mb <= CLEANUP_GOAL[1]
    print(f"  goal <= {CLEANUP_GOAL[0]:g} s and <= {CLEANUP_GOAL[1]} MB: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
