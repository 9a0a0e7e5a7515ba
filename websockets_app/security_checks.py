"""System checks for settings that quietly weaken the app's defences (ids ``websockets_app.W1xx``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

from websockets_app.conf import conf
from websockets_app.security.origins import shared_domain_wildcards

__all__ = ("check_origin_default", "check_rate_limit_store")


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


# Cache backends whose counters are not shared by Lambda containers (or not kept at all).
UNSHARED_CACHE_BACKENDS = {
    "django.core.cache.backends.locmem.LocMemCache": "keeps its counters per process",
    "django.core.cache.backends.filebased.FileBasedCache": "keeps its counters on one container's disk",
    "django.core.cache.backends.dummy.DummyCache": "keeps nothing, which turns every limit off",
}


@register(Tags.security)
def check_rate_limit_store(**kwargs: Any) -> list[CheckMessage]:
    """Rate limits in a per-process or dummy cache reset on cold starts and multiply with concurrency."""
    alias = conf.RATE_LIMIT_CACHE
    if alias is None:
        return []
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    problem = UNSHARED_CACHE_BACKENDS.get(backend)
    if problem is None:
        return []
    return [
        Warning(
            f"WEBSOCKETS['RATE_LIMIT_CACHE'] is {alias!r}, a {backend.rsplit('.', 1)[-1]} that {problem}: on Lambda "
            "each container counts alone, from zero after every cold start, so the connect and token limits do not "
            "hold.",
            hint="Remove RATE_LIMIT_CACHE to count in the database (the default), or name a cache every container "
            "shares with atomic increments (Redis, Memcached).",
            id="websockets_app.W102",
        )
    ]
