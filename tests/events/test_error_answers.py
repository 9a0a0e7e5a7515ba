"""Whatever fails, a WebSocket event is answered by the documented error frame (or, on $connect, plain text).

Never Django's HTML page or its debug page (settings, the code, the secret), whatever DEBUG says: every byte of a
reply and of an error frame is built inside the view's error handling, and the Lambda entry answers anything else
that fails (a middleware after the view, a page that cannot even be encoded) with the status alone. And an
exception is heard of as a view's would be: ``got_request_exception`` and one ``django.request`` error.
"""

import json
import logging

import pytest
from django.core import mail
from django.core.signals import got_request_exception
from django.core.wsgi import get_wsgi_application

from tests.aws_events import connect_event, disconnect_event, message_event
from websockets_app.events.entry import make_lambda_handler
from websockets_app.models import WebSocketSession
from websockets_app.testing import keep_test_database_connection

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]

CONNECTION = "fails="
INTERNAL = '{"error":{"status":500,"message":"Internal server error."}}'


@pytest.fixture(params=[False, True], ids=["DEBUG off", "DEBUG on"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def ask(lambda_handler, settings, debug):
    settings.WEBSOCKETS = {"PATH_PREFIX": "/replies/"}
    assert lambda_handler(connect_event(connection_id=CONNECTION), None)["statusCode"] == 200

    def ask(body: str) -> dict:
        return lambda_handler(message_event(connection_id=CONNECTION, body=body), None)

    return ask


@pytest.fixture
def failing_after_the_view(settings):
    """The real Lambda entry around a project whose last middleware fails after the view, when a message asks."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.failing_middleware.FailAfterTheView"]
    with keep_test_database_connection():
        yield make_lambda_handler(get_wsgi_application())


class TestMessages:
    @pytest.mark.parametrize(
        "body",
        [
            pytest.param('{"action": "me", "id": "\\ud800"}', id="a lone high surrogate"),
            pytest.param('{"action": "me", "id": "q\\udfff"}', id="a lone low surrogate after text"),
            pytest.param('{"action": "boom", "id": "\\udc00\\ud800"}', id="reversed surrogates"),
        ],
    )
    def test_an_id_that_is_no_text_is_refused_with_400(self, ask, body):
        answer = ask(body)

        assert answer == {
            "statusCode": 400,
            "body": '{"error":{"status":400,"message":"\\"id\\" must be a string of 1 to 128 characters or an '
            'integer of at most 9007199254740991 in size."}}',
        }

    def test_an_id_of_paired_surrogates_is_text_and_comes_back(self, ask):
        assert ask('{"action": "me", "id": "\\ud83d\\ude00"}') == {
            "statusCode": 200,
            "body": '{"id":"\U0001f600","type": "me", "channel": "default"}',
        }

    def test_a_streamed_reply_is_read_and_sent(self, ask):
        assert ask('{"action": "stream", "id": 3}') == {"statusCode": 200, "body": '{"id":3,"part": 1, "of": 2}'}

    def test_a_stream_that_fails_half_way_answers_500(self, ask):
        answer = ask('{"action": "broken_stream", "id": 3}')

        assert answer == {
            "statusCode": 500,
            "body": '{"error":{"status":500,"message":"Internal server error."},"id":3}',
        }

    def test_a_refusal_whose_reason_is_no_text_is_still_a_frame(self, ask):
        answer = ask('{"action": "refuse_oddly"}')

        assert answer == {
            "statusCode": 409,
            "body": '{"error":{"status":409,"message":"Conflict over ?, which is not text."}}',
        }

    def test_a_middleware_failing_after_the_view_answers_500(self, settings, debug, failing_after_the_view):
        settings.WEBSOCKETS = {"PATH_PREFIX": "/replies/"}
        lambda_handler = failing_after_the_view
        assert lambda_handler(connect_event(connection_id=CONNECTION), None)["statusCode"] == 200

        answer = lambda_handler(message_event(connection_id=CONNECTION, body='{"action": "fail-after-the-view"}'), None)

        assert answer == {"statusCode": 500, "body": INTERNAL}

    @pytest.mark.parametrize(
        ("body", "answer"),
        [
            ('{"action": "boom"}', {"statusCode": 500, "body": INTERNAL}),
            ('{"action": "broken_stream"}', {"statusCode": 500, "body": INTERNAL}),
            (
                '{"action": "lookup", "id": 1}',
                {"statusCode": 404, "body": '{"error":{"status":404,"message":"Not Found."},"id":1}'},
            ),
            ('{"action": "forbidden"}', {"statusCode": 403, "body": '{"error":{"status":403,"message":"Forbidden."}}'}),
        ],
    )
    def test_what_a_handler_raises_is_a_frame(self, ask, body, answer):
        assert ask(body) == answer


class TestErrorFramesStaySmall:
    """An error frame echoing what the client sent is cut, so API Gateway can always carry it."""

    def test_an_unknown_action_of_131_kb_is_named_in_500_characters(self, ask):
        answer = ask(json.dumps({"action": "a" * 131_000}))

        assert answer == {
            "statusCode": 400,
            "body": '{"error":{"status":400,"message":"Unknown action: \'' + "a" * 482 + '\u2026"}}',
        }

    def test_the_worst_case_escaping_stays_far_under_128_kb(self, ask):
        answer = ask(json.dumps({"action": "\x01" * 131_000, "id": "\x01" * 128}))

        assert answer["statusCode"] == 400
        frame = json.loads(answer["body"])
        assert frame == {
            "error": {"status": 400, "message": "Unknown action: '" + "\\x01" * 120 + "\\x\u2026"},
            "id": "\x01" * 128,
        }
        assert len(answer["body"].encode()) < 4 * 1024

    def test_a_handlers_long_reason_is_cut_too(self, ask):
        answer = ask(json.dumps({"action": "refuse_at_length", "echo": "z" * 200_000}))

        assert answer == {
            "statusCode": 400,
            "body": '{"error":{"status":400,"message":"Too long: ' + "z" * 489 + '\u2026"}}',
        }


class TestConnectAndDisconnect:
    def test_a_connect_answered_with_a_stream_that_fails_is_refused_in_plain_text(self, lambda_handler, debug):
        answer = lambda_handler(connect_event(connection_id="c=", query={"answer": "broken-stream"}), None)

        assert answer == {"statusCode": 500, "body": "Internal server error."}
        assert WebSocketSession.objects.count() == 0

    def test_a_connect_refused_with_a_reason_that_is_no_text(self, lambda_handler, debug):
        answer = lambda_handler(connect_event(connection_id="c=", query={"refuse": "with-a-lone-surrogate"}), None)

        assert answer == {"statusCode": 403, "body": "Forbidden: ? is not text."}

    def test_a_middleware_failing_after_a_disconnect_answers_the_documented_frame(self, debug, failing_after_the_view):
        lambda_handler = failing_after_the_view
        assert lambda_handler(connect_event(connection_id="c="), None)["statusCode"] == 200
        event = disconnect_event(connection_id="c=")
        event["body"] = "fail-after-the-view"

        answer = lambda_handler(event, None)

        assert answer == {"statusCode": 500, "body": INTERNAL}


class TestErrorsYouHearAbout:
    """A handler's exception reaches got_request_exception and django.request once, as a view's would."""

    @pytest.fixture
    def heard(self):
        requests = []

        def receiver(sender, request, **kwargs):
            requests.append(request)

        got_request_exception.connect(receiver)
        yield requests
        got_request_exception.disconnect(receiver)

    def test_a_handlers_exception_is_signalled_and_logged_once(self, ask, heard, caplog, settings, admins):
        with caplog.at_level(logging.INFO):
            answer = ask('{"action": "boom", "id": 5}')

        assert answer == {
            "statusCode": 500,
            "body": '{"error":{"status":500,"message":"Internal server error."},"id":5}',
        }
        assert [request.path for request in heard] == ["/replies/default"]
        errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
        assert [(record.name, record.getMessage()) for record in errors] == [
            (
                "django.request",
                "Internal Server Error: /replies/default (ReplyView, route $default, connection fails=)",
            )
        ]
        assert errors[0].exc_info[0] is RuntimeError
        assert errors[0].status_code == 500
        assert errors[0].request.path == "/replies/default"
        if settings.DEBUG:
            assert mail.outbox == []  # Django's mail_admins handler mails only with DEBUG off
        else:
            assert [message.subject for message in mail.outbox] == [
                "[Django] ERROR (EXTERNAL IP): Internal Server Error: /replies/default "
                "(ReplyView, route $default, connection fails=)"
            ]

    def test_a_connects_exception_is_heard_of_too(self, lambda_handler, heard, caplog, debug):
        with caplog.at_level(logging.INFO):
            answer = lambda_handler(connect_event(connection_id="c=", query={"answer": "broken-stream"}), None)

        assert answer == {"statusCode": 500, "body": "Internal server error."}
        assert [request.path for request in heard] == ["/ws/connect"]
        errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
        assert [(record.name, record.getMessage()) for record in errors] == [
            ("django.request", "Internal Server Error: /ws/connect (ActionView, route $connect, connection c=)")
        ]

    def test_refusals_are_not_errors(self, ask, heard, caplog):
        with caplog.at_level(logging.INFO):
            ask('{"action": "refuse"}')
            ask('{"action": "lookup"}')

        assert heard == []
        assert [record.levelno for record in caplog.records if record.levelno >= logging.ERROR] == []
