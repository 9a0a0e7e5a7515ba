"""Comparing an event's shape with captures of real API Gateway events of its kind (``tests/real_events``).

An event matches its kind when, at every level of nesting:
- it has every key all the captures have, and no key none of them has;
- each value has a JSON type some capture has there (``null`` only where a capture has ``null``);
- in header maps (whose keys are data, not schema), each name some capture also has is spelt in a capture's casing,
  and it has every header API Gateway adds that all the captures have.

Some keys depend on the request or on the API's configuration rather than on API Gateway, and the captures do not
cover every case. A WebSocket event's ``identity`` is compared with the identities of every WebSocket capture (AWS
repeats the connection's own on each of its events: the browser captures have ``userAgent`` on MESSAGE and
DISCONNECT). :data:`VARIANTS` lists the rest, each as AWS documents it: a key left out, or ``null``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

REAL_EVENTS = Path(__file__).parent / "real_events"
# Maps whose keys are the request's data: only their values' types and, for headers, the names' casing count.
HEADER_MAPS = frozenset({"headers", "multiValueHeaders"})
# Headers API Gateway itself puts on the events it sends (the others come from the client, or not).
ADDED_HEADERS = frozenset(
    {"host", "x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-api-key", "x-restapi"}
)
WEBSOCKET_KINDS = ("CONNECT", "MESSAGE", "DISCONNECT")
ABSENT = object()
# (kind, path, value): the captures again with the key at ``path`` left out (ABSENT), null, or set to a value.
VARIANTS: tuple[tuple[str, tuple[str, ...], Any], ...] = (
    # $connect carries the query string when there is one (AWS: "Set up the $connect route ... query strings").
    ("CONNECT", ("queryStringParameters",), {"name": "value"}),
    ("CONNECT", ("multiValueQueryStringParameters",), {"name": ["value"]}),
    # REST proxy input format: null when the request has none, the resource no parameters, the stage no variables;
    # authorizer only behind an authorizer, clientCert only with mutual TLS, body null without one.
    ("REST_V1", ("queryStringParameters",), None),
    ("REST_V1", ("multiValueQueryStringParameters",), None),
    ("REST_V1", ("pathParameters",), None),
    ("REST_V1", ("stageVariables",), None),
    ("REST_V1", ("body",), None),
    ("REST_V1", ("requestContext", "authorizer"), ABSENT),
    ("REST_V1", ("requestContext", "identity", "clientCert"), ABSENT),
    # HTTP API payload 2.0: keys without a value are left out; authentication only with mutual TLS.
    ("HTTP_V2", ("cookies",), ABSENT),
    ("HTTP_V2", ("queryStringParameters",), ABSENT),
    ("HTTP_V2", ("pathParameters",), ABSENT),
    ("HTTP_V2", ("stageVariables",), ABSENT),
    ("HTTP_V2", ("body",), ABSENT),
    ("HTTP_V2", ("requestContext", "authorizer"), ABSENT),
    ("HTTP_V2", ("requestContext", "authentication"), ABSENT),
)
DATA_MAPS = HEADER_MAPS | {
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "authorizer",
}


@cache
def real_events() -> dict[str, list[dict[str, Any]]]:
    """Every capture, by kind (CONNECT, MESSAGE, DISCONNECT, REST_V1, HTTP_V2), each with its source."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(REAL_EVENTS.glob("*.json")):
        capture = json.loads(path.read_text())
        by_kind.setdefault(capture["kind"], []).append({**capture, "file": path.name})
    return by_kind


def captures(kind: str) -> list[dict[str, Any]]:
    return [capture["event"] for capture in real_events()[kind]]


def shape_differences(event: dict[str, Any], kind: str) -> list[str]:
    """How ``event`` differs from the real events of ``kind``; empty when it has their shape."""
    references = captures(kind)
    if kind in WEBSOCKET_KINDS:
        identities = [item["requestContext"]["identity"] for other in WEBSOCKET_KINDS for item in captures(other)]
        references = [
            {**item, "requestContext": {**item["requestContext"], "identity": identity}}
            for item in references
            for identity in identities
        ]
    for variant_kind, path, value in VARIANTS:
        if variant_kind == kind:
            references = [*references, *(_with(item, path, value) for item in references)]
    return _compare(event, references, "event")


def _with(event: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``event`` with the key at ``path`` set to ``value``, or left out (ABSENT)."""
    if len(path) > 1:
        inner = event.get(path[0])
        return event if not isinstance(inner, dict) else {**event, path[0]: _with(inner, path[1:], value)}
    if value is ABSENT:
        return {key: item for key, item in event.items() if key != path[0]}
    return {**event, path[0]: value}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def _compare(value: dict[str, Any], references: list[dict[str, Any]], where: str) -> list[str]:
    required = set.intersection(*(set(reference) for reference in references))
    known = set.union(*(set(reference) for reference in references))
    differences = [f"{where}: missing {key!r}" for key in sorted(required - set(value))]
    differences += [f"{where}: {key!r} is in no real event" for key in sorted(set(value) - known)]
    for key in sorted(set(value) & known):
        seen = [reference[key] for reference in references if key in reference]
        types = {_json_type(item) for item in seen}
        if _json_type(value[key]) not in types:
            differences.append(f"{where}.{key}: {_json_type(value[key])}, real events have {sorted(types)}")
            continue
        maps = [item for item in seen if isinstance(item, dict)]
        if key in HEADER_MAPS and isinstance(value[key], dict):
            differences += _compare_headers(value[key], maps, f"{where}.{key}")
        elif key in DATA_MAPS and isinstance(value[key], dict):
            differences += _compare_values(value[key], maps, f"{where}.{key}")
        elif isinstance(value[key], dict):
            differences += _compare(value[key], maps, f"{where}.{key}")
    return differences


def _compare_values(value: dict[str, Any], references: list[dict[str, Any]], where: str) -> list[str]:
    types = {_json_type(item) for reference in references for item in reference.values()}
    return [
        f"{where}[{name!r}]: {_json_type(item)}, real events have {sorted(types)}"
        for name, item in value.items()
        if types and _json_type(item) not in types
    ]


def _compare_headers(value: dict[str, Any], references: list[dict[str, Any]], where: str) -> list[str]:
    differences = _compare_values(value, references, where)
    spellings: dict[str, set[str]] = {}
    for reference in references:
        for name in reference:
            spellings.setdefault(name.lower(), set()).add(name)
    for name in value:
        real = spellings.get(name.lower())
        if real and name not in real:
            differences.append(f"{where}: {name!r} is spelt {sorted(real)} by API Gateway")
    names = {name.lower() for name in value}
    required = ADDED_HEADERS.intersection(*({name.lower() for name in reference} for reference in references))
    differences += [f"{where}: missing header {sorted(spellings[name])[0]!r}" for name in sorted(required - names)]
    return differences
