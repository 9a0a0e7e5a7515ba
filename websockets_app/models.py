"""Connections, and the WebSocket APIs they come through.

A ``WebSocketSession`` row is the only memory a connection has between Lambda invocations: API Gateway sends the
cookie on ``$connect`` only, so the user found then is stored here and restored for every later event.

``send_message()``, ``close()`` and ``info()`` are a thin facade over :mod:`websockets_app.sending`, which reads
these models: their imports are deferred to the call, the one circle the app's layers allow.
"""

import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.utils import timezone

from websockets_app import aws_limits
from websockets_app.conf import conf
from websockets_app.validators import django_path_validator, route_key_validator, validate_channel_name

if TYPE_CHECKING:
    from websockets_app.sending.delivery import SendResult

# last_seen_at is written at most once per this interval (one query saved on most messages), so it may lag the
# last message by up to this much; the cleanup allows for it before calling a connection idle.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


class WebSocketSessionQuerySet(models.QuerySet["WebSocketSession"]):
    def connected(self) -> "WebSocketSessionQuerySet":
        return self.filter(connected=True)

    def in_channel(self, channel_name: str) -> "WebSocketSessionQuerySet":
        """Connections whose channel is ``channel_name`` or that joined it at runtime; "" (no channel): none.

        The UNION of two indexed lookups: an OR of the two conditions defeats both indexes, and reads the whole
        table on PostgreSQL however small the channel.
        """
        if not channel_name:
            return self.none()
        connected_with = WebSocketSession.objects.filter(channel_name=channel_name).values("pk")
        joined = WebSocketChannelMembership.objects.filter(channel_name=channel_name).values("session_id")
        return self.filter(pk__in=connected_with.union(joined))

    def mark_closed(self, *, status_code: int | None = None, reason: str = "") -> int:
        """Mark these rows closed in one UPDATE; returns how many were still open."""
        return self.filter(connected=True).update(
            connected=False,
            disconnected_at=timezone.now(),
            disconnect_status_code=status_code,
            disconnect_reason=reason[:255],
        )

    def send_message(self, data: Any) -> "SendResult":
        """Send ``data`` to the connected rows (see ``websockets_app.sending.messaging``)."""
        from websockets_app.sending.messaging import send_to_queryset

        return send_to_queryset(self, data)


