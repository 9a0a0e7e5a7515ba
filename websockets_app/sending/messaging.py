"""Messages from the server to connections, through API Gateway's management API (``@connections``).

One connection, a channel or everyone: the rows' endpoints are worked out here and the posts handed to the
container's :class:`~websockets_app.backends.sender.Sender` (one asyncio loop, hundreds in flight, signed without
boto3), and the outcome comes back as a :class:`SendResult`. A 410 marks the row closed (one UPDATE for the whole
batch); any other failure is reported and never stops the rest. ``close()`` and ``info()`` go through boto3,
imported on first use only, so importing this module costs the event path nothing.
"""

from __future__ import annotations

import base64
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from websockets_app import aws_limits
from websockets_app.backends.outcomes import from_botocore
from websockets_app.backends.sender import Sender, SendOptions, connection_post
from websockets_app.conf import aws_region, conf
from websockets_app.exceptions import ConnectionNotReady, ManagementApiError, MessageTooLarge
from websockets_app.models import WebSocketSession
from websockets_app.sending.capacity import messages_per_invocation
from websockets_app.sending.encoding import encode_message

if TYPE_CHECKING:
    from django.db.models import QuerySet

__all__ = (
    "MAX_MESSAGE_BYTES",
    "SendResult",
    "close_connection",
    "connecting",
    "connection_info",
    "deliver_to_pks",
    "endpoint_url",
    "prepare_payload",
    "send_to_queryset",
    "send_to_session",
)

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = aws_limits.MESSAGE_BYTES
GONE_REASON = "Gone (410) when the server posted to it."
NOT_READY_REASON = "Still in $connect: API Gateway refuses messages until connect() has answered."
MAYBE_CONNECTING_REASON = (
    "Gone (410) within the $connect window: the connection may not have been accepted yet, so it is left open."
)
NO_API_REASON = "No API recorded for this connection."
# What an asynchronous batch's event carries besides the message and the primary keys (task path, response id).
_BATCH_EVENT_OVERHEAD_BYTES = 2048

_connecting: ContextVar[str | None] = ContextVar("websockets_app_connecting", default=None)
_clients: dict[tuple[Any, ...], Any] = {}
_clients_lock = threading.Lock()
# The container's one sender: its loop and connection pool outlive invocations.
_sender = Sender()


class Target(NamedTuple):
    """What sending to one connection needs, read from its row without building a model instance."""

    pk: int
    connection_id: str
    api_id: str
    stage: str
    connected_at: datetime


TARGET_FIELDS = ("pk", "connection_id", "api_id", "stage", "connected_at")


