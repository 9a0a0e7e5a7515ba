"""The app's configuration: at start-up it registers the system checks and the receivers that keep connections
honest (identity ends with the login, presence events)."""

from django.apps import AppConfig


class WebSocketsAppConfig(AppConfig):
    name = "websockets_app"
    verbose_name = "WebSockets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from websockets_app import checks  # noqa: F401  (registers the system checks)
        from websockets_app.channels import roster
        from websockets_app.security import identity

        identity.connect_receivers()
        roster.connect_receivers()
