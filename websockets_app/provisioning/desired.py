"""What a WebSocket API should look like: a plain value each front-end builds, compared with AWS by ``diff``.

Keeping the desired state free of boto3 and Django lets the Zappa hook, the admin and the management commands
describe the same API in their own terms while one reconcile decides what to change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets_app import aws_limits
from websockets_app.exceptions import InvalidRoutes, InvalidThrottling
from websockets_app.validators import ROUTE_KEY_PATTERN, is_whole_number

__all__ = (
    "BUILT_IN_ROUTES",
    "ROUTE_RESPONSE_KEY",
    "ROUTE_RESPONSE_SELECTION_EXPRESSION",
    "CustomDomain",
    "DesiredApi",
    "LambdaTarget",
    "Throttling",
    "browser_url",
    "parse_routes",
    "parse_throttling",
    "parse_two_way",
)

# Routes every API gets: they reach the view's connect, disconnect and action-dispatching methods.
BUILT_IN_ROUTES = ("$connect", "$disconnect", "$default")
# A two-way route answers its sender with the integration's response: it has a route response under this key (the
# only key WebSocket APIs support) and selects it with this expression (AWS, "Set up route responses for WebSocket
# APIs"). $connect and $disconnect stay as AWS makes them: their answer is the handshake's status, or nothing.
ROUTE_RESPONSE_KEY = "$default"
ROUTE_RESPONSE_SELECTION_EXPRESSION = "$default"
# API Gateway route keys for custom routes: no "$" prefix (those are reserved), at most 128 characters.
_ROUTE_KEY_RE = re.compile(ROUTE_KEY_PATTERN)
_FUNCTION_ARN_RE = re.compile(r"arn:[^:]+:lambda:[^:]+:\d{12}:function:[^:]+")


@dataclass(frozen=True)
class LambdaTarget:
    """The Lambda function every route invokes, and the role its code runs as."""

    function_arn: str
    role_arn: str
    alias: str = ""

    def __post_init__(self) -> None:
        if not _FUNCTION_ARN_RE.fullmatch(self.function_arn):
            raise ValueError(f"Not an unqualified Lambda function ARN: {self.function_arn!r}")

    @property
    def qualified_arn(self) -> str:
        return f"{self.function_arn}:{self.alias}" if self.alias else self.function_arn

    @property
    def partition(self) -> str:
        return self.function_arn.split(":")[1]

    @property
    def region(self) -> str:
        return self.function_arn.split(":")[3]

    @property
    def account_id(self) -> str:
        return self.function_arn.split(":")[4]

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def integration_uri(self) -> str:
        return (
            f"arn:{self.partition}:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
            f"{self.qualified_arn}/invocations"
        )


@dataclass(frozen=True)
class CustomDomain:
    """A regional custom domain for the API; the Route 53 zone is found from the name when not given.

    ``take_over``: map the domain even when it serves another API, and replace a DNS record for the name that does
    not point at it. Off, provisioning refuses both and says why: the domain may be someone else's.
    """

    name: str
    certificate_arn: str
    hosted_zone_id: str = ""
    take_over: bool = False


@dataclass(frozen=True)
class Throttling:
    """API Gateway's route throttling of the stage: every message and connect of every client, counted together.

    A token bucket of ``burst_limit`` requests refilled at ``rate_limit`` a second; past it API Gateway answers 429
    itself and the Lambda is never invoked ("Protect your WebSocket APIs in API Gateway": route-level throttling).
    It is the first line against a flood; the app's per-connection ``MESSAGE_RATE_LIMIT`` is the second.
    """

    rate_limit: float = aws_limits.DEFAULT_STAGE_RATE_LIMIT
    burst_limit: int = aws_limits.DEFAULT_STAGE_BURST_LIMIT

    def __post_init__(self) -> None:
        rate = self.rate_limit
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate >= 1:
            raise InvalidThrottling(f"throttling_rate_limit must be a number of requests a second, 1 or more: {rate!r}")
        if not is_whole_number(self.burst_limit, 1):
            raise InvalidThrottling(f"throttling_burst_limit must be a whole number of 1 or more: {self.burst_limit!r}")

    @property
    def route_settings(self) -> dict[str, Any]:
        """The stage's ``DefaultRouteSettings`` that say it (AWS reads the rate as a double)."""
        return {"ThrottlingRateLimit": float(self.rate_limit), "ThrottlingBurstLimit": self.burst_limit}

    def __str__(self) -> str:
        return f"{self.rate_limit:g} requests/s, bursts of {self.burst_limit}"