@dataclass
class SendResult:
    """What happened to one ``send_message``: how many were sent, which connections were gone, which failed and why.

    ``queued`` counts connections handed to asynchronous Lambda invocations (a broadcast split into batches): their
    outcome is logged by those invocations, not known here.
    """

    sent: int = 0
    gone: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    queued: int = 0

    @property
    def ok(self) -> bool:
        """True when nothing failed (gone connections are not failures: they are closed and forgotten)."""
        return not self.failed

    def merge(self, other: SendResult) -> SendResult:
        self.sent += other.sent
        self.gone.extend(other.gone)
        self.failed.update(other.failed)
        self.queued += other.queued
        return self

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, returned by asynchronous batches (Lambda serialises what a handler returns)."""
        return {"sent": self.sent, "gone": list(self.gone), "failed": dict(self.failed), "queued": self.queued}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SendResult:
        return cls(sent=data["sent"], gone=list(data["gone"]), failed=dict(data["failed"]), queued=data["queued"])


def prepare_payload(data: Any) -> bytes:
    """Encode ``data`` and refuse it, before anything is sent, when API Gateway would (over 128 KB)."""
    payload = encode_message(data)
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(len(payload), MAX_MESSAGE_BYTES)
    return payload


def send_to_session(session: WebSocketSession, data: Any) -> SendResult:
    """Send ``data`` to one connection. A closed row is reported gone without a request."""
    payload = prepare_payload(data)
    if session.connection_id == _connecting.get():
        raise ConnectionNotReady(session.connection_id)
    if not session.connected:
        return SendResult(gone=[session.connection_id])
    target = Target(session.pk, session.connection_id, session.api_id, session.stage, session.connected_at)
    result = _deliver([target], payload)
    if result.gone:
        session.connected = False
    return result


def send_to_queryset(queryset: QuerySet[WebSocketSession], data: Any) -> SendResult:
    """Send ``data`` to the connected rows of ``queryset``: what one invocation can send here, the rest in batches.

    The other batches go through Zappa's asynchronous tasks, which invoke this Lambda once per batch on AWS and run
    inline anywhere else.
    """
    payload = prepare_payload(data)
    targets = [Target(*row) for row in queryset.filter(connected=True).values_list(*TARGET_FIELDS)]
    if not targets:
        return SendResult()
    batch_size = batch_size_for(payload, largest_key=max(target.pk for target in targets))
    result = _deliver(targets[:batch_size], payload)
    if len(targets) > batch_size:
        result.merge(_send_in_batches(targets[batch_size:], payload, batch_size))
    return result


def batch_size_for(payload: bytes, largest_key: int = 2**63 - 1) -> int:
    """Connections per invocation: ``SEND_BATCH_SIZE``, else what the sender sends in ~25 s at this Lambda's memory;
    lowered when a batch's event (its keys, up to ``largest_key``, and the message) would not fit Lambda's
    asynchronous payload limit."""
    room = aws_limits.ASYNC_INVOKE_PAYLOAD_BYTES - _BATCH_EVENT_OVERHEAD_BYTES - len(base64.b64encode(payload))
    bytes_per_key = len(str(largest_key)) + len(", ")
    return max(1, min(conf.SEND_BATCH_SIZE or messages_per_invocation(), room // bytes_per_key))


def deliver_to_pks(
    session_pks: Sequence[int], payload: bytes, *, on_posted: Callable[[], None] | None = None
) -> SendResult:
    """Send one batch of a broadcast (rows closed since it was split are skipped).

    ``on_posted`` runs once every post has its outcome, before the database records them: what a resumable batch
    needs to know that these connections were reached.
    """
    rows = WebSocketSession.objects.filter(pk__in=session_pks, connected=True).values_list(*TARGET_FIELDS)
    return _deliver([Target(*row) for row in rows], payload, on_posted=on_posted)


def close_connection(session: WebSocketSession) -> bool:
    """Disconnect ``session`` from the server side and mark its row closed.

    Returns False when the connection was already gone (the row is marked closed all the same).
    Raises :class:`ManagementApiError` when AWS refuses (the row is left as it was).
    """
    client = _session_client(session)
    try:
        client.delete_connection(ConnectionId=session.connection_id)
        closed_now = True
    except Exception as error:
        outcome = from_botocore(error)
        if outcome.status != "gone":
            raise ManagementApiError(session.connection_id, outcome.reason) from error
        closed_now = False
    WebSocketSession.objects.filter(pk=session.pk).mark_closed(
        reason="Closed by the server." if closed_now else GONE_REASON
    )
    session.connected = False
    return closed_now


def connection_info(session: WebSocketSession) -> dict[str, Any] | None:
    """The management API's view of the connection (``ConnectedAt``, ``LastActiveAt``, ``Identity``).

    Returns None, and marks the row closed, when the connection is gone.
    """
    client = _session_client(session)
    try:
        response = client.get_connection(ConnectionId=session.connection_id)
    except Exception as error:
        outcome = from_botocore(error)
        if outcome.status != "gone":
            raise ManagementApiError(session.connection_id, outcome.reason) from error
        WebSocketSession.objects.filter(pk=session.pk).mark_closed(reason=GONE_REASON)
        session.connected = False
        return None
    response.pop("ResponseMetadata", None)
    return response


@contextmanager
def connecting(connection_id: str) -> Iterator[None]:
    """Mark ``connection_id`` as inside its ``$connect``, when AWS answers 410 to anything posted to it.

    ``WebSocketView`` wraps ``connect()`` in it, so a greeting sent there fails clearly instead of closing the row
    of a connection that is about to open.
    """
    token = _connecting.set(connection_id)
    try:
        yield
    finally:
        _connecting.reset(token)


def endpoint_url(api_id: str, stage: str) -> str:
    """The management endpoint for connections of ``api_id``/``stage``; ``WEBSOCKETS["ENDPOINT_URL"]`` wins."""
    if conf.ENDPOINT_URL:
        return conf.ENDPOINT_URL
    region = aws_region()
    if not region:
        raise ImproperlyConfigured(
            "No AWS region to send WebSocket messages through: set AWS_REGION (Lambda sets it) "
            "or WEBSOCKETS['ENDPOINT_URL']."
        )
    return f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}"


def _deliver(targets: Sequence[Target], payload: bytes, *, on_posted: Callable[[], None] | None = None) -> SendResult:
    result = SendResult()
    ready: list[Target] = []
    posts = []
    connecting_id = _connecting.get()
    # Per API and stage (a send has one or a few), not per connection: the endpoint, or None when there is none.
    endpoints: dict[tuple[str, str], str | None] = {}
    for target in targets:
        if target.connection_id == connecting_id:
            result.failed[target.connection_id] = NOT_READY_REASON
            continue
        key = (target.api_id, target.stage)
        if key not in endpoints:
            endpoints[key] = endpoint_url(*key) if _has_endpoint(*key) else None
        endpoint = endpoints[key]
        if endpoint is None:
            result.failed[target.connection_id] = NO_API_REASON
        else:
            ready.append(target)
            posts.append(connection_post(endpoint, target.connection_id))
    outcomes = _sender.post_all(posts, payload, _send_options()) if posts else []
    if on_posted is not None:
        on_posted()
    gone_pks = []
    # API Gateway answers 410 until $connect is answered, and the row is committed before that: such a row may
    # belong to a connection about to open, so it is not closed.
    connecting_since = timezone.now() - aws_limits.INTEGRATION_TIMEOUT
    for target, outcome in zip(ready, outcomes, strict=True):
        if outcome.status == "sent":
            result.sent += 1
        elif outcome.status == "gone" and target.connected_at > connecting_since:
            result.failed[target.connection_id] = MAYBE_CONNECTING_REASON
        elif outcome.status == "gone":
            result.gone.append(target.connection_id)
            gone_pks.append(target.pk)
        else:
            result.failed[target.connection_id] = outcome.reason
    if gone_pks:
        WebSocketSession.objects.filter(pk__in=gone_pks).mark_closed(reason=GONE_REASON)
    if result.failed:
        connection_id, reason = next(iter(result.failed.items()))
        logger.warning(
            "send_message: %d of %d connections failed (%s: %s)",
            len(result.failed),
            len(targets),
            connection_id,
            reason,
        )
    return result


def _send_options() -> SendOptions:
    return SendOptions(
        concurrency=conf.SEND_CONCURRENCY,
        connect_timeout=conf.SEND_CONNECT_TIMEOUT,
        read_timeout=conf.SEND_READ_TIMEOUT,
        max_attempts=conf.SEND_MAX_ATTEMPTS,
        # The endpoint names the region; an ENDPOINT_URL (the local emulator) may have none, yet requests are signed.
        region=aws_region() or "us-east-1",
    )


def _send_in_batches(targets: Sequence[Target], payload: bytes, batch_size: int) -> SendResult:
    """Hand each batch to Zappa's async task: queued on Lambda, sent inline elsewhere."""
    from websockets_app.sending.batches import send_batch

    encoded = base64.b64encode(payload).decode()
    result = SendResult()
    for start in range(0, len(targets), batch_size):
        batch = targets[start : start + batch_size]
        try:
            outcome = send_batch([target.pk for target in batch], encoded, batch_id=str(uuid.uuid4()))
        except Exception as error:
            logger.exception("send_message: could not hand a batch of %d connections to Zappa", len(batch))
            result.failed.update((target.connection_id, f"Batch not queued: {error}") for target in batch)
            continue
        if isinstance(outcome, dict):
            result.merge(SendResult.from_dict(outcome))
        else:
            result.queued += len(batch)
    return result


