"""moto's API Gateway management API (``@connections``), patched where moto falls short of AWS.

moto keeps connection ids URL-encoded, accepts posts to any id and never answers 410, 413 or 429. The
``connections_api`` fixture answers as AWS does: only connections a test opened exist (anything else is 410 Gone, as
is a deleted one), every request is recorded with its URL, and a test can script the errors AWS would answer per
connection and attempt. Retry back-off is recorded instead of slept.

It sends through the default backend, libcurl's; a test parametrizes it indirectly (``BACKENDS``) to run through
each. boto3's calls (``close()``, ``info()``, and every post of the boto3 backend) reach moto in-process. libcurl's
posts go over real HTTPS: a local TLS server holds a certificate for ``*.execute-api.<region>.amazonaws.com`` from a
test CA, libcurl connects there for those names (``CURLOPT_CONNECT_TO``) and trusts that CA through
``AWS_CA_BUNDLE``, as botocore would, and every post's SigV4 signature is checked with botocore's own ``SigV4Auth``
(403 when it differs), so what the sender puts on the wire is what AWS would verify. The locmem backend's attempts
are answered by the same script.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import ssl
import sys
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import botocore.endpoint
import pytest
import trustme
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws
from moto.apigatewaymanagementapi.models import ApiGatewayManagementApiBackend, apigatewaymanagementapi_backends
from moto.apigatewaymanagementapi.responses import ApiGatewayManagementApiResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError

from tests.aws_events import REGION
from websockets_app.backends import boto3 as boto3_backend
from websockets_app.backends import loading, outcomes
from websockets_app.backends.base import Post
from websockets_app.backends.curl import CurlBackend
from websockets_app.backends.locmem import LocmemBackend
from websockets_app.backends.outcomes import PostOutcome
from websockets_app.conf import WebSocketsSettings, conf

# The shipped backends, for tests that run through each: ``@pytest.mark.parametrize("connections_api", BACKENDS,
# indirect=True)``.
BACKENDS = {
    "curl": "websockets_app.backends.CurlBackend",
    "boto3": "websockets_app.backends.Boto3Backend",
    "locmem": "websockets_app.backends.LocmemBackend",
}

ERROR_CODES = {
    403: "ForbiddenException",
    410: "GoneException",
    413: "PayloadTooLargeException",
    429: "LimitExceededException",
    500: "InternalServerErrorException",
}


class ScriptedError(JsonRESTError):
    """An error answered as AWS answers it: status code and ``__type`` in a JSON body."""

    def __init__(self, status: int) -> None:
        self.code = status
        super().__init__(ERROR_CODES[status], f"Scripted {status}.")


class ScriptedTimeout(Exception):
    """An attempt that gets no answer in time."""


@dataclass
class ManagementApi:
    requests: list[tuple[str, str]] = field(default_factory=list)
    scripted: dict[str, list[int]] = field(default_factory=dict)
    sleeps: list[float] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    access_keys: list[str] = field(default_factory=list)  # who signed each post, in order
    peers: list[tuple[str, int]] = field(default_factory=list)  # where each post over TLS came from
    handshakes: list[bool] = field(default_factory=list)  # each TLS connection: whether its handshake succeeded

    @property
    def backend(self) -> ApiGatewayManagementApiBackend:
        return apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID][REGION]

    def open(self, *connection_ids: str) -> None:
        """Connections API Gateway holds open: the only ones that accept messages."""
        for connection_id in connection_ids:
            self.backend.get_connection(connection_id)

    def fail(self, connection_id: str, *statuses: int | str) -> None:
        """Answer the next requests for ``connection_id`` with these statuses, one per attempt.

        ``"timeout"`` makes an attempt time out, as a read from an unanswering endpoint does.
        """
        self.scripted.setdefault(connection_id, []).extend(statuses)

    def received(self, connection_id: str) -> bytes | None:
        """Everything posted to an open connection, concatenated; None for one that is not open."""
        connection = self.backend.connections.get(connection_id)
        return None if connection is None else connection.data

    def answer(self, method: str, url: str, body: bytes) -> str:
        """What AWS answers ``method`` on ``url`` (the whole URL, decoded): a body, or ``ScriptedError``/-Timeout."""
        connection_id = url.split("/@connections/")[-1]
        self.requests.append((method, url))
        statuses = self.scripted.get(connection_id)
        if statuses:
            status = statuses.pop(0)
            if status == "timeout":
                raise ScriptedTimeout
            raise ScriptedError(status)
        if connection_id not in self.backend.connections:
            raise ScriptedError(410)
        if method == "DELETE":
            self.backend.delete_connection(connection_id=connection_id)
        elif method == "GET":
            return json.dumps(self.backend.get_connection(connection_id=connection_id).to_dict())
        else:
            self.backend.post_to_connection(data=body, connection_id=connection_id)
        return "{}"

    def answer_moto(self, response: ApiGatewayManagementApiResponse) -> str:
        """boto3's calls, inside moto."""
        try:
            return self.answer(response.method, unquote(response.uri), response.body)
        except ScriptedTimeout:
            raise ReadTimeoutError(endpoint_url=unquote(response.uri)) from None


_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)


