"""Loading the connection of an event after ``$connect``: one query, with what the event path needs of the user.

Every MESSAGE and ``$disconnect`` starts here, so this is the hottest query of the app. It reads the session's
columns and only the user columns the identity check reads
(:data:`~websockets_app.security.identity.IDENTITY_USER_FIELDS`) and the username; the rest of the user is deferred and
loads if a handler asks for it. The SQL and its column converters are built once per database, not by the ORM on
every event (compiling a ``select_related`` query costs more than running it).

A message is also counted by it (:mod:`websockets_app.security.message_rate`): on PostgreSQL and SQLite the query is
one ``UPDATE .. RETURNING`` that moves the connection's message clock, refreshes its last-seen time when that is a
minute old, and returns the row with the user's columns. Outside a transaction, PostgreSQL commits that statement
without waiting for its WAL to reach the disk (``synchronous_commit`` off for it alone): a crash could lose the last
moments of a rate-limit clock, never anything else, and the message does not wait for a disk flush. Other databases
count through the ORM, in the same transaction as a second query.

The query is also the connection's health check. ``CONN_HEALTH_CHECKS`` would send a ``SELECT 1`` before it on
every event: instead, a reused connection that fails this first query (the database dropped it while the container
was frozen) is closed and the query run once more on a new one, so the protection stays and costs nothing when the
connection is fine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError, connections, router, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Greatest

from websockets_app.models import LAST_SEEN_RESOLUTION, WebSocketSession
from websockets_app.security.identity import IDENTITY_USER_FIELDS
from websockets_app.security.message_rate import MessageAllowance, epoch_microseconds

__all__ = ("COUNTING_VENDORS", "load_event_session")

# Databases that count a message in the query that loads its connection (UPDATE .. RETURNING, SQLite 3.35 and up).
COUNTING_VENDORS = frozenset({"postgresql", "sqlite"})


@dataclass(frozen=True)
class _Column:
    expression: Any
    converters: tuple[Callable[..., Any], ...]


@dataclass(frozen=True)
class _Lookup:
    sql: str
    # The same row moved on by one message: plain, and (PostgreSQL, outside a transaction) committed without a flush.
    counting_sql: str
    counting_sql_unflushed: str
    session_fields: tuple[str, ...]
    user_fields: tuple[str, ...]
    columns: tuple[_Column, ...]


def load_event_session(
    connection_id: str, *, counting: MessageAllowance | None = None, now: datetime | None = None
) -> WebSocketSession | None:
    """The row of ``connection_id`` with its user's identity columns (None when there is no row).

    With ``counting``, the event is a message: the row's ``message_clock`` is moved on by one message as of ``now``
    and its ``last_seen_at`` set to ``now`` when it is ``LAST_SEEN_RESOLUTION`` old, in the same query.
    """
    alias = router.db_for_write(WebSocketSession) if counting else router.db_for_read(WebSocketSession)
    connection = connections[alias]
    lookup = _lookup_for(alias, get_user_model()._meta.label)
    if counting is not None and now is not None:
        if lookup is None or connection.vendor not in COUNTING_VENDORS:
            return _count_with_the_orm(alias, connection_id, counting, now)
        sql = lookup.counting_sql
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            sql = lookup.counting_sql_unflushed
        clock = epoch_microseconds(now)
        stale = connection.ops.adapt_datetimefield_value(now - LAST_SEEN_RESOLUTION)
        params = [clock, clock, counting.interval, stale, connection.ops.adapt_datetimefield_value(now), connection_id]
        row = _first_query(connection, sql, params)
    elif lookup is None:
        return WebSocketSession.objects.select_related("user").filter(connection_id=connection_id).first()
    else:
        row = _first_query(connection, lookup.sql, [connection_id])
    if row is None:
        return None
    values = [_converted(value, column, connection) for value, column in zip(row, lookup.columns, strict=True)]
    split = len(lookup.session_fields)
    session = WebSocketSession.from_db(alias, lookup.session_fields, values[:split])
    if values[split] is not None:
        session.user = get_user_model().from_db(alias, lookup.user_fields, values[split:])
    return session


def _count_with_the_orm(
    alias: str, connection_id: str, counting: MessageAllowance, now: datetime
) -> WebSocketSession | None:
    """The count and the row in two queries, for databases without UPDATE .. RETURNING (and multi-table users)."""
    rows = WebSocketSession.objects.using(alias).filter(connection_id=connection_id)
    clock = epoch_microseconds(now)
    with transaction.atomic(using=alias):
        moved = rows.update(
            message_clock=Greatest(F("message_clock"), Value(clock)) + counting.interval,
            last_seen_at=Case(
                When(last_seen_at__lt=now - LAST_SEEN_RESOLUTION, then=Value(now)), default=F("last_seen_at")
            ),
        )
        return rows.select_related("user").first() if moved else None


def _converted(value: Any, column: _Column, connection: Any) -> Any:
    for converter in column.converters:
        value = converter(value, column.expression, connection)
    return value


@cache
def _lookup_for(alias: str, user_model_label: str) -> _Lookup | None:
    """The SQL and converters; None for a user model whose columns span tables (multi-table inheritance)."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    user_model = get_user_model()
    session_fields = WebSocketSession._meta.concrete_fields
    # The identity columns, and the username most handlers show (``get_username()``); in the model's field order,
    # as ``from_db`` expects. Columns a user model lacks are not read.
    wanted = {*IDENTITY_USER_FIELDS, user_model.USERNAME_FIELD}
    user_fields = [field for field in user_model._meta.concrete_fields if field.primary_key or field.name in wanted]
    if any(field not in user_model._meta.local_concrete_fields for field in user_fields):
        return None
    # Quoted names from the models' metadata only: the connection id and the times are parameters.
    session_table, user_table = quote(WebSocketSession._meta.db_table), quote(user_model._meta.db_table)
    user_key = quote(_column(WebSocketSession._meta.get_field("user")))
    user_pk = quote(_column(user_model._meta.pk))
    key = quote(_column(WebSocketSession._meta.get_field("connection_id")))
    clock = quote(_column(WebSocketSession._meta.get_field("message_clock")))
    seen = quote(_column(WebSocketSession._meta.get_field("last_seen_at")))

    names = ", ".join(f"s.{quote(_column(field))}" for field in session_fields)
    user_names = ", ".join(f"u.{quote(_column(field))}" for field in user_fields)
    sql = (
        f"SELECT {names}, {user_names} FROM {session_table} s "  # noqa: S608
        f"LEFT OUTER JOIN {user_table} u ON u.{user_pk} = s.{user_key} WHERE s.{key} = %s"
    )
    # RETURNING names the updated table only (SQLite allows no join there): the user's columns are subqueries.
    returned = ", ".join(
        [f"{session_table}.{quote(_column(field))}" for field in session_fields]
        + [
            f"(SELECT u.{quote(_column(field))} FROM {user_table} u WHERE u.{user_pk} = {session_table}.{user_key})"  # noqa: S608
            for field in user_fields
        ]
    )
    moves = (
        f"UPDATE {session_table} SET {clock} = CASE WHEN {clock} > %s THEN {clock} ELSE %s END + %s, "  # noqa: S608
        f"{seen} = CASE WHEN {seen} < %s THEN %s ELSE {seen} END"
    )
    counting_sql = f"{moves} WHERE {key} = %s RETURNING {returned}"
    unflushed = "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS unflushed"
    counting_sql_unflushed = f"{moves} {unflushed} WHERE {key} = %s RETURNING {returned}"

    selected = [(field, "s") for field in session_fields] + [(field, "u") for field in user_fields]
    columns = []
    for field, alias_ in selected:
        expression = field.get_col(alias_)
        converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        columns.append(_Column(expression, tuple(converters)))
    return _Lookup(
        sql=sql,
        counting_sql=counting_sql,
        counting_sql_unflushed=counting_sql_unflushed,
        session_fields=tuple(field.attname for field in session_fields),
        user_fields=tuple(field.attname for field in user_fields),
        columns=tuple(columns),
    )


def _first_query(connection: Any, sql: str, params: Sequence[Any]) -> Sequence[Any] | None:
    """Run the event's first query, standing in for the health check ``CONN_HEALTH_CHECKS`` would run before it."""
    due = connection.health_check_enabled and not connection.health_check_done and connection.connection is not None
    if not due or connection.in_atomic_block:
        return _fetch_one(connection, sql, params)
    connection.health_check_done = True  # this query is the check
    try:
        return _fetch_one(connection, sql, params)
    except (OperationalError, InterfaceError):
        connection.close()  # dropped while the container slept: once more, on a new connection
        return _fetch_one(connection, sql, params)


def _column(field: Any) -> str:
    """A concrete field's column (every field read here is one)."""
    column: str = field.column
    return column


def _fetch_one(connection: Any, sql: str, params: Sequence[Any]) -> Sequence[Any] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[Sequence[Any]] = cursor.fetchall()  # all of them: the statement of an UPDATE ends with its rows
        return rows[0] if rows else None
