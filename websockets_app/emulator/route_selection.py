"""Route selection: which route key a message goes to, as API Gateway decides it from the API's expression.

API Gateway evaluates the route selection expression (``$request.body.action`` by default) against the message
parsed as JSON. A value naming one of the API's routes selects it; anything else (no such route, a missing key,
a body that is not JSON) goes to ``$default``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

__all__ = ("DEFAULT_EXPRESSION", "DEFAULT_ROUTE", "InvalidExpression", "select_route")

DEFAULT_ROUTE = "$default"
DEFAULT_EXPRESSION = "$request.body.action"
_PATH = r"request\.body((?:\.[A-Za-z0-9_\-]+)+)"
# Either the whole expression is one selector, or ${...} selectors are embedded in literal text.
_WHOLE = re.compile(r"\$" + _PATH)
_EMBEDDED = re.compile(r"\$\{" + _PATH + r"\}")


class InvalidExpression(ValueError):
    """The expression is not one API Gateway accepts for route selection on message bodies."""


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


def evaluate(expression: str, document: Any) -> str | None:
    """The expression's value for a parsed body; ``None`` when a selected value is missing or not a scalar."""
    whole = _WHOLE.fullmatch(expression)
    if whole:
        return _lookup(document, whole.group(1))
    if not _EMBEDDED.search(expression):
        raise InvalidExpression(f"Unsupported route selection expression {expression!r}: use $request.body.<key>.")
    parts: list[str] = []
    position = 0
    for match in _EMBEDDED.finditer(expression):
        value = _lookup(document, match.group(1))
        if value is None:
            return None
        parts += [expression[position : match.start()], value]
        position = match.end()
    return "".join(parts) + expression[position:]


def _lookup(document: Any, dotted: str) -> str | None:
    value = document
    for key in dotted.lstrip(".").split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None
