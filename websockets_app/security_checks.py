"""System checks for settings that quietly weaken the app's defences (ids ``websockets_app.W1xx``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

from websockets_app.conf import conf
from websockets_app.origins import shared_domain_wildcards

__all__ = ("check_origin_default",)


@register(Tags.security)
def check_origin_default(**kwargs: Any) -> list[CheckMessage]:
    """Without ALLOWED_ORIGINS the Origin check follows ALLOWED_HOSTS, whose AWS wildcards admit anyone's pages."""
    if conf.ALLOWED_ORIGINS is not None:
        return []
    wildcards = shared_domain_wildcards(list(settings.ALLOWED_HOSTS))
    if not wildcards:
        return []
    return [
        Warning(
            f"WEBSOCKETS['ALLOWED_ORIGINS'] is not set, so $connect accepts every Origin that ALLOWED_HOSTS accepts; "
            f"{', '.join(repr(host) for host in wildcards)} admits pages on hosts anyone can create there (any "
            "execute-api or CloudFront site), which can then open connections with your visitors' cookies.",
            hint="Set WEBSOCKETS['ALLOWED_ORIGINS'] to the origins of your own pages, e.g. "
            "['https://www.example.com'] or ['https://abc123defg.execute-api.eu-west-1.amazonaws.com'].",
            id="websockets_app.W101",
        )
    ]
