"""What the emulator's log lines leave out: secrets that travel in query strings (``?token=``)."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote

__all__ = ("SECRET_PARAMETERS", "masked_query")

SECRET_PARAMETERS = frozenset({"token"})
MASK = "***"


def masked_query(query_string: bytes) -> str:
    """``?a=1&token=***`` for the log: the query with the values of :data:`SECRET_PARAMETERS` masked."""
    if not query_string:
        return ""
    raw = query_string.decode("latin-1")
    pairs = parse_qsl(raw, keep_blank_values=True)
    if not any(name in SECRET_PARAMETERS for name, _ in pairs):
        return f"?{raw}"
    shown = ((name, MASK if name in SECRET_PARAMETERS else quote(value, safe="")) for name, value in pairs)
    return "?" + "&".join(f"{quote(name, safe='')}={value}" for name, value in shown)
