"""The Lambda invocation being served, so that long work can stop before Lambda's timeout ends it.

The entry point records the invocation's ``context`` (the object Lambda passes to the handler) for the time it
runs; code deep inside, such as an asynchronous batch of a broadcast, asks how long is left. Off Lambda there is
no context and no limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ("remaining_seconds", "serving")

_context: ContextVar[Any] = ContextVar("websockets_app_invocation", default=None)


@contextmanager
def serving(context: Any) -> Iterator[None]:
    """Record ``context`` as the current invocation's while the block runs."""
    token = _context.set(context)
    try:
        yield
    finally:
        _context.reset(token)


def remaining_seconds() -> float | None:
    """Seconds left before Lambda's timeout, or None when not serving an invocation that has one."""
    context = _context.get()
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return None if remaining is None else remaining() / 1000
