"""API Gateway's WebSocket quotas, kept by the emulator so code that works locally keeps working on AWS."""

from __future__ import annotations

from dataclasses import dataclass, replace

from websockets_app import aws_limits
from websockets_app.conf import conf

__all__ = ("AWS_LIMITS", "Limits", "limits_from_settings")


@dataclass(frozen=True)
class Limits:
    """Sizes in bytes, durations in seconds. Tests shrink the durations; the sizes are AWS's own."""

    message_bytes: int = aws_limits.MESSAGE_BYTES
    frame_bytes: int = aws_limits.FRAME_BYTES
    idle_seconds: float = aws_limits.IDLE_TIMEOUT.total_seconds()
    lifetime_seconds: float = aws_limits.MAX_CONNECTION_DURATION.total_seconds()
    # What a Lambda accepts as a request payload (synchronous invocation).
    http_body_bytes: int = aws_limits.SYNC_INVOKE_PAYLOAD_BYTES
    # How long API Gateway waits for the integration; None waits forever.
    integration_timeout_seconds: float | None = aws_limits.INTEGRATION_TIMEOUT.total_seconds()
    # New connections per second per account and region; None: no limit.
    connections_per_second: float | None = aws_limits.NEW_CONNECTIONS_PER_SECOND


AWS_LIMITS = Limits()


def limits_from_settings() -> Limits:
    """AWS's limits, with the timeout and connection rate of ``WEBSOCKETS["EMULATOR_*"]``."""
    return replace(
        AWS_LIMITS,
        integration_timeout_seconds=conf.EMULATOR_INTEGRATION_TIMEOUT,
        connections_per_second=conf.EMULATOR_CONNECTIONS_PER_SECOND,
    )
