"""Provenance roll-ups: per-element origin, recycled content, carbon, certification and
due-diligence coverage and risk flags of any lot, each figure with its calculation trail (issue §4).

The entry points: :func:`compute_rollup` loads the lot's provenance
(:mod:`passport.trace.provenance`; O(the lot's own provenance), never O(ledger), issue §7), walks it
backwards attributing mass, carbon and coverage to the records that decide them
(:mod:`passport.trace.walk`, which describes the method), and assembles the figures, trails and
risk flags (:mod:`passport.trace.assembly`). :func:`rollup_from` does the last two for an already
loaded provenance.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from passport.store.state import StateTx
from passport.timefmt import format_ts, normalise_ts, now
from passport.trace.assembly import Assembler
from passport.trace.config import DEFAULT_CONFIG, TraceConfig
from passport.trace.model import ProvenanceSize, Rollup
from passport.trace.provenance import Provenance, load_provenance
from passport.trace.quantities import element_ug
from passport.trace.walk import Origin, Walk

if TYPE_CHECKING:
    from passport.store.sql.repository import Repository

__all__ = ["compute_rollup", "rollup_from"]


def rollup_from(
    prov: Provenance, *, at: str | None = None, config: TraceConfig | None = None
) -> Rollup:
    """Compute the roll-up of an already loaded provenance (see :func:`compute_rollup`)."""
    moment = normalise_ts(at) if at else format_ts(now())
    walk = Walk(prov, moment, config or DEFAULT_CONFIG)
    walk.run()
    asm = Assembler(walk)
    target = prov.target
    contents = element_ug(target.mass_grams, target.elements)
    by_element: dict[str, list[Origin]] = defaultdict(list)
    for o in walk.origins:
        by_element[o.element].append(o)
    elements = {e: asm.element(e, ug, by_element[e]) for e, ug in sorted(contents.items())}
    graphite = asm.graphite(elements["C"], by_element["C"]) if "C" in elements else None
    carbon = asm.carbon(target.mass_grams)
    asm.risk_flags(elements, carbon)
    asm.recycled_content_check(elements)
    rollup = Rollup(
        lot=target.lot_id,
        record=target.record_hash,
        mass_grams=target.mass_grams,
        at=moment,
        elements=elements,
        graphite=graphite,
        carbon=carbon,
        flags=asm.flags.items,
        figures=asm.trails.figure_ids(),
        provenance=ProvenanceSize(
            lots=len(prov.lots),
            steps=len(prov.steps),
            edges=sum(len(v) for v in prov.inputs.values()),
            attestations=len(prov.attestations),
            records=len(prov.steps) + len(prov.attestations),
        ),
    )
    rollup._source = asm.trails
    return rollup


def compute_rollup(
    repo_or_tx: Repository | StateTx,
    lot_id: str,
    *,
    at: str | None = None,
    config: TraceConfig | None = None,
) -> Rollup:
    """Roll up ``lot_id``'s provenance as of ``at`` (RFC 3339 UTC; default now).

    ``at`` decides which attestations and retractions count: those the ledger accepted by then.
    ``config`` sets the CAHRA list and default emission factors (:mod:`passport.trace.config`).
    Raises :class:`passport.errors.NotFoundError` for an unknown lot.
    """
    with _gc_paused():
        if isinstance(repo_or_tx, StateTx):
            prov = load_provenance(repo_or_tx, lot_id)
        else:
            with repo_or_tx.read() as tx:
                prov = load_provenance(tx, lot_id)
        return rollup_from(prov, at=at, config=config)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a roll-up creates its tens of thousands of small,
    acyclic objects: otherwise collections triggered by allocation scan them over and over
    (measured: about a third of the loading time). Reference counting still frees everything; the
    collector is re-enabled afterwards if it was enabled before."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