def _has_endpoint(api_id: str, stage: str) -> bool:
    return bool(conf.ENDPOINT_URL or (api_id and stage))


def _session_client(session: WebSocketSession) -> Any:
    if not _has_endpoint(session.api_id, session.stage):
        raise ManagementApiError(session.connection_id, NO_API_REASON)
    return _client_for(session.api_id, session.stage)


def _client_for(api_id: str, stage: str) -> Any:
    """The process's client for this API's endpoint, built once with the settings in force now."""
    url = endpoint_url(api_id, stage)
    key = (
        url,
        conf.SEND_CONCURRENCY,
        conf.SEND_CONNECT_TIMEOUT,
        conf.SEND_READ_TIMEOUT,
        conf.SEND_MAX_ATTEMPTS,
    )
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = _build_client(*key)
    return client


def _build_client(url: str, pool_size: int, connect_timeout: float, read_timeout: float, max_attempts: int) -> Any:
    import botocore
    from botocore.config import Config

    # The endpoint names the region; an ENDPOINT_URL (the local emulator) may have none, yet requests are signed.
    region = aws_region() or "us-east-1"
    config = Config(
        # A fixed User-Agent: botocore otherwise rebuilds it twice per request, a sixth of a message's CPU.
        user_agent=f"django-lambda-websockets botocore/{botocore.__version__}",
        # Only this module calls the client, with a str and bytes: checking them again per message is waste.
        parameter_validation=False,
        max_pool_connections=pool_size,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        tcp_keepalive=True,
    )
    return _boto3_session().client("apigatewaymanagementapi", endpoint_url=url, region_name=region, config=config)


@cache
def _boto3_session() -> Any:
    import boto3

    return boto3.session.Session()
