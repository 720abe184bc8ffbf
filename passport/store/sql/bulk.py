"""Bulk inserts of the append path, straight through the database driver.

An append batch of 1,000 records writes about 1,000 ``records`` rows, 2,000 ``tree_nodes`` rows
and, for key records, 1,000 ``actor_keys`` rows. Through SQLAlchemy Core's ``executemany`` every
row pays for parameter construction and a bind processor per binary column: 3-5 us a row,
as much as the database's own work. Here the rows go to the driver as plain tuples, in the
transaction of the SQLAlchemy connection that holds the append lock:

- SQLite: ``sqlite3`` ``executemany`` of one prepared ``INSERT`` (measured 2.9 us for a record's
  two tree-node rows, against 18 us through Core);
- PostgreSQL: binary ``COPY … FROM STDIN`` through psycopg 3 (measured 3.6 us for the two
  tree-node rows against 16 us for a pipelined ``executemany``; 9 us against 12 us a record row).

Columns are always named, so the order of columns in the database (set by the migrations) does
not matter. Values must already be of the column's Python type (``int``, ``str``, ``bytes``,
``None``); nothing is converted, which is what makes it fast.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    Integer,
    LargeBinary,
    String,
    Table,
    TypeDecorator,
)
from sqlalchemy.exc import IntegrityError

if TYPE_CHECKING:
    import psycopg

__all__ = ["CHUNK", "insert_rows", "select_in", "update_rows"]

CHUNK = 500
"""Keys per ``IN`` list on SQLite (its default limit of bound parameters is far above this)."""
_SEPARATOR = "\x1f"  # ASCII unit separator: joins keys into one PostgreSQL parameter

# PostgreSQL binary COPY needs each column's wire type; the ledger's hot tables use only these.
_PG_TYPES: tuple[tuple[type[Any], str], ...] = (
    (BigInteger, "int8"),
    (Integer, "int4"),
    (LargeBinary, "bytea"),
    (String, "text"),  # varchar columns accept text's binary form (varcharrecv is textrecv)
)


@cache
def _pg_types(table: Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for name in columns:
        column_type = table.c[name].type
        if isinstance(column_type, TypeDecorator):  # e.g. sqlmodel's AutoString over String
            column_type = column_type.impl_instance
        for python_type, wire in _PG_TYPES:
            if isinstance(column_type, python_type):
                out.append(wire)
                break
        else:
            raise TypeError(f"{table.name}.{name}: no binary COPY type for {column_type!r}")
    return tuple(out)


@cache
def _sqlite_insert(table: Table, columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    marks = ", ".join("?" * len(columns))
    return f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608 - our own names


@cache
def _pg_copy(table: Table, columns: tuple[str, ...]) -> str:
    return f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"


def insert_rows(
    conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) into ``table`` in ``conn``'s
    transaction. A constraint violation raises the driver's integrity error wrapped as
    SQLAlchemy's :class:`~sqlalchemy.exc.IntegrityError`, as a Core insert would."""
    if not rows:
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:  # pragma: no cover - a live Connection always has one
        raise RuntimeError("the connection is closed")
    dialect = conn.dialect.name
    try:
        if dialect == "sqlite":
            lite = dbapi.cursor()
            try:
                lite.executemany(_sqlite_insert(table, columns), rows)
            finally:
                lite.close()
        elif dialect == "postgresql":
            pg = cast("psycopg.Connection[Any]", dbapi)  # psycopg 3: the PostgreSQL driver
            with pg.cursor() as cur, cur.copy(_pg_copy(table, columns)) as copy:
                copy.set_types(list(_pg_types(table, columns)))
                for row in rows:
                    copy.write_row(row)
        else:  # any other backend: the portable Core path
            conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
    except conn.dialect.dbapi.IntegrityError as exc:  # type: ignore[union-attr]
        raise IntegrityError(f"bulk insert into {table.name}", None, exc) from exc


@cache
def _update_sql(table: Table, key: str, columns: tuple[str, ...], mark: str) -> str:
    sets = ", ".join(f"{name} = {mark}" for name in columns)
    return f"UPDATE {table.name} SET {sets} WHERE {key} = {mark}"  # noqa: S608 - our own names