def signature_problem(method: str, url: str, headers, body: bytes) -> str | None:
    """Why botocore's ``SigV4Auth`` does not reach the request's signature, or None when it does."""
    match = _AUTHORIZATION.match(headers.get("Authorization", ""))
    if match is None:
        return f"Malformed Authorization header: {headers.get('Authorization')!r}"
    signed = match["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return f"host and x-amz-date must be signed: {signed}"
    request = AWSRequest(method=method, url=url, data=body, headers={name: headers[name] for name in signed})
    request.context["timestamp"] = headers["x-amz-date"]
    credentials = Credentials(match["key"], os.environ["AWS_SECRET_ACCESS_KEY"], headers.get("X-Amz-Security-Token"))
    signer = SigV4Auth(credentials, match["service"], match["region"])
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if expected != match["signature"] or match["date"] != headers["x-amz-date"][:8]:
        return "The request signature we calculated does not match the signature you provided."
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # hundreds of posts connect at once

    def handle_error(self, request, client_address) -> None:
        """A handshake the client refused (a certificate it does not trust) is recorded, not printed."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _TlsEndpoint:
    """The management API over HTTPS on a local port, answering by ``ManagementApi.answer``."""

    def __init__(self, api: ManagementApi, ca: trustme.CA) -> None:
        self.api = api
        certificate = ca.issue_cert(f"*.execute-api.{REGION}.amazonaws.com")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate.configure_cert(context)
        self.server = _Server(("127.0.0.1", 0), _tls_handler(api))
        # The handshake happens in each request's thread, not in the one accepting connections.
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True, do_handshake_on_connect=False)
        self.thread = threading.Thread(target=self.server.serve_forever, name="management-api-tls", daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def stop(self) -> None:
        self.api.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def _tls_handler(api: ManagementApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            api.peers.append(self.client_address)
            url = f"https://{self.headers['Host']}{self.path}"
            credential = _AUTHORIZATION.match(self.headers.get("Authorization", ""))
            api.access_keys.append(credential["key"] if credential else "")
            problem = signature_problem("POST", url, self.headers, body)
            if problem:
                self._reply(403, "InvalidSignatureException", json.dumps({"message": problem}).encode())
                return
            try:
                answer = api.answer("POST", unquote(url), body)
            except ScriptedError as error:
                self._reply(error.code, error.error_type, error.get_body().encode())
            except ScriptedTimeout:
                # No answer until the sender has given up (or the test ends).
                api.stopping.wait(conf.SEND_READ_TIMEOUT + 0.2)
                self.close_connection = True
            else:
                self._reply(200, None, answer.encode())

        def _reply(self, status: int, error_type: str | None, body: bytes) -> None:
            self.send_response(status)
            if error_type:
                self.send_header("x-amzn-ErrorType", error_type)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Tests read ``ManagementApi.requests``, not an access log."""

        def setup(self) -> None:
            try:
                self.request.do_handshake()
            except OSError:
                api.handshakes.append(False)
                raise
            api.handshakes.append(True)
            super().setup()

        def handle(self) -> None:
            with contextlib.suppress(OSError):  # the sender dropped a connection it had timed out on
                super().handle()

    return Handler


@pytest.fixture(scope="session")
def _test_ca() -> trustme.CA:
    return trustme.CA()


class ScriptedLocmemBackend(LocmemBackend):
    """The locmem backend with each attempt answered by the test's script, as the other backends' are."""

    def __init__(self, api: ManagementApi) -> None:
        super().__init__()
        self.api = api

    def attempt(self, post: Post, payload: bytes) -> PostOutcome:
        try:
            self.api.answer("POST", unquote(post.url), payload)
        except ScriptedError as error:
            return outcomes.from_http_answer(error.code, error.error_type, error.get_body().encode())
        except ScriptedTimeout:
            return outcomes.from_curl_error(outcomes.CURLE_OPERATION_TIMEDOUT, "timed out", post.url, connected=True)
        return outcomes.SENT


@pytest.fixture
def connections_api(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, _test_ca: trustme.CA, tmp_path
) -> Iterator[ManagementApi]:
    backend_name = getattr(request, "param", "curl")
    api = ManagementApi()

    def answer(response: ApiGatewayManagementApiResponse) -> str:
        return api.answer_moto(response)

    for name in ("post_to_connection", "get_connection", "delete_connection"):
        monkeypatch.setattr(ApiGatewayManagementApiResponse, name, answer)
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=api.sleeps.append))
    # Clients keep botocore's retry quota: each test starts with fresh ones, as a new Lambda container does.
    monkeypatch.setattr(boto3_backend, "_clients", {})
    # Timeouts scripted by a test wait this long, not the production 5 s; connecting may take long on a busy machine
    # (hundreds of TLS handshakes answered by Python threads), and a slow connect is not what the tests script.
    monkeypatch.setattr(WebSocketsSettings.SEND_READ_TIMEOUT, "default", 2)
    monkeypatch.setattr(WebSocketsSettings.SEND_CONNECT_TIMEOUT, "default", 30)
    endpoint = _TlsEndpoint(api, _test_ca)
    ca_bundle = tmp_path / "test-ca.pem"
    _test_ca.cert_pem.write_to_path(str(ca_bundle))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(ca_bundle))

    def record_backoff(seconds: float) -> float:
        api.sleeps.append(seconds)
        return 0

    # A fresh backend (and retry budget) per test, as a new Lambda container has.
    backend = {
        # Every host name is the local TLS endpoint; certificates and Host are the real names'.
        "curl": lambda: CurlBackend(connect_to=[f"::127.0.0.1:{endpoint.port}"], backoff_wait=record_backoff),
        "boto3": boto3_backend.Boto3Backend,
        "locmem": lambda: ScriptedLocmemBackend(api),
    }[backend_name]()
    # The test's backend whatever SEND_BACKEND says (a test may override WEBSOCKETS whole).
    monkeypatch.setattr(loading, "_instances", dict.fromkeys(BACKENDS.values(), backend))
    try:
        with mock_aws():
            yield api
    finally:
        endpoint.stop()
        backend.close()
