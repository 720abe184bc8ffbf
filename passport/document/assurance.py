"""The ``Assurance`` kind (issue #21): an independent verifier states publicly which of a
passport's figures it replayed and found to hold.

Provenance records may be confidential: anyone verifies their signatures, chains and log
inclusion, but only entitled readers (the issuer, a Transfer's buyer, authorities, and the
grantees of a ``DisclosureGrant``) read their Disclosures and can replay the figures. So the
public needs to know which independent party did. An ``Assurance`` names the passport, the
version it assured (the record that made it, :mod:`passport.document.versions`), the log
checkpoint as of which it replayed the provenance, the point-1 figures that hold and those that
do not (each with its reason) and the method. Append pipeline step 4 checks, inside the append
transaction (a violation writes nothing):

- the issuer holds an assurer role (``certifier``, ``notified-body``) [role_forbidden] and is not
  the passport's own economic operator [assurance_invalid];
- the passport exists and ``passport`` is its BatteryPassport record [passport_not_found];
- ``version`` is a version of this passport [assurance_version_unknown];
- the checkpoint is one this log signed (its root at that size) and includes the version
  [assurance_checkpoint_unknown];
- it names at least one figure, every figure is one of :data:`ASSURABLE_FIGURES`, none holds
  and fails at once, none is named twice [assurance_figure_invalid].

The record becomes one of the passport's events, so views, verification and bundles carry it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from passport.document.body import LEDGER_FIGURES
from passport.document.versions import VERSION_KINDS
from passport.errors import (
    AssuranceCheckpointError,
    AssuranceError,
    AssuranceFigureError,
    AssuranceVersionError,
    PassportNotFoundError,
    RuleViolationError,
)
from passport.records.envelope import ParsedRecord
from passport.records.kinds import ASSURER_ROLES, AcceptContext, KindRule, kind_rule
from passport.store.passport_rows import PassportEventRow
from passport.store.state import PassportStateTx, StateTx

ASSURANCE_KIND = "Assurance"

ASSURABLE_FIGURES: tuple[str, ...] = tuple(p for p in LEDGER_FIGURES if p.startswith("/point1/"))
"""The figures an Assurance may name: the passport's public (point-1) figures rolled up from
the ledger's provenance (:data:`passport.document.body.LEDGER_FIGURES`)."""

FIGURE_LABELS: Mapping[str, str] = {
    "/point1/carbonFootprint/perKWh": "carbon footprint per kWh",
    "/point1/carbonFootprint/absoluteKg": "carbon footprint (total)",
    "/point1/carbonFootprint/primaryDataSharePercent": "share of primary carbon data",
    "/point1/carbonFootprint/performanceClass": "carbon footprint class",
    "/point1/carbonFootprint/classTable": "carbon class table",
    "/point1/recycledContent": "recycled content",
    "/point1/responsibleSourcing/dueDiligence": "due diligence coverage",
    "/point1/responsibleSourcing/materials": "material origins",
    "/point1/responsibleSourcing/graphite": "graphite origin",
    "/point1/responsibleSourcing/certifications": "certification coverage",
    "/point1/responsibleSourcing/riskFlags": "supply-chain risk flags",
}
"""Plain-language names of the assurable figures, for consumer pages."""


def figure_problem(holds: Sequence[str], fails: Iterable[str]) -> str | None:
    """Why a list of holding and failing figures is not a valid statement (None if it is): no
    figure at all, an unknown figure, a figure both holding and failing, a figure named twice."""
    failing = list(fails)
    if not holds and not failing:
        return "it names no figure"
    for figure in [*holds, *failing]:
        if figure not in ASSURABLE_FIGURES:
            return f"{figure!r} is not one of the passport's point-1 figures"
    for figure in holds:
        if figure in failing:
            return f"{figure} is stated both to hold and to fail"
    if len(set(holds)) != len(holds) or len(set(failing)) != len(failing):
        return "a figure is named twice"
    return None


def _passports(tx: StateTx, kind: str) -> PassportStateTx:
    passports = tx.passports()
    if passports is None:
        raise RuleViolationError(f"{kind} records are accepted by a database ledger")
    return passports


def _on_assurance(tx: StateTx, ctx: AcceptContext, record: ParsedRecord) -> None:
    s: Mapping[str, Any] = record.subject
    passports = _passports(tx, record.kind)
    state = passports.get(s["passportId"])
    if state is None or state.record_hash != s["passport"]:
        raise PassportNotFoundError(
            f"no passport {s['passportId']} issued by record {s['passport']}",
            passport=s["passportId"],
        )
    if record.issuer == state.issuer:
        raise AssuranceError(
            f"{record.issuer} is passport {state.passport_id}'s economic operator: an "
            "assurance is an independent party's"
        )
    events = passports.events(state.passport_id)
    version = next(
        (e for e in events if e.record_hash == s["version"] and e.kind in VERSION_KINDS), None
    )
    if version is None:
        raise AssuranceVersionError(
            f"{s['version']} is not a version of passport {state.passport_id} (its issue, an "
            "update or a status change)",
            passport=state.passport_id,
        )
    size, root = s["checkpoint"]["size"], s["checkpoint"]["rootHash"]
    cp = passports.checkpoint(size)
    if cp is None or base64.b64encode(cp.root).decode("ascii") != root:
        raise AssuranceCheckpointError(
            f"the assurance names a checkpoint (size {size}, root {root}) this log did not sign"
        )
    if version.leaf_index >= size:
        raise AssuranceCheckpointError(
            f"checkpoint {size} does not include the assured version (leaf {version.leaf_index})"
        )
    problem = figure_problem(s.get("holds", []), (f["figure"] for f in s.get("fails", [])))
    if problem is not None:
        raise AssuranceFigureError(f"{problem}; assurable figures: {', '.join(ASSURABLE_FIGURES)}")
    passports.add_event(
        PassportEventRow(
            passport_id=state.passport_id,
            leaf_index=ctx.leaf_index,
            record_hash=record.hash,
            kind=record.kind,
            status=state.status,
            accepted_at=ctx.accepted_at,
        )
    )


RULES: dict[str, KindRule] = {ASSURANCE_KIND: kind_rule(ASSURER_ROLES, _on_assurance)}
