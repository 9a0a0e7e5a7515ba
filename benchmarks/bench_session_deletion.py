"""What ending logins costs when session rows are deleted in bulk: ``clearsessions``, against Django alone.

The app hears every session row deleted through the ORM (``websockets_app.security.identity``) to end the
connections and connect tokens of those logins. Listening to ``post_delete`` takes Django's fast path away: it then
loads the rows it deletes and sends a signal for each, where alone it runs one ``DELETE``. The app's
``clearsessions`` keeps the fast path (it finds the expired sessions still in use first); an operator's bulk
``QuerySet.delete()`` of the same rows pays the slow one. Each side runs in a fresh process (peak memory is a
process's) on the same rows: N expired sessions, 50 of them with an open connection.

    python benchmarks/bench_session_deletion.py [--sizes 10000 100000]

SQLite unless ``BENCH_DATABASE_URL`` names a database it may empty.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import expect, report

OPEN_CONNECTIONS = 50
# How each side deletes the expired rows.
SIDES = {
    "alone": "Django's clearsessions, nobody listening (baseline)",
    "clearsessions": "the app's clearsessions",
    "queryset": "QuerySet.delete() of the same rows, the app listening",
}


def child(side: str, sessions: int) -> None:
    """Fill, then time one side's deletion in this process; prints what it measured as JSON."""
    from support import setup_django

    database = setup_django()
    from datetime import timedelta

    from django.contrib.sessions.management.commands.clearsessions import Command as DjangoClearSessions
    from django.contrib.sessions.models import Session
    from django.core.management import call_command
    from django.db import connection
    from django.db.models.signals import post_delete
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from websockets_app.models import WebSocketSession
    from websockets_app.security.identity import session_key_digest

    expired = timezone.now() - timedelta(days=1)
    keys = [f"{number:032d}" for number in range(sessions)]
    Session.objects.bulk_create(
        (Session(session_key=key, session_data="x" * 200, expire_date=expired) for key in keys), batch_size=5000
    )
    WebSocketSession.objects.bulk_create(
        WebSocketSession(connection_id=f"c{number}=", session_key_hash=session_key_digest(keys[number]))
        for number in range(OPEN_CONNECTIONS)
    )
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        if side == "alone":
            post_delete.disconnect(sender=Session, dispatch_uid="websockets_app.security.identity.session_deleted")
            DjangoClearSessions().handle()
        elif side == "clearsessions":
            call_command("clearsessions")
        else:
            Session.objects.filter(expire_date__lt=timezone.now()).delete()
    seconds = time.perf_counter() - start
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before
    outcome = {
        "database": database,
        "seconds": seconds,
        "queries": len(queries),
        "peak_growth_mb": grown / 1024,
        "left": Session.objects.count(),
        "closed": WebSocketSession.objects.filter(connected=False).count(),
    }
    print(json.dumps(outcome))


def measure(side: str, sessions: int) -> dict:
    completed = subprocess.run(  # noqa: S603
        [sys.executable, __file__, "--child", side, str(sessions)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    expect(completed.returncode == 0, completed.stderr[-2000:])
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--child", nargs=2)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child[0], int(arguments.child[1]))
        return
    for sessions in arguments.sizes:
        outcomes = {side: measure(side, sessions) for side in SIDES}
        expect(all(outcome["left"] == 0 for outcome in outcomes.values()), "every side deletes every expired session")
        expect(
            [outcome["closed"] for outcome in outcomes.values()] == [0, OPEN_CONNECTIONS, OPEN_CONNECTIONS],
            "only the app ends the logins",
        )
        baseline = outcomes["alone"]["seconds"]
        report(
            f"Deleting {sessions:,} expired sessions, {OPEN_CONNECTIONS} with an open connection "
            f"({outcomes['alone']['database']})",
            [
                (
                    label,
                    f"{outcomes[side]['seconds']:.2f} s ({outcomes[side]['seconds'] / baseline:.1f}x), "
                    f"{outcomes[side]['queries']} queries, peak memory +{outcomes[side]['peak_growth_mb']:.0f} MB, "
                    f"{outcomes[side]['closed']} connections closed",
                )
                for side, label in SIDES.items()
            ],
        )


if __name__ == "__main__":
    main()
