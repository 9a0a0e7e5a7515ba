"""Per-message overhead: a MESSAGE event through ``lambda_handler``, against a bare Django JSON view behind apig-wsgi.

Both answer the same JSON through the same project settings and middleware; the difference is what the WebSocket
path adds: event translation, loading the connection and its user, recording when it was last seen, dispatch.
Then what two guards cost a message, each beside the same message without it: the identity check, and the message
rate limit (counted in the message's one query).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import expect, interleaved, report, setup_django, side_by_side, verdict

GOAL = 1.3


def main() -> None:
    database = setup_django()
    from apig_wsgi import make_lambda_handler
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.http import JsonResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    import project.urls
    from project.lambda_handler import lambda_handler
    from websockets_app.models import WebSocketSession
    from websockets_app.testing.events import connect_event, message_event

    @csrf_exempt
    def bare_json(request):
        return JsonResponse({"type": "whoami", "user": "anonymous", "channel": "default"})

    @csrf_exempt
    def bare_json_with_lookup(request):
        session = WebSocketSession.objects.select_related("user").get(connection_id="bench=")
        return JsonResponse({"type": "whoami", "user": "anonymous", "channel": session.channel_name})

    urls = type(sys)("bench_urls")
    urls.urlpatterns = [
        *project.urls.urlpatterns,
        path("bench/json", bare_json),
        path("bench/lookup", bare_json_with_lookup),
    ]
    settings.ROOT_URLCONF = urls

    # Thousands of messages from one connection: counted as deployed, against a limit no benchmark reaches.
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "MESSAGE_RATE_LIMIT": (10**9, 1)}
    bare_handler = make_lambda_handler(get_wsgi_application())
    bare_event = {
        "httpMethod": "POST",
        "path": "/bench/json",
        "headers": {"Host": "localhost", "Content-Type": "application/json"},
        "queryStringParameters": None,
        "body": '{"action": "whoami"}',
        "isBase64Encoded": False,
        "requestContext": {"stage": "dev", "identity": {"sourceIp": "203.0.113.7"}},
    }
    expect(
        lambda_handler(connect_event(connection_id="bench=", origin=None), None)["statusCode"] == 200,
        "$connect answers 200",
    )
    message = message_event(body='{"action": "whoami"}', connection_id="bench=")
    ours_answer, bare_answer = lambda_handler(message, None), bare_handler(bare_event, None)
    expect(ours_answer["body"] == bare_answer["body"], f"same answers: {ours_answer} {bare_answer}")

    lookup_event = {**bare_event, "path": "/bench/lookup"}
    expect(bare_handler(lookup_event, None)["body"] == bare_answer["body"], "the lookup view answers the same")

    def ours_call():
        return lambda_handler(message, None)

    ours, baseline = side_by_side(ours_call, lambda: bare_handler(bare_event, None), per_round=200, rounds=15)
    ours_again, lookup = side_by_side(ours_call, lambda: bare_handler(lookup_event, None), per_round=200, rounds=15)
    report(
        f"Per-message overhead ({database})",
        [
            ("MESSAGE through lambda_handler", f"{ours * 1e6:.0f} us"),
            ("bare JSON view behind apig-wsgi", f"{baseline * 1e6:.0f} us"),
            ("ratio", verdict(ours / baseline, GOAL)),
            ("MESSAGE through lambda_handler", f"{ours_again * 1e6:.0f} us"),
            ("bare JSON view + the same row lookup", f"{lookup * 1e6:.0f} us"),
            ("ratio (framework overhead alone)", verdict(ours_again / lookup, GOAL)),
        ],
    )
    identity_cost(lambda_handler)
    rate_limit_cost(lambda_handler, database)


def identity_cost(lambda_handler) -> None:
    """What binding a connection to its login costs a logged-in user's message: the same event with and without
    the per-event check (``websockets_app.security.identity.identity_holds``), side by side; its queries are counted
    too."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from websockets_app import views
    from websockets_app.models import WebSocketSession
    from websockets_app.testing.events import connect_event, message_event

    alice = get_user_model().objects.create_user("bench-alice")
    browser = Client()
    browser.force_login(alice)
    cookies = {"sessionid": browser.cookies["sessionid"].value}
    expect(
        lambda_handler(connect_event(connection_id="alice=", cookies=cookies, origin=None), None)["statusCode"] == 200,
        "a logged-in $connect answers 200",
    )
    message = message_event(body='{"action": "whoami"}', connection_id="alice=")
    checked = views.identity_holds

    def with_check():
        views.identity_holds = checked
        return lambda_handler(message, None)

    def without_check():
        views.identity_holds = lambda session: True
        return lambda_handler(message, None)

    expect(with_check()["body"] == without_check()["body"], "both answer the same")
    expect('"bench-alice"' in with_check()["body"], "the message acts as the logged-in user")
    counts = []
    for call in (with_check, without_check):
        with CaptureQueriesContext(connection) as captured:
            call()
        counts.append(len(captured))
    ours, baseline = side_by_side(with_check, without_check, per_round=200, rounds=15)
    views.identity_holds = checked
    session = WebSocketSession.objects.select_related("user").get(connection_id="alice=")
    check_alone, call_alone = side_by_side(lambda: checked(session), lambda: True, per_round=5000, rounds=15)
    report(
        "Identity bound to the login: a logged-in user's MESSAGE",
        [
            ("with the per-event check", f"{ours * 1e6:.0f} us, {counts[0]} query"),
            ("without it (baseline)", f"{baseline * 1e6:.0f} us, {counts[1]} query"),
            ("cost per message", f"{(ours - baseline) * 1e6:+.1f} us, {counts[0] - counts[1]:+d} queries"),
            ("the check alone (identity_holds)", f"{(check_alone - call_alone) * 1e6:.1f} us"),
        ],
    )


