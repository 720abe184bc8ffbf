"""Loading a lot's provenance: the upstream lot graph read from a :class:`StateTx`.

Cost: O(the lot's own provenance), never O(ledger) (issue §7). :func:`load_provenance` walks the
provenance DAG upwards breadth-first with three batched, indexed queries per level (lots by id,
steps by record hash, input edges by step hash) plus one or two for the attestations about the lots
and actors found; nothing downstream of the lot and nothing of other packs is read.
"""

from __future__ import annotations

from dataclasses import dataclass

from passport.errors import LedgerStateError, NotFoundError
from passport.store.state import StateTx
from passport.store.trace_rows import AttestationRow, InputRow, LotRow, StepRow
from passport.trace.quantities import add_into

__all__ = ["Provenance", "load_provenance"]


@dataclass
class Provenance:
    """A lot's upstream DAG as stored: lots, the steps that created them, their input edges, each
    step's element pool (µg entering it), and the attestations about these lots and the actors
    that created them."""

    target: LotRow
    lots: dict[str, LotRow]
    steps: dict[str, StepRow]
    inputs: dict[str, list[InputRow]]
    pools: dict[str, dict[str, int]]
    attestations: list[AttestationRow]
    queries: int = 0


def load_provenance(tx: StateTx, lot_id: str) -> Provenance:
    """Fetch ``lot_id``'s provenance with two batched queries per BFS level (the input edges of
    the steps found, then the lots they consume joined with the steps that created those)."""
    tt = tx.trace()
    found = tt.lots_with_steps([lot_id])
    if lot_id not in found:
        raise NotFoundError(f"no lot {lot_id}", lot=lot_id)
    target, first = found[lot_id]
    lots = {lot_id: target}
    steps = {first.record_hash: first}
    inputs: dict[str, list[InputRow]] = {}
    frontier = {first.record_hash}
    queries = 1
    while frontier:
        edges = tt.inputs_of(frontier)
        queries += 1
        upstream: set[str] = set()
        for h in frontier:
            inputs[h] = edges.get(h, [])
            # Recycled intake ends the walk: the recycled lot's upstream is cut off (cut-off rule).
            upstream.update(e.lot_id for e in inputs[h] if not e.recycled)
        upstream -= lots.keys()
        got = tt.lots_with_steps(upstream) if upstream else {}
        queries += 1 if upstream else 0
        if len(got) != len(upstream):
            raise LedgerStateError(f"edges name unknown lots {sorted(upstream - got.keys())[:3]}")
        frontier = set()
        for lot, step in got.values():
            lots[lot.lot_id] = lot
            if step.record_hash not in steps:
                steps[step.record_hash] = step
                frontier.add(step.record_hash)
    pools: dict[str, dict[str, int]] = {}
    for h, step in steps.items():
        pool: dict[str, int] = {}
        for edge in inputs[h]:
            add_into(pool, edge.elements)
        for ext in step.externals or ():
            add_into(pool, ext["ug"])
        pools[h] = pool
    attestations = tt.attestations_about(
        lots=lots.keys(), actors={s.issuer for s in steps.values()}
    )
    queries += 2
    return Provenance(target, lots, steps, inputs, pools, attestations, queries)
