"""Route selection: which route key a message goes to, as API Gateway decides it from the API's expression.

API Gateway evaluates the route selection expression (``$request.body.action`` by default) against the message
parsed as JSON. A value naming one of the API's routes selects it; anything else (no such route, a missing key,
a body that is not JSON) goes to ``$default``. The rules are AWS's ("WebSocket selection expressions",
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-selection-expressions.html):
the path after ``$request.body`` is JSONPath (``.key``, ``['key']``, ``[0]``, nested); ``${...}`` embeds a
selector in literal text, ``\\$`` is a literal dollar sign, and evaluation happens once. A selected value that is
not a string is turned into its JSON text (``42``, ``true``, ``{"a":1}``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from websockets_app.exceptions import InvalidExpression

__all__ = ("DEFAULT_EXPRESSION", "DEFAULT_ROUTE", "evaluate", "select_route", "validate")

DEFAULT_ROUTE = "$default"
DEFAULT_EXPRESSION = "$request.body.action"
_BODY = "request.body"
# One JSONPath step: .key, ['key'] / ["key"], or [index].
_STEP = re.compile(r"\.([A-Za-z0-9_\-$@]+)|\['([^']*)'\]|\[\"([^\"]*)\"\]|\[(\d+)\]")
# A selector embedded in literal text, and an escaped dollar sign.
_EMBEDDED = re.compile(r"\$\{([^}]*)\}|\\\$")


def select_route(expression: str, body: str | bytes, routes: Collection[str]) -> str:
    """The route key for one message: a route of ``routes`` the expression evaluates to, else ``$default``."""
    if expression == DEFAULT_ROUTE or isinstance(body, bytes):
        return DEFAULT_ROUTE
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return DEFAULT_ROUTE
    key = evaluate(expression, document)
    return key if key is not None and key in routes else DEFAULT_ROUTE


def validate(expression: str) -> None:
    """Raise :class:`InvalidExpression` for an expression the emulator (and API Gateway) cannot evaluate."""
    evaluate(expression, {})


def evaluate(expression: str, document: Any) -> str | None:
    """The expression's value for a parsed body; ``None`` when a selected value is missing or null."""
    if expression.startswith("$") and not expression.startswith("${"):
        return _lookup(document, _steps(expression[1:], expression))
    if not _EMBEDDED.search(expression):
        raise InvalidExpression(
            f"Unsupported route selection expression {expression!r}: use $request.body.<JSONPath>, or embed "
            "${request.body.<JSONPath>} in text."
        )
    parts: list[str] = []
    position = 0
    for match in _EMBEDDED.finditer(expression):
        parts.append(expression[position : match.start()])
        position = match.end()
        if match.group(0) == "\\$":
            parts.append("$")
            continue
        value = _lookup(document, _steps(match.group(1), expression))
        if value is None:
            return None
        parts.append(value)
    return "".join(parts) + expression[position:]


def _steps(selector: str, expression: str) -> list[str | int]:
    """``request.body.a[0]['b']`` -> ``["a", 0, "b"]``; the whole selector must be steps."""
    if not selector.startswith(_BODY):
        raise InvalidExpression(f"Unsupported route selection expression {expression!r}: only $request.body is.")
    path = selector[len(_BODY) :]
    steps: list[str | int] = []
    position = 0
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None:
            raise InvalidExpression(f"Route selection expression {expression!r}: cannot read {path[position:]!r}.")
        key, single, double, index = match.groups()
        steps.append(int(index) if index is not None else next(v for v in (key, single, double) if v is not None))
        position = match.end()
    if not steps:
        raise InvalidExpression(f"Route selection expression {expression!r} selects no element of the body.")
    return steps


def _lookup(document: Any, steps: list[str | int]) -> str | None:
    value = document
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return None
        elif not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
