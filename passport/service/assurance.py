"""Writing assurance and disclosure grants (issue #21): ``bpass passport assure`` and ``bpass
record grant-disclosures``.

- :func:`assure`: a certifier or notified body signs and appends an ``Assurance`` of a passport
  (:mod:`passport.document.assurance`): the version it replayed (default: the current one), the
  log checkpoint it replayed as of (default: the latest), the figures that hold and those that
  fail with their reasons.
- :func:`grant_disclosures`: a supply-chain actor signs and appends a ``DisclosureGrant``
  (:mod:`passport.document.disclosure_grants`) letting a certifier or notified body read the
  Disclosures of its own records.

Each checks what it can first (figures, scope) and raises a typed error before signing; the
ledger's rules check everything again inside the append transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from passport.document.assurance import ASSURABLE_FIGURES, ASSURANCE_KIND, figure_problem
from passport.document.disclosure_grants import GRANT_KIND
from passport.errors import AssuranceCheckpointError, AssuranceFigureError
from passport.ledger import log as translog
from passport.ledger.pipeline import Ledger
from passport.service.chainstate import ChainSource
from passport.service.issue import sign_chain
from passport.service.views import current_version, load_state, resolve
from passport.timefmt import format_ts, normalise_ts, now
from passport.verify.assurance import figure_label
from signing.keys import SigningKey


def parse_failure(text: str) -> dict[str, str]:
    """A ``FIGURE:REASON`` option value as ``{"figure", "reason"}``; the figure may be given by
    its pointer or by its last segment (``perKWh``, ``recycledContent``)."""
    figure, sep, reason = text.partition(":")
    if not sep or not reason.strip():
        raise AssuranceFigureError(f"{text!r} is not FIGURE:REASON")
    return {"figure": figure_id(figure), "reason": reason.strip()}


def figure_id(name: str) -> str:
    """The assurable figure ``name`` names: its pointer, or the pointer's last segment."""
    if name in ASSURABLE_FIGURES:
        return name
    matches = [f for f in ASSURABLE_FIGURES if f.rsplit("/", 1)[-1] == name]
    if len(matches) != 1:
        raise AssuranceFigureError(
            f"{name!r} is not one of the passport's point-1 figures: {', '.join(ASSURABLE_FIGURES)}"
        )
    return matches[0]


def assure(
    ledger: Ledger,
    key: SigningKey,
    identifier: str,
    *,
    holds: Sequence[str],
    fails: Sequence[dict[str, str]] = (),
    method: str = "full-replay",
    statement: str | None = None,
    checkpoint_size: int | None = None,
) -> dict[str, Any]:
    """Sign and append the key's actor's ``Assurance`` of the passport ``identifier`` (its
    current version) as of checkpoint ``checkpoint_size`` (default: the log's latest). Returns
    ``{passportId, record, version, checkpoint, receipt}``."""
    held = [figure_id(f) for f in holds]
    problem = figure_problem(held, (f["figure"] for f in fails))
    if problem is not None:
        raise AssuranceFigureError(problem)
    passport_id = resolve(ledger, identifier)
    state = load_state(ledger, passport_id)
    version = current_version(ledger, passport_id)
    with ledger.repo.read() as tx:
        cp = tx.checkpoint(checkpoint_size) if checkpoint_size else tx.latest_checkpoint()
    if cp is None:
        raise AssuranceCheckpointError(f"this log has no checkpoint at size {checkpoint_size}")
    subject: dict[str, Any] = {
        "passportId": passport_id,
        "passport": state.record_hash,
        "version": version["hash"],
        "checkpoint": {"size": cp.size, "rootHash": translog.b64(cp.root)},
        "method": method,
    }
    if held:
        subject["holds"] = held
    if fails:
        subject["fails"] = [dict(f) for f in fails]
    if statement:
        subject["statement"] = statement
    (record,) = sign_chain(
        ledger, key, [(ASSURANCE_KIND, subject)], valid_from=format_ts(now(), micro=False)
    )
    receipt = ledger.append(record)
    return {
        "passportId": passport_id,
        "record": receipt.record_hash,
        "version": version["hash"],
        "checkpoint": subject["checkpoint"],
        "receipt": receipt.to_dict(),
    }


class GrantLedger(ChainSource, Protocol):
    """What a grant needs of a ledger: ``Ledger`` and ``api.client.RemoteLedger`` alike."""

    def append(self, raw: dict[str, Any]) -> translog.Receipt: ...


def grant_disclosures(
    ledger: GrantLedger,
    key: SigningKey,
    grantee: str,
    *,
    kinds: Sequence[str] = (),
    records: Sequence[str] = (),
    valid_until: str | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """Sign and append the key's actor's ``DisclosureGrant`` to ``grantee``: the Disclosures of
    its records of ``kinds`` and of the listed ``records``, or (neither given) of all its
    records, until ``valid_until`` (or until retracted). Returns ``{record, receipt}``."""
    subject: dict[str, Any] = {"grantee": grantee, "scope": "listed" if kinds or records else "all"}
    if kinds:
        subject["kinds"] = list(dict.fromkeys(kinds))
    if records:
        subject["records"] = list(dict.fromkeys(records))
    if valid_until is not None:
        subject["validUntil"] = normalise_ts(valid_until)
    if purpose:
        subject["purpose"] = purpose
    (record,) = sign_chain(
        ledger, key, [(GRANT_KIND, subject)], valid_from=format_ts(now(), micro=False)
    )
    receipt = ledger.append(record)
    return {"record": receipt.record_hash, "receipt": receipt.to_dict()}


def label_assurances(assurances: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A view's ``assurances`` with their figures' plain names and each issuer named by its DID
    (for a reader without the ledger at hand, such as ``bpass passport show --server``)."""
    return [
        {
            **entry,
            "issuerName": str(entry["issuer"]),
            "holdsLabels": [figure_label(f) for f in entry["holds"]],
            "failsLabels": [figure_label(f["figure"]) for f in entry["fails"]],
        }
        for entry in assurances
    ]


def named_assurances(ledger: Ledger, assurances: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A view's ``assurances`` with each issuer's registered name (``issuerName``, from its
    signed ActorRegistration) and its figures' plain names (``holdsLabels``, ``failsLabels``),
    for pages and terminals."""
    out = []
    with ledger.repo.read() as tx:
        for entry in assurances:
            actor = tx.actor(str(entry["issuer"]))
            out.append(
                {
                    **entry,
                    "issuerName": actor.name if actor is not None else str(entry["issuer"]),
                    "holdsLabels": [figure_label(f) for f in entry["holds"]],
                    "failsLabels": [figure_label(f["figure"]) for f in entry["fails"]],
                }
            )
    return out
