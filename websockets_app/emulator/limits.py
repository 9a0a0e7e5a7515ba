"""API Gateway's WebSocket quotas, kept by the emulator so code that works locally keeps working on AWS."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ("AWS_LIMITS", "Limits")


@dataclass(frozen=True)
class Limits:
    """Sizes in bytes, durations in seconds. Tests shrink the durations; the sizes are AWS's own."""

    message_bytes: int = 128 * 1024
    frame_bytes: int = 32 * 1024
    idle_seconds: float = 10 * 60
    lifetime_seconds: float = 2 * 60 * 60
    # What a Lambda accepts as a request payload (synchronous invocation).
    http_body_bytes: int = 6 * 1024 * 1024


AWS_LIMITS = Limits()
