"""Which browser origins may open a connection: exact scheme, host and port, never substrings.

Browsers always send ``Origin`` on a WebSocket handshake, so checking it on ``$connect`` stops other sites from
opening connections with a visitor's cookies (cross-site WebSocket hijacking).
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import validate_host

from websockets_app.conf import conf

DEFAULT_PORTS = {"http": 80, "https": 443}
# Browsers send Origin with http(s) only; some non-browser WebSocket libraries send the ws(s):// URL they dial.
NON_BROWSER_SCHEMES = ("ws://", "wss://")
# Domains where anyone can get a host name: an ALLOWED_HOSTS wildcard under one admits other people's pages.
SHARED_DOMAINS = (".amazonaws.com", ".on.aws", ".cloudfront.net")


class Origin(NamedTuple):
    scheme: str
    host: str
    port: int


def parse_origin(value: str) -> Origin | None:
    """``scheme://host[:port]`` and nothing else (no path, query, user or fragment), else None."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or "#" in value or "?" in value:
        return None
    return Origin(scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[scheme])


def origin_matches(origin: Origin, pattern: str) -> bool:
    """Match one ``WEBSOCKETS["ALLOWED_ORIGINS"]`` entry; ``https://.example.com`` also admits subdomains."""
    allowed = parse_origin(pattern)
    if allowed is None or (allowed.scheme, allowed.port) != (origin.scheme, origin.port):
        return False
    if allowed.host.startswith("."):
        return origin.host == allowed.host[1:] or origin.host.endswith(allowed.host)
    return origin.host == allowed.host


def origin_allowed(value: str | None) -> bool:
    """Whether a ``$connect`` with this ``Origin`` header may go on.

    A ``ws://`` or ``wss://`` origin comes from a client that is not a browser: it is treated as no origin at all.
    """
    if not value or value.lower().startswith(NON_BROWSER_SCHEMES):
        return bool(conf.ALLOW_MISSING_ORIGIN)
    origin = parse_origin(value)
    if origin is None:
        return False
    patterns = conf.ALLOWED_ORIGINS
    if patterns is None:
        host = f"[{origin.host}]" if ":" in origin.host else origin.host
        return validate_host(host, _allowed_hosts())
    return any(origin_matches(origin, pattern) for pattern in patterns)


def _allowed_hosts() -> list[str]:
    """``ALLOWED_HOSTS`` as Django applies it: empty with ``DEBUG`` on, it admits the local hosts (startproject's)."""
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return settings.ALLOWED_HOSTS


def shared_domain_wildcards(allowed_hosts: list[str]) -> list[str]:
    """The ``ALLOWED_HOSTS`` entries that admit any host of a domain anyone can get names in ("*" included)."""
    return [
        host
        for host in allowed_hosts
        if host == "*" or (host.startswith(".") and host.lower().rstrip(".").endswith(SHARED_DOMAINS))
    ]
