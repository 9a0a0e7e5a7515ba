"""Route selection as API Gateway does it: the API's expression over the message body, else $default."""

import pytest

from websockets_app.emulator.route_selection import evaluate, select_route, validate
from websockets_app.exceptions import InvalidExpression

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
        # JSONPath, as API Gateway reads the path after $request.body: array indexes, quoted keys, nesting.
        ("$request.body.data[0].type", '{"data": [{"type": "sendmessage"}, {"type": "x"}]}', "sendmessage"),
        ("$request.body.data[1].type", '{"data": [{"type": "sendmessage"}, {"type": "chat/join"}]}', "chat/join"),
        ("$request.body.data[2].type", '{"data": [{"type": "sendmessage"}]}', "$default"),
        ("$request.body.data[0].type", '{"data": {"0": {"type": "sendmessage"}}}', "$default"),
        ("$request.body['my key']", '{"my key": "sendmessage"}', "sendmessage"),
        ('$request.body["a"]["b"][0]', '{"a": {"b": ["sendmessage"]}}', "sendmessage"),
        ("${request.body.msg[0]}/${request.body.verb}", '{"msg": ["chat"], "verb": "join"}', "chat/join"),
        # Values that are not strings become their JSON text; null selects nothing.
        ("$request.body.action", '{"action": true}', "true"),
        ("$request.body.action", '{"action": [1, 2]}', "[1,2]"),
        ("$request.body.action", '{"action": {"a": 1}}', '{"a":1}'),
        ("$request.body.action", '{"action": null}', "$default"),
        # An escaped dollar sign is literal text.
        ("\\$default", '{"action": "sendmessage"}', "$default"),
    ],
)
def test_select_route(expression, body, route):
    routes = ROUTES | {"true", "[1,2]", '{"a":1}'}
    assert select_route(expression, body, routes) == route


@pytest.mark.parametrize(
    ("expression", "document", "value"),
    [
        ("\\$default", {}, "$default"),
        ("v-\\$-${request.body.n}", {"n": 1.5}, "v-$-1.5"),
        ("${request.body.a}${request.body.b}", {"a": "x", "b": 2}, "x2"),
    ],
)
def test_evaluate(expression, document, value):
    assert evaluate(expression, document) == value


@pytest.mark.parametrize(
    "expression",
    [
        "$request.header.x-route",
        "$request.body",
        "$request.body.a[x]",
        "$request.body.a..b",
        "plain text",
        "${context.x}",
    ],
)
def test_an_expression_the_emulator_cannot_evaluate_is_refused(expression):
    with pytest.raises(InvalidExpression):
        validate(expression)
