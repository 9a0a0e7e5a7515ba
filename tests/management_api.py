"""moto's API Gateway management API (``@connections``), patched where moto falls short of AWS.

moto keeps connection ids URL-encoded, accepts posts to any id and never answers 410, 413 or 429. The
``management_api`` fixture answers as AWS does: only connections a test opened exist (anything else is 410 Gone, as
is a deleted one), every request is recorded with its URL, and a test can script the errors AWS would answer per
connection and attempt. botocore's retry back-off is recorded instead of slept.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote

import botocore.endpoint
import pytest
from moto import mock_aws
from moto.apigatewaymanagementapi.models import ApiGatewayManagementApiBackend, apigatewaymanagementapi_backends
from moto.apigatewaymanagementapi.responses import ApiGatewayManagementApiResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError

from tests.aws_events import REGION

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


@dataclass
class ManagementApi:
    requests: list[tuple[str, str]] = field(default_factory=list)
    scripted: dict[str, list[int]] = field(default_factory=dict)
    sleeps: list[float] = field(default_factory=list)

    @property
    def backend(self) -> ApiGatewayManagementApiBackend:
        return apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID][REGION]

    def open(self, *connection_ids: str) -> None:
        """Connections API Gateway holds open: the only ones that accept messages."""
        for connection_id in connection_ids:
            self.backend.get_connection(connection_id)

    def fail(self, connection_id: str, *statuses: int) -> None:
        """Answer the next requests for ``connection_id`` with these statuses, one per attempt."""
        self.scripted.setdefault(connection_id, []).extend(statuses)

    def received(self, connection_id: str) -> bytes | None:
        """Everything posted to an open connection, concatenated; None for one that is not open."""
        connection = self.backend.connections.get(connection_id)
        return None if connection is None else connection.data

    def answer(self, response: ApiGatewayManagementApiResponse) -> str:
        connection_id = unquote(response.path.split("/@connections/")[-1])
        self.requests.append((response.method, unquote(response.uri)))
        statuses = self.scripted.get(connection_id)
        if statuses:
            raise ScriptedError(statuses.pop(0))
        if connection_id not in self.backend.connections:
            raise ScriptedError(410)
        if response.method == "DELETE":
            self.backend.delete_connection(connection_id=connection_id)
        elif response.method == "GET":
            return json.dumps(self.backend.get_connection(connection_id=connection_id).to_dict())
        else:
            self.backend.post_to_connection(data=response.body, connection_id=connection_id)
        return "{}"


@pytest.fixture
def management_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ManagementApi]:
    api = ManagementApi()

    def answer(response: ApiGatewayManagementApiResponse) -> str:
        return api.answer(response)

    for name in ("post_to_connection", "get_connection", "delete_connection"):
        monkeypatch.setattr(ApiGatewayManagementApiResponse, name, answer)
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=api.sleeps.append))
    with mock_aws():
        yield api
