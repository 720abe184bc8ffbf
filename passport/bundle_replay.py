"""The scratch ledger a bundle's provenance is replayed into (``passport.bundle``, check 8).

The replay runs the ledger's own rules (``Ledger._accept`` and the kinds' handlers) on a
throw-away SQLite database, so what makes it fast is all storage, never a second copy of a rule:

- the database: a file in memory (``/dev/shm`` where there is one) opened as a scratch
  repository (no fsync, rollback journal in memory), its schema copied from a template migrated
  once per process instead of running the migrations for every bundle;
- the statements: the rules write a handful of rows per record through SQLAlchemy Core
  (``conn.execute(statement, params)``), whose per-call work (cache key, parameter processing,
  result set-up) costs several times SQLite's own. :class:`FastConnection` runs a Core DML
  statement it has seen before on the driver's cursor, compiled once by SQLAlchemy itself with
  the same bind processors; anything else goes to SQLAlchemy unchanged.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from passport.store.repository import Repository, Tx

__all__ = ["FastConnection", "scratch_repository", "scratch_tx", "sweep_orphans"]

_SEEN_LIMIT = 4096
"""Statements seen once, remembered until compiled (statements built per call never repeat)."""

_Processors = tuple[tuple[str, Any], ...]  # (bind name, bind processor or None), positional


class _Compiled:
    """A DML statement compiled once for the driver: its SQL and positional parameters."""

    __slots__ = ("get", "processed", "sql", "statement")

    def __init__(self, statement: Executable, sql: str, processors: _Processors) -> None:
        self.statement = statement  # held, so its id is never reused while cached
        self.sql = sql
        names = [name for name, _ in processors]
        # The parameters in order in one C call, then the few that need a bind processor.
        self.get: Callable[[Mapping[str, Any]], tuple[Any, ...]]
        if len(names) > 1:
            self.get = itemgetter(*names)
        else:  # itemgetter of one name returns the value itself, of none cannot be made
            self.get = lambda p: tuple(p[name] for name in names)
        self.processed = tuple((i, process) for i, (_, process) in enumerate(processors) if process)

    def row(self, params: Mapping[str, Any]) -> tuple[Any, ...] | list[Any]:
        """The positional parameters of one execution."""
        values = self.get(params)
        if not self.processed:
            return values
        out = list(values)
        for i, process in self.processed:
            out[i] = process(out[i])
        return out


def _compile(statement: Executable, keys: tuple[str, ...], dialect: Dialect) -> _Compiled | None:
    """``statement`` compiled by SQLAlchemy for these parameter names, if the driver can run it
    with those parameters alone (no defaults to compute, nothing returned, no expanding lists)."""
    compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))  # type: ignore[attr-defined]
    if not isinstance(compiled, SQLCompiler) or not compiled.positional:
        return None
    if not (compiled.isinsert or compiled.isupdate or compiled.isdelete):
        return None
    if (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.effective_returning
        or compiled.literal_execute_params
        or compiled.post_compile_params
    ):
        return None
    names = compiled.positiontup or []
    if not set(names) <= set(keys):
        return None  # a bind with its own value: SQLAlchemy fills it in
    processors = []
    for name in names:
        bind = compiled.binds[name]
        if bind.expanding:
            return None
        processors.append((name, bind.type.dialect_impl(dialect).bind_processor(dialect)))
    return _Compiled(statement, compiled.string, tuple(processors))


class _DMLResult:
    """What a caller of a DML ``execute`` may read: the number of rows it touched."""

    __slots__ = ("rowcount",)

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount


class FastConnection:
    """A SQLAlchemy :class:`~sqlalchemy.Connection` whose repeated DML runs on the driver.

    Everything but :meth:`execute` is the wrapped connection's (``connection``, ``dialect``,
    ...), so the repository's bulk helpers reach the same driver connection and transaction.
    An INSERT, UPDATE or DELETE statement object executed a second time with the same
    parameter names is compiled once by SQLAlchemy and from then on sent to the driver's cursor
    (``execute`` or ``executemany``) with the bind processors SQLAlchemy would apply; its
    result offers ``rowcount``, which is all a DML caller of the ledger reads. Other statements
    (SELECTs above all, whose rows callers read by column name) go through SQLAlchemy.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        # Read on every query by the bulk helpers: plain attributes, not looked up each time.
        self.dialect = conn.dialect
        self.connection = conn.connection
        self._dialect = conn.dialect
        self._seen: dict[tuple[int, tuple[str, ...]], Executable] = {}
        self._plans: dict[tuple[int, tuple[str, ...]], tuple[Executable, _Compiled | None]] = {}
        self._cursor: Any = None  # one driver cursor for every direct execution
        self.fast = 0  # executions sent to the driver directly (for tests and measurements)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def _plan(self, statement: Executable, keys: tuple[str, ...]) -> _Compiled | None:
        """The compiled form of a statement seen before with these parameter names, else None
        (and the statement is remembered)."""
        ident = (id(statement), keys)
        plan = self._plans.get(ident)
        if plan is not None and plan[0] is statement:
            return plan[1]
        if self._seen.get(ident) is not statement:  # first sight (ids of dead objects recur)
            if len(self._seen) >= _SEEN_LIMIT:
                self._seen.clear()
            self._seen[ident] = statement
            return None
        del self._seen[ident]
        compiled = _compile(statement, keys, self._dialect)
        self._plans[ident] = (statement, compiled)
        return compiled

    def execute(self, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        """Run ``statement`` (see the class docstring)."""
        many = isinstance(parameters, list)
        first = parameters[0] if many and parameters else parameters
        if kw or type(first) is not dict or not isinstance(statement, Executable):
            return self._conn.execute(statement, parameters, **kw)
        compiled = self._plan(statement, tuple(first))
        if compiled is None:
            return self._conn.execute(statement, parameters)
        if many:
            keys = first.keys()
            if any(type(p) is not dict or p.keys() != keys for p in parameters):
                return self._conn.execute(statement, parameters)
        cursor = self._cursor
        if cursor is None:
            cursor = self._cursor = self.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if many:
            cursor.executemany(compiled.sql, [compiled.row(p) for p in parameters])
        else:
            cursor.execute(compiled.sql, compiled.row(first))
        self.fast += 1
        return _DMLResult(cursor.rowcount)

    def close_cursor(self) -> None:
        """Close the driver cursor of the direct executions (before the connection closes)."""
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None


# -- the scratch database --------------------------------------------------------------------
_template_lock = threading.Lock()
_template: Path | None = None


def _scratch_dir() -> str | None:
    """Where scratch databases go: memory-backed ``/dev/shm`` if usable, else the temp dir."""
    shm = "/dev/shm"  # noqa: S108 - a private subdirectory is made in it
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) else None


