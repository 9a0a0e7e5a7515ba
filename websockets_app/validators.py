"""What the app accepts from events, messages, settings and forms: each rule written once.

Channel names travel in URLs and logs, route keys are API Gateway's, and JSON's numbers arrive in Python as
``int`` or ``bool`` alike, so "a whole number" needs its own test.
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

__all__ = (
    "CHANNEL_NAME_RE",
    "ROUTE_KEY_PATTERN",
    "django_path_validator",
    "is_whole_number",
    "route_key_validator",
    "validate_channel_name",
)

CHANNEL_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
# Custom route keys as API Gateway accepts them ("$" keys are reserved for the built-in routes).
ROUTE_KEY_PATTERN = r"[A-Za-z0-9_.:-]{1,128}"

route_key_validator = RegexValidator(f"^{ROUTE_KEY_PATTERN}$", "Use 1 to 128 letters, digits, '_', '.', ':' or '-'.")
django_path_validator = RegexValidator(r"^(/[^\s]*)?$", "Give a Django path starting with '/', or leave it empty.")


def validate_channel_name(name: object) -> None:
    """Channel names travel in URLs and logs: keep them to 1-128 letters, digits, '-', '_' and '.'."""
    if not isinstance(name, str) or not CHANNEL_NAME_RE.fullmatch(name):
        raise ValidationError("Invalid channel: use 1 to 128 letters, digits, '-', '_' or '.'.", code="invalid")


def is_whole_number(value: Any, low: int | None = None, high: int | None = None) -> TypeGuard[int]:
    """Whether ``value`` is an ``int`` (never a ``bool``, which JSON's true and false become) within the bounds."""
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return (low is None or value >= low) and (high is None or value <= high)
