"""The Zappa asynchronous task that sends one batch of a broadcast too large for a single Lambda invocation.

Kept apart from ``messaging`` because importing ``zappa.asynchronous`` builds boto3 clients: only a large broadcast
pays for it. On Lambda, calling :func:`send_batch` invokes this Lambda asynchronously; elsewhere it runs inline.
"""

from __future__ import annotations

import base64
from typing import Any

from zappa.asynchronous import task

from websockets_app.messaging import deliver_to_pks

__all__ = ("send_batch",)


@task
def send_batch(session_pks: list[int], payload_base64: str) -> dict[str, Any]:
    """Send the message to these rows; returns the summary as JSON data (what Lambda can return)."""
    return deliver_to_pks(session_pks, base64.b64decode(payload_base64)).as_dict()
