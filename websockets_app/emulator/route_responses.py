"""What API Gateway sends the sender of a message once the integration has answered it.

A route with a ``$default`` route response is two-way: API Gateway passes a proxy integration's ``body`` to the
caller as one text message, whatever its ``statusCode``, an empty body included (AWS, "Set up route responses for
WebSocket APIs"; an empty answer arriving as an empty message: serverless/serverless#6816). A one-way route sends
nothing. The emulator and the test client both answer by this rule, from the routes provisioning makes two-way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from websockets_app import aws_limits

__all__ = ("route_response",)

logger = logging.getLogger(__name__)


def route_response(answer: Mapping[str, Any], *, two_way: bool, route_key: str = "$default") -> str | None:
    """The message the caller receives for the integration's ``answer``; ``None`` when it receives none.

    A body over API Gateway's 128 KB message limit is not delivered, and said so in the log: AWS documents no answer
    for it, and the app's view never returns one (it refuses such a reply itself with a 413 error frame).
    """
    if not two_way:
        return None
    body = answer.get("body")
    text = body if isinstance(body, str) else ""
    size = len(text.encode("utf-8"))
    if size > aws_limits.MESSAGE_BYTES:
        logger.warning(
            "The integration's answer to %s is %d bytes, over API Gateway's %d-byte message limit: not delivered",
            route_key,
            size,
            aws_limits.MESSAGE_BYTES,
        )
        return None
    return text
