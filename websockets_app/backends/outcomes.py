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
    "HELD_BACK",
    "SENT",
    "PostOutcome",
    "failed",
    "from_botocore",
    "from_curl_error",
    "from_http_answer",
)

# What another attempt costs a retry budget, as botocore's "standard" retry mode charges it: a throttled request
# less than any other failure (a 5xx, a timeout, a broken connection).
RETRY_COST = 14
THROTTLING_RETRY_COST = 5

# libcurl's error numbers (curl.h; stable across its versions) that the outcome of a post depends on.
CURLE_OPERATION_TIMEDOUT = 28
CURL_CONNECTION_ERRORS = frozenset(
    {
        5,  # COULDNT_RESOLVE_PROXY
        6,  # COULDNT_RESOLVE_HOST
        7,  # COULDNT_CONNECT (refused, or a proxy that would not tunnel)
        16,  # HTTP2
        18,  # PARTIAL_FILE: the answer was cut short
        52,  # GOT_NOTHING
        55,  # SEND_ERROR
        56,  # RECV_ERROR (a reset connection, a CONNECT the proxy refused)
        97,  # PROXY: the proxy's handshake failed
    }
)
CURL_TLS_ERRORS = frozenset(
    {
        35,  # SSL_CONNECT_ERROR: the handshake failed
        53,  # SSL_ENGINE_NOTFOUND
        54,  # SSL_ENGINE_SETFAILED
        58,  # SSL_CERTPROBLEM
        59,  # SSL_CIPHER
        60,  # PEER_FAILED_VERIFICATION: the certificate or host name did not verify
        64,  # USE_SSL_FAILED
        66,  # SSL_ENGINE_INITFAILED
        77,  # SSL_CACERT_BADFILE: the CA bundle cannot be read
        80,  # SSL_SHUTDOWN_FAILED
        82,  # SSL_CRL_BADFILE
        83,  # SSL_ISSUER_ERROR
        90,  # SSL_PINNEDPUBKEYNOTMATCH
        91,  # SSL_INVALIDCERTSTATUS
        98,  # SSL_CLIENTCERT
    }
)
CURL_TOO_LARGE_ERRORS = frozenset({63, 100})  # FILESIZE_EXCEEDED (the body), TOO_LARGE (the headers)


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


# A post the send rate held back until its deadline passed: not sent, and to be sent later, as a throttled one is.
HELD_BACK = failed("RateLimited: held back by the send rate until the deadline", THROTTLING_RETRY_COST, throttled=True)


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


def from_curl_error(code: int, message: str, url: str, *, connected: bool) -> PostOutcome:
    """No answer, as libcurl says why (its error number and message); ``connected``: the connection was made.

    Timeouts and broken connections may be retried. A certificate or host name that does not verify, or a TLS
    handshake that fails, will fail the same way again: reported at once, never retried. So is an answer larger than
    the sender reads, which the endpoint did send.
    """
    if code == CURLE_OPERATION_TIMEDOUT and not connected:
        return failed(f'ConnectTimeoutError: Connect timeout on endpoint URL: "{url}"', RETRY_COST)
    if code == CURLE_OPERATION_TIMEDOUT:
        return failed(f'ReadTimeoutError: Read timeout on endpoint URL: "{url}"', RETRY_COST)
    if code in CURL_TLS_ERRORS:
        return failed(f'SSLError: SSL validation failed for "{url}" ({message})')
    if code in CURL_TOO_LARGE_ERRORS:
        return failed(f'ResponseTooLarge: The answer from "{url}" is larger than the sender reads ({message})')
    if code in CURL_CONNECTION_ERRORS:
        return failed(
            f'EndpointConnectionError: Could not connect to the endpoint URL: "{url}" ({message})', RETRY_COST
        )
    return failed(f"CurlError {code}: {message}")


def _failure(code: str, status: int | None) -> PostOutcome:
    if status == 429:
        return failed(f"{code} (HTTP {status})", THROTTLING_RETRY_COST, throttled=True)
    transient = status is not None and status >= 500
    return failed(f"{code} (HTTP {status})", RETRY_COST if transient else 0)


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
