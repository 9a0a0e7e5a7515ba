"""The app's settings: one ``WEBSOCKETS`` dict in Django settings, each key read through ``conf`` with its type.

Every key is a :class:`Setting` on :class:`WebSocketsSettings`: its default, what a valid value is and the system
check id that reports a value of the wrong type (:mod:`websockets_app.checks`). Values are read at call time, not
import time, so ``override_settings`` works in tests and a value set late (the local emulator's ``ENDPOINT_URL``)
takes effect.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from django.conf import settings

from websockets_app.validators import CHANNEL_NAME_RE, is_whole_number

__all__ = ("Setting", "WebSocketsSettings", "aws_region", "conf", "settings_by_name")

T = TypeVar("T")


@dataclass(frozen=True)
class Kind:
    """What a valid value is, said as the fix a check's hint names ("a whole number of 1 or more")."""

    description: str
    accepts: Callable[[Any], bool]

    def or_none(self) -> Kind:
        return Kind(f"{self.description}, or None", lambda value: value is None or self.accepts(value))


def _number(value: Any) -> bool:
    return (isinstance(value, int | float)) and not isinstance(value, bool)


def _pair_of_whole_numbers(value: Any) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2 and all(is_whole_number(n, 1) for n in value)


def _strings(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)


def _string_mapping(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _dotted_path(value: Any) -> bool:
    return isinstance(value, str) and "." in value.strip(".") and " " not in value


def _url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://"))


STRING = Kind("a string", lambda value: isinstance(value, str))
BOOLEAN = Kind("True or False", lambda value: isinstance(value, bool))
CHANNEL_NAME = Kind(
    "a channel name (1 to 128 letters, digits, '-', '_' or '.')",
    lambda value: isinstance(value, str) and CHANNEL_NAME_RE.fullmatch(value) is not None,
)
PATH_PREFIX = Kind(
    "a path starting and ending with '/' (\"/ws/\")",
    lambda value: isinstance(value, str) and value.startswith("/") and value.endswith("/"),
)
HTTP_URL = Kind("an http:// or https:// URL", _url)
WEBSOCKET_URL = Kind(
    'a ws:// or wss:// URL ("{host}" stands for the page\'s host)',
    lambda value: isinstance(value, str) and value.startswith(("ws://", "wss://")),
)
DOTTED_PATH = Kind('a dotted path ("project.lambda_handler.lambda_handler")', _dotted_path)
BACKEND_PATH = Kind('a dotted path to a send backend ("websockets_app.backends.CurlBackend")', _dotted_path)
STRINGS = Kind("a list of strings", _strings)
STRING_MAPPING = Kind("a dict of strings to strings", _string_mapping)
RATE = Kind("a pair of whole numbers of 1 or more (count, seconds)", _pair_of_whole_numbers)
WHOLE = Kind("a whole number of 0 or more", lambda value: is_whole_number(value, 0))
POSITIVE_WHOLE = Kind("a whole number of 1 or more", lambda value: is_whole_number(value, 1))
POSITIVE_SECONDS = Kind("a number of seconds above 0", lambda value: _number(value) and value > 0)
SHARE = Kind("a number from 0 to 1", lambda value: _number(value) and 0 <= value <= 1)
IPV6_PREFIX = Kind("a prefix length from 0 to 128", lambda value: is_whole_number(value, 0, 128))


class Setting(Generic[T]):
    """One ``WEBSOCKETS`` key: its default, the kind of value it takes and the check id reporting a wrong one."""

    name: str

    def __init__(self, default: T, kind: Kind, check_id: str, doc: str) -> None:
        self.default = default
        self.kind = kind
        self.check_id = check_id
        self.doc = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> Setting[T]: ...

    @overload
    def __get__(self, instance: WebSocketsSettings, owner: type) -> T: ...

    def __get__(self, instance: WebSocketsSettings | None, owner: type) -> Setting[T] | T:
        if instance is None:
            return self
        configured = getattr(settings, "WEBSOCKETS", {})
        if not isinstance(configured, Mapping):
            return self.default  # check E003 reports it
        value: T = configured.get(self.name, self.default)
        return value


class WebSocketsSettings:
    """``settings.WEBSOCKETS``, one typed attribute per key, each falling back to its default."""

    DEFAULT_CHANNEL_NAME = Setting(
        "default", CHANNEL_NAME, "E201", "channel for connections that ask for none and whose API row names none"
    )
    ENDPOINT_URL: Setting[str | None] = Setting(
        None,
        HTTP_URL.or_none(),
        "E202",
        "management API endpoint overriding https://{api_id}.execute-api.{region}.amazonaws.com/{stage} "
        "(custom domain, local emulator)",
    )
    MAX_JOINED_CHANNELS = Setting(100, WHOLE, "E203", "channels one connection may join at runtime")
    PATH_PREFIX = Setting("/ws/", PATH_PREFIX, "E204", "where WebSocket routes are posted: $connect -> /ws/connect")
    LAMBDA_HANDLER: Setting[str | None] = Setting(
        None,
        DOTTED_PATH.or_none(),
        "E205",
        "dotted path of the handler runserver's emulator calls; None: the app's own entry point around Django",
    )
    ALLOWED_ORIGINS: Setting[Sequence[str] | None] = Setting(
        None, STRINGS.or_none(), "E206", "origins allowed to connect; None: those whose host ALLOWED_HOSTS accepts"
    )
    ALLOW_MISSING_ORIGIN = Setting(
        True, BOOLEAN, "E207", "whether clients sending no Origin (not browsers) may connect"
    )
    CONNECT_TOKEN_MAX_AGE = Setting(60, POSITIVE_WHOLE, "E208", "seconds a connect token stays valid")
    CONNECT_RATE_LIMIT_PER_IP: Setting[tuple[int, int] | None] = Setting(
        (60, 60), RATE.or_none(), "E209", "connects allowed per source IP per window of seconds; None disables"
    )
    CONNECT_RATE_LIMIT_PER_USER: Setting[tuple[int, int] | None] = Setting(
        (30, 60), RATE.or_none(), "E210", "connects allowed per user per window of seconds; None disables"
    )
    CONNECT_TOKEN_RATE_LIMIT_PER_USER: Setting[tuple[int, int] | None] = Setting(
        (20, 60), RATE.or_none(), "E211", "connect tokens issued per user per window of seconds; None disables"
    )
    RATE_LIMIT_CACHE: Setting[str | None] = Setting(
        None,
        STRING.or_none(),
        "E212",
        "where rate-limit counters live: None, the database; or the alias of a shared cache (check W102)",
    )
    RATE_LIMIT_IPV6_PREFIX = Setting(64, IPV6_PREFIX, "E213", "IPv6 clients are counted per network of this length")
    ROUTE_PATHS: Setting[Mapping[str, str]] = Setting(
        {}, STRING_MAPPING, "E214", "route key -> Django path, for routes mapped to their own path"
    )
    URL: Setting[str | None] = Setting(
        None, WEBSOCKET_URL.or_none(), "E215", "the wss:// URL browsers connect to; runserver sets the emulator's"
    )
    LAMBDA_FUNCTION_NAME: Setting[str | None] = Setting(
        None, STRING.or_none(), "E216", "function the admin and commands provision for when not on Lambda"
    )
    PROVISION_ON_SAVE = Setting(
        False, BOOLEAN, "E217", "whether saving a provisioned API in the admin reconciles it with AWS at once"
    )
    SEND_CONCURRENCY = Setting(
        256, POSITIVE_WHOLE, "E218", "posts in flight at once per container, and the most connections it keeps"
    )
    SEND_CONNECT_TIMEOUT: Setting[float] = Setting(
        2, POSITIVE_SECONDS, "E219", "seconds to connect to the management API"
    )
    SEND_READ_TIMEOUT: Setting[float] = Setting(5, POSITIVE_SECONDS, "E220", "seconds to wait for its answer")
    SEND_MAX_ATTEMPTS = Setting(
        3, POSITIVE_WHOLE, "E221", "attempts per message (throttling, 5xx and timeouts retried with backoff)"
    )
    SEND_BATCH_SIZE: Setting[int | None] = Setting(
        None,
        POSITIVE_WHOLE.or_none(),
        "E222",
        "connections one invocation sends to; None: what the sender sends in ~25 s at the function's memory",
    )
    EMULATOR_ORDERED_MESSAGES = Setting(
        False, BOOLEAN, "E223", "runserver: run one connection's messages one at a time, in order"
    )
    EMULATOR_BINARY_FRAMES = Setting(
        False, BOOLEAN, "E224", "runserver: pass binary frames to $default base64-encoded (AWS closes with 1003)"
    )
    EMULATOR_REQUIRE_SIGNATURE = Setting(
        True, BOOLEAN, "E225", "runserver: @connections calls need a valid SigV4 signature, as on AWS"
    )
    EMULATOR_THROTTLE_SHARE: Setting[float] = Setting(
        0.0, SHARE, "E226", "runserver: share of @connections calls answered 429 LimitExceededException"
    )
    EMULATOR_INTEGRATION_TIMEOUT: Setting[float | None] = Setting(
        29, POSITIVE_SECONDS.or_none(), "E227", "runserver: seconds before 'Endpoint request timed out'"
    )
    EMULATOR_CONNECTIONS_PER_SECOND: Setting[int | None] = Setting(
        500, POSITIVE_WHOLE.or_none(), "E228", "runserver: new connections accepted per second; None: no limit"
    )
    HISTORY_CHANNELS: Setting[Sequence[str]] = Setting(
        (), STRINGS, "E229", "channels whose broadcasts are numbered and kept: names or patterns ('room-*', '!name')"
    )
    HISTORY_MAX_MESSAGES = Setting(1000, WHOLE, "E230", "newest messages the cleanup keeps per channel")
    HISTORY_MAX_AGE: Setting[float] = Setting(
        24 * 60 * 60, POSITIVE_SECONDS, "E231", "seconds a kept message lives before the cleanup deletes it"
    )
    HISTORY_REPLAY_LIMIT = Setting(100, POSITIVE_WHOLE, "E232", "messages one history answer carries at most")
    PRESENCE_EVENTS_CHANNELS: Setting[Sequence[str]] = Setting(
        (), STRINGS, "E233", "channels whose members are told when a user arrives or leaves"
    )
    SEND_BACKEND = Setting(
        "websockets_app.backends.CurlBackend",
        BACKEND_PATH,
        "E234",
        "how posts reach @connections: libcurl (default), boto3's client, or the locmem outbox for tests",
    )
    MESSAGE_RATE_LIMIT: Setting[tuple[int, int] | None] = Setting(
        (30, 3),
        RATE.or_none(),
        "E240",
        "messages one connection may send: count at once, and count more every seconds (a connection that keeps "
        "sending past it is closed); None disables",
    )
    SEND_RATE_LIMIT = Setting(
        5000,
        POSITIVE_WHOLE,
        "E241",
        "@connections requests per second all of the site's senders may use together (half the account's default "
        "quota of 10,000 for all its APIs in a Region)",
    )


def settings_by_name() -> dict[str, Setting[Any]]:
    """Every ``WEBSOCKETS`` key and its :class:`Setting`, in the order they are declared."""
    return {name: value for name, value in vars(WebSocketsSettings).items() if isinstance(value, Setting)}


conf = WebSocketsSettings()


def aws_region() -> str:
    """The region to reach AWS in: Lambda's ``AWS_REGION``, else the environment's or the AWS profile's, else ""."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        return region
    import botocore.session  # deferred: events never get here (Lambda always sets AWS_REGION)

    return botocore.session.get_session().get_config_variable("region") or ""
