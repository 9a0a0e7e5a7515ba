"""The emulator's ASGI application: HTTP, WebSocket upgrades and ``@connections``, all on one port.

Every request becomes the event API Gateway would send and goes to the project's ``lambda_handler`` in a worker
thread, so Django runs exactly as on Lambda. As on AWS, each message is its own invocation and a connection's
messages run concurrently, with no ordering guarantee, unless ``Parity.ordered_messages`` asks for one at a time.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any
from urllib.parse import unquote

from websockets_app.emulator import asgi_events
from websockets_app.emulator.asgi_events import UNSUPPORTED_DATA, UNSUPPORTED_DATA_REASON, ApiIdentity
from websockets_app.emulator.browser_guard import browser_refusal
from websockets_app.emulator.connection_rate import ConnectionRate
from websockets_app.emulator.connections_api import ConnectionsApiAnswer, answer_connections_request, error_response
from websockets_app.emulator.integration import INTERNAL_ERROR, Integration, IntegrationAnswer
from websockets_app.emulator.limits import AWS_LIMITS, Limits
from websockets_app.emulator.parity import AWS_PARITY, Parity
from websockets_app.emulator.redaction import masked_query
from websockets_app.emulator.registry import ConnectionRegistry, LiveConnection
from websockets_app.emulator.route_responses import route_response
from websockets_app.emulator.route_selection import DEFAULT_EXPRESSION, select_route
from websockets_app.emulator.signatures import SignatureChecker, SignedRequest
from websockets_app.emulator.throttling import Throttle
from websockets_app.events.translation import LambdaFunction

__all__ = ("EmulatorApp",)

logger = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

# API Gateway closes idle and too-old connections with "going away".
GOING_AWAY = 1001
# Messages of one connection waiting for the Lambda; past this, reading that socket pauses until one is handled.
MAX_QUEUED_MESSAGES = 1000


class EmulatorApp:
    """ASGI application standing in for API Gateway in front of ``lambda_handler``."""

    def __init__(
        self,
        lambda_handler: LambdaFunction,
        *,
        api: ApiIdentity,
        route_selection_expression: str = DEFAULT_EXPRESSION,
        routes: Collection[str] = (),
        one_way_routes: Collection[str] = (),
        limits: Limits = AWS_LIMITS,
        parity: Parity = AWS_PARITY,
        workers: int = 32,
    ) -> None:
        self.lambda_handler = lambda_handler
        self.api = api
        self.route_selection_expression = route_selection_expression
        self.routes = frozenset(routes)
        # Message routes are two-way (their answer goes back to the sender) unless provisioned one-way.
        self.one_way_routes = frozenset(one_way_routes)
        self.limits = limits
        self.parity = parity
        self.registry = ConnectionRegistry()
        self.signatures = SignatureChecker() if parity.require_signature else None
        self.throttle = Throttle(parity.throttle_share)
        self.connection_rate = ConnectionRate(limits.connections_per_second)
        self.integration = Integration(
            lambda_handler, workers=workers, timeout_seconds=limits.integration_timeout_seconds
        )
        self._connections_api_path = re.compile(rf"(?:/{re.escape(api.stage)})?/@connections/(?P<id>[^/]+)")

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            match = self._connections_api_path.fullmatch(scope["raw_path"].decode("latin-1"))
            if match:
                await self._connections_api(scope, receive, send, unquote(match["id"]))
            else:
                await self._http(scope, receive, send)

    def close(self) -> None:
        self.integration.close()

    # Plain HTTP: an API Gateway REST proxy event.

    async def _http(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        body = await _read_body(receive, self.limits.http_body_bytes)
        if body is None:
            status, headers, payload = _json_response(413, {"message": "Request too long"})
        else:
            answer = await self._invoke(asgi_events.request_event(self.api, scope=scope, body=body))
            status, headers, payload = _json_response(answer.status, {"message": answer.error})
            if answer.response is not None:
                try:
                    status, headers, payload = _http_response(answer.response)
                except UnicodeEncodeError:  # a header API Gateway cannot send either
                    logger.error("lambda_handler answered %s with a header that is not Latin-1", scope["path"])
                    status, headers, payload = _json_response(502, {"message": INTERNAL_ERROR})
        await _respond(send, status, headers, payload)
        self._log_http(scope, status, len(payload))

    # The @connections API.

    async def _connections_api(self, scope: dict[str, Any], receive: Receive, send: Send, connection_id: str) -> None:
        # Read no further than a message can be: a longer body is refused (413), never cut down to nothing.
        body = await _read_body(receive, self.limits.message_bytes)
        refused_because = browser_refusal(scope, self.api.domain_name)
        if refused_because is not None:
            result = ConnectionsApiAnswer(403, b'{"message": "Forbidden"}', "ForbiddenException")
        else:
            result = self._connections_api_gate(scope, body) or await answer_connections_request(
                self.registry, method=scope["method"], connection_id=connection_id, body=body, limits=self.limits
            )
        result_status, error_type, content = result.status, result.error_type, result.body
        headers = [(b"content-type", b"application/json")]
        if error_type:
            headers.append((b"x-amzn-errortype", error_type.encode()))
        await _respond(send, result_status, headers, content)
        refusal_note = f" (refused: {refused_because})" if refused_because else ""
        self._log(f'"{scope["method"]} {scope["path"]}" {result_status}{refusal_note}')

    def _connections_api_gate(self, scope: dict[str, Any], body: bytes | None) -> ConnectionsApiAnswer | None:
        """What AWS refuses before a call reaches a connection: a bad signature, then throttling.

        A body over the limit is left to the management API's own rules (``connections_api.refusal``), which refuse
        it with 413 whatever the method, before anything is done: unread, it could not be checked.
        """
        if body is not None and self.signatures is not None:
            problem = self.signatures.problem(
                SignedRequest(
                    method=scope["method"],
                    raw_path=scope["raw_path"].decode("latin-1"),
                    query_string=scope["query_string"].decode("latin-1"),
                    headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]],
                    body=body,
                )
            )
            if problem:
                return error_response(403, "ForbiddenException", problem)
        if self.throttle.next_call_throttled():
            return error_response(429, "LimitExceededException", "Rate exceeded")
        return None

    # WebSockets: $connect, then one MESSAGE event per message, then $disconnect.

    async def _websocket(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        await receive()  # websocket.connect
        if not self.connection_rate.allow():
            # Over the account's new-connection rate: refused before any $connect reaches the Lambda.
            self._log(
                f'WebSocket "{scope["path"]}" 429 (over {self.limits.connections_per_second:g} new connections/s)'
            )
            await send({"type": "websocket.http.response.start", "status": 429, "headers": []})
            await send({"type": "websocket.http.response.body", "body": b'{"message": "Too Many Requests"}'})
            return
        connection_id = asgi_events.aws_id()
        connected_at = time.time()
        event = asgi_events.handshake_event(
            self.api, connection_id=connection_id, connected_at=int(connected_at * 1000), scope=scope
        )
        answer = await self._invoke(event)
        response, status = answer.response, answer.status
        query = masked_query(scope["query_string"])
        self._log(f'WebSocket $connect {connection_id} "{scope["path"]}{query}" {status}')
        if response is None or not 200 <= status < 300:
            # A refused $connect answers the upgrade with the integration's status, as API Gateway does.
            text = json.dumps({"message": answer.error}) if response is None else str(response.get("body") or "")
            body = text.encode()
            await send({"type": "websocket.http.response.start", "status": status, "headers": []})
            await send({"type": "websocket.http.response.body", "body": body})
            return
        subprotocol = {key.lower(): value for key, value in (response.get("headers") or {}).items()}.get(
            "sec-websocket-protocol"
        )
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        connection = LiveConnection(
            connection_id=connection_id,
            source_ip=event["requestContext"]["identity"]["sourceIp"],
            user_agent=asgi_events.user_agent_of(event),
            connected_at=connected_at,
            send=send,
        )
        self.registry.add(connection)
        try:
            code, reason = await self._serve_messages(connection, receive)
        finally:
            self.registry.remove(connection_id)
        _, answer = await self._invoke_for(connection, asgi_events.close_event, status_code=code, reason=reason)
        status = answer.status
        self._log(f'WebSocket $disconnect {connection_id} {status} ({code} "{reason}")')

    async def _serve_messages(self, connection: LiveConnection, receive: Receive) -> tuple[int, str]:
        """Pass messages on until the connection closes; returns the close code and reason.

        Reading and handling are separate tasks: uvicorn stops reading a socket while a message waits to be
        received, so a connection whose events queue up behind a slow Lambda would stop answering the client's
        pings, which API Gateway answers at its edge whatever the integration does.
        """
        backlog: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue(maxsize=MAX_QUEUED_MESSAGES)
        handler = asyncio.create_task(self._handle_messages(connection, backlog))
        try:
            closed = await self._read_messages(connection, receive, backlog)
            await backlog.put(None)
            await handler
        finally:
            handler.cancel()
        return closed

    async def _read_messages(
        self, connection: LiveConnection, receive: Receive, backlog: asyncio.Queue[dict[str, Any] | None]
    ) -> tuple[int, str]:
        loop = asyncio.get_running_loop()
        closes_at: float | None = loop.time() + self.limits.lifetime_seconds
        idle_since = loop.time()
        while True:
            deadline = None if closes_at is None else min(closes_at, idle_since + self.limits.idle_seconds)
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                # Idle for too long, or open for too long: close, then wait for the close to come back.
                closes_at = None
                self.registry.remove(connection.connection_id)
                try:
                    await connection.close(GOING_AWAY, "Going away")
                except OSError:
                    return GOING_AWAY, "Going away"
                continue
            if message["type"] == "websocket.disconnect":
                return message.get("code", 1005), message.get("reason") or ""
            if message.get("text") is None and not self.parity.binary_frames:
                # AWS rejects binary frames: close with 1003, then wait for the close to come back.
                closes_at = None
                self.registry.remove(connection.connection_id)
                self._log(f"WebSocket binary frame on {connection.connection_id}: closed with {UNSUPPORTED_DATA}")
                try:
                    await connection.close(UNSUPPORTED_DATA, UNSUPPORTED_DATA_REASON)
                except OSError:
                    return UNSUPPORTED_DATA, UNSUPPORTED_DATA_REASON
                continue
            idle_since = loop.time()
            connection.last_active_at = time.time()
            await backlog.put(message)

    async def _handle_messages(self, connection: LiveConnection, backlog: asyncio.Queue[dict[str, Any] | None]) -> None:
        """A connection's messages: each its own invocation, as many at once as come (AWS), or one at a time."""
        if self.parity.ordered_messages:
            while (message := await backlog.get()) is not None:
                await self._handle_message(connection, message)
            return
        in_flight = asyncio.Semaphore(MAX_QUEUED_MESSAGES)

        async def handle(message: dict[str, Any]) -> None:
            try:
                await self._handle_message(connection, message)
            finally:
                in_flight.release()

        async with asyncio.TaskGroup() as group:
            while (message := await backlog.get()) is not None:
                await in_flight.acquire()
                group.create_task(handle(message))

    async def _handle_message(self, connection: LiveConnection, message: dict[str, Any]) -> None:
        body: str | bytes = message["text"] if message.get("text") is not None else message["bytes"]
        route_key = select_route(self.route_selection_expression, body, self.routes)
        event, answer = await self._invoke_for(connection, asgi_events.frame_event, route_key=route_key, body=body)
        self._log(f"WebSocket {route_key} {connection.connection_id} {answer.status}")
        await self._answer_sender(connection, event, route_key, answer)

    async def _answer_sender(
        self, connection: LiveConnection, event: dict[str, Any], route_key: str, answer: IntegrationAnswer
    ) -> None:
        """Send the sender what API Gateway sends it for the integration's answer, if anything."""
        if answer.response is None:
            # What API Gateway tells the client when the integration fails or times out, on one-way routes too.
            error = {
                "message": answer.error,
                "connectionId": connection.connection_id,
                "requestId": event["requestContext"]["requestId"],
            }
            frame: str | None = json.dumps(error)
        else:
            frame = route_response(answer.response, two_way=route_key not in self.one_way_routes, route_key=route_key)
        if frame is not None:
            with contextlib.suppress(OSError):  # the client left meanwhile; its $disconnect follows
                await connection.post(frame.encode())

    # Invoking the Lambda and logging.

    async def _invoke_for(
        self, connection: LiveConnection, build: Callable[..., dict[str, Any]], **fields: Any
    ) -> tuple[dict[str, Any], IntegrationAnswer]:
        """Build an event of an accepted connection and invoke; the event and the integration's answer."""
        event = build(
            self.api,
            connection_id=connection.connection_id,
            connected_at=int(connection.connected_at * 1000),
            source_ip=connection.source_ip,
            user_agent=connection.user_agent,
            **fields,
        )
        return event, await self._invoke(event)

    async def _invoke(self, event: dict[str, Any]) -> IntegrationAnswer:
        return await self.integration.invoke(event)

    def _log_http(self, scope: dict[str, Any], status: int, size: int) -> None:
        query = masked_query(scope["query_string"])
        self._log(f'"{scope["method"]} {scope["path"]}{query} HTTP/{scope["http_version"]}" {status} {size}')

    def _log(self, line: str) -> None:
        logger.info("[%s] %s", time.strftime("%d/%b/%Y %H:%M:%S"), line)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or ``None`` when it is longer than ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _json_response(status: int, body: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    return status, [(b"content-type", b"application/json")], json.dumps(body).encode()


def _http_response(response: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """apig-wsgi's Lambda answer as status, ASGI headers and body bytes."""
    multi = response.get("multiValueHeaders") or {
        name: [value] for name, value in (response.get("headers") or {}).items()
    }
    headers = [
        (name.encode("latin-1"), str(value).strip().encode("latin-1"))
        for name, values in multi.items()
        for value in values
    ]
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body)
        except binascii.Error:
            payload = b""
    else:
        payload = body.encode("utf-8")
    return response["statusCode"], headers, payload
