"""The app's settings: one ``WEBSOCKETS`` dict in Django settings, read at call time with defaults.

Reading at call time (not import time) keeps ``override_settings`` working in tests and lets a value set late
(the local emulator's ``ENDPOINT_URL``) take effect.
"""

import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Channel for connections that do not ask for one with ?channel= and whose API row names none.
    "DEFAULT_CHANNEL_NAME": "default",
    # Management API endpoint overriding https://{api_id}.execute-api.{region}.amazonaws.com/{stage}
    # (custom domain, local emulator).
    "ENDPOINT_URL": None,
    # Channels one connection may join at runtime (join_channel(), session.join()), beyond its connect-time one.
    "MAX_JOINED_CHANNELS": 100,
    # Path prefix the WebSocket routes are posted to: $connect -> {prefix}connect.
    "PATH_PREFIX": "/ws/",
    # Dotted path of the Lambda handler the local emulator (runserver) calls; None: websockets_app's own entry
    # point around Django's WSGI application.
    "LAMBDA_HANDLER": None,
    # Origins allowed to connect ("https://example.com", "https://.example.com" for subdomains too);
    # None: origins whose host ALLOWED_HOSTS accepts.
    "ALLOWED_ORIGINS": None,
    # Whether a $connect without Origin (not a browser: scripts, servers, mobile apps) may go on.
    "ALLOW_MISSING_ORIGIN": True,
    # Lifetime of a connect token, in seconds.
    "CONNECT_TOKEN_MAX_AGE": 60,
    # (attempts, seconds) allowed per source IP and per user on $connect; None disables.
    "CONNECT_RATE_LIMIT_PER_IP": (60, 60),
    "CONNECT_RATE_LIMIT_PER_USER": (30, 60),
    # (tokens, seconds) the connect-token endpoint issues per user; None disables.
    "CONNECT_TOKEN_RATE_LIMIT_PER_USER": (20, 60),
    # Where rate-limit counters live: None, the database (shared by every Lambda container); or the alias of a
    # shared cache with atomic increments (Redis, Memcached). Per-process and dummy caches: check W102.
    "RATE_LIMIT_CACHE": None,
    # IPv6 clients are counted per network of this prefix length (one client owns a whole /64).
    "RATE_LIMIT_IPV6_PREFIX": 64,
    # Route key -> Django path, for additional routes mapped to a path instead of {PATH_PREFIX}<route key>.
    # Provisioning publishes it in the Lambda environment as WEBSOCKET_ROUTE_PATHS (JSON).
    "ROUTE_PATHS": {},
    # The wss:// URL browsers connect to; provisioning publishes it in the Lambda environment as WEBSOCKET_URL.
    # runserver points it at the emulator; "{host}" in it becomes the host of the page's request.
    "URL": None,
    # Lambda function the admin actions and commands provision for when not running on Lambda itself
    # (on Lambda, the function is the one running: AWS_LAMBDA_FUNCTION_NAME).
    "LAMBDA_FUNCTION_NAME": None,
    # Whether saving a provisioned API or one of its routes in the admin reconciles it with AWS at once. Off: that
    # runs inside a web request, and the Lambda's role would need the deployer's IAM rights (README, IAM).
    "PROVISION_ON_SAVE": False,
    # send_message: posts in flight at once per container, from its one event loop, and the most connections it
    # keeps to the management API (docs: topics/performance).
    "SEND_CONCURRENCY": 256,
    # send_message: seconds to open a connection to / wait for an answer from the management API.
    "SEND_CONNECT_TIMEOUT": 2,
    "SEND_READ_TIMEOUT": 5,
    # send_message: attempts per message; throttling, 5xx and timeouts are retried with jittered backoff while the
    # container's retry budget lasts (AWS's "standard" retry quota).
    "SEND_MAX_ATTEMPTS": 3,
    # send_message: connections one Lambda invocation sends to; None: what the sender sends in ~25 s at the
    # function's memory (websockets_app.sending.capacity). A larger broadcast goes out in batches through Zappa's
    # asynchronous tasks.
    "SEND_BATCH_SIZE": None,
    # The local emulator (runserver) behaves as API Gateway does by default; these relax it for development
    # (docs: "Emulator parity"). Run one connection's messages in order (AWS gives no ordering guarantee):
    "EMULATOR_ORDERED_MESSAGES": False,
    # Hand binary frames to $default base64-encoded (AWS closes the connection with 1003):
    "EMULATOR_BINARY_FRAMES": False,
    # Refuse @connections calls without a valid SigV4 signature, as AWS does (403 ForbiddenException):
    "EMULATOR_REQUIRE_SIGNATURE": True,
    # Share (0 to 1) of @connections calls answered 429 LimitExceededException, to exercise retries locally:
    "EMULATOR_THROTTLE_SHARE": 0.0,
    # Seconds API Gateway waits for the Lambda before answering "Endpoint request timed out"; None: forever.
    "EMULATOR_INTEGRATION_TIMEOUT": 29,
    # New connections accepted per second, as AWS's quota (500 per account and region); None: no limit.
    "EMULATOR_CONNECTIONS_PER_SECOND": 500,
    # Channels whose broadcasts are numbered and kept, so clients can resume (docs: history-presence): names or
    # shell-style patterns ("room-*", "*" for every channel). An ApiGateway's default channel can opt in too.
    "HISTORY_CHANNELS": (),
    # What clear_websocket_sessions keeps of each channel's history: the newest messages, none older than this.
    "HISTORY_MAX_MESSAGES": 1000,
    "HISTORY_MAX_AGE": 24 * 60 * 60,
    # Messages one history answer carries at most; the client asks again for the rest ("more": true).
    "HISTORY_REPLAY_LIMIT": 100,
    # Channels (names or patterns, as HISTORY_CHANNELS) whose members are told when a user joins or leaves.
    "PRESENCE_EVENTS_CHANNELS": (),
}


class WebSocketsSettings:
    """Attribute access to ``settings.WEBSOCKETS`` with :data:`DEFAULTS` filled in."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown WEBSOCKETS setting {name!r}")
        return getattr(settings, "WEBSOCKETS", {}).get(name, DEFAULTS[name])


conf = WebSocketsSettings()


def aws_region() -> str:
    """The region to reach AWS in: Lambda's ``AWS_REGION``, else the environment's or the AWS profile's, else ""."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        return region
    import botocore.session  # deferred: events never get here (Lambda always sets AWS_REGION)

    return botocore.session.get_session().get_config_variable("region") or ""
