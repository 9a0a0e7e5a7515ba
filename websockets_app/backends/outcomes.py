"""The one place where answers of the management API become this project's outcomes.

Both ways of reaching ``@connections`` end here: botocore's errors (``close()``, ``info()``) and the sender's HTTP
answers and transport errors. A connection is either gone (410, however it was said) or failed with a reason that
names AWS's error code and status, as ``SendResult.failed`` and :class:`ManagementApiError` report it; the sender
also learns here whether an answer is worth another attempt.
"""

from __future__ import annotations

import json
from typing import Any, Final, NamedTuple

__all__ = ("GONE", "Failure", "from_botocore", "from_http_answer", "from_transport_error", "is_stale_connection")


class _Gone:
    def __repr__(self) -> str:
        return "GONE"


GONE: Final = _Gone()

# What another attempt costs the sender's retry budget (AWS's "standard" retry mode: timeouts cost twice).
RETRY_COST = 5
TIMEOUT_RETRY_COST = 10


class Failure(NamedTuple):
    """Why a post failed, and what retrying it costs (0: not worth retrying)."""

    reason: str
    retry_cost: int = 0


def from_botocore(error: Exception) -> _Gone | str:
    """``GONE`` for a 410, else the reason botocore's error gives (code and HTTP status)."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code") or "Error"
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "GoneException" or status == 410:
            return GONE
        return f"{code} (HTTP {status})"
    return f"{type(error).__name__}: {error}"


def from_http_answer(status: int, error_type: str | None, body: bytes) -> _Gone | Failure:
    """A non-2xx answer: gone, or a failure named as botocore names it; 429 and 5xx may be retried."""
    if status == 410:
        return GONE
    code = _error_code(error_type, body)
    if code == "GoneException":
        return GONE
    retry_cost = RETRY_COST if status == 429 or status >= 500 else 0
    return Failure(f"{code} (HTTP {status})", retry_cost)


def from_transport_error(error: BaseException, url: str) -> Failure:
    """No answer: timeouts and broken connections may be retried; anything else is reported as it is."""
    from websockets_app.backends import http_pool

    if isinstance(error, http_pool.ConnectTimeout):
        return Failure(f'ConnectTimeoutError: Connect timeout on endpoint URL: "{url}"', TIMEOUT_RETRY_COST)
    if isinstance(error, TimeoutError):
        return Failure(f'ReadTimeoutError: Read timeout on endpoint URL: "{url}"', TIMEOUT_RETRY_COST)
    if isinstance(error, http_pool.TransportError | ConnectionError):
        return Failure(f'EndpointConnectionError: Could not connect to the endpoint URL: "{url}" ({error})', RETRY_COST)
    return Failure(f"{type(error).__name__}: {error}")


def is_stale_connection(error: BaseException) -> bool:
    """A kept-alive connection the endpoint had closed (while the container was frozen, say): nothing was sent."""
    from websockets_app.backends import http_pool

    return isinstance(error, http_pool.Disconnected) and error.reused


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
