from django.apps import AppConfig


class WebSocketsAppConfig(AppConfig):
    name = "websockets_app"
    verbose_name = "WebSockets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from websockets_app import (  # noqa: F401  (checks and security_checks register the system checks)
            checks,
            identity,
            presence,
            security_checks,
        )

        identity.connect_receivers()
        presence.connect_receivers()