class WebSocketSession(models.Model):
    """One API Gateway WebSocket connection."""

    connection_id = models.CharField(max_length=128, unique=True)
    channel_name = models.CharField(max_length=128, default="default")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="websocket_sessions",
    )
    connected = models.BooleanField(default=True)
    # The Django login the connection was opened with (websockets_app.security.identity): a digest of the session key
    # and the user's session auth hash then. Empty for anonymous connections.
    session_key_hash = models.CharField(max_length=64, blank=True, editable=False)
    session_auth_hash = models.CharField(max_length=128, blank=True, editable=False)

    # The API the connection came through: where messages to it must be posted.
    api_id = models.CharField(max_length=64, blank=True)
    stage = models.CharField(max_length=128, blank=True)
    domain_name = models.CharField(max_length=255, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)

    connected_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    disconnect_status_code = models.IntegerField(null=True, blank=True)
    disconnect_reason = models.CharField(max_length=255, blank=True)

    objects = WebSocketSessionQuerySet.as_manager()

    class Meta:
        verbose_name = "WebSocket session"
        indexes = [
            models.Index(fields=["channel_name", "connected"], name="wss_channel_connected"),
            models.Index(fields=["connected", "last_seen_at"], name="wss_connected_last_seen"),
            # The cleanup's other stale condition: open past API Gateway's 2-hour limit.
            models.Index(fields=["connected", "connected_at"], name="wss_connected_connected_at"),
            # The open connections of logins that end together (clearsessions deleting many session rows).
            models.Index(fields=["session_key_hash"], condition=models.Q(connected=True), name="wss_open_login"),
        ]

    def __str__(self) -> str:
        state = "connected" if self.connected else "closed"
        return f"{self.connection_id} ({self.channel_name}, {state})"

    def send_message(self, data: Any) -> "SendResult":
        """Send ``data`` to this connection; the summary says whether it was sent, gone or failed."""
        from websockets_app.sending.messaging import send_to_session

        return send_to_session(self, data)

    def close(self) -> bool:
        """Disconnect from the server side; False when it was already gone. The row is marked closed."""
        from websockets_app.sending.connections import close_connection

        return close_connection(self)

    def info(self) -> dict[str, Any] | None:
        """The management API's connection info, or None (and the row marked closed) when it is gone."""
        from websockets_app.sending.connections import connection_info

        return connection_info(self)

    def join(self, channel_name: str) -> bool:
        """Add this connection to a channel; returns False when it was already a member.

        A connection joins at most ``WEBSOCKETS["MAX_JOINED_CHANNELS"]`` channels at runtime (ValidationError
        beyond): each is a row, and messages of one connection may run at once in several Lambdas.
        """
        validate_channel_name(channel_name)
        if channel_name == self.channel_name:
            return False
        with transaction.atomic():
            # Locks the connection's row, so concurrent joins are counted one after another.
            list(WebSocketSession.objects.select_for_update().filter(pk=self.pk).values_list("pk"))
            memberships = WebSocketChannelMembership.objects.filter(session=self)
            if memberships.filter(channel_name=channel_name).exists():
                return False
            limit = conf.MAX_JOINED_CHANNELS
            if memberships.count() >= limit:
                raise ValidationError(
                    f"Too many channels: a connection may join at most {limit}.", code="too_many_channels"
                )
            WebSocketChannelMembership.objects.create(session=self, channel_name=channel_name)
        return True

    def leave(self, channel_name: str) -> bool:
        """Take this connection out of a channel, its connect-time one included; False when not a member."""
        left = False
        if channel_name == self.channel_name:
            WebSocketSession.objects.filter(pk=self.pk).update(channel_name="")
            self.channel_name = ""
            left = True
        deleted, _ = WebSocketChannelMembership.objects.filter(session=self, channel_name=channel_name).delete()
        return left or deleted > 0

    def channel_names(self) -> list[str]:
        """Every channel this connection is in."""
        joined = self.memberships.order_by("channel_name").values_list("channel_name", flat=True)
        return ([self.channel_name] if self.channel_name else []) + list(joined)


class WebSocketChannelMembership(models.Model):
    """A channel a connection joined at runtime, beyond the one it connected with."""

    session = models.ForeignKey(WebSocketSession, on_delete=models.CASCADE, related_name="memberships")
    channel_name = models.CharField(max_length=128, validators=[validate_channel_name])
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "channel_name"], name="unique_membership")]
        indexes = [models.Index(fields=["channel_name"], name="wscm_channel")]

    def __str__(self) -> str:
        return f"{self.session.connection_id} in {self.channel_name}"


class MessageClock(models.Model):
    """One connection's message rate-limit clock (websockets_app.security.message_rate), moved by each message.

    Microseconds since 1970 up to which the connection's messages have used their allowance. It lives apart from the
    connection's row, in a table PostgreSQL keeps out of its write-ahead log (UNLOGGED, set by the migration): a
    message's count then commits without waiting for the disk and gives replicas nothing to replay, and the
    connection's row is not rewritten by every message. After a database crash the table starts empty, every
    allowance full again, which a rate limit can afford.
    """

    session = models.OneToOneField(
        WebSocketSession, primary_key=True, on_delete=models.CASCADE, related_name="message_rate_clock"
    )
    clock = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.session_id}: {self.clock}"


