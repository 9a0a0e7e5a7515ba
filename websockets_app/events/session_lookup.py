"""Loading the connection of an event after ``$connect``: one query, with what the event path needs of the user.

Every MESSAGE and ``$disconnect`` starts here, so this is the hottest query of the app. It reads the session's
columns and only the user columns the identity check reads
(:data:`~websockets_app.security.identity.IDENTITY_USER_FIELDS`) and the username; the rest of the user is deferred and
loads if a handler asks for it. The SQL and its column converters are built once per database, not by the ORM on
every event (compiling a ``select_related`` query costs more than running it).

A message is counted against its connection's rate limit (:mod:`websockets_app.security.message_rate`) by the same
query: on PostgreSQL and SQLite it upserts the connection's :class:`~websockets_app.models.MessageClock` and returns
the clock with the row and its user's columns (PostgreSQL: a data-modifying ``WITH`` joined to the row; SQLite, which
allows no such ``WITH``: ``RETURNING`` the row's columns as subqueries). The clock's table is UNLOGGED on
PostgreSQL, so the statement commits without waiting for the disk. Other databases count through the ORM, in a
transaction of their own.

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
from django.db import IntegrityError, InterfaceError, OperationalError, connections, router, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from websockets_app.models import MessageClock, WebSocketSession
from websockets_app.security.identity import IDENTITY_USER_FIELDS
from websockets_app.security.message_rate import MessageAllowance, epoch_microseconds

__all__ = ("COUNTING_VENDORS", "count_message", "load_event_session")

# Databases that count a message in the query that loads its connection.
COUNTING_VENDORS = frozenset({"postgresql", "sqlite"})


@dataclass(frozen=True)
class _Column:
    expression: Any
    converters: tuple[Callable[..., Any], ...]


@dataclass(frozen=True)
class _Lookup:
    sql: str
    # The same row and user, the connection's clock moved on by one message and returned first.
    counting_sql: str
    session_fields: tuple[str, ...]
    user_fields: tuple[str, ...]
    columns: tuple[_Column, ...]


def load_event_session(connection_id: str) -> WebSocketSession | None:
    """The row of ``connection_id`` with its user's identity columns (None when there is no row)."""
    alias = router.db_for_read(WebSocketSession)
    connection = connections[alias]
    lookup = _lookup_for(alias, get_user_model()._meta.label)
    if lookup is None:
        return WebSocketSession.objects.select_related("user").filter(connection_id=connection_id).first()
    row = _first_query(connection, lookup.sql, [connection_id])
    return None if row is None else _session(alias, lookup, row, connection)


def count_message(
    connection_id: str, allowance: MessageAllowance, now: datetime
) -> tuple[WebSocketSession, int] | None:
    """Count a message of ``connection_id`` as of ``now``: its row (as :func:`load_event_session` gives it) and its
    clock moved on by one message; None when there is no row (nothing is counted then)."""
    alias = router.db_for_write(MessageClock)
    connection = connections[alias]
    lookup = _lookup_for(alias, get_user_model()._meta.label)
    clock = epoch_microseconds(now)
    if lookup is None or connection.vendor not in COUNTING_VENDORS:
        return _count_with_the_orm(alias, connection_id, allowance, clock)
    params = [clock + allowance.interval, connection_id, clock, clock, allowance.interval]
    row = _first_query(connection, lookup.counting_sql, params)
    if row is None:
        return None
    return _session(alias, lookup, row[1:], connection), row[0]


def _session(alias: str, lookup: _Lookup, row: Sequence[Any], connection: Any) -> WebSocketSession:
    values = [_converted(value, column, connection) for value, column in zip(row, lookup.columns, strict=True)]
    split = len(lookup.session_fields)
    session = WebSocketSession.from_db(alias, lookup.session_fields, values[:split])
    if values[split] is not None:
        session.user = get_user_model().from_db(alias, lookup.user_fields, values[split:])
    return session


