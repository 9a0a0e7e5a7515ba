"""Fixed-window rate limits whose counters every Lambda container shares.

Lambda containers share no memory, start cold and run side by side, so a per-process counter resets on every cold
start and multiplies with concurrency. By default the counters live in the database (one row per identity and
window, incremented atomically); ``WEBSOCKETS["RATE_LIMIT_CACHE"]`` names a Django cache instead, which must be
shared and atomic (Redis, Memcached): check ``websockets_app.W102`` flags the ones that are not.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from datetime import UTC, datetime

from django.core.cache import caches
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Field

from websockets_app.conf import conf
from websockets_app.models import RateLimitCounter

__all__ = ("client_address_identity", "within_limit")

# Databases that increment a counter row in one statement (INSERT .. ON CONFLICT .. RETURNING); others take a few.
UPSERT_VENDORS = frozenset({"postgresql", "sqlite"})


def within_limit(scope: str, identity: str, limit: tuple[int, int] | None) -> bool:
    """Count one attempt for ``identity``; False once it made more than ``limit = (count, seconds)`` attempts."""
    if not limit or not identity:
        return True
    allowed, seconds = limit
    window = int(time.time() // seconds)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    key = f"websockets_app:{scope}:{digest}:{window}"
    cache_alias = conf.RATE_LIMIT_CACHE
    if cache_alias is None:
        attempts = _count_in_database(key, expires_at=(window + 1) * seconds + 1)
    else:
        attempts = _count_in_cache(cache_alias, key, seconds)
    return attempts <= allowed


def client_address_identity(address: str | None) -> str:
    """What an address is counted as: itself for IPv4, its ``RATE_LIMIT_IPV6_PREFIX`` network for IPv6.

    One IPv6 client is handed a whole /64, so counting single addresses would let it pick a fresh one per attempt.
    """
    if not address:
        return ""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return str(parsed)
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/{conf.RATE_LIMIT_IPV6_PREFIX}", strict=False))


def _count_in_database(key: str, *, expires_at: float) -> int:
    """One atomic increment of the window's row (created on first use); the count after it."""
    expiry = datetime.fromtimestamp(expires_at, tz=UTC)
    using = router.db_for_write(RateLimitCounter)
    connection = connections[using]
    if connection.vendor in UPSERT_VENDORS:
        table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
        key_column, count_column, expiry_column = (
            connection.ops.quote_name(field.column)
            for field in (RateLimitCounter._meta.get_field(name) for name in ("key", "count", "expires_at"))
            if isinstance(field, Field) and field.column
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({key_column}, {count_column}, {expiry_column}) VALUES (%s, 1, %s) "  # noqa: S608
                f"ON CONFLICT ({key_column}) DO UPDATE SET {count_column} = {table}.{count_column} + 1 "
                f"RETURNING {count_column}",
                [key, connection.ops.adapt_datetimefield_value(expiry)],
            )
            attempts: int = cursor.fetchone()[0]
            return attempts
    counters = RateLimitCounter.objects.using(using).filter(key=key)
    with transaction.atomic(using=using):
        if not counters.update(count=F("count") + 1):
            try:
                with transaction.atomic(using=using):
                    RateLimitCounter.objects.using(using).create(key=key, count=1, expires_at=expiry)
                return 1
            except IntegrityError:  # another container created it meanwhile
                counters.update(count=F("count") + 1)
        return counters.values_list("count", flat=True).get()


def _count_in_cache(alias: str, key: str, seconds: int) -> int:
    cache = caches[alias]
    cache.add(key, 0, timeout=seconds + 1)
    try:
        return int(cache.incr(key))
    except ValueError:  # the window's key expired between add and incr
        cache.add(key, 1, timeout=seconds + 1)
        return 1
