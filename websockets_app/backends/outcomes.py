"""What became of one post to ``@connections``: one :class:`PostOutcome` type, whichever way the post was made.

This is the one place where API Gateway's answers become the project's outcomes: botocore's errors (``close()``,
``info()``), HTTP answers and transport errors alike. A connection is sent to, gone (410, however it was said), or
failed with a reason that names AWS's error code and HTTP status, as ``SendResult.failed`` and
:class:`~websockets_app.exceptions.ManagementApiError` report it. A failure also says whether another attempt is
worth it: throttling (429) is AWS asking to slow down, a 5xx or a timeout may pass, anything else will not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = (
    "GONE",
    "SENT",
    "PostOutcome",
    "failed",
    "from_botocore",
    "from_http_answer",
    "from_transport_error",
)

# What another attempt costs a retry budget (AWS's "standard" retry mode: timeouts cost twice).
RETRY_COST = 5
TIMEOUT_RETRY_COST = 10


@dataclass(frozen=True, slots=True)
class PostOutcome:
    """One connection's outcome: ``status`` sent, gone or failed; a failure's ``reason``, and what retrying it
    costs (``retry_cost`` 0: not worth retrying). ``throttled`` marks AWS's 429: slow down, then try again."""

    status: Literal["sent", "gone", "failed"]
    reason: str = ""
    retry_cost: int = 0
    throttled: bool = False

    @property
    def retryable(self) -> bool:
        return self.retry_cost > 0


SENT = PostOutcome("sent")
GONE = PostOutcome("gone")


def failed(reason: str, retry_cost: int = 0, *, throttled: bool = False) -> PostOutcome:
    """A failure with its reason (AWS's error code and HTTP status, as botocore names them)."""
    return PostOutcome("failed", reason, retry_cost, throttled)


def from_botocore(error: Exception) -> PostOutcome:
    """``GONE`` for a 410, else a failure named as botocore names it."""
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError):
        return failed(f"{type(error).__name__}: {error}")
    code = error.response.get("Error", {}).get("Code") or "Error"
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "GoneException" or status == 410:
        return GONE
    return _failure(code, status)


def from_http_answer(status: int, error_type: str | None, body: bytes) -> PostOutcome:
    """A non-2xx answer: gone, or a failure named as botocore names it; 429 and 5xx may be retried."""
    if status == 410:
        return GONE
    code = _error_code(error_type, body)
    if code == "GoneException":
        return GONE
    return _failure(code, status)


def from_transport_error(error: BaseException, url: str) -> PostOutcome:
    """No answer: timeouts and broken connections may be retried; anything else is reported as it is."""
    from websockets_app.backends import http_pool

    if isinstance(error, http_pool.ConnectTimeout):
        return failed(f'ConnectTimeoutError: Connect timeout on endpoint URL: "{url}"', TIMEOUT_RETRY_COST)
    if isinstance(error, TimeoutError):
        return failed(f'ReadTimeoutError: Read timeout on endpoint URL: "{url}"', TIMEOUT_RETRY_COST)
    if isinstance(error, http_pool.TransportError | ConnectionError):
        return failed(f'EndpointConnectionError: Could not connect to the endpoint URL: "{url}" ({error})', RETRY_COST)
    return failed(f"{type(error).__name__}: {error}")


def _failure(code: str, status: int | None) -> PostOutcome:
    throttled = status == 429
    transient = throttled or (status is not None and status >= 500)
    return failed(f"{code} (HTTP {status})", RETRY_COST if transient else 0, throttled=throttled)


def _error_code(error_type: str | None, body: bytes) -> str:
    """AWS's error code, from ``x-amzn-ErrorType`` ("GoneException:http://...") or the JSON body's ``__type``."""
    if error_type:
        return error_type.split(":", 1)[0]
    try:
        data: Any = json.loads(body) if body else {}
    except ValueError:
        data = {}
    code = data.get("__type") or data.get("code") if isinstance(data, dict) else None
    if isinstance(code, str) and code:
        return code.rsplit("#", 1)[-1]
    return "Error"
