"""Connections, and the WebSocket APIs they come through.

A ``WebSocketSession`` row is the only memory a connection has between Lambda invocations: API Gateway sends the
cookie on ``$connect`` only, so the user found then is stored here and restored for every later event.
"""

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from websockets_app.messaging import SendResult


class WebSocketSessionQuerySet(models.QuerySet):
    def connected(self) -> "WebSocketSessionQuerySet":
        return self.filter(connected=True)

    def mark_closed(self, *, status_code: int | None = None, reason: str = "") -> int:
        """Mark these rows closed in one UPDATE; returns how many were still open."""
        return self.filter(connected=True).update(
            connected=False,
            disconnected_at=timezone.now(),
            disconnect_status_code=status_code,
            disconnect_reason=reason[:255],
        )

    def send_message(self, data: Any) -> "SendResult":
        """Send ``data`` to the connected rows (see ``websockets_app.messaging``)."""
        from websockets_app.messaging import send_to_queryset

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
        ]

    def __str__(self) -> str:
        state = "connected" if self.connected else "closed"
        return f"{self.connection_id} ({self.channel_name}, {state})"

    def send_message(self, data: Any) -> "SendResult":
        """Send ``data`` to this connection; the summary says whether it was sent, gone or failed."""
        from websockets_app.messaging import send_to_session

        return send_to_session(self, data)

    def close(self) -> bool:
        """Disconnect from the server side; False when it was already gone. The row is marked closed."""
        from websockets_app.messaging import close_connection

        return close_connection(self)

    def info(self) -> dict[str, Any] | None:
        """The management API's connection info, or None (and the row marked closed) when it is gone."""
        from websockets_app.messaging import connection_info

        return connection_info(self)


class ApiGateway(models.Model):
    """A WebSocket API whose routes integrate with this Lambda, and what was provisioned for it."""

    api_name = models.CharField(max_length=128, unique=True)
    api_description = models.CharField(max_length=1024, blank=True)
    default_channel_name = models.CharField(max_length=128, default="default")
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

    # What AWS returned: filled in by provisioning, never by hand.
    api_id = models.CharField(max_length=64, blank=True, db_index=True)
    api_endpoint = models.CharField(max_length=255, blank=True)
    api_gateway_domain_name = models.CharField(max_length=255, blank=True)
    api_mapping_id = models.CharField(max_length=64, blank=True)
    api_created = models.BooleanField(default=False)
    custom_domain_created = models.BooleanField(default=False)

    class Meta:
        verbose_name = "API Gateway"

    def __str__(self) -> str:
        return self.api_name


class ApiGatewayAdditionalRoute(models.Model):
    """A custom route key; its messages reach the view method of the same name."""

    api_gateway = models.ForeignKey(ApiGateway, on_delete=models.CASCADE, related_name="additional_routes")
    name = models.CharField(max_length=128, blank=True)
    route_key = models.CharField(max_length=128)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_gateway", "route_key"], name="unique_route_per_api")]

    def __str__(self) -> str:
        return self.route_key
