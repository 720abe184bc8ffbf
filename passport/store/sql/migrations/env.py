"""Alembic environment: runs migrations on the connection handed over by the repository."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

# Importing the table modules registers their tables on SQLModel.metadata.
import passport.store.sql.passport_tables  # passport tables, migration 0003
import passport.store.sql.tables  # ledger tables, migration 0001
import passport.store.sql.trace_tables  # noqa: F401  (traceability tables, migration 0002)

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # `alembic -x url=... upgrade head` from a shell, for maintainers
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("pass -x url=DATABASE_URL")
    with create_engine(url).connect() as conn:
        _run(conn)
