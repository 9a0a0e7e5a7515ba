"""Where browsers open their WebSocket: told to the page by the server, never hard-coded in it.

``WEBSOCKETS["URL"]`` when set: locally ``runserver`` points it at its emulator, and on AWS provisioning publishes
it (``WEBSOCKET_URL`` in the Lambda environment). Otherwise the provisioned API's custom domain, or its execute-api
URL with the stage.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from websockets_app.conf import conf
from websockets_app.models import ApiGateway

__all__ = ("websocket_url",)


def websocket_url(request: HttpRequest) -> str:
    """The WebSocket URL for pages served in answer to ``request``."""
    if conf.URL:
        return conf.URL.replace("{host}", request.get_host())
    api = ApiGateway.objects.exclude(api_id="").order_by("pk").first()
    if api is None:
        raise ImproperlyConfigured(
            "No WebSocket API is known: set WEBSOCKETS['URL'], provision an ApiGateway, "
            "or run `python manage.py runserver`, which serves one locally."
        )
    if api.custom_domain_name and api.custom_domain_created:
        return f"wss://{api.custom_domain_name}"
    region = api.aws_region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "")
    return f"wss://{api.api_id}.execute-api.{region}.amazonaws.com/{api.stage_name}"