class Broadcast(models.Model):
    """One ``send_message`` to more connections than one invocation sends to: what became of it, kept by its batches.

    ``targets`` connections were connected when it started; each ends as ``sent`` (API Gateway accepted the message),
    ``gone`` (closed before it was posted, or answered 410) or ``failed`` (the first :data:`MAX_RECORDED_FAILURES`
    with their reason in ``failures``). Once every batch has finished, ``state`` is finished and the
    ``broadcast_finished`` signal is sent.
    """

    class State(models.TextChoices):
        SENDING = "sending"
        FINISHED = "finished"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The message as posted, for every batch and continuation (at most 128 KB: API Gateway's limit).
    payload = models.BinaryField()
    targets = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    gone = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=dict, blank=True, help_text="Connection id -> why its post failed.")
    batches = models.PositiveIntegerField(default=0)
    batches_finished = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SENDING)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Connections not reached by then are recorded failed: a message late by more than this is not worth sending.
    deadline = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    MAX_RECORDED_FAILURES = 100

    class Meta:
        ordering = ("-started_at",)

    def __str__(self) -> str:
        return f"broadcast {self.id} ({self.state}: {self.sent} of {self.targets} sent)"

    @property
    def finished(self) -> bool:
        return self.state == self.State.FINISHED

    def wait(self, timeout: float, poll_interval: float = 0.5) -> bool:
        """Read the row again until the broadcast has finished or ``timeout`` seconds have passed; True if finished.

        For scripts, management commands and tests: a request should not hold a worker waiting for a broadcast.
        """
        waited_until = time.monotonic() + timeout
        while True:
            self.refresh_from_db()
            if self.finished or time.monotonic() >= waited_until:
                return self.finished
            time.sleep(poll_interval)


class BroadcastBatch(models.Model):
    """One asynchronous batch of a :class:`Broadcast`: its connections, and how far it got.

    Its keys live here, not in the invocation's event, so a batch's size is not bounded by Lambda's asynchronous
    payload limit. Lambda retries a failed asynchronous invocation, and a batch that runs short of time hands the
    rest to a new one: both go on from ``reached_through`` and ``retry_keys``. ``claimed_until`` keeps a duplicate
    delivery of the same invocation from sending alongside the first, and tells concurrent senders how many share
    ``SEND_RATE_LIMIT``.
    """

    id = models.UUIDField(primary_key=True)
    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, null=True, related_name="batch_rows")
    # The batch's connections: primary keys in ascending order, comma-separated.
    keys = models.TextField(default="", blank=True)
    # Every connection of the batch with a primary key up to this one has had its post (the batch goes in key order),
    # except the ones in retry_keys: throttled or cut short by a deadline, to be posted again.
    reached_through = models.BigIntegerField(default=0)
    retry_keys = models.TextField(default="", blank=True)
    finished = models.BooleanField(default=False)
    claimed_until = models.DateTimeField(null=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"batch {self.id} (through {self.reached_through})"


class ChannelSequence(models.Model):
    """The last sequence number a channel with history gave out.

    Its row is locked from the increment to the commit of the message it numbers, so broadcasts from concurrent
    Lambdas are numbered one after another and commit in that order: no gap, no reader seeing 7 before 6.
    """

    channel_name = models.CharField(max_length=128, unique=True)
    last_seq = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.channel_name} at {self.last_seq}"


class ChannelMessage(models.Model):
    """One broadcast to a channel with history (one row, however many received it): what a resuming client gets."""

    channel_name = models.CharField(max_length=128)
    seq = models.PositiveBigIntegerField()
    message_id = models.UUIDField(unique=True)
    # The frame exactly as it was sent live, so a replay re-sends it without decoding.
    frame = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel_name", "seq"], name="unique_channel_seq")]

    def __str__(self) -> str:
        return f"{self.channel_name} #{self.seq}"


