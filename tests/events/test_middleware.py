"""WebSocket events skip the middleware that can only add response headers; every other middleware still runs."""

import pytest
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client

from tests.aws_events import connect_event, message_event
from websockets_app.events.entry import make_lambda_handler
from websockets_app.testing import keep_test_database_connection

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]

CALLS: list[str] = []


def recording_middleware(get_response):
    """A project's own middleware: it must see every WebSocket event."""

    def middleware(request):
        CALLS.append(request.path)
        return get_response(request)

    return middleware


def test_events_skip_header_only_middleware_and_keep_the_rest(settings, monkeypatch):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.events.test_middleware.recording_middleware"]
    settings.WEBSOCKETS = {"CONNECT_RATE_LIMIT_PER_IP": None}
    loaded = []
    real_load = WSGIHandler.load_middleware

    def record_load(self, is_async=False):
        real_load(self, is_async)
        loaded.append(list(settings.MIDDLEWARE))

    monkeypatch.setattr(WSGIHandler, "load_middleware", record_load)
    lambda_handler = make_lambda_handler(WSGIHandler())
    CALLS.clear()

    alice = get_user_model().objects.create_user("al")
    client = Client()
    client.force_login(alice)
    connect = connect_event(connection_id="m=", cookies={"sessionid": client.cookies["sessionid"].value})
    with keep_test_database_connection():  # as the lambda_handler fixture does: the test's transaction stays
        assert lambda_handler(connect, None) == {"statusCode": 200, "body": ""}
        answer = lambda_handler(message_event(connection_id="m=", body='{"action": "echo"}'), None)

    assert answer["statusCode"] == 200
    assert '"user": "al"' in answer["body"]  # sessions and authentication still ran on $connect
    assert CALLS == ["/ws/connect", "/ws/default"]
    site, events = loaded[0], loaded[1]
    assert "django.middleware.security.SecurityMiddleware" in site
    assert events == [
        path
        for path in site
        if path
        not in (
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
        )
    ]
    assert site == settings.MIDDLEWARE  # the settings themselves are left as they were
