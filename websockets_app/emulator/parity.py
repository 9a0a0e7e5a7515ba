"""Where API Gateway's behaviour is inconvenient locally, the emulator still behaves like it, unless told otherwise.

Each field is AWS's behaviour by default; ``WEBSOCKETS["EMULATOR_..."]`` settings relax it (docs: "Emulator
parity"), so that code which passes locally does not fail on AWS for a reason the emulator hid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from websockets_app.conf import conf

__all__ = ("AWS_PARITY", "Parity", "parity_from_settings")


@dataclass(frozen=True)
class Parity:
    # AWS invokes the Lambda once per message with no ordering guarantee ("Amazon API Gateway WebSocket APIs":
    # messages are separate invocations): True runs one connection's messages one after another instead.
    ordered_messages: bool = False
    # AWS rejects binary frames and closes with 1003 (docs: "Binary media types for WebSocket APIs"): True hands
    # them to $default base64-encoded instead.
    binary_frames: bool = False
    # AWS refuses @connections calls without a valid SigV4 signature (403 ForbiddenException): False accepts any
    # caller on this machine.
    require_signature: bool = True
    # Share (0 to 1) of @connections calls answered 429 LimitExceededException, as AWS does under load; exactly
    # that share, spread evenly, so retries and SendResult can be watched locally. AWS's own share: none, until
    # the account's rate is reached.
    throttle_share: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.throttle_share <= 1:
            raise ValueError(f"EMULATOR_THROTTLE_SHARE must be between 0 and 1, not {self.throttle_share!r}.")


AWS_PARITY = Parity()


def parity_from_settings() -> Parity:
    """The ``WEBSOCKETS["EMULATOR_*"]`` settings, over AWS's behaviour."""
    values: dict[str, Any] = {
        "ordered_messages": bool(conf.EMULATOR_ORDERED_MESSAGES),
        "binary_frames": bool(conf.EMULATOR_BINARY_FRAMES),
        "require_signature": bool(conf.EMULATOR_REQUIRE_SIGNATURE),
        "throttle_share": float(conf.EMULATOR_THROTTLE_SHARE),
    }
    return Parity(**values)
