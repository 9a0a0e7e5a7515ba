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


AWS_PARITY = Parity()


def parity_from_settings() -> Parity:
    """The ``WEBSOCKETS["EMULATOR_*"]`` settings, over AWS's behaviour."""
    values: dict[str, Any] = {
        "ordered_messages": bool(conf.EMULATOR_ORDERED_MESSAGES),
        "binary_frames": bool(conf.EMULATOR_BINARY_FRAMES),
    }
    return Parity(**values)
