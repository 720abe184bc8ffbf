"""The one storage interface the domain talks to.

SQLite (WAL, ``BEGIN IMMEDIATE`` for writers) is the embedded default; PostgreSQL is chosen by URL.
Writers are serialised on the log: SQLite by its write lock, PostgreSQL by
``SELECT … FOR UPDATE`` of the single ``log_state`` row. Readers never block writers. The schema
is created and upgraded by Alembic migrations (``passport/store/sql/migrations``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import NullPool, QueuePool
from sqlmodel import SQLModel

from passport.errors import ConfigurationError, LedgerStateError, StorageUnavailableError
from passport.store.rows import StoredActor, StoredCheckpoint, StoredKey, StoredRecord
from passport.store.sql import tables as t
from passport.store.sql.bulk import insert_rows, select_in, update_rows
from passport.store.sql.passports import PassportTx
from passport.store.sql.trace import TraceTx
from passport.store.sql.walcheckpoint import BACKSTOP_PAGES, Checkpointer
from passport.store.state import KEY_STATE, StateTx

if TYPE_CHECKING:
    from alembic.config import Config


MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_MMAP_BYTES = 256 * 1024 * 1024
"""How much of a SQLite ledger file is read through a memory map (``PRAGMA mmap_size``)."""


def normalise_url(url: str) -> str:
    """Map ``postgres://`` / ``postgresql://`` to the psycopg 3 driver; keep others as given."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


RECORDS = _table("records")
ACTORS = _table("actors")
ACTOR_KEYS = _table("actor_keys")
TREE = _table("tree_nodes")
CHECKPOINTS = _table("checkpoints")
META = _table("meta")
LOG_STATE = _table("log_state")
CHALLENGES = _table("auth_challenges")
DISCLOSURES = _table("record_disclosures")
_DISCLOSURE_COLUMNS = ("record_hash", "disclosures")

# Statements of the append path, built once: SQLAlchemy then reuses their cache keys and compiled
# forms, which costs about a third of building a new statement for every call.
_SELECT_LOG_SIZE = select(LOG_STATE.c.size, LOG_STATE.c.last_accepted_at)
_UPDATE_LOG_SIZE = (
    update(LOG_STATE)
    .where(LOG_STATE.c.id == 1)
    .values(size=bindparam("size"), last_accepted_at=bindparam("last_accepted_at"))
)
_RECORD_BY_HASH = select(RECORDS).where(RECORDS.c.hash == bindparam("hash"))
_ACTOR_BY_DID = select(ACTORS).where(ACTORS.c.did == bindparam("did"))
_KEY_BY_MULTIKEY = select(ACTOR_KEYS).where(ACTOR_KEYS.c.multikey == bindparam("multikey"))
_KEY_STATE_COLUMNS = tuple(sorted(KEY_STATE))
_NODES_AT = select(TREE).where(TREE.c.pos.in_(bindparam("pos", expanding=True)))
_LATEST_CHECKPOINT = select(CHECKPOINTS).order_by(CHECKPOINTS.c.size.desc()).limit(1)
_INSERT_ACTOR = ACTORS.insert()
_INSERT_CHECKPOINT = CHECKPOINTS.insert()


# Columns of the rows written in bulk (passport.store.sql.bulk): the row tuples' fields, in order.
_RECORD_COLUMNS = StoredRecord._fields
_KEY_COLUMNS = StoredKey._fields
_NODE_COLUMNS = ("pos", "hash")
_RECORD_SELECT = tuple(RECORDS.c[name] for name in _RECORD_COLUMNS)
_KEY_SELECT = tuple(ACTOR_KEYS.c[name] for name in _KEY_COLUMNS)
_ACTOR_SELECT = tuple(ACTORS.c[name] for name in StoredActor._fields)


def _actor_values(actor: StoredActor) -> dict[str, Any]:
    values = actor._asdict()
    values["roles"] = list(actor.roles)
    values["facilities"] = list(actor.facilities)
    return values


def _record(row: Any) -> StoredRecord:
    return StoredRecord(
        leaf_index=row.leaf_index,
        hash=row.hash,
        issuer=row.issuer,
        sequence=row.sequence,
        kind=row.kind,
        verification_method=row.verification_method,
        accepted_at=row.accepted_at,
        body=bytes(row.body),
    )