_PREFIX = "bpass-replay-"
"""Scratch folders are named ``bpass-replay-<pid>-<random>``: the pid says whose they are."""


def _prefix() -> str:
    return f"{_PREFIX}{os.getpid()}-"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, but belongs to another user
        pass
    return True


def sweep_orphans(folder: str | None = None) -> list[Path]:
    """Delete the scratch folders of processes that are gone, and return them.

    A process killed while it verifies a bundle (SIGKILL runs no ``atexit`` and no ``finally``)
    leaves its template and its replay database behind, and in ``/dev/shm`` they hold memory
    until reboot. Each folder carries its owner's pid; a folder whose owner no longer exists is
    removed the next time any process makes its template. A pid that has been reused keeps its
    folder, which is only a missed clean-up.
    """
    removed: list[Path] = []
    base = Path(folder if folder is not None else (_scratch_dir() or tempfile.gettempdir()))
    for path in base.glob(f"{_PREFIX}*-*"):
        owner = path.name[len(_PREFIX) :].split("-", 1)[0]
        if not owner.isdigit() or int(owner) == os.getpid() or _alive(int(owner)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(path)
    return removed


def _migrated_template() -> Path:
    """An empty database at the newest migration, made once per process."""
    global _template
    with _template_lock:
        if _template is None or not _template.exists():
            sweep_orphans()
            folder = tempfile.mkdtemp(prefix=_prefix(), dir=_scratch_dir())
            atexit.register(shutil.rmtree, folder, True)
            path = Path(folder) / "template.sqlite"
            repo = Repository(f"sqlite:///{path}", scratch=True)
            try:
                repo.migrate()
            finally:
                repo.dispose()
            _template = path
        return _template


@contextmanager
def scratch_repository() -> Iterator[Repository]:
    """A fresh, migrated, throw-away SQLite repository, deleted when the block ends."""
    with tempfile.TemporaryDirectory(prefix=_prefix(), dir=_scratch_dir()) as folder:
        path = Path(folder) / "replay.sqlite"
        shutil.copyfile(_migrated_template(), path)
        repo = Repository(f"sqlite:///{path}", scratch=True)
        try:
            yield repo
        finally:
            repo.dispose()


@contextmanager
def scratch_tx(repo: Repository) -> Iterator[Tx]:
    """A write transaction of ``repo`` whose connection is a :class:`FastConnection`;
    committed when the block ends (after the held-back actor and key writes), rolled back if
    it raises."""
    with repo.engine.connect() as conn, conn.begin():
        fast = FastConnection(conn)
        try:
            tx = Tx(fast, writable=True)  # type: ignore[arg-type]
            yield tx
            tx.flush()
        finally:
            fast.close_cursor()
