from django.apps import AppConfig


class WebSocketsAppConfig(AppConfig):
    name = "websockets_app"
    verbose_name = "WebSockets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from websockets_app import checks, security_checks  # noqa: F401  (they register the system checks)
        from websockets_app.channels import roster
        from websockets_app.security import identity

        identity.connect_receivers()
        roster.connect_receivers()
