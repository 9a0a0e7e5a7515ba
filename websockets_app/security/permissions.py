"""Permission requirements for views and actions, in the spirit of Django's PermissionRequiredMixin."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class AnyOf(tuple[str, ...]):
    """Permissions of which any one suffices: ``permission_required = AnyOf(["chat.post", "chat.moderate"])``.

    A plain string or list requires all of them.
    """

    def __new__(cls, permissions: Iterable[str]) -> AnyOf:
        return super().__new__(cls, permissions)


Requirement = str | Iterable[str]


def has_permissions(user: Any, required: Requirement) -> bool:
    """Whether ``user`` holds ``required``: a permission name, all of a list, or any of an ``AnyOf``."""
    if not required:
        return True
    if isinstance(required, str):
        return bool(user.has_perm(required))
    if isinstance(required, AnyOf):
        return any(user.has_perm(permission) for permission in required)
    return bool(user.has_perms(tuple(required)))
