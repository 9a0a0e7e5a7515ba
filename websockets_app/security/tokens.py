"""Short-lived, single-use connect tokens for sites whose session cookie cannot reach the WebSocket domain."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone

from websockets_app.conf import conf
from websockets_app.models import ConnectToken
from websockets_app.security.identity import auth_hash_holds, session_auth_hash, session_key_digest

MAX_TOKEN_LENGTH = 128


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_connect_token(user: Any, session_key: str | None = None) -> str:
    """A new token for ``user``, valid for ``WEBSOCKETS["CONNECT_TOKEN_MAX_AGE"]`` seconds and one connection.

    ``session_key``: the Django session asking for it. The token carries that login's binding (the session's digest,
    the user's session auth hash): it connects only while the login lasts, and its connection ends with it.
    """
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    ConnectToken.objects.create(
        token_hash=hash_token(token),
        user=user,
        session_key_hash=session_key_digest(session_key),
        session_auth_hash=session_auth_hash(user),
        created_at=now,
        expires_at=now + timedelta(seconds=conf.CONNECT_TOKEN_MAX_AGE),
    )
    return token


def redeem_connect_token(token: str) -> ConnectToken | None:
    """The token (with its user) if it is known, unexpired and unused, and its login still holds (the user active,
    the password unchanged); marks it used in the same UPDATE (race-free).

    A logout or the deletion of the session that asked for it deletes the token (``security.identity``).
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    token_hash = hash_token(token)
    now = timezone.now()
    redeemed = ConnectToken.objects.filter(token_hash=token_hash, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    )
    if redeemed != 1:
        return None
    redeemed_token = ConnectToken.objects.select_related("user").get(token_hash=token_hash)
    user = redeemed_token.user
    return redeemed_token if user.is_active and auth_hash_holds(redeemed_token.session_auth_hash, user) else None
