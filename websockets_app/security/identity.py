"""A connection's identity is bound to the Django login it was opened with, and ends when that login does.

API Gateway sends the cookie on ``$connect`` only, so a connection cannot re-read the session on later events. It
records instead which session it came from (a digest of the session key) and the user's session auth hash, as
``django.contrib.auth`` keeps it in the session. Every later event re-checks the hash against the user row it loads
anyway (no extra query): a password change or a deactivation ends the identity at once. Logging out ends the
connections opened with that session; a password change or a deactivation closes all of the user's connections
through the management API; :func:`close_user_connections` does it on demand ("log out everywhere", a revoked
permission).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_save
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from websockets_app.exceptions import ManagementApiError
from websockets_app.models import WebSocketSession, WebSocketSessionQuerySet

__all__ = (
    "IDENTITY_USER_FIELDS",
    "LOGIN_ENDED_REASON",
    "close_user_connections",
    "end_connection",
    "identity_binding",
    "identity_holds",
    "session_key_digest",
)

logger = logging.getLogger(__name__)

# The user columns identity_holds() reads: whoever loads the user for the event path must load these.
IDENTITY_USER_FIELDS = ("password", "is_active")
# Saving any of these may end the identity of the user's connections.
_IDENTITY_CHANGING_FIELDS = frozenset(IDENTITY_USER_FIELDS)
LOGIN_ENDED_REASON = "Closed by the server: the login this connection was opened with has ended."
# django.contrib.auth's salt for the session auth hash (AbstractBaseUser.get_session_auth_hash).
_AUTH_HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"


def session_key_digest(session_key: str | None) -> str:
    """What a connection stores of its session key: a digest, so the table lets nobody take over a session."""
    return hashlib.sha256(session_key.encode()).hexdigest() if session_key else ""


def session_auth_hash(user: Any) -> str:
    """The user's session auth hash, as ``django.contrib.auth`` stores it in the session ("" if it has none)."""
    get_hash = getattr(user, "get_session_auth_hash", None)
    return get_hash() if get_hash is not None else ""


def identity_binding(request: HttpRequest, user: Any, session_key_hash: str | None = None) -> dict[str, str]:
    """The fields a new connection of ``user`` stores: its session (the cookie's, or the token's) and auth hash."""
    if user is None:
        return {"session_key_hash": "", "session_auth_hash": ""}
    if session_key_hash is None:
        session = getattr(request, "session", None)
        session_key_hash = session_key_digest(session.session_key if session is not None else None)
    return {"session_key_hash": session_key_hash, "session_auth_hash": session_auth_hash(user)}


def identity_holds(session: WebSocketSession) -> bool:
    """Whether the connection may still act as its user: active, and the password unchanged since it connected.

    Reads only :data:`IDENTITY_USER_FIELDS` of the already loaded user. Hashes made with a key of
    ``SECRET_KEY_FALLBACKS`` still hold, as they do for Django's own sessions.
    """
    user = session.user
    if user is None:
        return True
    if not user.is_active:
        return False
    return _auth_hash_holds(session.session_auth_hash, user)


def _auth_hash_holds(stored: str, user: Any) -> bool:
    if not hasattr(user, "get_session_auth_hash"):
        return True
    if not stored:
        return False
    if constant_time_compare(stored, user.get_session_auth_hash()):
        return True
    return any(constant_time_compare(stored, _fallback_auth_hash(user, key)) for key in settings.SECRET_KEY_FALLBACKS)


def _fallback_auth_hash(user: Any, secret: str | bytes) -> str:
    return salted_hmac(_AUTH_HASH_SALT, user.password, secret=secret, algorithm="sha256").hexdigest()


def close_user_connections(user: Any, *, reason: str = LOGIN_ENDED_REASON) -> int:
    """Close every open connection of ``user`` ("log out everywhere", a revoked permission); returns how many.

    The rows are marked closed at once, so no later event acts as the user even if AWS cannot be reached; the
    connections are closed through the management API once the surrounding transaction has committed.
    """
    return _close(WebSocketSession.objects.filter(user=user), reason)


def end_connection(session: WebSocketSession) -> None:
    """Close one connection whose login has ended (its event is refused)."""
    _close(WebSocketSession.objects.filter(pk=session.pk), LOGIN_ENDED_REASON)
    session.connected = False


def _close(queryset: WebSocketSessionQuerySet, reason: str) -> int:
    with transaction.atomic():
        targets = list(queryset.connected().select_for_update())
        closed = WebSocketSession.objects.filter(pk__in=[target.pk for target in targets]).mark_closed(reason=reason)
        transaction.on_commit(lambda: _close_through_api(targets))
    return closed


def _close_through_api(targets: list[WebSocketSession]) -> None:
    for target in targets:
        try:
            target.close()
        except ManagementApiError as error:
            # The row is closed already: the connection can do nothing more, AWS drops it when idle.
            logger.warning("Could not close connection %s: %s", target.connection_id, error)


def _on_logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    digest = session_key_digest(session.session_key if session is not None else None)
    if user is not None and digest:
        _close(WebSocketSession.objects.filter(user=user, session_key_hash=digest), LOGIN_ENDED_REASON)


def _on_user_saved(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    if created or (update_fields is not None and not _IDENTITY_CHANGING_FIELDS & set(update_fields)):
        return  # a login's last_login update, say: nothing that ends an identity
    if not instance.is_active:
        close_user_connections(instance)
        return
    candidates = WebSocketSession.objects.filter(user=instance).connected()
    stale = [
        pk
        for pk, stored in candidates.exclude(session_auth_hash=session_auth_hash(instance)).values_list(
            "pk", "session_auth_hash"
        )
        if not _auth_hash_holds(stored, instance)
    ]
    if stale:
        _close(WebSocketSession.objects.filter(pk__in=stale), LOGIN_ENDED_REASON)


def connect_receivers() -> None:
    """Close connections on logout, password change and deactivation (called from the app's ``ready()``)."""
    user_logged_out.connect(_on_logged_out, dispatch_uid="websockets_app.security.identity.logged_out")
    post_save.connect(
        _on_user_saved, sender=get_user_model(), dispatch_uid="websockets_app.security.identity.user_saved"
    )