@dataclass(frozen=True)
class DesiredApi:
    """One WebSocket API integrated with one Lambda, as the user configured it."""

    name: str
    target: LambdaTarget
    description: str = ""
    route_selection_expression: str = "$request.body.action"
    api_key_selection_expression: str = "$request.header.x-api-key"
    tags: Mapping[str, str] = field(default_factory=dict)
    # Additional route key -> Django path ("" reaches the view method named like the route).
    routes: Mapping[str, str] = field(default_factory=dict)
    stage_name: str = "dev"
    stage_description: str = ""
    default_channel_name: str = ""
    domain: CustomDomain | None = None
    # Message routes whose answer is dropped; every other message route answers its sender (two-way).
    one_way_routes: frozenset[str] = frozenset()
    throttling: Throttling = field(default_factory=Throttling)

    @property
    def route_keys(self) -> tuple[str, ...]:
        return BUILT_IN_ROUTES + tuple(sorted(self.routes))

    @property
    def message_route_keys(self) -> tuple[str, ...]:
        """The routes messages arrive on: ``$default`` and the additional routes (not $connect, $disconnect)."""
        return ("$default", *sorted(self.routes))

    def is_two_way(self, route_key: str) -> bool:
        return route_key in self.message_route_keys and route_key not in self.one_way_routes

    @property
    def route_paths(self) -> dict[str, str]:
        return {key: path for key, path in sorted(self.routes.items()) if path}

    def source_arn(self, api_id: str) -> str:
        """Who may invoke the Lambda: this API only, any stage and route."""
        return f"arn:{self.target.partition}:execute-api:{self.target.region}:{self.target.account_id}:{api_id}/*"

    def connections_arn(self, api_id: str) -> str:
        """What the Lambda may manage: connections of this API's stage, nothing wider."""
        prefix = f"arn:{self.target.partition}:execute-api:{self.target.region}:{self.target.account_id}"
        return f"{prefix}:{api_id}/{self.stage_name}/*/@connections/*"

    def environment(self, api_id: str, websocket_url: str) -> dict[str, str]:
        """Lambda environment variables through which the deployed app knows its own API."""
        variables = {
            "WEBSOCKET_API_ID": api_id,
            "WEBSOCKET_STAGE": self.stage_name,
            "WEBSOCKET_URL": websocket_url,
            "WEBSOCKET_ROUTE_PATHS": json.dumps(self.route_paths, sort_keys=True),
        }
        if self.default_channel_name:
            variables["WEBSOCKET_DEFAULT_CHANNEL"] = self.default_channel_name
        return variables


def browser_url(api_endpoint: str, stage_name: str, created_domain: str = "") -> str:
    """The ``wss://`` URL browsers connect to: the custom domain once it exists, else AWS's endpoint and the stage.

    Provisioning publishes it and the pages are given it, so both say only what was actually created.
    """
    if created_domain:
        return f"wss://{created_domain}"
    return f"{api_endpoint}/{stage_name}"


def parse_routes(value: Any) -> dict[str, str]:
    """Read ``routes`` as given in settings: a list of route keys, or a mapping of route key to Django path."""
    if value is None:
        return {}
    if isinstance(value, list):
        items = [(key, "") for key in value]
    elif isinstance(value, dict):
        items = list(value.items())
    else:
        raise InvalidRoutes("routes must be a list of route keys or a mapping of route key to a Django path")
    routes: dict[str, str] = {}
    for key, path in items:
        if not isinstance(key, str) or not _ROUTE_KEY_RE.fullmatch(key):
            raise InvalidRoutes(f"Invalid route key {key!r}: use 1 to 128 letters, digits, '_', '.', ':' or '-'")
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise InvalidRoutes(f"The path of route {key!r} must be a Django path starting with '/'")
        if key in routes:
            raise InvalidRoutes(f"Route {key!r} is given twice")
        routes[key] = path
    return routes


def parse_throttling(rate_limit: Any = None, burst_limit: Any = None) -> Throttling:
    """Read ``throttling_rate_limit`` and ``throttling_burst_limit`` as given in settings (absent: the defaults)."""
    defaults = Throttling()
    return Throttling(
        rate_limit=defaults.rate_limit if rate_limit is None else rate_limit,
        burst_limit=defaults.burst_limit if burst_limit is None else burst_limit,
    )


def parse_two_way(value: Any, routes: Mapping[str, str]) -> frozenset[str]:
    """Read ``two_way`` as given in settings; returns the message routes that are one-way.

    ``true`` (the default): every message route is two-way; ``false``: none is; a list of route keys: those are
    and the others are not. ``$connect`` and ``$disconnect`` are never message routes.
    """
    message_routes = frozenset({"$default", *routes})
    if value is None or value is True:
        return frozenset()
    if value is False:
        return message_routes
    if not isinstance(value, list) or not all(isinstance(key, str) for key in value):
        raise InvalidRoutes("two_way must be true, false or a list of route keys")
    unknown = sorted(set(value) - message_routes)
    if unknown:
        raise InvalidRoutes(
            f"two_way names {', '.join(map(repr, unknown))}: only $default and the routes given in routes carry "
            "messages that can be answered"
        )
    return message_routes - frozenset(value)
