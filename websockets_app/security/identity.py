"""A connection's identity is bound to the Django login it was opened with, and ends when that login does.

API Gateway sends the cookie on ``$connect`` only, so a connection cannot re-read the session on later events. It
records instead which session it came from (a digest of the session key: the key itself is never stored) and the
user's session auth hash, as ``django.contrib.auth`` keeps it in the session. Every later event re-checks the hash
against the user row it loads anyway (no extra query): a password change or a deactivation ends the identity at
once. A connect token carries the same binding, taken from the session that asked for it.

A login ends its connections and unused tokens when it is logged out, when its session row is deleted (the ``db``
and ``cached_db`` session backends: ``clearsessions``, a flush, an operator deleting rows, a new login in the same
browser) and, for all of the user's, on a password change or a deactivation; :func:`close_user_connections` does
it on demand ("log out everywhere", a revoked permission). Nothing of this costs a message a query: it is done
when the login ends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import connections, transaction
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.module_loading import import_string

from websockets_app.models import ConnectToken, WebSocketSession
from websockets_app.security.closing import close_connections

__all__ = (
    "IDENTITY_USER_FIELDS",
    "LOGIN_ENDED_REASON",
    "auth_hash_holds",
    "close_user_connections",
    "end_logins",
    "expired_logins_ended",
    "identity_binding",
    "identity_holds",
    "session_auth_hash",
    "session_key_digest",
)

_SESSION_DELETED_UID = "websockets_app.security.identity.session_deleted"
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


def identity_binding(request: HttpRequest, user: Any, token: ConnectToken | None = None) -> dict[str, str]:
    """The fields a new connection of ``user`` stores: the login it comes from (the cookie's, or the token's)."""
    if user is None:
        return {"session_key_hash": "", "session_auth_hash": ""}
    if token is not None:
        return {"session_key_hash": token.session_key_hash, "session_auth_hash": token.session_auth_hash}
    session = getattr(request, "session", None)
    return {
        "session_key_hash": session_key_digest(session.session_key if session is not None else None),
        "session_auth_hash": session_auth_hash(user),
    }


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
    return auth_hash_holds(session.session_auth_hash, user)


def auth_hash_holds(stored: str, user: Any) -> bool:
    """Whether a session auth hash stored for ``user`` still matches it (a key of ``SECRET_KEY_FALLBACKS`` too)."""
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
    return close_connections(WebSocketSession.objects.filter(user=user), reason)


# Session digests per query when many logins end at once (clearsessions): far under every database's parameter limit.
_LOGINS_PER_QUERY = 500


def end_logins(session_key_hashes: Iterable[str]) -> None:
    """End what the logins of these session digests opened: their connections, and the tokens not used yet."""
    digests = sorted(set(session_key_hashes) - {""})
    for start in range(0, len(digests), _LOGINS_PER_QUERY):
        chunk = digests[start : start + _LOGINS_PER_QUERY]
        close_connections(WebSocketSession.objects.filter(session_key_hash__in=chunk), LOGIN_ENDED_REASON)
        ConnectToken.objects.filter(
            session_key_hash__in=chunk, used_at__isnull=True, expires_at__gt=timezone.now()
        ).delete()


def _on_logged_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    digest = session_key_digest(session.session_key if session is not None else None)
    if user is not None and digest:
        # Every session backend, those without rows (cache, signed cookies, files) included.
        end_logins([digest])


class _EndedLogins:
    """The session rows one transaction deletes: their logins end, in a few queries, once it commits."""

    def __init__(self) -> None:
        self.session_key_hashes: set[str] = set()

    def __call__(self) -> None:
        end_logins(self.session_key_hashes)


def _on_session_deleted(sender: Any, instance: Any, using: str, **kwargs: Any) -> None:
    """A session row deleted (clearsessions, a flush, "log out everywhere"): collected for its transaction's commit.

    A deletion of many rows sends this once per row: the digests join the callback already waiting for the same
    transaction (in the connection's ``run_on_commit``, the list ``transaction.on_commit`` fills and a rollback
    empties), so the logins end in a few queries once it commits, and a rolled-back deletion ends nothing.
    """
    pending = next((entry[1] for entry in connections[using].run_on_commit if isinstance(entry[1], _EndedLogins)), None)
    if pending is None:
        pending = _EndedLogins()
        transaction.on_commit(pending, using=using)
    pending.session_key_hashes.add(session_key_digest(instance.session_key))


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
        if not auth_hash_holds(stored, instance)
    ]
    if stale:
        close_connections(WebSocketSession.objects.filter(pk__in=stale), LOGIN_ENDED_REASON)


@contextmanager
def expired_logins_ended() -> Iterator[None]:
    """Around the deletion of expired session rows (``clearsessions``): their logins end, on Django's fast path.

    Listening to session deletions makes Django load every row it deletes to send its signal, where alone it runs
    one ``DELETE``. Here the expired sessions whose logins opened a connection or asked for a token still unused are
    found first (none: nothing is read), the deletion runs with nobody listening, and those logins end. An expired
    session is a login that has ended, whether or not its row is gone, so they end even if the deletion fails.
    """
    session_model = _session_model()
    if session_model is None:
        yield
        return
    ended = _expired_logins_in_use(session_model)
    listening = post_delete.disconnect(sender=session_model, dispatch_uid=_SESSION_DELETED_UID)
    try:
        yield
    finally:
        if listening:
            post_delete.connect(_on_session_deleted, sender=session_model, dispatch_uid=_SESSION_DELETED_UID)
        end_logins(ended)


def _expired_logins_in_use(session_model: Any) -> set[str]:
    """Digests of the expired sessions that opened a connection still open, or asked for a token still unused."""
    now = timezone.now()
    in_use = set(
        WebSocketSession.objects.connected().exclude(session_key_hash="").values_list("session_key_hash", flat=True)
    )
    in_use.update(
        ConnectToken.objects.filter(used_at__isnull=True, expires_at__gt=now)
        .exclude(session_key_hash="")
        .values_list("session_key_hash", flat=True)
    )
    if not in_use:
        return set()
    expired = session_model.objects.filter(expire_date__lt=now).values_list("session_key", flat=True)
    return {digest for key in expired.iterator(chunk_size=2000) if (digest := session_key_digest(key)) in in_use}


def connect_receivers() -> None:
    """End logins' connections and tokens on logout, session deletion, password change and deactivation.

    Called from the app's ``ready()``. Session deletions are heard for the configured backend's model when it keeps
    sessions in the database (``db``, ``cached_db`` and their subclasses).
    """
    user_logged_out.connect(_on_logged_out, dispatch_uid="websockets_app.security.identity.logged_out")
    post_save.connect(
        _on_user_saved, sender=get_user_model(), dispatch_uid="websockets_app.security.identity.user_saved"
    )
    session_model = _session_model()
    if session_model is not None:
        post_delete.connect(_on_session_deleted, sender=session_model, dispatch_uid=_SESSION_DELETED_UID)


def _session_model() -> Any:
    """The model the configured session backend keeps rows in; None when it keeps none in the database."""
    from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

    try:
        store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    except ImportError:
        return None  # Django reports a wrong SESSION_ENGINE itself, on the first request
    if not issubclass(store, DatabaseSessionStore):
        return None
    try:
        return store.get_model_class()
    except RuntimeError:  # Django's own model, and django.contrib.sessions not installed: no session rows at all
        return None