def _record_of_tuple(row: tuple[Any, ...]) -> StoredRecord:
    """A record from a row of the ``_RECORD_COLUMNS``."""
    leaf_index, record_hash, issuer, sequence, kind, vm, accepted_at, body = row
    return StoredRecord(
        leaf_index, record_hash, issuer, sequence, kind, vm, accepted_at, bytes(body)
    )


def _actor_of_tuple(row: tuple[Any, ...]) -> StoredActor:
    """An actor from a row of the ``_ACTOR_SELECT`` columns."""
    did, name, country, roles, facilities, registration, head_sequence, head_hash = row
    return StoredActor(
        did, name, country, tuple(roles), tuple(facilities), registration, head_sequence, head_hash
    )


def _actor(row: Any) -> StoredActor:
    return StoredActor(
        did=row.did,
        name=row.name,
        country=row.country,
        roles=tuple(row.roles),
        facilities=tuple(row.facilities),
        registration=row.registration,
        head_sequence=row.head_sequence,
        head_hash=row.head_hash,
    )


def _key(row: Any) -> StoredKey:
    return StoredKey(
        multikey=row.multikey,
        actor_did=row.actor_did,
        public_key=bytes(row.public_key),
        state=row.state,
        added_at=row.added_at,
        added_by=row.added_by,
        retired_at=row.retired_at,
        retired_by=row.retired_by,
        compromised_from=row.compromised_from,
    )


