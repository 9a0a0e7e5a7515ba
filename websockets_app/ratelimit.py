"""Fixed-window connect rate limits in Django's cache: one ``add`` and one atomic ``incr`` per check.

Counters live in the cache named by ``WEBSOCKETS["RATE_LIMIT_CACHE"]``. Lambda containers share nothing, so in
production point it at a shared cache whose ``incr`` is atomic (Redis or Memcached).
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import caches

from websockets_app.conf import conf


def within_limit(scope: str, identity: str, limit: tuple[int, int] | None) -> bool:
    """Count one attempt for ``identity``; False once it made more than ``limit = (count, seconds)`` attempts."""
    if not limit or not identity:
        return True
    allowed, seconds = limit
    window = int(time.time() // seconds)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    key = f"websockets_app:connect:{scope}:{digest}:{window}"
    cache = caches[conf.RATE_LIMIT_CACHE]
    cache.add(key, 0, timeout=seconds + 1)
    try:
        attempts = cache.incr(key)
    except ValueError:  # the window's key expired between add and incr
        cache.add(key, 1, timeout=seconds + 1)
        attempts = 1
    return attempts <= allowed
