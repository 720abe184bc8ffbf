"""Builders for traceability tests: actors with facilities, and records through the public
append interface (``Ledger.sign_new`` + ``Ledger.append``), so every test exercises the real
schemas and rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from passport.ledger.pipeline import Ledger
from signing.errors import BpassError
from signing.keys import SigningKey
from tests.helpers.mirror import Mirror

T0 = "2026-01-15T08:00:00Z"


@dataclass
class Party:
    """A registered actor, its key and its facilities."""

    key: SigningKey
    facilities: list[dict[str, str]] = field(default_factory=list)

    @property
    def did(self) -> str:
        return self.key.did

    @property
    def facility(self) -> str:
        return self.facilities[0]["id"]


class Chain:
    """Writes traceability records on a ledger; returns record hashes.

    Each chain's ledger is mirrored into the in-memory store (``tests.helpers.mirror``): a rejection
    must be the same there, and ``tests/conftest.py`` checks both stores agree after the test."""

    created: ClassVar[list[Chain]] = []  # this test's chains, for the mirror check

    def __init__(self, ledger: Ledger, operator: SigningKey) -> None:
        self.ledger = ledger
        self.operator = operator
        self.n = 0
        self.mirror = Mirror(ledger)
        Chain.created.append(self)

    def party(self, *roles: str, country: str = "DE", name: str | None = None) -> Party:
        self.n += 1
        key = SigningKey.from_seed(uuid.uuid4().bytes * 2)
        facilities = [{"id": f"site-{self.n}", "name": f"Site {self.n}", "country": country}]
        subject = {
            "id": key.did,
            "name": name or f"Actor {self.n}",
            "country": country,
            "roles": list(roles),
            "facilities": facilities,
        }
        self.ledger.append(self.ledger.sign_new(self.operator, "ActorRegistration", subject))
        return Party(key, facilities)

    def sign(
        self, party: Party, kind: str, subject: dict[str, Any], at: str = T0
    ) -> dict[str, Any]:
        return self.ledger.sign_new(party.key, kind, subject, valid_from=at)

    def append(self, party: Party, kind: str, subject: dict[str, Any], at: str = T0) -> str:
        return self.submit(self.sign(party, kind, subject, at))

    def submit(self, doc: dict[str, Any]) -> str:
        """Append a signed record; a rejection is checked against the memory store too."""
        try:
            return self.ledger.append(doc).record_hash
        except BpassError as exc:
            self.mirror.rejected(doc, exc)
            raise

    def extraction_subject(
        self,
        miner: Party,
        lot: str,
        grams: int,
        elements: dict[str, int],
        *,
        material: str = "nickel",
        deposit: str = "sulfidic",
        method: str = "industrial",
        emissions: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        subject: dict[str, Any] = {
            "lot": lot,
            "material": material,
            "depositType": deposit,
            "miningMethod": method,
            "facility": miner.facility,
            "country": miner.facilities[0]["country"],
            "massGrams": grams,
            "elements": elements,
            "period": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-10T00:00:00Z"},
        }
        if emissions:
            subject["emissions"] = emissions
        return subject

    def extract(
        self, miner: Party, lot: str, grams: int, elements: dict[str, int], **kw: Any
    ) -> str:
        at = kw.pop("at", T0)
        return self.append(
            miner, "Extraction", self.extraction_subject(miner, lot, grams, elements, **kw), at
        )

    @staticmethod
    def transformation_subject(
        maker: Party,
        step: str,
        inputs: list[tuple[str, str, int] | tuple[str, str, int, str]],
        outputs: list[dict[str, Any]],
        *,
        custody: str = "controlled-blending",
        externals: list[dict[str, Any]] | None = None,
        emissions: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        ins = []
        for item in inputs:
            entry: dict[str, Any] = {"lot": item[0], "record": item[1], "massGrams": item[2]}
            if len(item) == 4:
                entry["recycled"] = item[3]
            ins.append(entry)
        subject: dict[str, Any] = {
            "processStep": step,
            "custody": custody,
            "facility": maker.facility,
            "inputs": ins,
            "outputs": outputs,
        }
        if externals:
            subject["externalInputs"] = externals
        if emissions:
            subject["emissions"] = emissions
        return subject

    def transform(
        self,
        maker: Party,
        step: str,
        inputs: list[tuple[str, str, int] | tuple[str, str, int, str]],
        outputs: list[dict[str, Any]],
        at: str = T0,
        **kw: Any,
    ) -> str:
        return self.append(
            maker,
            "Transformation",
            self.transformation_subject(maker, step, inputs, outputs, **kw),
            at,
        )

    def transfer(self, seller: Party, lot: str, record: str, grams: int, buyer: Party) -> str:
        subject = {"lot": lot, "record": record, "massGrams": grams, "buyer": buyer.did}
        return self.append(seller, "Transfer", subject)

    def accept(self, buyer: Party, transfer: str, decision: str = "accepted") -> str:
        return self.append(
            buyer, "TransferAcceptance", {"transfer": transfer, "decision": decision}
        )

    def give(self, seller: Party, lot: str, record: str, grams: int, buyer: Party) -> str:
        """Transfer and accept in one go."""
        return self.accept(buyer, self.transfer(seller, lot, record, grams, buyer))

    def certify(
        self,
        certifier: Party,
        subject: dict[str, Any],
        scheme: str = "IRMA",
        valid: tuple[str, str] = ("2025-01-01T00:00:00Z", "2027-12-31T00:00:00Z"),
        **extra: Any,
    ) -> str:
        body = {
            "subject": subject,
            "scheme": scheme,
            "certificateId": f"{scheme}-{uuid.uuid4().hex[:8]}",
            "scope": "mine site",
            "validFrom": valid[0],
            "validUntil": valid[1],
            **extra,
        }
        return self.append(certifier, "Certification", body)

    def due_diligence(
        self,
        issuer: Party,
        actor: Party,
        valid: tuple[str, str] = ("2025-01-01T00:00:00Z", "2027-12-31T00:00:00Z"),
    ) -> str:
        body = {
            "subject": {"type": "actor", "actor": actor.did},
            "framework": "OECD-DDG",
            "reportRef": "https://example.com/dd-report.pdf",
            "reportHash": "sha256:" + "ab" * 32,
            "stepsCovered": [1, 2, 3, 4, 5],
            "validFrom": valid[0],
            "validUntil": valid[1],
            "riskFindings": [],
        }
        return self.append(issuer, "DueDiligence", body)

    def footprint(self, issuer: Party, lot: str, record: str, per_kg: dict[str, str]) -> str:
        body = {
            "subject": {"type": "lot", "lot": lot, "record": record},
            "boundary": "cradle-to-gate",
            "perKg": per_kg,
            "method": "ISO 14067",
            "study": "LCA-2026-001",
        }
        return self.append(issuer, "CarbonFootprint", body)


def facility_subject(party: Party) -> dict[str, Any]:
    return {"type": "facility", "actor": party.did, "facility": party.facility}


def out(lot: str, grams: int, elements: dict[str, int], **extra: Any) -> dict[str, Any]:
    return {"lot": lot, "massGrams": grams, "elements": elements, **extra}


def external(source: str, description: str, grams: int, elements: dict[str, int]) -> dict[str, Any]:
    """An external (untraced, waste or synthetic) input of a transformation."""
    return {"source": source, "description": description, "massGrams": grams, "elements": elements}


def snapshot(ledger: Ledger) -> tuple[Any, ...]:
    """Log size, record count and every traceability row: nothing may move on a rejection."""
    from sqlalchemy import select

    from passport.store.sql import trace as tr

    with ledger.repo.read() as tx:
        size, _ = tx.log_size()
        rows = []
        for table in (tr.LOTS, tr.HOLDINGS, tr.STEPS, tr.INPUTS, tr.TRANSFERS, tr.ATTESTATIONS):
            rows.append(sorted(repr(tuple(r)) for r in tx.conn.execute(select(table))))
        return size, tx.count_records(), tuple(tuple(r) for r in rows)


def holding(ledger: Ledger, lot: str, party: Party) -> int | None:
    from passport.store.sql.trace import TraceTx

    with ledger.repo.read() as tx:
        return TraceTx(tx).holdings([lot], party.did).get(lot)
