"""Queries and inserts for material traceability, on a :class:`passport.store.sql.repository.Tx`.

Kept apart from ``repository.py`` so that the lot and attestation index can grow without touching
the ledger core. Every query is keyed (primary key or an index, see ``trace_tables.py``); batched
queries take at most :data:`CHUNK` keys per ``IN`` list, so a roll-up issues a few queries per BFS
level of a lot's provenance and never scans a table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import fields
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, bindparam, select, text, update
from sqlmodel import SQLModel

from passport.store.sql import trace_tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from passport.store.sql.bulk import CHUNK, select_in
from passport.store.state import TraceStateTx
from passport.store.trace_rows import (
    ELEMENT_ORDER,
    AttestationRow,
    InputRow,
    LotRow,
    StepRow,
    TransferRow,
)

if TYPE_CHECKING:
    from passport.store.sql.repository import Tx


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


LOTS = _table("trace_lots")
HOLDINGS = _table("trace_holdings")
STEPS = _table("trace_steps")
INPUTS = _table("trace_inputs")
TRANSFERS = _table("trace_transfers")
ATTESTATIONS = _table("trace_attestations")

# Statements of the append path, built once (building one costs more than running it).
_ADD_HOLDING = (
    update(HOLDINGS)
    .where(HOLDINGS.c.lot_id == bindparam("b_lot"), HOLDINGS.c.holder == bindparam("b_holder"))
    .values(grams=HOLDINGS.c.grams + bindparam("b_delta"))
)
_INSERT_HOLDING = HOLDINGS.insert()
_HOLDINGS_OF = select(HOLDINGS.c.lot_id, HOLDINGS.c.grams).where(
    HOLDINGS.c.holder == bindparam("b_holder"),
    HOLDINGS.c.lot_id.in_(bindparam("b_lots", expanding=True)),
)
_HOLDERS_OF = select(HOLDINGS.c.holder, HOLDINGS.c.grams).where(
    HOLDINGS.c.lot_id == bindparam("b_lot")
)
# Everyone downstream of a lot, in one statement (both backends know WITH RECURSIVE): the lots
# made from it at any depth (a step's output lots carry the step's record hash), then the
# issuers of the steps that consumed any of them and every holder, present or former, of the
# lots made from it. UNION (not UNION ALL) keeps the walk finite on a shared sub-graph.
_DOWNSTREAM_PARTIES = text(
    """
    WITH RECURSIVE down(lot_id) AS (
        SELECT CAST(:b_lot AS VARCHAR)
        UNION
        SELECT made.lot_id FROM trace_inputs i
        JOIN down d ON i.lot_id = d.lot_id
        JOIN trace_lots made ON made.record_hash = i.step_hash
    )
    SELECT s.issuer FROM trace_inputs i
    JOIN down d ON i.lot_id = d.lot_id
    JOIN trace_steps s ON s.record_hash = i.step_hash
    UNION
    SELECT h.holder FROM trace_holdings h
    JOIN down d ON h.lot_id = d.lot_id
    WHERE d.lot_id <> :b_lot
    """
)
_ADD_CONSUMED = (
    update(LOTS)
    .where(LOTS.c.lot_id == bindparam("b_lot"))
    .values(consumed_grams=LOTS.c.consumed_grams + bindparam("b_grams"))
)
_INSERT_LOTS = LOTS.insert()
_INSERT_STEP = STEPS.insert()
_INSERT_INPUTS = INPUTS.insert()
_INSERT_TRANSFER = TRANSFERS.insert()
_INSERT_ATTESTATION = ATTESTATIONS.insert()


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _values(row: Any) -> dict[str, Any]:
    """A slotted dataclass row as column values (shallow: JSON columns keep their objects)."""
    names = _FIELD_NAMES.get(type(row))
    if names is None:
        names = _FIELD_NAMES[type(row)] = tuple(f.name for f in fields(row))
    return {name: getattr(row, name) for name in names}


def _ppm_columns(table: Table) -> list[Any]:
    return [table.c.ppm_li, table.c.ppm_ni, table.c.ppm_co, table.c.ppm_mn, table.c.ppm_c]


def ppm_values(elements: dict[str, int]) -> dict[str, int]:
    """``ppm_*`` column values for an element-content dict."""
    return {f"ppm_{e.lower()}": int(elements.get(e, 0)) for e in ELEMENT_ORDER}


def _contents(values: Sequence[int]) -> dict[str, int]:
    return {e: int(v) for e, v in zip(ELEMENT_ORDER, values, strict=True) if v}


# Rows are built positionally from explicit column lists: a roll-up reads thousands of them.
_LOT_HEAD = [
    LOTS.c.lot_id,
    LOTS.c.record_hash,
    LOTS.c.issuer,
    LOTS.c.facility_id,
    LOTS.c.mass_grams,
]
_LOT_TAIL = [LOTS.c.custody, LOTS.c.origin_key, LOTS.c.claims]
_LOT_END = [LOTS.c.consumed_grams, LOTS.c.created_at]
_STEP_COLUMNS = [STEPS.c[f] for f in StepRow.__dataclass_fields__]
_INPUT_COLUMNS = [
    INPUTS.c.step_hash,
    INPUTS.c.lot_id,
    INPUTS.c.lot_record,
    INPUTS.c.grams,
    INPUTS.c.recycled,
    *_ppm_columns(INPUTS),
]
_TRANSFER_COLUMNS = [TRANSFERS.c[f] for f in TransferRow.__dataclass_fields__]
_ATTESTATION_COLUMNS = [ATTESTATIONS.c[f] for f in AttestationRow.__dataclass_fields__]


@cache
def _lot_columns(with_credits: bool) -> tuple[Any, ...]:
    credits = [LOTS.c.credits] if with_credits else []
    return (*_LOT_HEAD, *_ppm_columns(LOTS), *_LOT_TAIL, *credits, *_LOT_END)


def _lot(row: Sequence[Any], with_credits: bool) -> LotRow:
    credits = row[13] if with_credits else {}
    end = row[-2:]
    return LotRow(
        row[0],
        row[1],
        row[2],
        row[3],
        int(row[4]),
        _contents(row[5:10]),
        row[10],
        row[11],
        row[12],
        credits,
        int(end[0]),
        end[1],
    )


def _input(row: Sequence[Any]) -> InputRow:
    return InputRow.make(row[0], row[1], row[2], int(row[3]), row[4], _contents(row[5:10]))


def _chunks(keys: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(keys))
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


class TraceTx(TraceStateTx):
    """The traceability tables of one database transaction, in SQL."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self.conn = tx.conn

    def lots_with_steps(self, lot_ids: Iterable[str]) -> dict[str, tuple[LotRow, StepRow]]:
        """Lots (without credits) together with the steps that created them, in one query. The
        lot's issuer, facility and custody are its step's (equal by construction), read once."""
        lot_columns = [
            LOTS.c.lot_id,
            LOTS.c.mass_grams,
            *_ppm_columns(LOTS),
            LOTS.c.origin_key,
            LOTS.c.claims,
            LOTS.c.consumed_grams,
            LOTS.c.created_at,
        ]
        n = len(lot_columns)
        source = (
            f"{LOTS.name} JOIN {STEPS.name} ON {STEPS.name}.record_hash = {LOTS.name}.record_hash"
        )
        rows = select_in(
            self.conn, [*lot_columns, *_STEP_COLUMNS], LOTS.c.lot_id, lot_ids, source=source
        )
        out: dict[str, tuple[LotRow, StepRow]] = {}
        for row in rows:
            step = StepRow(*row[n:])
            lot = LotRow(
                row[0],
                step.record_hash,
                step.issuer,
                step.facility_id,
                int(row[1]),
                _contents(row[2:7]),
                step.custody,
                row[7],
                row[8],
                {},
                int(row[9]),
                row[10],
            )
            out[row[0]] = (lot, step)
        return out

    # -- lots and holdings ------------------------------------------------------------------
    def lots(self, lot_ids: Iterable[str], *, with_credits: bool = True) -> dict[str, LotRow]:
        """Lots among ``lot_ids``, keyed by id (batched by primary key). Without credits (only the
        append-time mass-balance rules need them) the rows are cheaper to read."""
        columns = _lot_columns(with_credits)
        rows = select_in(self.conn, columns, LOTS.c.lot_id, lot_ids)
        return {row[0]: _lot(row, with_credits) for row in rows}

    def lot(self, lot_id: str) -> LotRow | None:
        """One lot by id."""
        return self.lots([lot_id]).get(lot_id)

    def lots_created_by(self, record_hash: str) -> list[LotRow]:
        """The lots a step created, in id order."""
        rows = select_in(self.conn, _lot_columns(True), LOTS.c.record_hash, [record_hash])
        return sorted((_lot(r, True) for r in rows), key=lambda lot: lot.lot_id)

    def insert_lots(self, rows: Sequence[LotRow]) -> None:
        """Create lots."""
        if rows:
            values = []
            for r in rows:
                row = _values(r)
                del row["elements"]
                row.update(ppm_values(r.elements))
                values.append(row)
            self.conn.execute(_INSERT_LOTS, values)

    def consume(self, holder: str, taken: Sequence[tuple[str, int]]) -> None:
        """Take ``grams`` of each ``(lot, grams)`` from ``holder``'s holding and add them to the
        lot's consumed total: two statements for the whole list. The caller has checked that
        ``holder`` holds each lot (the holding exists) and enough of it, and that no lot repeats."""
        if taken:
            self.conn.execute(
                _ADD_HOLDING,
                [{"b_lot": lot, "b_holder": holder, "b_delta": -grams} for lot, grams in taken],
            )
            self.conn.execute(
                _ADD_CONSUMED, [{"b_lot": lot, "b_grams": grams} for lot, grams in taken]
            )

    def holdings(self, lot_ids: Iterable[str], holder: str) -> dict[str, int]:
        """Grams of each lot held by ``holder``; lots it never held are absent."""
        out: dict[str, int] = {}
        for chunk in _chunks(lot_ids):
            rows = self.conn.execute(_HOLDINGS_OF, {"b_holder": holder, "b_lots": list(chunk)})
            out.update({r.lot_id: int(r.grams) for r in rows})
        return out

    def holders(self, lot_id: str) -> dict[str, int]:
        """Every holder of a lot and its grams (zero for former holders)."""
        rows = self.conn.execute(_HOLDERS_OF, {"b_lot": lot_id})
        return {r.holder: int(r.grams) for r in rows}

    def downstream_parties(self, lot_id: str) -> set[str]:
        """Every actor downstream of a lot, in one query: the issuers of the steps that consumed
        it or a lot made from it (at any depth), and the present and former holders of the lots
        made from it. For the read policy (:func:`passport.document.access.may_read_lot`)."""
        return {r[0] for r in self.conn.execute(_DOWNSTREAM_PARTIES, {"b_lot": lot_id})}

    def new_holdings(self, holdings: Sequence[tuple[str, str, int]]) -> None:
        """Holdings ``(lot, holder, grams)`` of lots created in this transaction (one insert)."""
        if holdings:
            self.conn.execute(
                _INSERT_HOLDING,
                [
                    {"lot_id": lot, "holder": holder, "grams": grams}
                    for lot, holder, grams in holdings
                ],
            )

    def change_holding(self, lot_id: str, holder: str, delta: int) -> None:
        """Add ``delta`` grams to a holding, creating it if needed (callers check the balance)."""
        res = self.conn.execute(
            _ADD_HOLDING, {"b_lot": lot_id, "b_holder": holder, "b_delta": delta}
        )
        if res.rowcount == 0:
            self.conn.execute(_INSERT_HOLDING, {"lot_id": lot_id, "holder": holder, "grams": delta})

    # -- steps and edges --------------------------------------------------------------------
    def steps(self, hashes: Iterable[str]) -> dict[str, StepRow]:
        """Extraction/Transformation steps among ``hashes``, keyed by record hash."""
        rows = select_in(self.conn, _STEP_COLUMNS, STEPS.c.record_hash, hashes)
        return {row[0]: StepRow(*row) for row in rows}

    def step(self, record_hash: str) -> StepRow | None:
        """One step by record hash."""
        return self.steps([record_hash]).get(record_hash)

    def insert_step(self, row: StepRow) -> None:
        """Record a step."""
        self.conn.execute(_INSERT_STEP, _values(row))

    def inputs_of(self, step_hashes: Iterable[str]) -> dict[str, list[InputRow]]:
        """Input edges of the given steps, keyed by step hash, each list in lot-id order."""
        out: dict[str, list[InputRow]] = defaultdict(list)
        order = [INPUTS.c.step_hash, INPUTS.c.lot_id]
        for row in select_in(self.conn, _INPUT_COLUMNS, INPUTS.c.step_hash, step_hashes, order):
            out[row[0]].append(_input(row))
        return dict(out)

    def consumers_of(self, lot_id: str) -> list[InputRow]:
        """Edges that consumed a lot (downstream view, for APIs; roll-ups never need it)."""
        rows = self.conn.execute(
            select(*_INPUT_COLUMNS).where(INPUTS.c.lot_id == lot_id).order_by(INPUTS.c.step_hash)
        )
        return [_input(r) for r in rows]

    def insert_inputs(self, rows: Sequence[InputRow]) -> None:
        """Record input edges."""
        if rows:
            values = [
                {
                    "step_hash": r.step_hash,
                    "lot_id": r.lot_id,
                    "lot_record": r.lot_record,
                    "grams": r.grams,
                    "recycled": r.recycled,
                    **ppm_values(r.ppm),
                }
                for r in rows
            ]
            self.conn.execute(_INSERT_INPUTS, values)

    # -- transfers --------------------------------------------------------------------------
    def transfer(self, record_hash: str) -> TransferRow | None:
        """A Transfer by its record hash."""
        row = self.conn.execute(
            select(*_TRANSFER_COLUMNS).where(TRANSFERS.c.record_hash == record_hash)
        ).first()
        return TransferRow(*row) if row else None

    def transfers_of_lot(self, lot_id: str) -> list[TransferRow]:
        """Every transfer of a lot, oldest first."""
        rows = self.conn.execute(
            select(*_TRANSFER_COLUMNS)
            .where(TRANSFERS.c.lot_id == lot_id)
            .order_by(TRANSFERS.c.created_at, TRANSFERS.c.record_hash)
        )
        return [TransferRow(*r) for r in rows]

    def insert_transfer(self, row: TransferRow) -> None:
        """Record a pending transfer."""
        self.conn.execute(_INSERT_TRANSFER, _values(row))

    def settle_transfer(self, record_hash: str, status: str, settled_by: str) -> None:
        """Mark a transfer accepted or rejected."""
        self.conn.execute(
            update(TRANSFERS)
            .where(TRANSFERS.c.record_hash == record_hash)
            .values(status=status, settled_by=settled_by)
        )

    # -- attestations -----------------------------------------------------------------------
    def attestation(self, record_hash: str) -> AttestationRow | None:
        """An attestation by record hash."""
        row = self.conn.execute(
            select(*_ATTESTATION_COLUMNS).where(ATTESTATIONS.c.record_hash == record_hash)
        ).first()
        return AttestationRow(*row) if row else None

    def insert_attestation(self, row: AttestationRow) -> None:
        """Record an attestation."""
        self.conn.execute(_INSERT_ATTESTATION, _values(row))

    def retract(self, record_hash: str, by: str, at: str, effect: str, reason: str) -> None:
        """Mark an attestation retracted (the attestation's own record is never changed)."""
        self.conn.execute(
            update(ATTESTATIONS)
            .where(ATTESTATIONS.c.record_hash == record_hash)
            .values(
                retracted_by=by, retracted_at=at, retraction_effect=effect, retraction_reason=reason
            )
        )

    def attestations_about(
        self,
        *,
        lots: Iterable[str] = (),
        actors: Iterable[str] = (),
        kinds: Sequence[str] | None = None,
    ) -> list[AttestationRow]:
        """Attestations about ``lots`` or ``actors`` (see :class:`TraceStateTx`): one batched
        query on each subject column, merged."""
        found: dict[str, AttestationRow] = {}
        extra = ""
        if kinds is not None:
            # kinds are this module's own constants, never user input
            extra = " AND kind IN (" + ", ".join(f"'{k}'" for k in kinds if k.isalpha()) + ")"
        for column, keys in (
            (ATTESTATIONS.c.subject_lot, lots),
            (ATTESTATIONS.c.subject_actor, actors),
        ):
            for row in select_in(self.conn, _ATTESTATION_COLUMNS, column, keys, extra=extra):
                found[row[0]] = AttestationRow(*row)
        return sorted(found.values(), key=lambda a: a.leaf_index)


__all__ = ["TraceTx"]