class Tx(StateTx):
    """Queries inside one database transaction: the rules' :class:`StateTx` in SQL, and what
    only the ledger, the log and the API ask of the database.

    :meth:`Repository.write` flushes the held-back actor and key writes before it commits, and
    every query that reads those tables directly flushes first, so what a query sees never
    differs from what the cache says, as long as ``actors`` and ``actor_keys`` are written only
    through these methods.
    """

    def __init__(self, conn: Connection, *, writable: bool) -> None:
        super().__init__(writable=writable)
        self.conn = conn
        self._staged: dict[str, StoredRecord] = {}  # accepted, inserted with the batch

    def flush(self) -> None:
        """Write the held-back actor and key changes (a few executemany statements)."""
        if self._new_actors:
            self.conn.execute(_INSERT_ACTOR, [_actor_values(a) for a in self._new_actors.values()])
            self._new_actors.clear()
        if self._moved_heads:
            moved = [self._actors[did] for did in sorted(self._moved_heads)]
            update_rows(
                self.conn,
                ACTORS,
                "did",
                ("head_sequence", "head_hash"),
                [(a.head_sequence, a.head_hash, a.did) for a in moved if a is not None],
            )
            self._moved_heads.clear()
        if self._moved_facilities:  # a FacilityUpdate: rare, one statement per actor
            for did in sorted(self._moved_facilities):
                actor = self._actors[did]
                if actor is not None:
                    self.conn.execute(
                        ACTORS.update()
                        .where(ACTORS.c.did == did)
                        .values(facilities=list(actor.facilities))
                    )
            self._moved_facilities.clear()
        if self._new_keys:
            insert_rows(self.conn, ACTOR_KEYS, _KEY_COLUMNS, list(self._new_keys.values()))
            self._new_keys.clear()
        if self._changed_keys:
            changed = [self._keys[mk] for mk in sorted(self._changed_keys)]
            update_rows(
                self.conn,
                ACTOR_KEYS,
                "multikey",
                _KEY_STATE_COLUMNS,
                [
                    (*(getattr(k, c) for c in _KEY_STATE_COLUMNS), k.multikey)
                    for k in changed
                    if k is not None
                ],
            )
            self._changed_keys.clear()

    def trace(self) -> TraceTx:
        """The traceability queries of this transaction (:mod:`passport.store.sql.trace`)."""
        return TraceTx(self)

    def passports(self) -> PassportTx:
        """The passport tables of this transaction (:mod:`passport.store.sql.passports`)."""
        return PassportTx(self)

    def prefetch(self, dids: Iterable[str], multikeys: Iterable[str]) -> None:
        """Load the named actors and keys into the cache with one query each (absent ones too)."""
        missing_dids = {d for d in dids if d not in self._actors}
        if missing_dids:
            self._actors.update(dict.fromkeys(missing_dids))
            for row in select_in(self.conn, _ACTOR_SELECT, ACTORS.c.did, missing_dids):
                self._actors[row[0]] = _actor_of_tuple(row)
        missing_keys = {k for k in multikeys if k not in self._keys}
        if missing_keys:
            self._keys.update(dict.fromkeys(missing_keys))
            for row in select_in(self.conn, _KEY_SELECT, ACTOR_KEYS.c.multikey, missing_keys):
                self._keys[row[0]] = StoredKey._make(row)

    # -- metadata -------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        """All metadata entries."""
        return {r.key: r.value for r in self.conn.execute(select(META))}

    def set_meta(self, key: str, value: str) -> None:
        """Insert one metadata entry (never overwritten: the ledger's identity is fixed)."""
        self.conn.execute(META.insert().values(key=key, value=value))

    def log_size(self) -> tuple[int, str]:
        """Current tree size and last acceptance time."""
        row = self.conn.execute(_SELECT_LOG_SIZE).first()
        if row is None:
            raise LedgerStateError("the ledger is not initialised (run `bpass init`)")
        return int(row.size), str(row.last_accepted_at)

    def init_log_state(self) -> None:
        """Create the single log-state row of a new ledger (size 0)."""
        self.conn.execute(LOG_STATE.insert().values(id=1, size=0, last_accepted_at=""))

    def set_log_size(self, size: int, last_accepted_at: str) -> None:
        """Advance the log state after an append."""
        self.conn.execute(_UPDATE_LOG_SIZE, {"size": size, "last_accepted_at": last_accepted_at})

    # -- records --------------------------------------------------------------------------
    def stage_record(self, row: StoredRecord) -> None:
        """A record accepted earlier in this transaction's batch, stored by the batch's
        :meth:`insert_records`; :meth:`record_by_hash` finds it already (a rule about a later
        record of the batch may read it)."""
        self._staged[row.hash] = row

    def record_by_hash(self, record_hash: str) -> StoredRecord | None:
        """The record with this hash, if stored (or staged in this transaction)."""
        staged = self._staged.get(record_hash)
        if staged is not None:
            return staged
        row = self.conn.execute(_RECORD_BY_HASH, {"hash": record_hash}).first()
        return _record(row) if row else None

    def records_by_hashes(self, hashes: Sequence[str]) -> dict[str, StoredRecord]:
        """Stored records among ``hashes``, keyed by hash."""
        rows = select_in(self.conn, _RECORD_SELECT, RECORDS.c.hash, hashes)
        return {row[1]: _record_of_tuple(row) for row in rows}

    def record_by_issuer_sequence(self, issuer: str, sequence: int) -> StoredRecord | None:
        """The issuer's record at ``sequence``, if any."""
        row = self.conn.execute(
            select(RECORDS).where(RECORDS.c.issuer == issuer, RECORDS.c.sequence == sequence)
        ).first()
        return _record(row) if row else None

    def records_range(self, start: int, stop: int) -> list[StoredRecord]:
        """Records with ``start <= leaf_index < stop``, in leaf order."""
        rows = self.conn.execute(
            select(RECORDS)
            .where(RECORDS.c.leaf_index >= start, RECORDS.c.leaf_index < stop)
            .order_by(RECORDS.c.leaf_index)
        )
        return [_record(r) for r in rows]

    def records_by_issuer(
        self, issuer: str, limit: int = 100, after: int = 0
    ) -> list[StoredRecord]:
        """The issuer's records with sequence > ``after``, in chain order."""
        rows = self.conn.execute(
            select(RECORDS)
            .where(RECORDS.c.issuer == issuer, RECORDS.c.sequence > after)
            .order_by(RECORDS.c.sequence)
            .limit(limit)
        )
        return [_record(r) for r in rows]

    def count_records(self) -> int:
        """Number of stored record rows."""
        return int(self.conn.execute(select(func.count()).select_from(RECORDS)).scalar_one())

    def insert_records(self, rows: Sequence[StoredRecord]) -> None:
        """Insert accepted records (write transaction)."""
        if rows:
            insert_rows(self.conn, RECORDS, _RECORD_COLUMNS, rows)  # fields in column order
            staged = self._staged
            for r in rows:
                staged.pop(r.hash, None)

    def insert_disclosures(self, rows: Sequence[tuple[str, Sequence[str]]]) -> None:
        """Keep the Disclosures of accepted confidential records: (record hash, its encoded
        Disclosures in member name order) pairs, one row each, beside the records and outside
        the log (write transaction)."""
        packed = [(h, orjson.dumps(list(ds)).decode("ascii")) for h, ds in rows]
        insert_rows(self.conn, DISCLOSURES, _DISCLOSURE_COLUMNS, packed)

    def disclosures_of(self, record_hash: str) -> list[str]:
        """The kept Disclosures of a confidential record (none for a plain one), in member name
        order."""
        kept = self.conn.execute(
            select(DISCLOSURES.c.disclosures).where(DISCLOSURES.c.record_hash == record_hash)
        ).scalar_one_or_none()
        return [] if kept is None else list(orjson.loads(kept))

    def confidential_among(self, hashes: Sequence[str]) -> set[str]:
        """The records among ``hashes`` that are confidential (they have kept Disclosures)."""
        rows = select_in(self.conn, [DISCLOSURES.c.record_hash], DISCLOSURES.c.record_hash, hashes)
        return {r[0] for r in rows}

    def count_disclosures(self) -> int:
        """Number of kept Disclosures, over all records."""
        rows = self.conn.execute(select(DISCLOSURES.c.disclosures))
        return sum(len(orjson.loads(r[0])) for r in rows)

    # -- actors and keys ------------------------------------------------------------------
    def _load_actor(self, did: str) -> StoredActor | None:
        row = self.conn.execute(_ACTOR_BY_DID, {"did": did}).first()
        return _actor(row) if row else None

    def actors(self) -> list[StoredActor]:
        """All registered actors."""
        self.flush()
        return [_actor(r) for r in self.conn.execute(select(ACTORS).order_by(ACTORS.c.did))]

    def _load_key(self, multikey: str) -> StoredKey | None:
        row = self.conn.execute(_KEY_BY_MULTIKEY, {"multikey": multikey}).first()
        return _key(row) if row else None

    def keys_of(self, did: str) -> list[StoredKey]:
        """All keys an actor has had, oldest first."""
        self.flush()
        rows = self.conn.execute(
            select(ACTOR_KEYS).where(ACTOR_KEYS.c.actor_did == did).order_by(ACTOR_KEYS.c.added_at)
        )
        return [_key(r) for r in rows]

    def all_keys(self) -> list[StoredKey]:
        """Every key of every actor."""
        self.flush()
        return [_key(r) for r in self.conn.execute(select(ACTOR_KEYS))]

    # -- API auth challenges -------------------------------------------------------------
    def add_challenge(
        self, challenge: str, did: str, expires_at: float, now: float, capacity: int
    ) -> float | None:
        """Store a pending challenge unless ``capacity`` are pending (expired ones are swept
        first). When full, nothing is stored and nothing pending is dropped: the earliest expiry,
        when a slot frees at the latest, is returned instead."""
        self.conn.execute(CHALLENGES.delete().where(CHALLENGES.c.expires_at <= now))
        pending = int(self.conn.execute(select(func.count()).select_from(CHALLENGES)).scalar_one())
        if pending >= capacity:
            earliest = self.conn.execute(select(func.min(CHALLENGES.c.expires_at))).scalar_one()
            return float(earliest) if earliest is not None else now
        self.conn.execute(
            CHALLENGES.insert().values(challenge=challenge, did=did, expires_at=expires_at)
        )
        return None

    def take_challenge(self, challenge: str) -> tuple[str, float] | None:
        """Remove a pending challenge and return (DID, expiry), or None if it is not pending."""
        row = self.conn.execute(
            select(CHALLENGES.c.did, CHALLENGES.c.expires_at).where(
                CHALLENGES.c.challenge == challenge
            )
        ).first()
        if row is None:
            return None
        gone = self.conn.execute(CHALLENGES.delete().where(CHALLENGES.c.challenge == challenge))
        if gone.rowcount != 1:  # another process consumed it meanwhile
            return None
        return str(row.did), float(row.expires_at)

    def count_challenges(self) -> int:
        """Pending challenges (expired ones included until swept)."""
        return int(self.conn.execute(select(func.count()).select_from(CHALLENGES)).scalar_one())

    # -- the log --------------------------------------------------------------------------
    def nodes(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        """Hashes of perfect subtrees at (level, index), in the order asked; one query."""
        if not coords:
            return []
        wanted = [t.node_pos(level, index) for level, index in coords]
        found: dict[int, bytes] = {}
        unique = sorted(set(wanted))
        for start in range(0, len(unique), 900):
            chunk = unique[start : start + 900]
            for row in self.conn.execute(_NODES_AT, {"pos": chunk}):
                found[int(row.pos)] = bytes(row.hash)
        missing = [c for c, p in zip(coords, wanted, strict=True) if p not in found]
        if missing:
            raise LedgerStateError(
                "the log is missing tree nodes", missing=[list(m) for m in missing[:5]]
            )
        return [found[p] for p in wanted]

    def insert_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        """Store new perfect-subtree hashes."""
        shift = t.NODE_LEVEL_SHIFT
        insert_rows(self.conn, TREE, _NODE_COLUMNS, [(lv * shift + ix, h) for lv, ix, h in nodes])

    def nodes_range(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]:
        """Stored nodes at ``level`` with ``start <= index < stop`` (for the audit)."""
        lo, hi = t.node_pos(level, start), t.node_pos(level, stop)
        rows = self.conn.execute(
            select(TREE).where(TREE.c.pos >= lo, TREE.c.pos < hi).order_by(TREE.c.pos)
        )
        return [(int(r.pos) - t.node_pos(level, 0), bytes(r.hash)) for r in rows]

    def count_nodes(self) -> int:
        """Number of stored tree nodes."""
        return int(self.conn.execute(select(func.count()).select_from(TREE)).scalar_one())

    def insert_checkpoint(self, cp: StoredCheckpoint) -> None:
        """Store a signed checkpoint."""
        self.conn.execute(_INSERT_CHECKPOINT, cp.__dict__)

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        """The checkpoint of the largest tree size."""
        row = self.conn.execute(_LATEST_CHECKPOINT).first()
        return (
            StoredCheckpoint(row.size, bytes(row.root), row.note, row.created_at) if row else None
        )

    def checkpoint(self, size: int) -> StoredCheckpoint | None:
        """The stored checkpoint at exactly ``size``."""
        row = self.conn.execute(select(CHECKPOINTS).where(CHECKPOINTS.c.size == size)).first()
        return (
            StoredCheckpoint(row.size, bytes(row.root), row.note, row.created_at) if row else None
        )

    def checkpoints(self) -> list[StoredCheckpoint]:
        """All stored checkpoints, smallest first."""
        rows = self.conn.execute(select(CHECKPOINTS).order_by(CHECKPOINTS.c.size))
        return [StoredCheckpoint(r.size, bytes(r.root), r.note, r.created_at) for r in rows]


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (None for another backend or an in-memory database)."""
    try:
        parsed = make_url(normalise_url(url))
    except Exception:  # an unusable URL: Repository says why
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


class Repository:
    """Engine, migrations and transactions for one ledger database."""

    def __init__(self, url: str) -> None:
        """Open (not migrate) the database at ``url``; see :func:`normalise_url`."""
        self.url = normalise_url(url)
        try:
            parsed = make_url(self.url)
        except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
            raise ConfigurationError(f"unusable database URL {url!r}: {exc}") from exc
        self.display_url = parsed.render_as_string(hide_password=True)
        """The URL as it may be shown to a user (no password)."""
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._wal_keeper: Any = None
        self._keep_wal = self.is_sqlite and parsed.database not in (None, "", ":memory:")
        # WAL checkpoints run on a thread of their own, not in an appender's commit.
        self._checkpointer = Checkpointer(str(parsed.database)) if self._keep_wal else None
        try:
            self._make_engines(parsed.database)
        except NoSuchModuleError as exc:
            raise ConfigurationError(f"unsupported database URL {url!r}: {exc}") from exc

    def _make_engines(self, db: str | None) -> None:
        if self.is_sqlite:
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            # One engine for writers (BEGIN IMMEDIATE takes the write lock up front, so two
            # appenders never both read the same chain head), one for readers (deferred).
            self.engine = self._sqlite_engine(immediate=True)
            self.read_engine = self._sqlite_engine(immediate=False)
        else:
            self.engine = create_engine(self.url, pool_pre_ping=True)
            self.read_engine = self.engine

    def _sqlite_engine(self, *, immediate: bool) -> Engine:
        # Writers keep one connection (and its page cache, SQLite's default 2 MB) from
        # transaction to transaction instead of opening one per append. Measured with
        # bench_ledger at 10^6 records: 7,800 -> 8,300 batched appends/s (the rate at 10^4 is
        # unchanged), single appends 430 -> 560/s. A 128 MiB cache made appends at 10^6
        # slower (5,300/s), so the size stays SQLite's. Concurrent writers in one process get
        # extra connections, closed after use; readers are not pooled.
        pooling: dict[str, Any] = (
            {"poolclass": QueuePool, "pool_size": 1, "max_overflow": -1}
            if immediate and self._keep_wal
            else {"poolclass": NullPool}
        )
        engine = create_engine(
            self.url, connect_args={"timeout": 120, "check_same_thread": False}, **pooling
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # a committed append survives power loss
            cur.execute("PRAGMA busy_timeout=120000")
            # Readers are not pooled (NullPool), so each read would start with an empty page
            # cache; memory-mapped reads share the OS page cache across connections instead
            # (index lookups of a 10^6-record ledger hit pages already in memory).
            cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            if immediate and self._checkpointer is not None:
                # Commits leave checkpoints to the Checkpointer thread until the WAL is huge.
                cur.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    # -- schema ---------------------------------------------------------------------------
    # Alembic is imported where a schema is read or migrated, not with this module: it costs
    # about 130 ms, and a process that never opens a database (``bpass verify``) needs none.
    def _alembic(self, conn: Connection) -> Config:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        return cfg

    def migrate(self) -> None:
        """Create or upgrade the schema to the newest migration."""
        from alembic import command

        with self._connect(self.engine) as conn, conn.begin():
            command.upgrade(self._alembic(conn), "head")

    def schema_revision(self) -> tuple[str | None, str | None]:
        """(current revision of the database, newest revision known to this code)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        with self._connect(self.read_engine) as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        return current, head

    def check_schema(self) -> None:
        """Raise unless the database is initialised and at the newest migration."""
        current, head = self.schema_revision()
        if current is None:
            raise LedgerStateError("the ledger is not initialised (run `bpass init`)")
        if current != head:
            raise LedgerStateError(
                f"the ledger's schema is at revision {current}, this code needs {head}: "
                "run `bpass init` (it upgrades in place)"
            )

    # -- transactions ---------------------------------------------------------------------
    def _hold_wal_open(self) -> None:
        """Keep one idle SQLite connection open while this repository is in use.

        Transactions use a fresh connection each (NullPool). When the last connection to a WAL
        database closes, SQLite checkpoints the whole WAL into the database file and deletes
        it, with fsyncs: every append paid for a full checkpoint (2-6 ms here). An idle
        connection holds no lock, so writers, readers and the automatic checkpoints (every
        1000 WAL pages) proceed as before; :meth:`dispose` closes it.
        """
        if self._wal_keeper is None:
            keeper = self.read_engine.raw_connection()
            # SQLite attaches a connection to the WAL on its first read; the statement runs in
            # autocommit mode, so no read transaction stays open.
            cursor = keeper.cursor()
            cursor.execute("SELECT count(*) FROM sqlite_master")
            cursor.fetchall()
            cursor.close()
            self._wal_keeper = keeper

    def _connect(self, engine: Engine) -> Connection:
        try:
            if self._keep_wal:
                self._hold_wal_open()
            return engine.connect()
        except OperationalError as exc:
            raise StorageUnavailableError(
                f"cannot reach the database {engine.url.render_as_string(hide_password=True)}: "
                f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}"
            ) from exc

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A read-only transaction."""
        with self._connect(self.read_engine) as conn, conn.begin():
            yield Tx(conn, writable=False)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """A write transaction holding the log's append lock until commit or rollback."""
        with self._connect(self.engine) as conn, conn.begin():
            if not self.is_sqlite:
                conn.execute(select(LOG_STATE.c.size).where(LOG_STATE.c.id == 1).with_for_update())
            tx = Tx(conn, writable=True)
            yield tx
            tx.flush()
        if self._checkpointer is not None:
            self._checkpointer.wake()

    @contextmanager
    def side_write(self) -> Iterator[Tx]:
        """A short write transaction outside the log: it does not take the append lock on
        PostgreSQL (SQLite has one writer at a time whatever is written)."""
        with self._connect(self.engine) as conn, conn.begin():
            tx = Tx(conn, writable=True)
            yield tx
            tx.flush()
        if self._checkpointer is not None:
            self._checkpointer.wake()

    def dispose(self) -> None:
        """Close pooled connections."""
        if self._checkpointer is not None:
            self._checkpointer.close()
        keeper, self._wal_keeper = self._wal_keeper, None
        if keeper is not None:
            keeper.close()
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


__all__ = [
    "IntegrityError",
    "Repository",
    "StoredActor",
    "StoredCheckpoint",
    "StoredKey",
    "StoredRecord",
    "Tx",
    "normalise_url",
]
