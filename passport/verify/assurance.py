"""Which of a passport's figures an independent verifier assured (issue #21), computed from the
signed ``Assurance`` records alone: pure, no ledger.

Provenance records may be confidential: a reader without their Disclosures verifies signatures,
chains and log inclusion, but cannot replay the figures. An ``Assurance``
(:mod:`passport.document.assurance`) is a certifier's or notified body's signed statement that it
did, as of a log checkpoint, and which figures hold. This module says what such records state,
never more: a figure "assured" rests on the assurer's replay, not the reader's.

- :func:`assurances_in_view`: the ``assurances`` member of a passport view, from the view's
  lifecycle records (the node computes it with the same function, so the view's verifier
  recomputes it exactly: :func:`passport.verify.view.verify_view`).
- :func:`check_bundle_assurances`: the offline bundle's ``assurance`` check: each Assurance is
  this passport's, names a version of it held in the bundle and known figures, its issuer is
  registered in the bundle with an assurer role, and its checkpoint is compared with the
  checkpoints the bundle holds (others are reported as not checked offline).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from passport.document.assurance import ASSURANCE_KIND, FIGURE_LABELS, figure_problem
from passport.document.versions import VERSION_KINDS
from passport.errors import AssuranceError
from passport.records.envelope import ParsedRecord, parse_record
from passport.records.kinds import ASSURER_ROLES

__all__ = [
    "AssuranceEntry",
    "assurances_in_view",
    "check_bundle_assurances",
    "figure_label",
]


def figure_label(figure: str) -> str:
    """A figure's plain-language name (its pointer if it has none)."""
    return FIGURE_LABELS.get(figure, figure)


@dataclass(frozen=True)
class AssuranceEntry:
    """What one Assurance record states."""

    record: str
    issuer: str
    issued_at: str
    version: str
    checkpoint: Mapping[str, Any]
    method: str
    holds: tuple[str, ...]
    fails: tuple[tuple[str, str], ...]
    statement: str | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the view's ``assurances`` items)."""
        out: dict[str, Any] = {
            "record": self.record,
            "issuer": self.issuer,
            "issuedAt": self.issued_at,
            "version": self.version,
            "checkpoint": dict(self.checkpoint),
            "method": self.method,
            "holds": list(self.holds),
            "fails": [{"figure": f, "reason": r} for f, r in self.fails],
        }
        if self.statement is not None:
            out["statement"] = self.statement
        return out


def _entry(record: ParsedRecord) -> AssuranceEntry:
    s = record.subject
    return AssuranceEntry(
        record=record.hash,
        issuer=record.issuer,
        issued_at=record.valid_from,
        version=str(s["version"]),
        checkpoint={"size": s["checkpoint"]["size"], "rootHash": s["checkpoint"]["rootHash"]},
        method=str(s["method"]),
        holds=tuple(s.get("holds", [])),
        fails=tuple((str(f["figure"]), str(f["reason"])) for f in s.get("fails", [])),
        statement=s.get("statement"),
    )


def assurances_in_view(lifecycle_records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The view's ``assurances``: what each Assurance among a passport's lifecycle records
    states, in their order (log order)."""
    out = []
    for doc in lifecycle_records:
        if doc.get("type", [None, None])[1] == ASSURANCE_KIND:
            out.append(_entry(parse_record(dict(doc), max_bytes=1 << 30)).to_dict())
    return out


def _registrations(records: Sequence[ParsedRecord]) -> dict[str, Mapping[str, Any]]:
    """Each actor's latest registration subject in the bundle."""
    out: dict[str, Mapping[str, Any]] = {}
    for r in records:
        if r.kind == "ActorRegistration":
            out[str(r.subject["id"])] = r.subject
    return out


def _checkpoint_note(cp: Mapping[str, Any], known: Mapping[int, str], record: str) -> str:
    size, root = cp["size"], cp["rootHash"]
    if size in known:
        if known[size] != root:
            raise AssuranceError(
                f"assurance {record} names checkpoint {size} with root {root}, but this log's "
                f"root at that size is {known[size]}"
            )
        return f"checkpoint {size} (root checked against this bundle's log)"
    return (
        f"checkpoint {size} (its root was checked by the node on append, not offline: the "
        "bundle holds no checkpoint of that size)"
    )


def check_bundle_assurances(
    records: Sequence[ParsedRecord],
    passport_record: ParsedRecord,
    checkpoints: Mapping[int, str],
    *,
    replayed: bool,
) -> str:
    """The bundle's ``assurance`` check, over its verified records: each ``Assurance`` of the
    passport is this passport's, names a version of it present in the bundle, names only
    assurable figures (none both holding and failing), is issued by an actor the bundle
    registers with an assurer role who is not the passport's economic operator, and names a
    checkpoint whose root equals the log's when the bundle holds that size (``checkpoints``:
    size -> base64 root). Returns what they state; raises :class:`AssuranceError` on the first
    failure. ``replayed`` says whether this verifier replayed the figures itself (a bundle
    with every record readable): without an assurance, that replay is all the figures rest on
    beside the passport's signature, and a verifier that made none must not say otherwise."""
    passport_id = passport_record.subject["passportId"]
    versions = [
        r.hash
        for r in records
        if r.kind in VERSION_KINDS
        and (r.hash == passport_record.hash or r.subject.get("passport") == passport_record.hash)
    ]
    registered = _registrations(records)
    lines = []
    for r in records:
        if r.kind != ASSURANCE_KIND:
            continue
        s = r.subject
        if s["passportId"] != passport_id or s["passport"] != passport_record.hash:
            raise AssuranceError(f"assurance {r.hash} is about another passport")
        if s["version"] not in versions:
            raise AssuranceError(f"assurance {r.hash} names no version of this passport")
        problem = figure_problem(s.get("holds", []), (f["figure"] for f in s.get("fails", [])))
        if problem is not None:
            raise AssuranceError(f"assurance {r.hash}: {problem}")
        registration = registered.get(r.issuer)
        if registration is None or not ASSURER_ROLES.intersection(registration["roles"]):
            raise AssuranceError(
                f"assurance {r.hash} is issued by {r.issuer}, which this bundle does not register "
                "as a certifier or notified body"
            )
        if r.issuer == passport_record.issuer:
            raise AssuranceError(f"assurance {r.hash} is by the passport's economic operator")
        entry = _entry(r)
        held = ", ".join(figure_label(f) for f in entry.holds) or "none"
        failed = "; ".join(f"{figure_label(f)} ({why})" for f, why in entry.fails)
        lines.append(
            f"{registration['name']} ({r.issuer}) on {entry.issued_at}, version "
            f"{versions.index(entry.version) + 1}, {entry.method} as of "
            f"{_checkpoint_note(entry.checkpoint, checkpoints, r.hash)}: holds {held}"
            + (f"; fails {failed}" if failed else "")
        )
    if not lines:
        if replayed:
            return (
                "no assurance of this passport: the figures rest on this verifier's own replay "
                "(check roll-ups) only"
            )
        return (
            "no assurance of this passport, and the figures were not replayed here: they rest "
            "on the passport's signature only"
        )
    return (
        f"{len(lines)} assurances, as their issuers state (their replay, not this verifier's): "
        + " | ".join(lines)
    )
