"""SigV4 on ``@connections``: the emulator checks the caller's signature as API Gateway does.

The management API accepts only requests signed with Signature Version 4 for the ``execute-api`` service by
credentials allowed to call it ("Use @connections commands in your backend service": IAM authorization with
``execute-api:ManageConnections``). An unsigned request, a bad signature, a stale ``X-Amz-Date`` (more than 15
minutes off, SigV4's rule) or unknown credentials are refused with 403 ``ForbiddenException``, the error the
management API's model declares, and a message saying which it was.

The signature is recomputed with botocore's own SigV4 signer over the headers the caller says it signed, with the
credentials the emulator's process has (botocore's provider chain: the same environment as the app that sends),
so a home-made signer (the app's fast sender) is held to exactly what AWS checks.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.auth import UNSIGNED_PAYLOAD, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import ReadOnlyCredentials

from websockets_app.backends.sigv4 import SERVICE, signing_key

__all__ = ("SignatureChecker", "SignedRequest")

MAX_CLOCK_SKEW = timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)"
    r"/aws4_request,\s*SignedHeaders=(?P<headers>[a-z0-9\-;]+),\s*Signature=(?P<signature>[0-9a-f]{64})"
)
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_TIMESTAMP_FORM = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
CredentialsSource = Callable[[], ReadOnlyCredentials | None]


@dataclass(frozen=True)
class SignedRequest:
    """What the signature covers: method, the path as sent, query string, headers (as received) and body."""

    method: str
    raw_path: str
    query_string: str
    headers: list[tuple[str, str]]
    body: bytes


class _Verifier(SigV4Auth):  # type: ignore[misc]  # botocore ships no types: to mypy its signer is Any
    """botocore's signer, told which headers the caller signed instead of choosing them itself, with the day's
    signing key derived once per secret, date and region (as a sender caches it) rather than per request."""

    def __init__(self, credentials: ReadOnlyCredentials, region: str, signed_headers: list[str]) -> None:
        super().__init__(credentials, SERVICE, region)
        self._signed = signed_headers

    def headers_to_sign(self, request: AWSRequest) -> Any:
        headers = super().headers_to_sign(request)
        for name in set(headers) - set(self._signed):
            del headers[name]
        return headers

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        day = request.context["timestamp"][0:8]
        key = signing_key(self.credentials.secret_key, day, self._region_name, SERVICE)
        return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


class SignatureChecker:
    """Refuses what API Gateway would refuse; ``credentials`` defaults to botocore's provider chain."""

    def __init__(self, credentials: CredentialsSource | None = None) -> None:
        self._credentials = credentials or _ProcessCredentials()

    def problem(self, request: SignedRequest, *, now: datetime | None = None) -> str | None:
        """Why API Gateway would refuse ``request``'s signature, or ``None`` when it is valid."""
        headers = {name.lower(): value for name, value in request.headers}
        authorization = headers.get("authorization")
        if not authorization:
            return "Missing Authentication Token"
        parts = _AUTHORIZATION.fullmatch(authorization.strip())
        if parts is None:
            return "Authorization header requires a AWS4-HMAC-SHA256 Credential, SignedHeaders and Signature."
        if parts["service"] != SERVICE:
            return f"Credential should be scoped to correct service: '{SERVICE}'."
        signed = parts["headers"].split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            return "'Host' and 'X-Amz-Date' must be signed headers."
        timestamp = _parse_timestamp(headers.get("x-amz-date", ""))
        if timestamp is None:
            return "X-Amz-Date is missing or not in the form yyyyMMddTHHmmssZ."
        if abs((now or datetime.now(UTC)) - timestamp) > MAX_CLOCK_SKEW:
            return "Signature expired: X-Amz-Date is more than 15 minutes away from the current time."
        if parts["date"] != timestamp.strftime("%Y%m%d"):
            return "Credential should be scoped to a valid date: the one of X-Amz-Date."
        credentials = self._credentials()
        if credentials is None or not hmac.compare_digest(parts["key"], credentials.access_key):
            return "The security token included in the request is invalid."
        if credentials.token and headers.get("x-amz-security-token") != credentials.token:
            return "The security token included in the request is invalid."
        body_hash = hashlib.sha256(request.body).hexdigest()
        content_hash = headers.get("x-amz-content-sha256")
        if content_hash not in (None, UNSIGNED_PAYLOAD, body_hash):
            return "The provided 'x-amz-content-sha256' header does not match what was computed."
        expected = _signature(request, credentials, parts["region"], signed, timestamp, content_hash or body_hash)
        if not hmac.compare_digest(expected, parts["signature"]):
            return (
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method."
            )
        return None


def _parse_timestamp(value: str) -> datetime | None:
    match = _TIMESTAMP_FORM.fullmatch(value)
    if match is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:  # a month 13, a second 61
        return None


def _signature(
    request: SignedRequest,
    credentials: ReadOnlyCredentials,
    region: str,
    signed: list[str],
    timestamp: datetime,
    payload_hash: str,
) -> str:
    query = f"?{request.query_string}" if request.query_string else ""
    host = next((value for name, value in request.headers if name.lower() == "host"), "localhost")
    aws_request = AWSRequest(method=request.method, url=f"http://{host}{request.raw_path}{query}", data=request.body)
    aws_request.headers = HTTPHeaders()
    for name, value in request.headers:
        if name.lower() in signed:
            aws_request.headers[name] = value  # appended: a repeated header keeps every value, as signed
    if "X-Amz-Content-SHA256" not in aws_request.headers:
        # The payload's hash as the canonical request uses it (botocore reads it from this header when present),
        # computed once here rather than again by botocore.
        aws_request.headers["X-Amz-Content-SHA256"] = payload_hash
    aws_request.context["timestamp"] = timestamp.strftime(_TIMESTAMP)
    verifier = _Verifier(credentials, region, signed)
    canonical = verifier.canonical_request(aws_request)
    return verifier.signature(verifier.string_to_sign(aws_request, canonical), aws_request)


class _ProcessCredentials:
    """The credentials botocore finds for this process, looked up on first use (runserver sets placeholders
    after the emulator is built) and frozen at each call, since refreshable ones change."""

    def __init__(self) -> None:
        self._session: Any = None

    def __call__(self) -> ReadOnlyCredentials | None:
        import botocore.session

        if self._session is None:
            self._session = botocore.session.get_session()
        credentials = self._session.get_credentials()
        return None if credentials is None else credentials.get_frozen_credentials()