def _count_with_the_orm(
    alias: str, connection_id: str, allowance: MessageAllowance, clock: int
) -> tuple[WebSocketSession, int] | None:
    """The row and the count through the ORM, in a transaction: databases without these statements, and user
    models whose columns span tables."""
    with transaction.atomic(using=alias):
        session = (
            WebSocketSession.objects.using(alias).select_related("user").filter(connection_id=connection_id).first()
        )
        if session is None:
            return None
        clocks = MessageClock.objects.using(alias).filter(session=session)
        if not clocks.update(clock=Greatest(F("clock"), Value(clock)) + allowance.interval):
            try:
                with transaction.atomic(using=alias):
                    MessageClock.objects.using(alias).create(session=session, clock=clock + allowance.interval)
            except IntegrityError:  # another message of the connection created it meanwhile
                clocks.update(clock=Greatest(F("clock"), Value(clock)) + allowance.interval)
        return session, clocks.values_list("clock", flat=True).get()


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
    # Quoted names from the models' metadata only: the connection id and the clock are parameters.
    session_table, user_table = quote(WebSocketSession._meta.db_table), quote(user_model._meta.db_table)
    user_key, user_pk = quote(_column(WebSocketSession._meta.get_field("user"))), quote(_column(user_model._meta.pk))
    session_pk = quote(_column(WebSocketSession._meta.pk))
    key = quote(_column(WebSocketSession._meta.get_field("connection_id")))
    session_names = [f"s.{quote(_column(field))}" for field in session_fields]
    user_names = [f"u.{quote(_column(field))}" for field in user_fields]
    sql = (
        f"SELECT {', '.join(session_names + user_names)} FROM {session_table} s "  # noqa: S608
        f"LEFT OUTER JOIN {user_table} u ON u.{user_pk} = s.{user_key} WHERE s.{key} = %s"
    )

    clock_table = quote(MessageClock._meta.db_table)
    clock_key = quote(_column(MessageClock._meta.get_field("session")))
    clock = quote(_column(MessageClock._meta.get_field("clock")))
    upsert = (
        f"INSERT INTO {clock_table} ({clock_key}, {clock}) "  # noqa: S608
        f"SELECT s.{session_pk}, %s FROM {session_table} s WHERE s.{key} = %s "
        f"ON CONFLICT ({clock_key}) DO UPDATE SET {clock} = "
        f"CASE WHEN {clock_table}.{clock} > %s THEN {clock_table}.{clock} ELSE %s END + %s"
    )
    if connection.vendor == "postgresql":
        counting_sql = (
            f"WITH counted AS ({upsert} RETURNING {clock_key}, {clock}) "  # noqa: S608
            f"SELECT counted.{clock}, {', '.join(session_names + user_names)} FROM counted "
            f"JOIN {session_table} s ON s.{session_pk} = counted.{clock_key} "
            f"LEFT OUTER JOIN {user_table} u ON u.{user_pk} = s.{user_key}"
        )
    else:
        # SQLite allows no INSERT inside WITH, and RETURNING names the inserted table only: the row's and the user's
        # columns come back as subqueries of it.
        of_the_clock = f"s.{session_pk} = {clock_table}.{clock_key}"
        users_key = f"(SELECT s.{user_key} FROM {session_table} s WHERE {of_the_clock})"  # noqa: S608
        returned = [f"(SELECT {name} FROM {session_table} s WHERE {of_the_clock})" for name in session_names]  # noqa: S608
        returned += [f"(SELECT {name} FROM {user_table} u WHERE u.{user_pk} = {users_key})" for name in user_names]  # noqa: S608
        counting_sql = f"{upsert} RETURNING {clock_table}.{clock}, {', '.join(returned)}"

    selected = [(field, "s") for field in session_fields] + [(field, "u") for field in user_fields]
    columns = []
    for field, alias_ in selected:
        expression = field.get_col(alias_)
        converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        columns.append(_Column(expression, tuple(converters)))
    return _Lookup(
        sql=sql,
        counting_sql=counting_sql,
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
        rows: list[Sequence[Any]] = cursor.fetchall()  # all of them: a statement that writes ends with its rows
        return rows[0] if rows else None