class ConnectToken(models.Model):
    """A short-lived, single-use token that authenticates a $connect where the session cookie cannot go.

    Only the SHA-256 of the token is stored: a leaked table lets nobody connect.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="websocket_tokens")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # The login that asked for the token (websockets_app.security.identity): a digest of its session key and the
    # user's session auth hash then. The token connects only while that login lasts; its connection ends with it.
    session_key_hash = models.CharField(max_length=64, blank=True, editable=False)
    session_auth_hash = models.CharField(max_length=128, blank=True, editable=False)

    def __str__(self) -> str:
        return f"token for {self.user} until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class RateLimitCounter(models.Model):
    """Attempts one identity made in one window (websockets_app.security.rate_limits): shared by every Lambda
    container."""

    key = models.CharField(max_length=128, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class ApiGateway(models.Model):
    """A WebSocket API whose routes integrate with this Lambda, and what was provisioned for it."""

    api_name = models.CharField(max_length=128, unique=True)
    api_description = models.CharField(max_length=1024, blank=True)
    default_channel_name = models.CharField(max_length=128, default="default")
    default_channel_history = models.BooleanField(
        default=False, help_text="Number and keep the default channel's broadcasts, so clients can resume."
    )
    aws_region = models.CharField(max_length=32, blank=True, help_text="Empty: the region of the environment.")
    custom_domain_name = models.CharField(max_length=253, blank=True)
    certificate_arn = models.CharField(max_length=2048, blank=True)
    hosted_zone_id = models.CharField(max_length=64, blank=True)
    api_key_selection_expression = models.CharField(max_length=128, default="$request.header.x-api-key")
    route_selection_expression = models.CharField(max_length=128, default="$request.body.action")
    route_key = models.CharField(
        max_length=128, default="$default", help_text="Route used when no other route matches the selection."
    )
    stage_name = models.CharField(max_length=128, default="dev")
    stage_description = models.CharField(max_length=1024, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    lambda_alias = models.CharField(
        max_length=128, blank=True, help_text="Lambda alias the routes invoke; empty: the function itself."
    )
    two_way = models.BooleanField(
        default=True,
        help_text="Whether messages to $default are answered with what their handler returns ($default route "
        "response); off: one-way, the answer is dropped.",
    )
    # API Gateway's route throttling of the stage, every client together: past it, a message never reaches the Lambda.
    throttling_rate_limit = models.FloatField(
        default=aws_limits.DEFAULT_STAGE_RATE_LIMIT,
        validators=[MinValueValidator(1)],
        help_text="Messages and connects a second the stage lets through to the Lambda, all clients together.",
    )
    throttling_burst_limit = models.PositiveIntegerField(
        default=aws_limits.DEFAULT_STAGE_BURST_LIMIT,
        validators=[MinValueValidator(1)],
        help_text="How many it lets through at once, above that rate (API Gateway's token bucket).",
    )

    # What AWS returned: filled in by provisioning, never by hand.
    api_id = models.CharField(max_length=64, blank=True, db_index=True)
    api_endpoint = models.CharField(max_length=255, blank=True)
    api_gateway_domain_name = models.CharField(max_length=255, blank=True)
    api_mapping_id = models.CharField(max_length=64, blank=True)
    api_created = models.BooleanField(default=False)
    custom_domain_created = models.BooleanField(default=False)

    class Meta:
        verbose_name = "API Gateway"
        # Changing AWS is more than editing a row: the admin actions (and PROVISION_ON_SAVE) need this one.
        permissions = [("provision_apigateway", "Can create and update the API in AWS")]

    def __str__(self) -> str:
        return self.api_name


class ApiGatewayAdditionalRoute(models.Model):
    """A custom route key; its messages reach the view method of the same name, or the Django path given."""

    api_gateway = models.ForeignKey(ApiGateway, on_delete=models.CASCADE, related_name="additional_routes")
    name = models.CharField(max_length=128, blank=True)
    route_key = models.CharField(max_length=128, validators=[route_key_validator])
    path = models.CharField(
        max_length=255,
        blank=True,
        validators=[django_path_validator],
        help_text="Django path the route's messages are posted to; empty: the view method named like the route key.",
    )
    two_way = models.BooleanField(
        default=True, help_text="Whether the route's messages are answered with what their handler returns."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_gateway", "route_key"], name="unique_route_per_api")]

    def __str__(self) -> str:
        return self.route_key