def rate_limit_cost(lambda_handler, database: str) -> None:
    """What counting a message against its connection's rate limit costs: the same MESSAGE with the limit on
    (counted, never refused: a limit no benchmark reaches) and off (``MESSAGE_RATE_LIMIT`` None, the path before the
    limit existed), in interleaved rounds, with their queries counted; on PostgreSQL also with the clocks' table
    logged, each count then a durable commit waiting for its WAL flush, as it would be without UNLOGGED."""
    import statistics

    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from websockets_app.models import MessageClock
    from websockets_app.testing.events import connect_event, message_event

    base = dict(settings.WEBSOCKETS)
    expect(
        lambda_handler(connect_event(connection_id="rate=", origin=None), None)["statusCode"] == 200,
        "$connect answers 200",
    )
    message = message_event(body='{"action": "whoami"}', connection_id="rate=")
    clocks = connection.ops.quote_name(MessageClock._meta.db_table)
    table = {"persistence": "UNLOGGED"}  # what the migration made it

    def with_limit(limit: tuple[int, int] | None, *, persistence: str = "UNLOGGED"):
        def call():
            settings.WEBSOCKETS = {**base, "MESSAGE_RATE_LIMIT": limit}
            if connection.vendor == "postgresql" and table["persistence"] != persistence:
                with connection.cursor() as cursor:
                    cursor.execute(f"ALTER TABLE {clocks} SET {persistence}")
                table["persistence"] = persistence
            return lambda_handler(message, None)

        return call

    variants = [("limit off (baseline)", with_limit(None)), ("limit on, counted", with_limit((10**9, 1)))]
    if connection.vendor == "postgresql":
        variants.append(("limit on, clocks' table logged", with_limit((10**9, 1), persistence="LOGGED")))
    answers = {call()["body"] for _, call in variants}
    expect(len(answers) == 1 and '"type": "whoami"' in answers.pop(), "every variant answers the same")
    queries = []
    for _, call in variants:
        call()  # the table's persistence set outside the count
        with CaptureQueriesContext(connection) as captured:
            call()
        queries.append(len(captured))
    times = interleaved([call for _, call in variants], per_round=200, rounds=15)
    variants[1][1]()  # the clocks' table UNLOGGED again
    settings.WEBSOCKETS = base
    baseline = statistics.median(times[0])
    rows = []
    for (label, _), its_times, count in zip(variants, times, queries, strict=True):
        median = statistics.median(its_times)
        rows.append(
            (
                label,
                f"{median * 1e6:.0f} us (rounds {min(its_times) * 1e6:.0f}-{max(its_times) * 1e6:.0f}), "
                f"{count} query, {(median - baseline) * 1e6:+.0f} us",
            )
        )
    report(f"Message rate limit: a MESSAGE counted against its connection ({database})", rows)


if __name__ == "__main__":
    main()
