"""Loading the connection of an event after ``$connect``: one query, with what the event path needs of the user.

Every MESSAGE and ``$disconnect`` starts here, so this is the hottest query of the app. It is one SELECT of the
session's columns joined with only the user columns the identity check reads
(:data:`~websockets_app.security.identity.IDENTITY_USER_FIELDS`) and the username; the rest of the user is deferred and
loads if a handler asks for it. The SQL and its column converters are built once per database, not by the ORM on
every event (compiling a ``select_related`` query costs more than running it).

The query is also the connection's health check. ``CONN_HEALTH_CHECKS`` would send a ``SELECT 1`` before it on
every event: instead, a reused connection that fails this first query (the database dropped it while the container
was frozen) is closed and the query run once more on a new one, so the protection stays and costs nothing when the
connection is fine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError, connections, router

from websockets_app.models import WebSocketSession
from websockets_app.security.identity import IDENTITY_USER_FIELDS

__all__ = ("load_event_session",)


@dataclass(frozen=True)
class _Column:
    expression: Any
    converters: tuple[Callable[..., Any], ...]


@dataclass(frozen=True)
class _Lookup:
    sql: str
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
    if row is None:
        return None
    values = [_converted(value, column, connection) for value, column in zip(row, lookup.columns, strict=True)]
    split = len(lookup.session_fields)
    session = WebSocketSession.from_db(alias, lookup.session_fields, values[:split])
    if values[split] is not None:
        session.user = get_user_model().from_db(alias, lookup.user_fields, values[split:])
    return session


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
    user_key = WebSocketSession._meta.get_field("user")
    selected = [(field, "s") for field in session_fields] + [(field, "u") for field in user_fields]
    # Quoted names from the models' metadata only: the connection id is a parameter.
    names = ", ".join(f"{alias_}.{quote(_column(field))}" for field, alias_ in selected)
    join = f"u.{quote(_column(user_model._meta.pk))} = s.{quote(_column(user_key))}"
    key = f"s.{quote(_column(WebSocketSession._meta.get_field('connection_id')))}"
    session_table, user_table = quote(WebSocketSession._meta.db_table), quote(user_model._meta.db_table)
    sql = f"SELECT {names} FROM {session_table} s LEFT OUTER JOIN {user_table} u ON {join} WHERE {key} = %s"  # noqa: S608
    columns = []
    for field, alias_ in selected:
        expression = field.get_col(alias_)
        converters = connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        columns.append(_Column(expression, tuple(converters)))
    return _Lookup(
        sql=sql,
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
        row: Sequence[Any] | None = cursor.fetchone()
        return row
