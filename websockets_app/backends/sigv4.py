"""AWS Signature Version 4 for the sender's posts, cheap per request.

botocore's ``SigV4Auth`` rebuilds the signing key (four HMACs) and a header map for every request, a large share of a
message's CPU on a 0.3-vCPU Lambda (docs/topics/performance.md has the figures). The key depends only on the secret, the
UTC date, the region and the service, so it is derived once per day and credential here. What a batch's requests share
(Host, body, time stamp) is put together once a second; what is left per request is one SHA-256 and one HMAC. The
tests prove the signature equal to botocore's for the same request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote

__all__ = ("Credentials", "RequestSigner", "sign_request", "signing_key")

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "execute-api"
# A path as the sender sends it (``/stage/@connections/<encoded id>``): SigV4 encodes only "%" and "@" in it again.
_SENDER_PATH = re.compile(r"/[A-Za-z0-9/_.~%@-]*")


class Credentials(NamedTuple):
    """One consistent set of AWS credentials (botocore's frozen credentials have the same fields)."""

    access_key: str
    secret_key: str
    token: str | None


@lru_cache(maxsize=64)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The day's SigV4 signing key, derived once per secret, date, region and service (the emulator's check too)."""
    key = hmac.digest(f"AWS4{secret_key}".encode(), date.encode(), "sha256")
    for part in (region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


class RequestSigner:
    """Signs requests that differ only in their path and their second: one batch's posts, which share credentials,
    region, Host and body.

    What they share is put together once, and again when the second changes (the time stamp is in the signature);
    per request what is left is the path, one SHA-256 of the canonical request, and one HMAC from a copy of the day's
    keyed HMAC. Only ``host``, ``x-amz-date`` and the token are signed, so nothing else the HTTP client adds can break
    it.
    """

    def __init__(
        self,
        *,
        host: str,
        payload_sha256: str,
        credentials: Credentials,
        region: str,
        method: str = "POST",
        service: str = SERVICE,
    ) -> None:
        self._host = host
        self._payload_sha256 = payload_sha256
        self._credentials = credentials
        self._region = region
        self._method = method
        self._service = service
        self._second = -1
        self._lines: list[str] = []
        self._canonical_tail = self._string_to_sign_head = self._authorization_head = ""
        self._keyed: hmac.HMAC | None = None

    def header_lines(self, path: str, now: float) -> list[str]:
        """The headers that sign a request for ``path`` at ``now`` (seconds since the epoch), as ``Name: value``
        lines: ``Host``, ``X-Amz-Date``, ``X-Amz-Security-Token`` when there is a token, ``Authorization``.

        ``path`` is the path as sent, already percent-encoded.
        """
        second = int(now)
        if second != self._second:
            self._prepare(second)
        canonical_request = f"{self._method}\n{_canonical_path(path)}{self._canonical_tail}"
        signature = self._keyed.copy()  # type: ignore[union-attr]  # set by _prepare
        signature.update(
            f"{self._string_to_sign_head}{hashlib.sha256(canonical_request.encode()).hexdigest()}".encode()
        )
        return [*self._lines, f"{self._authorization_head}{signature.hexdigest()}"]

    def _prepare(self, second: int) -> None:
        """Everything of the signature but the path's part, for one second."""
        timestamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
        date = timestamp[:8]
        scope = f"{date}/{self._region}/{self._service}/aws4_request"
        credentials, token = self._credentials, self._credentials.token
        self._lines = [f"Host: {self._host}", f"X-Amz-Date: {timestamp}"]
        if token:
            signed_headers = "host;x-amz-date;x-amz-security-token"
            canonical_headers = (
                f"host:{self._host}\nx-amz-date:{timestamp}\nx-amz-security-token:{' '.join(token.split())}\n"
            )
            self._lines.append(f"X-Amz-Security-Token: {token}")
        else:
            signed_headers = "host;x-amz-date"
            canonical_headers = f"host:{self._host}\nx-amz-date:{timestamp}\n"
        self._canonical_tail = f"\n\n{canonical_headers}\n{signed_headers}\n{self._payload_sha256}"
        self._string_to_sign_head = f"{ALGORITHM}\n{timestamp}\n{scope}\n"
        self._authorization_head = (
            f"Authorization: {ALGORITHM} Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature="
        )
        self._keyed = _keyed_hmac(signing_key(credentials.secret_key, date, self._region, self._service))
        self._second = second


def sign_request(
    *,
    method: str,
    host: str,
    path: str,
    payload_sha256: str,
    credentials: Credentials,
    region: str,
    now: datetime,
    service: str = SERVICE,
) -> dict[str, str]:
    """The headers that sign one request (``X-Amz-Date``, ``Authorization``, the session token if any), ``now`` in
    UTC: :class:`RequestSigner` for a single request."""
    signer = RequestSigner(
        host=host, payload_sha256=payload_sha256, credentials=credentials, region=region, method=method, service=service
    )
    lines = signer.header_lines(path, now.timestamp())
    return dict(line.split(": ", 1) for line in lines[1:])


@lru_cache(maxsize=64)
def _keyed_hmac(key: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 already keyed with the day's signing key: each request signs with a copy of it."""
    return hmac.new(key, digestmod="sha256")


def _canonical_path(path: str) -> str:
    """The path as SigV4 canonicalises it for every service but S3: the encoded path, encoded once more."""
    if _SENDER_PATH.fullmatch(path):
        return path.replace("%", "%25").replace("@", "%40")
    return quote(path or "/", safe="/~")
