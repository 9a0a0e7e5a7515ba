"""Keeping web pages away from the emulator's ``@connections``: no other site may post to a developer's sockets.

On AWS a page cannot use the management API: it needs a SigV4 signature made with the developer's credentials. The
emulator listens on the developer's own machine, where any page the browser shows can send it a ``no-cors`` POST,
or reach it under the attacker's own host name through DNS rebinding. Browsers mark every such request, and
boto3 (or any other server-side client) marks none: ``Origin`` and ``Sec-Fetch-*`` headers come only from browsers,
and a rebound name stays in the ``Host`` header.
"""

from __future__ import annotations

import ipaddress
from typing import Any

__all__ = ("browser_refusal",)

# Headers browsers add to the requests pages make (Fetch metadata, and Origin on every POST), never server clients.
BROWSER_HEADERS = frozenset({b"origin", b"sec-fetch-site", b"sec-fetch-mode", b"sec-fetch-dest", b"sec-fetch-user"})
LOOPBACK_NAMES = frozenset({"localhost"})


def browser_refusal(scope: dict[str, Any], own_host: str) -> str | None:
    """Why a ``@connections`` request must be refused (403), or ``None`` when it may go on.

    ``own_host`` is the ``host:port`` the emulator serves on (what ``ENDPOINT_URL`` names).
    """
    client = scope.get("client")
    if not client or not _is_loopback(client[0]):
        return "the caller is not on this machine"
    headers = scope.get("headers") or []
    names = {name.lower() for name, _ in headers}
    if names & BROWSER_HEADERS:
        return "a web page sent it (Origin or Sec-Fetch-* header)"
    hosts = [value.decode("latin-1") for name, value in headers if name.lower() == b"host"]
    if len(hosts) != 1 or not _is_own_host(hosts[0], own_host):
        return "its Host is not this machine (DNS rebinding?)"
    return None


def _is_own_host(host: str, own_host: str) -> bool:
    if host.lower() == own_host.lower():
        return True
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip("[]").lower()
    return name in LOOPBACK_NAMES or _is_loopback(name)


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
