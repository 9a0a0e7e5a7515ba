"""Route selection as API Gateway does it: the API's expression over the message body, else $default."""

import pytest

from websockets_app.emulator.route_selection import InvalidExpression, evaluate, select_route

ROUTES = {"sendmessage", "chat/join", "42"}


@pytest.mark.parametrize(
    ("expression", "body", "route"),
    [
        ("$request.body.action", '{"action": "sendmessage"}', "sendmessage"),
        ("$request.body.action", '{"action": "unknown"}', "$default"),
        ("$request.body.action", '{"other": "sendmessage"}', "$default"),
        ("$request.body.action", '{"action": {"nested": 1}}', "$default"),
        ("$request.body.action", '["sendmessage"]', "$default"),
        ("$request.body.action", "sendmessage", "$default"),
        ("$request.body.action", "", "$default"),
        ("$request.body.action", b'{"action": "sendmessage"}', "$default"),
        ("$request.body.action", '{"action": 42}', "42"),
        ("$request.body.meta.kind", '{"meta": {"kind": "sendmessage"}}', "sendmessage"),
        ("${request.body.area}/${request.body.verb}", '{"area": "chat", "verb": "join"}', "chat/join"),
        ("${request.body.area}/${request.body.verb}", '{"area": "chat"}', "$default"),
        ("$default", '{"action": "sendmessage"}', "$default"),
    ],
)
def test_select_route(expression, body, route):
    assert select_route(expression, body, ROUTES) == route


def test_an_expression_the_emulator_cannot_evaluate_is_refused():
    with pytest.raises(InvalidExpression):
        evaluate("$request.header.x-route", {})
