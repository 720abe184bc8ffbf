"""The ledger: the append pipeline, in one transaction (design: "The append pipeline").

1. size limit, strict parse, envelope and kind schema (outside the lock);
2. the proof verifies under the key named by its verification method (outside the lock, so
   verification runs in parallel across processes), and that key is the issuer's current key,
   neither rotated away nor revoked (under the lock);
3. the issuer's chain head: ``sequence`` follows it and ``previous`` is its hash (under the lock);
4. domain rules: the issuer's roles allow the kind, and the kind's own rule holds;
5. store record, log leaf and tree nodes, sign the checkpoint, commit, return receipts.

Any failure raises a typed :class:`passport.errors.LedgerError` and rolls everything back.
Steps 2a-4 are :mod:`passport.ledger.accept`'s, which a bundle's replay runs too; this module holds
the database side: the lock, batches, the log and the commit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any, Literal, cast, overload

from passport import gcpause
from passport.errors import (
    BatchItemError,
    ConfigurationError,
    ForkError,
    LedgerStateError,
    NotFoundError,
)
from passport.ledger import log as translog
from passport.ledger.accept import LedgerInfo, accept_record, verify_record_proof
from passport.records.confidential import Confidential, by_member
from passport.records.envelope import ParsedRecord, parse_record, reparse_checked, sign_next
from passport.settings import Settings
from passport.store.rows import StoredCheckpoint, StoredRecord
from passport.store.sql.repository import IntegrityError, Repository, Tx, sqlite_file
from passport.timefmt import DEFAULT_CLOCK_SKEW_SECONDS, format_ts, now
from signing.errors import BpassError, ProofError
from signing.keys import SigningKey
from signing.note import verifier_key

META_ORIGIN = "log_origin"
META_LOG_VKEY = "log_vkey"
META_OPERATOR = "operator_did"

PARALLEL_VERIFY_MIN = 256
"""Batches at least this large are parsed and verified (steps 1, 2a) in a process pool."""


def _parse_and_verify(
    max_bytes: int, item: tuple[bytes | str | dict[str, Any], tuple[str, ...]]
) -> tuple[bool, bytes | None, str | None]:
    """Process-pool worker: steps 1 and 2a for one record and its Disclosures (none for a
    plain record; a confidential one is revealed and its revealed subject schema-checked).

    ``(False, None, None)`` when step 1 fails (the caller parses again to raise that exact
    error); else ``(True, canonical, problem)``: the canonical bytes (``None`` when they are
    the bytes sent, so nothing travels back twice) and the proof error message or None.
    """
    raw, disclosures = item
    try:
        record = parse_record(raw, max_bytes=max_bytes, disclosures=disclosures or None)
    except BpassError:
        return False, None, None
    canonical = None if isinstance(raw, bytes) and raw == record.canonical else record.canonical
    try:
        verify_record_proof(record)
    except BpassError as exc:
        return True, canonical, f"{exc.code}: {exc.message}"
    return True, canonical, None


Submission = bytes | str | dict[str, Any] | Confidential
"""A record as submitted: its bytes, text or document, or a confidential record with its
Disclosures."""

_PoolItem = tuple[bytes | str | dict[str, Any], tuple[str, ...]]
"""A record for the process pool: its bytes, text or document and its Disclosures (none for a
plain record)."""


def _with_disclosures(
    raws: Sequence[Submission], disclosures: Sequence[Sequence[str] | None] | None
) -> list[_PoolItem]:
    """Each record of a batch with its Disclosures, given beside it or inside a
    :class:`Confidential`, as the process pool takes them."""
    items: list[_PoolItem] = []
    for i, raw in enumerate(raws):
        given = tuple(disclosures[i] or ()) if disclosures is not None else ()
        if isinstance(raw, Confidential):
            items.append((raw.record, (*raw.disclosures, *given)))
        else:
            items.append((raw, given))
    return items


_Checked = tuple[int, "ParsedRecord | None", "BpassError | None"]
"""A record of a batch after steps 1 and 2a: (index, record or None if step 1 failed, error)."""


class Ledger:
    """One ledger database plus the keys this node signs with (operator and log)."""

    def __init__(
        self,
        repo: Repository,
        *,
        log_key: SigningKey | None = None,
        max_record_bytes: int = 256 * 1024,
        workers: int | None = None,
        clock_skew_seconds: int = DEFAULT_CLOCK_SKEW_SECONDS,
    ) -> None:
        self.repo = repo
        self.log_key = log_key
        self.max_record_bytes = max_record_bytes
        self.clock_skew_seconds = clock_skew_seconds
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self._info: LedgerInfo | None = None
        self._pool: ProcessPoolExecutor | None = None

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings, *, need_log_key: bool = True) -> Ledger:
        """Open an initialised ledger per ``settings`` (schema must be current)."""
        from passport.ledger.keystore import load_key

        url = settings.resolved_database_url()
        missing = sqlite_file(url)
        if missing is not None and not missing.exists():
            # Opening must not create anything: a mistyped --home would otherwise leave an empty
            # database (and its folder) behind, and `bpass init` there a second, empty ledger.
            raise LedgerStateError(
                f"no ledger at {missing}: pass --home (or --db, or set BPASS_HOME) to use an "
                f"existing one, or run `bpass init --home {missing.parent}` to create one there"
            )
        repo = Repository(url)
        repo.check_schema()
        log_key = load_key(settings.log_key_path) if need_log_key else None
        ledger = cls(
            repo,
            log_key=log_key,
            max_record_bytes=settings.max_record_bytes,
            clock_skew_seconds=settings.clock_skew_seconds,
        )
        info = ledger.info()
        if (
            log_key is not None
            and verifier_key(info.origin, log_key.public_key_bytes) != info.log_vkey
        ):
            raise ConfigurationError(
                f"{settings.log_key_path} is not this ledger's log key (origin {info.origin})"
            )
        return ledger

    def close(self) -> None:
        """Release the process pool and database connections."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self.repo.dispose()

    def info(self) -> LedgerInfo:
        """The ledger's identity and current size."""
        with self.repo.read() as tx:
            meta = tx.meta()
            if META_ORIGIN not in meta:
                raise LedgerStateError(
                    f"the ledger at {self.repo.display_url} is not initialised (run `bpass init` "
                    "with the same --home or --db)"
                )
            size, _ = tx.log_size()
        self._info = LedgerInfo(meta[META_ORIGIN], meta[META_LOG_VKEY], meta[META_OPERATOR], size)
        return self._info

    def _identity(self) -> LedgerInfo:
        return self._info or self.info()

    # -- initialisation --------------------------------------------------------------------
    def initialise(
        self, operator_key: SigningKey, origin: str, operator_name: str
    ) -> tuple[LedgerInfo, bool]:
        """Create the ledger's identity and register the operator (idempotent).

        Returns (info, created).
        """
        if self.log_key is None:
            raise ConfigurationError("initialising a ledger needs its log key")
        self.repo.migrate()
        with self.repo.write() as tx:
            meta = tx.meta()
            if META_ORIGIN in meta:
                if meta[META_OPERATOR] != operator_key.did:
                    raise ConfigurationError(
                        "this ledger was initialised with another operator key"
                    )
                created = False
            else:
                tx.set_meta(META_ORIGIN, origin)
                tx.set_meta(META_LOG_VKEY, verifier_key(origin, self.log_key.public_key_bytes))
                tx.set_meta(META_OPERATOR, operator_key.did)
                tx.init_log_state()
                translog.make_checkpoint(tx, 0, origin, self.log_key, format_ts(now()))
                created = True
        if created:
            subject = {"id": operator_key.did, "name": operator_name, "roles": ["operator"]}
            self.append(
                self.sign_new(operator_key, "ActorRegistration", subject, issuer=operator_key.did)
            )
        return self.info(), created

    # -- building records ------------------------------------------------------------------
    def issuer_for_key(self, key: SigningKey) -> str:
        """The actor on whose behalf ``key`` signs: its registered owner, else its own did:key."""
        with self.repo.read() as tx:
            stored = tx.key(key.multikey)
        return stored.actor_did if stored else key.did

    def chain_head(self, issuer: str) -> tuple[int, str | None]:
        """(sequence, hash) of the issuer's newest record; (0, None) before its first."""
        with self.repo.read() as tx:
            actor = tx.actor(issuer)
        return (actor.head_sequence, actor.head_hash) if actor else (0, None)

    @overload
    def sign_new(
        self,
        key: SigningKey,
        kind: str,
        subject: dict[str, Any],
        *,
        issuer: str | None = None,
        valid_from: str | None = None,
        confidential: Literal[False] = False,
    ) -> dict[str, Any]: ...
    @overload
    def sign_new(
        self,
        key: SigningKey,
        kind: str,
        subject: dict[str, Any],
        *,
        issuer: str | None = None,
        valid_from: str | None = None,
        confidential: Literal[True],
    ) -> Confidential: ...
    def sign_new(
        self,
        key: SigningKey,
        kind: str,
        subject: dict[str, Any],
        *,
        issuer: str | None = None,
        valid_from: str | None = None,
        confidential: bool = False,
    ) -> dict[str, Any] | Confidential:
        """A record of ``kind`` signed by ``key``, continuing the issuer's chain from its head;
        with ``confidential``, the redacted record and its Disclosures (see
        :func:`passport.records.envelope.sign_record`)."""
        issuer = issuer or self.issuer_for_key(key)
        head = self.chain_head(issuer)
        return sign_next(
            key, kind, subject, issuer=issuer, head=head, valid_from=valid_from,
            confidential=confidential,
        )  # fmt: skip

    # -- appending -------------------------------------------------------------------------
    def append(self, raw: Submission, disclosures: Sequence[str] | None = None) -> translog.Receipt:
        """Append one record; its receipt (the existing one if it is already in the ledger).

        A confidential record comes with the Disclosures of its concealed members, given as
        ``disclosures`` or together with it as a :class:`Confidential`; they are checked against
        its digests and kept beside it, never logged.
        """
        try:
            return self.append_batch([raw], None if disclosures is None else [disclosures])[0]
        except BatchItemError as exc:
            raise exc.error from None

    def parse(self, raw: Submission, disclosures: Sequence[str] | None = None) -> ParsedRecord:
        """Step 1 only: size, JSON, schemas (on the revealed subject of a confidential record)."""
        if isinstance(raw, Confidential):
            disclosures = [*raw.disclosures, *(disclosures or ())]
            raw = raw.record
        return parse_record(raw, max_bytes=self.max_record_bytes, disclosures=disclosures)

    def append_batch(
        self,
        raws: Sequence[Submission],
        disclosures: Sequence[Sequence[str] | None] | None = None,
    ) -> list[translog.Receipt]:
        """Append records atomically: all are accepted, or none and the error names the bad one.

        ``disclosures``, if given, holds each record's Disclosures (None for a plain record), in
        the order of ``raws``.
        """
        if self.log_key is None:
            raise ConfigurationError("appending needs the ledger's log key")
        if disclosures is not None and len(disclosures) != len(raws):
            raise ValueError("disclosures must list one entry per record")
        with gcpause.paused():  # a batch makes many short-lived objects and no cycles
            return self._append_batch(raws, disclosures)

    def _append_batch(
        self,
        raws: Sequence[Submission],
        disclosures: Sequence[Sequence[str] | None] | None,
    ) -> list[translog.Receipt]:
        checked: Iterator[list[_Checked]]
        if len(raws) >= PARALLEL_VERIFY_MIN and self.workers > 1:
            checked = self._checked_in_pool(_with_disclosures(raws, disclosures))
        else:
            parsed = []
            for i, raw in enumerate(raws):
                try:
                    parsed.append(self.parse(raw, disclosures[i] if disclosures else None))
                except BpassError as exc:
                    raise BatchItemError(i, exc) from exc
            self._verify_all(parsed)
            checked = iter([[(i, record, None) for i, record in enumerate(parsed)]])
        info = self._identity()
        try:
            with self.repo.write() as tx:
                return self._append_locked(tx, checked, info)
        except IntegrityError as exc:  # only reachable if the append lock were bypassed
            raise ForkError(f"concurrent write conflict: {exc.orig}") from exc

    def _checked_in_pool(self, items: Sequence[_PoolItem]) -> Iterator[list[_Checked]]:
        """Steps 1 and 2a of a large batch in the process pool, on all cores, as they finish.

        Step 1 (schemas above all) costs several times the signature check, so both run in the
        workers, and the records come back in order, a worker's chunk at a time, while the
        caller already applies the rules under the lock to the chunks before: the pool keeps
        verifying meanwhile. A record failing step 1 is yielded with its error at rank 1, one
        failing step 2a at rank 2 (the caller keeps the precedence, see :meth:`_append_locked`).
        """
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers)
        chunk = max(1, len(items) // (self.workers * 4))
        work = partial(_parse_and_verify, self.max_record_bytes)
        out: list[_Checked] = []
        for i, (ok, canonical, problem) in enumerate(self._pool.map(work, items, chunksize=chunk)):
            raw, disclosures = items[i]
            if ok:
                # The worker checked these bytes (and revealed the subject with these
                # Disclosures): parsing and revealing them again is all that is left.
                record = reparse_checked(canonical or cast(bytes, raw), disclosures)
                failure = None if problem is None else ProofError(problem, reason="signature")
                out.append((i, record, failure))
            else:
                out.append(self._check_here(i, raw, disclosures))
            if len(out) == chunk:
                yield out
                out = []
        if out:
            yield out

    def _check_here(
        self, i: int, raw: bytes | str | dict[str, Any], disclosures: tuple[str, ...]
    ) -> _Checked:
        """Steps 1 and 2a in this process (a worker refused the record at step 1: this names
        the exact error)."""
        try:
            record = self.parse(raw, disclosures or None)
        except BpassError as exc:
            return i, None, exc
        try:
            verify_record_proof(record)
        except BpassError as exc:
            return i, record, exc
        return i, record, None

    def _verify_all(self, parsed: Sequence[ParsedRecord]) -> None:
        for i, record in enumerate(parsed):
            try:
                verify_record_proof(record)
            except BpassError as exc:
                raise BatchItemError(i, exc) from exc

    def _append_locked(
        self, tx: Tx, checked: Iterator[list[_Checked]], info: LedgerInfo
    ) -> list[translog.Receipt]:
        """Steps 2b-5 under the append lock, over ``checked`` (records with their step 1 and
        2a results, in order, a chunk at a time).

        Errors keep the serial path's precedence whatever the order they are met in: the first
        record failing step 1 (raised at once: nothing later can outrank it), else the first
        failing step 2a, else the first breaking a rule. Once the batch is doomed no more rules
        run, but the rest is still read for an error that outranks the one held.
        """
        size, last = tx.log_size()
        stamp = format_ts(now())
        accepted_at = max(stamp, last)  # leaf times never go backwards
        existing: dict[str, StoredRecord] = {}
        seen: dict[str, int] = {}
        new_rows: list[StoredRecord] = []
        disclosed: list[tuple[str, list[str]]] = []  # (record hash, Disclosures by member)
        slots: list[tuple[str, int | None]] = []  # (hash, new leaf index or None if pre-existing)
        held: tuple[int, int, BpassError] | None = None  # (rank, index, error) of a doomed batch
        for part in checked:
            if held is None:
                tx.prefetch(*_mentioned([record for _, record, _ in part if record is not None]))
            for i, record, failure in part:
                if failure is not None:
                    if record is None:  # step 1
                        raise BatchItemError(i, failure) from failure
                    if held is None or held[0] > 2:
                        held = (2, i, failure)
                    continue
                if held is not None or record is None:
                    continue
                if record.hash in seen:
                    slots.append((record.hash, seen[record.hash]))
                    continue
                stored = existing.get(record.hash) or _already_stored(tx, record)
                if stored is not None:  # a resubmission: its existing receipt (safe retries)
                    existing[record.hash] = stored
                    slots.append((record.hash, None))
                    continue
                leaf_index = size + len(new_rows)
                try:
                    accept_record(
                        tx,
                        record,
                        info,
                        accepted_at,
                        leaf_index,
                        clock_skew_seconds=self.clock_skew_seconds,
                    )
                except BpassError as exc:
                    held = (3, i, exc)
                    continue
                seen[record.hash] = leaf_index
                slots.append((record.hash, leaf_index))
                row = stored_row(record, leaf_index, accepted_at)
                tx.stage_record(row)
                new_rows.append(row)
                if record.disclosures:
                    disclosed.append((record.hash, by_member(record.disclosures)))
        if held is not None:
            _, i, error = held
            raise BatchItemError(i, error) from error
        return self._write_and_receipt(
            tx, size, accepted_at, info, new_rows, disclosed, slots, existing
        )

    def _write_and_receipt(
        self,
        tx: Tx,
        size: int,
        accepted_at: str,
        info: LedgerInfo,
        new_rows: list[StoredRecord],
        disclosed: list[tuple[str, list[str]]],
        slots: list[tuple[str, int | None]],
        existing: dict[str, StoredRecord],
    ) -> list[translog.Receipt]:
        """Step 5 for an accepted batch: store the new records and their Disclosures, append
        their leaves, sign the checkpoint; then one receipt per submitted record, in order (a
        resubmitted record gets its stored one)."""
        nodes = translog.NodeCache(tx)  # one reader for the new nodes, the root and the proofs
        if new_rows:
            tx.insert_records(new_rows)
            tx.insert_disclosures(disclosed)
            new_size = translog.append_leaves(
                tx, size, [translog.leaf_hash(r.hash, r.accepted_at) for r in new_rows], nodes
            )
            tx.set_log_size(new_size, accepted_at)
            cp = translog.make_checkpoint(
                tx, new_size, info.origin, self._log_key(), accepted_at, nodes
            )
        else:
            cp = _latest_checkpoint(tx)
        rows = [
            (record_hash, leaf, accepted_at, False)
            if leaf is not None
            else _resubmitted(record_hash, existing[record_hash])
            for record_hash, leaf in slots
        ]
        proofs = translog.inclusions(tx, [leaf for _, leaf, _, _ in rows], cp.size, nodes)
        return [
            translog.Receipt(
                record_hash=record_hash,
                leaf_index=leaf,
                accepted_at=at,
                tree_size=cp.size,
                checkpoint=cp.note,
                inclusion_proof=proof,
                existing=was_there,
            )
            for (record_hash, leaf, at, was_there), proof in zip(rows, proofs, strict=True)
        ]

    def _log_key(self) -> SigningKey:
        if self.log_key is None:
            raise ConfigurationError("this operation needs the ledger's log key")
        return self.log_key

    @staticmethod
    def _receipt(
        tx: Tx,
        record_hash: str,
        leaf: int,
        accepted_at: str,
        cp: Any,
        existing: bool,
        reader: translog.NodeCache | None = None,
    ) -> translog.Receipt:
        proof = translog.inclusion(tx, leaf, cp.size, reader)
        return translog.Receipt(
            record_hash=record_hash,
            leaf_index=leaf,
            accepted_at=accepted_at,
            tree_size=cp.size,
            checkpoint=cp.note,
            inclusion_proof=tuple(translog.b64(p) for p in proof),
            existing=existing,
        )

    # -- queries ---------------------------------------------------------------------------
    def record(self, record_hash: str) -> StoredRecord:
        """A stored record by hash."""
        with self.repo.read() as tx:
            row = tx.record_by_hash(record_hash)
        if row is None:
            raise NotFoundError(f"no record {record_hash}")
        return row

    def has_record(self, record_hash: str) -> bool:
        """Whether the ledger holds the record with this hash."""
        with self.repo.read() as tx:
            return tx.record_by_hash(record_hash) is not None

    def lot_record(self, lot_id: str) -> str | None:
        """The hash of the record that created lot ``lot_id``; None if there is no such lot."""
        with self.repo.read() as tx:
            lot = tx.trace().lot(lot_id)
        return lot.record_hash if lot is not None else None

    def receipt(self, record_hash: str, size: int | None = None) -> translog.Receipt:
        """The receipt of a stored record against the latest checkpoint (or the one at ``size``)."""
        with self.repo.read() as tx:
            row = tx.record_by_hash(record_hash)
            if row is None:
                raise NotFoundError(f"no record {record_hash}")
            cp = tx.checkpoint(size) if size is not None else tx.latest_checkpoint()
            if cp is None or cp.size <= row.leaf_index:
                raise NotFoundError(f"no checkpoint covering leaf {row.leaf_index} at size {size}")
            return self._receipt(tx, row.hash, row.leaf_index, row.accepted_at, cp, True)

    def checkpoint(self, size: int | None = None) -> str:
        """The signed checkpoint note (latest, or at ``size``)."""
        with self.repo.read() as tx:
            cp = tx.checkpoint(size) if size is not None else tx.latest_checkpoint()
        if cp is None:
            raise NotFoundError(f"no checkpoint at size {size}")
        return cp.note

    def consistency(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        """A consistency proof between two tree sizes (new defaults to the latest)."""
        with self.repo.read() as tx:
            current, _ = tx.log_size()
            new = current if new_size is None else new_size
            if not 0 < old_size <= new <= current:
                raise NotFoundError(
                    f"need 0 < old ({old_size}) <= new ({new}) <= tree size ({current})"
                )
            proof = translog.consistency(tx, old_size, new)
            cp = tx.checkpoint(new)
        return {
            "oldSize": old_size,
            "newSize": new,
            "proof": [translog.b64(p) for p in proof],
            "checkpoint": cp.note if cp else None,
        }


def _latest_checkpoint(tx: Tx) -> StoredCheckpoint:
    """The log's latest checkpoint (a batch of resubmissions only adds none)."""
    latest = tx.latest_checkpoint()
    if latest is None:
        raise LedgerStateError("the log has no checkpoint")
    return latest


def _resubmitted(record_hash: str, stored: StoredRecord) -> tuple[str, int, str, bool]:
    """The receipt fields of a resubmitted record: its stored leaf and time."""
    return (record_hash, stored.leaf_index, stored.accepted_at, True)


def _already_stored(tx: Tx, record: ParsedRecord) -> StoredRecord | None:
    """The stored record with this record's hash, if the ledger holds it already.

    A stored record holds its issuer's chain position, so only a record whose sequence is at
    or below the issuer's head can be one: the common case, a record that continues its
    chain, costs no lookup (a lookup by hash at 10^6 records is a random index probe)."""
    actor = tx.actor(record.issuer)
    if actor is None or record.sequence > actor.head_sequence:
        return None
    stored = tx.record_by_issuer_sequence(record.issuer, record.sequence)
    return stored if stored is not None and stored.hash == record.hash else None


def _mentioned(parsed: Sequence[ParsedRecord]) -> tuple[set[str], set[str]]:
    """The actors and keys a batch will look up: issuers and signing keys, and those named by
    actor and key records. Loading them in one query each only warms the transaction's cache;
    a lookup missed here is answered by its own query."""
    dids: set[str] = set()
    multikeys: set[str] = set()
    for record in parsed:
        dids.add(record.issuer)
        multikeys.add(record.key_multikey)
        subject = record.subject
        for name in ("id", "actor"):
            value = subject.get(name)
            if type(value) is str:
                dids.add(value)
                if value.startswith("did:key:"):
                    multikeys.add(value.removeprefix("did:key:"))
        for name in ("nextKey", "key", "publicKeyMultibase"):
            value = subject.get(name)
            if type(value) is str:
                multikeys.add(value)
    return dids, multikeys


def stored_row(record: ParsedRecord, leaf_index: int, accepted_at: str) -> StoredRecord:
    """The ``records`` row of an accepted record: its canonical bytes and index columns."""
    return StoredRecord(
        leaf_index=leaf_index,
        hash=record.hash,
        issuer=record.issuer,
        sequence=record.sequence,
        kind=record.kind,
        verification_method=record.verification_method,
        accepted_at=accepted_at,
        body=record.canonical,
    )
