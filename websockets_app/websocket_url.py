"""Where browsers open their WebSocket: told to the page by the server, never hard-coded in it.

``WEBSOCKETS["URL"]`` when set: locally ``runserver`` points it at its emulator, and on AWS provisioning publishes
it (``WEBSOCKET_URL`` in the Lambda environment). Otherwise what the provisioned ``ApiGateway`` row records, read
as provisioning reads it: its custom domain once created, else the endpoint AWS reported and the stage.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from websockets_app.conf import conf
from websockets_app.models import ApiGateway
from websockets_app.provisioning.desired import browser_url

__all__ = ("websocket_url",)


def websocket_url(request: HttpRequest) -> str:
    """The WebSocket URL for pages served in answer to ``request``."""
    if conf.URL:
        return conf.URL.replace("{host}", request.get_host())
    api = ApiGateway.objects.exclude(api_endpoint="").order_by("pk").first()
    if api is None:
        raise ImproperlyConfigured(
            "No WebSocket API is known: set WEBSOCKETS['URL'], provision an ApiGateway, "
            "or run `python manage.py runserver`, which serves one locally."
        )
    created_domain = api.custom_domain_name if api.custom_domain_created else ""
    return browser_url(api.api_endpoint, api.stage_name, created_domain)