def update_rows(
    conn: Connection,
    table: Table,
    key: str,
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """``UPDATE table SET columns WHERE key = …`` for each row (the values of ``columns``, then
    the key), as one driver ``executemany`` in ``conn``'s transaction (pipelined by psycopg)."""
    if not rows:
        return
    dbapi = conn.connection.dbapi_connection
    if dbapi is None:  # pragma: no cover - a live Connection always has one
        raise RuntimeError("the connection is closed")
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    cursor = dbapi.cursor()
    try:
        cursor.executemany(_update_sql(table, key, columns, mark), rows)
    finally:
        cursor.close()


@cache
def _json_positions(columns: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple(i for i, c in enumerate(columns) if isinstance(c.type, JSON))


@cache
def _marks(count: int) -> str:
    return ", ".join("?" * count)


@cache
def _select_parts(
    columns: tuple[Any, ...],
    key: Any,
    extra: str,
    order_by: tuple[Any, ...],
    source: str | None,
) -> tuple[str, str]:
    """``SELECT … WHERE key`` and what follows the key's condition, built once per shape."""
    names = ", ".join(f"{c.table.name}.{c.name}" for c in columns)
    where = f"{key.table.name}.{key.name}"
    order = f" ORDER BY {', '.join(f'{c.table.name}.{c.name}' for c in order_by)}"
    head = f"SELECT {names} FROM {source or key.table.name} WHERE {where}"  # noqa: S608
    return head, f"{extra}{order if order_by else ''}"


def select_in(
    conn: Connection,
    columns: Sequence[Any],
    key: Any,
    keys: Iterable[str],
    order_by: Sequence[Any] = (),
    extra: str = "",
    source: str | None = None,
) -> list[tuple[Any, ...]]:
    """``SELECT columns FROM source WHERE key IN keys`` as plain tuples, JSON decoded.

    Appends and roll-ups read hundreds to thousands of rows by key: this runs the statement on
    the transaction's own DBAPI connection (same transaction and snapshot) with one bound array
    on PostgreSQL (``= ANY``) or chunked ``IN`` lists on SQLite, skipping SQLAlchemy's per-value
    literal coercion and ``Row`` objects, which otherwise cost more than the query. Only the
    callers' own table and column names are interpolated; keys are always bound parameters."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    head, tail = _select_parts(tuple(columns), key, extra, tuple(order_by), source)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    rows: list[tuple[Any, ...]] = []
    try:
        if conn.dialect.name == "postgresql":
            pg = cast("psycopg.Cursor[Any]", cursor)  # psycopg 3: the PostgreSQL driver
            if any(_SEPARATOR in k for k in wanted):
                pg.execute(f"{head} = ANY(%s){tail}", (wanted,), prepare=False)
            else:
                # One text parameter split by the server: psycopg quotes each element of a
                # list parameter with a regular expression, which for thousands of keys
                # costs more than the query. No identifier holds the separator (the schemas'
                # patterns exclude control characters; the other branch covers any that do).
                # Never prepared: after five runs psycopg would prepare the statement and
                # PostgreSQL switch to a generic plan that cannot see how many keys come
                # (seen: roll-ups 150 -> 205 ms from the sixth one on).
                sql = f"{head} = ANY(string_to_array(%s, %s)){tail}"
                pg.execute(sql, (_SEPARATOR.join(wanted), _SEPARATOR), prepare=False)
            rows.extend(cursor.fetchall())
        else:
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                cursor.execute(f"{head} IN ({_marks(len(chunk))}){tail}", chunk)
                rows.extend(cursor.fetchall())
    finally:
        cursor.close()
    positions = _json_positions(tuple(columns))
    if positions and conn.dialect.name != "postgresql":
        for n, row in enumerate(rows):
            if any(isinstance(row[i], str) for i in positions):
                items = list(row)
                for i in positions:
                    if isinstance(items[i], str):
                        items[i] = json.loads(items[i])
                rows[n] = tuple(items)
    return rows
