"""Admin pages for connections and WebSocket APIs; the API actions run the same reconcile as the Zappa hook.

Saving an API that was already provisioned reconciles it again only with ``WEBSOCKETS["PROVISION_ON_SAVE"]``:
by default an edit waits for an explicit action, so a save is a plain database write. Changing AWS needs the
``websockets_app.provision_apigateway`` permission, whatever else a staff user may do. Connection rows are what
the app trusts about a live connection (its user above all), so the admin shows them read-only; an operator may
close connections. Broadcasts are records their batches keep: read-only too.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from websockets_app.conf import conf
from websockets_app.exceptions import ManagementApiError, ProvisioningError
from websockets_app.models import ApiGateway, ApiGatewayAdditionalRoute, Broadcast, WebSocketSession

PROVISION_PERMISSION = "websockets_app.provision_apigateway"

_PROVISIONED_FIELDS = (
    "api_id",
    "api_endpoint",
    "api_gateway_domain_name",
    "api_mapping_id",
    "api_created",
    "custom_domain_created",
)


@admin.register(WebSocketSession)
class WebSocketSessionAdmin(admin.ModelAdmin):
    list_display = ("connection_id", "channel_name", "user", "connected", "api_id", "stage", "last_seen_at")
    list_filter = ("connected", "channel_name", "stage")
    search_fields = ("connection_id", "channel_name", "user__username", "api_id")
    actions = ("close_connections",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows are made by $connect only

    def has_change_permission(self, request: HttpRequest, obj: WebSocketSession | None = None) -> bool:
        return False  # a row edited to another user would act as that user

    def has_close_permission(self, request: HttpRequest) -> bool:
        """Closing is what an operator needs: it takes the model's change permission."""
        return request.user.has_perm("websockets_app.change_websocketsession")

    @admin.action(description="Close selected connections", permissions=["close"])
    def close_connections(self, request: HttpRequest, queryset: QuerySet[WebSocketSession]) -> None:
        closed = failed = 0
        for session in queryset.filter(connected=True):
            try:
                session.close()
            except ManagementApiError as error:
                failed += 1
                self.message_user(request, str(error), messages.ERROR)
            else:
                closed += 1
        self.message_user(
            request, f"Closed {closed} connection(s).", messages.SUCCESS if not failed else messages.WARNING
        )


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = ("id", "state", "targets", "sent", "gone", "failed", "batches", "started_at", "finished_at")
    list_filter = ("state",)
    date_hierarchy = "started_at"
    fields = (
        "id",
        "state",
        "targets",
        "sent",
        "gone",
        "failed",
        "failures",
        "batches",
        "batches_finished",
        "started_at",
        "deadline",
        "finished_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by send_message only

    def has_change_permission(self, request: HttpRequest, obj: Broadcast | None = None) -> bool:
        return False  # what its batches recorded


class ApiGatewayAdditionalRouteInline(admin.TabularInline):
    model = ApiGatewayAdditionalRoute
    fields = ("route_key", "name", "path", "two_way")
    extra = 1


@admin.register(ApiGateway)
class ApiGatewayAdmin(admin.ModelAdmin):
    list_display = ("api_name", "stage_name", "api_id", "custom_domain_name", "api_created", "custom_domain_created")
    search_fields = ("api_name", "api_id", "custom_domain_name")
    readonly_fields = _PROVISIONED_FIELDS
    inlines = (ApiGatewayAdditionalRouteInline,)
    actions = ("create_api_gateway", "create_custom_domain")

    @admin.action(description="Create API Gateway", permissions=["provision"])
    def create_api_gateway(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        for row in queryset:
            provision_and_report(self, request, row, include_domain=False)

    @admin.action(description="Create Custom Domain", permissions=["provision"])
    def create_custom_domain(self, request: HttpRequest, queryset: QuerySet[ApiGateway]) -> None:
        for row in queryset:
            provision_and_report(self, request, row, include_domain=True)

    def has_provision_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PROVISION_PERMISSION)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Once routes are saved, bring an API that already exists in AWS up to date with them."""
        super().save_related(request, form, formsets, change)
        if change:
            reprovision(self, request, form.instance)


@admin.register(ApiGatewayAdditionalRoute)
class ApiGatewayAdditionalRouteAdmin(admin.ModelAdmin):
    list_display = ("route_key", "name", "path", "two_way", "api_gateway")
    list_filter = ("api_gateway",)
    search_fields = ("route_key", "name")

    def save_model(self, request: HttpRequest, obj: ApiGatewayAdditionalRoute, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        reprovision(self, request, obj.api_gateway)

    def delete_model(self, request: HttpRequest, obj: ApiGatewayAdditionalRoute) -> None:
        super().delete_model(request, obj)
        reprovision(self, request, obj.api_gateway)


def reprovision(model_admin: admin.ModelAdmin, request: HttpRequest, row: ApiGateway) -> None:
    """After an edit of an API that exists in AWS: reconcile it if ``PROVISION_ON_SAVE``, else say how to."""
    if not row.api_created:
        return
    if conf.PROVISION_ON_SAVE and not request.user.has_perm(PROVISION_PERMISSION):
        model_admin.message_user(
            request, f"{row.api_name}: AWS is unchanged: you may not provision APIs.", messages.WARNING
        )
    elif conf.PROVISION_ON_SAVE:
        provision_and_report(model_admin, request, row, include_domain=row.custom_domain_created)
    else:
        action = "Create Custom Domain" if row.custom_domain_created else "Create API Gateway"
        model_admin.message_user(request, f"{row.api_name}: AWS is unchanged until you run {action}.", messages.INFO)


def provision_and_report(
    model_admin: admin.ModelAdmin, request: HttpRequest, row: ApiGateway, *, include_domain: bool
) -> None:
    """Run the reconcile for one row and tell the admin user what it did, or why AWS refused."""
    # Imported here: Django imports admin modules on every cold start, and boto3 is needed by these actions only.
    from botocore.exceptions import BotoCoreError, ClientError

    from websockets_app.provisioning.records import provision

    try:
        outcome = provision(row, include_domain=include_domain, echo=lambda line: None)
    except (ProvisioningError, ClientError, BotoCoreError) as error:
        model_admin.message_user(request, f"{row.api_name}: {error}", messages.ERROR)
        return
    count = len(outcome.changes)
    listed = "; ".join(str(change) for change in outcome.changes)
    summary = f"{count} change{'s' if count != 1 else ''} made ({listed})" if count else "already up to date"
    model_admin.message_user(
        request, f"{row.api_name}: {summary}; WebSocket URL {outcome.websocket_url}", messages.SUCCESS
    )
