"""Database round trips per event: ``$connect``, a message, ``$disconnect``, anonymous and logged in.

Each figure counts the SQL queries and, on PostgreSQL, the ``SELECT 1`` of ``CONN_HEALTH_CHECKS`` (Django runs it
on a reused connection, outside the query log). The baseline is a plain Django request to a bare view (no queries);
the goal is one per message (two in the minute ``last_seen_at`` is written).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import expect, report, setup_django

MESSAGE_GOAL = 1


def main() -> None:
    database = setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from project.lambda_handler import lambda_handler
    from websockets_app.models import LAST_SEEN_RESOLUTION, WebSocketSession
    from websockets_app.testing.events import connect_event, disconnect_event, message_event

    health_checks = []
    if connection.vendor == "postgresql":  # SQLite's check runs no query
        is_usable = connection.is_usable
        connection.is_usable = lambda: health_checks.append(1) or is_usable()

    def queries(event: dict) -> int:
        health_checks.clear()
        with CaptureQueriesContext(connection) as captured:
            response = lambda_handler(event, None)
        expect(response["statusCode"] == 200, f"event answered 200: {response}")
        return len(captured) + len(health_checks)

    alice = get_user_model().objects.create_user("bench-alice")
    client = Client()
    client.force_login(alice)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    rows = []
    for who, connection_id, connect_cookies in (("anonymous", "anon=", None), ("logged in", "alice=", cookies)):
        rows.append(
            (
                f"$connect ({who})",
                str(queries(connect_event(connection_id=connection_id, cookies=connect_cookies, origin=None))),
            )
        )
        message = message_event(connection_id=connection_id, body='{"action": "whoami"}')
        steady = queries(message)
        WebSocketSession.objects.filter(connection_id=connection_id).update(
            last_seen_at=timezone.now() - LAST_SEEN_RESOLUTION
        )
        first_in_a_minute = queries(message)
        rows.append(
            (
                f"message ({who})",
                f"{steady} (first in a minute: {first_in_a_minute}; goal {MESSAGE_GOAL}: "
                f"{'met' if steady <= MESSAGE_GOAL else 'NOT met'})",
            )
        )
        rows.append((f"$disconnect ({who})", str(queries(disconnect_event(connection_id=connection_id)))))
    rows.append(("baseline: bare Django view", "0"))
    health_check_setting = "on" if connection.settings_dict["CONN_HEALTH_CHECKS"] else "off"
    report(f"Database round trips per event ({database}, CONN_HEALTH_CHECKS {health_check_setting})", rows)


if __name__ == "__main__":
    main()
