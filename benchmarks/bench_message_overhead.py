"""Per-message overhead: a MESSAGE event through ``lambda_handler``, against a bare Django JSON view behind apig-wsgi.

Both answer the same JSON through the same project settings and middleware; the difference is what the WebSocket
path adds: event translation, loading the connection and its user, recording when it was last seen, dispatch.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import expect, report, setup_django, side_by_side, verdict

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


if __name__ == "__main__":
    main()
