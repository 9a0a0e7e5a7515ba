"""What the sender of a message receives: the handler's reply, or one error frame, with the message's id.

The real lambda_handler answers AWS-shaped MESSAGE events; on a two-way route API Gateway passes the answer's body
to the sender as it is, whatever its statusCode, so each test states the exact body the sender gets.
"""

import json
import logging

import pytest

from tests.aws_events import connect_event, message_event
from websockets_app.models import MessageClock, WebSocketChannelMembership

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls")]

CONNECTION = "reply="


@pytest.fixture
def ask(lambda_handler, settings):
    """Send one message on an open connection of ReplyView; the Lambda's whole answer."""
    settings.WEBSOCKETS = {"PATH_PREFIX": "/replies/"}
    assert (
        lambda_handler(connect_event(connection_id=CONNECTION, query={"channel": "lobby"}), None)["statusCode"] == 200
    )

    def ask(body):
        message = body if isinstance(body, str | bytes) else json.dumps(body)
        return lambda_handler(message_event(connection_id=CONNECTION, body=message), None)

    return ask


def error(status, message, **extra):
    return {"error": {"status": status, "message": message}, **extra}


class TestReplies:
    @pytest.mark.parametrize(
        ("action", "body"),
        [
            ("text", "plain words"),
            ("me", '{"type": "me", "channel": "lobby"}'),
            ("items", "[1, 2]"),
            ("empty", "{}"),
            ("record", '{"id": 7, "name": "seven"}'),
        ],
    )
    def test_without_an_id_the_body_is_the_reply_as_is(self, ask, action, body):
        assert ask({"action": action}) == {"statusCode": 200, "body": body}

    def test_a_handler_returning_none_answers_an_empty_body(self, ask):
        assert ask({"action": "nothing"}) == {"statusCode": 200, "body": ""}

    @pytest.mark.parametrize("message_id", [5, -3, 0, 2**53 - 1, "q-1", "x" * 128])
    def test_a_reply_object_gets_the_messages_id_first_and_keeps_its_bytes(self, ask, message_id):
        answer = ask({"action": "me", "id": message_id})

        assert answer == {
            "statusCode": 200,
            "body": f'{{"id":{json.dumps(message_id)},"type": "me", "channel": "lobby"}}',
        }

    @pytest.mark.parametrize(
        ("action", "body"),
        [
            ("text", '{"id":"q","reply":"plain words"}'),
            ("items", '{"id":"q","reply":[1, 2]}'),
            ("nothing", '{"id":"q","reply":null}'),
            ("empty", '{"id":"q"}'),
            # An object with a key of its own named id, reply or error is wrapped, never changed.
            ("record", '{"id":"q","reply":{"id": 7, "name": "seven"}}'),
        ],
    )
    def test_other_replies_are_wrapped_with_the_id(self, ask, action, body):
        assert ask({"action": action, "id": "q"}) == {"statusCode": 200, "body": body}


class TestErrorFrames:
    @pytest.mark.parametrize(
        ("body", "status", "frame"),
        [
            ({"action": "refuse"}, 403, error(403, "Forbidden: not yours.")),
            ({"action": "refuse", "id": 9}, 403, error(403, "Forbidden: not yours.", id=9)),
            ({"action": "nope", "id": "a"}, 400, error(400, "Unknown action: 'nope'.", id="a")),
            ({"id": "a"}, 400, error(400, "No action given.", id="a")),
            ({"action": "missing", "id": 1}, 404, error(404, "No such room.", id=1)),
            # A 4xx body that is not text says only its status's name.
            ({"action": "conflict"}, 409, error(409, "Conflict.")),
        ],
    )
    def test_refusals_answer_one_error_frame(self, ask, body, status, frame):
        answer = ask(body)

        assert answer["statusCode"] == status
        assert json.loads(answer["body"]) == frame

    def test_a_returned_5xx_tells_nothing_of_its_body(self, ask):
        answer = ask({"action": "unavailable", "id": 2})

        assert answer == {
            "statusCode": 503,
            "body": '{"error":{"status":503,"message":"Service Unavailable."},"id":2}',
        }

    def test_an_unhandled_error_answers_500_without_internals(self, ask, caplog):
        with caplog.at_level(logging.ERROR):
            answer = ask({"action": "boom", "id": "b"})

        assert answer == {
            "statusCode": 500,
            "body": '{"error":{"status":500,"message":"Internal server error."},"id":"b"}',
        }
        assert [(record.name, record.getMessage()) for record in caplog.records] == [
            (
                "django.request",
                f"Internal Server Error: /replies/default (ReplyView, route $default, connection {CONNECTION})",
            )
        ]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("not json", "The message is not JSON: send a JSON object with an action."),
            ("[1, 2]", "The message is JSON but not an object: send a JSON object with an action."),
            ('"whoami"', "The message is JSON but not an object: send a JSON object with an action."),
        ],
    )
    def test_a_body_that_is_no_json_object_is_told_so(self, ask, body, message):
        answer = ask(body)

        assert answer["statusCode"] == 400
        assert json.loads(answer["body"]) == error(400, message)


class TestBadIds:
    @pytest.mark.parametrize("message_id", [True, 1.5, None, "", "x" * 129, 2**53, -(2**53), [1], {"n": 1}])
    def test_an_id_of_another_type_or_too_long_is_refused_before_any_handler_runs(self, ask, message_id):

        answer = ask({"action": "join", "id": message_id})

        assert answer["statusCode"] == 400
        assert json.loads(answer["body"]) == error(
            400, '"id" must be a string of 1 to 128 characters or an integer of at most 9007199254740991 in size.'
        )
        assert not WebSocketChannelMembership.objects.exists()
        # It still counts against the connection's message rate limit, as every message does.
        assert MessageClock.objects.filter(session__connection_id=CONNECTION).exists()

    def test_a_valid_id_lets_the_handler_run(self, ask):
        assert ask({"action": "join", "id": 1}) == {"statusCode": 200, "body": '{"id":1,"joined": true}'}
        assert list(WebSocketChannelMembership.objects.values_list("channel_name", flat=True)) == ["room-9"]


class TestLimits:
    def test_a_reply_at_the_limit_is_sent(self, ask):
        size = 128 * 1024 - len('{"data": ""}')

        answer = ask({"action": "huge", "size": size})

        assert answer["statusCode"] == 200
        assert len(answer["body"].encode()) == 128 * 1024

    def test_a_reply_over_128_kb_is_refused_with_413_and_a_log_line(self, ask, caplog):
        size = 128 * 1024 - len('{"data": ""}') + 1

        with caplog.at_level(logging.WARNING):
            answer = ask({"action": "huge", "size": size, "id": 4})

        assert answer == {
            "statusCode": 413,
            "body": json.dumps(
                error(413, "The reply is 131080 bytes; API Gateway sends at most 131072 per message.", id=4),
                separators=(",", ":"),
            ),
        }
        assert [record.getMessage() for record in caplog.records] == [
            "Reply of 131080 bytes from ReplyView for $default on connection reply= is over API Gateway's "
            "131072-byte message limit: refused with 413"
        ]

    def test_a_reply_that_is_not_utf8_text_is_refused_with_500_and_a_log_line(self, ask, caplog):
        with caplog.at_level(logging.ERROR):
            answer = ask({"action": "binary"})

        assert answer == {"statusCode": 500, "body": '{"error":{"status":500,"message":"Internal server error."}}'}
        assert [record.getMessage() for record in caplog.records] == [
            "Reply from ReplyView for $default on connection reply= is not UTF-8 text, which API Gateway cannot "
            "send: refused with 500"
        ]
