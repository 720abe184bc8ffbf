"""A small ledger of confidential provenance (issue #21) for the read-policy tests: every
supply-chain record is signed confidential (``Ledger.sign_new(..., confidential=True)``) and
every actor's registration conceals its facilities.

The chain: a miner extracts nickel (lot ``ore``), sells it to a refiner (confidential Transfer,
accepted), who refines it (``refined``) and sells that to an OEM, who builds a pack (``pack``).
A certifier certifies the miner's facility. An unrelated supplier mines a lot of its own
(``other``) that goes nowhere near the pack. An authority reads.

Facility ids and lot ids are long random strings, so a test can look for them in a response
without a chance match; :meth:`ConfidentialWorld.secrets` lists every concealed value.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from passport.ledger.pipeline import Ledger
from passport.records.confidential import Confidential, new_lot_id
from signing.disclosures import parse_disclosure
from signing.jcs import parse_json
from signing.keys import SigningKey
from tests.helpers.chain import Chain, Party, out

ROLES = {
    "miner": ("miner", "CA"),
    "refiner": ("refiner", "FI"),
    "oem": ("oem", "DE"),
    "certifier": ("certifier", "CH"),
    "supplier": ("miner", "AU"),
    "authority": ("authority", "BE"),
}
"""Each party of the world: its registered role and country."""


@dataclass
class Signed:
    """One appended record: its hash, kind, issuer and the Disclosures of its concealed members
    (none for a plain record)."""

    hash: str
    kind: str
    issuer: str
    disclosures: tuple[str, ...]


@dataclass
class ConfidentialWorld:
    """The ledger, its parties (by name), its lots (by name) and every appended record."""

    ledger: Ledger
    operator: SigningKey
    parties: dict[str, Party] = field(default_factory=dict)
    lots: dict[str, str] = field(default_factory=dict)
    records: dict[str, Signed] = field(default_factory=dict)

    def key(self, name: str) -> SigningKey:
        """The signing key of a party (or ``operator``)."""
        return self.operator if name == "operator" else self.parties[name].key

    def did(self, name: str) -> str:
        """The DID of a party (or ``operator``)."""
        return self.key(name).did

    def secrets(self, exclude_issuers: frozenset[str] = frozenset()) -> Iterator[tuple[str, Any]]:
        """(member name, value) of every concealed member of every record, except those of
        records issued (or, for registrations, registering) one of ``exclude_issuers``."""
        for record in self.records.values():
            if record.issuer in exclude_issuers:
                continue
            for encoded in record.disclosures:
                d = parse_disclosure(encoded)
                yield d.name or "", d.value

    def public_leaves(self) -> set[str]:
        """Every scalar leaf of every stored record's signed bytes (the redacted form): a value
        found there is public whatever a Disclosure also says."""
        leaves: set[str] = set()
        with self.ledger.repo.read() as tx:
            rows = tx.records_by_hashes([r.hash for r in self.records.values()])
        for row in rows.values():
            leaves |= scalar_leaves(parse_json(row.body), names=False)
        for name in self.parties:
            leaves.add(self.did(name))
        return leaves


def scalar_leaves(value: Any, *, names: bool = True) -> set[str]:
    """Every scalar value and (with ``names``) every object member name in a JSON value, as
    strings: a roll-up keys figures by country, ore type or figure id."""
    found: set[str] = set()
    if isinstance(value, dict):
        for name, member in value.items():
            if names:
                found.add(str(name))
            found |= scalar_leaves(member, names=names)
    elif isinstance(value, list):
        for item in value:
            found |= scalar_leaves(item, names=names)
    elif value is not None and not isinstance(value, bool):
        found.add(str(value))
    return found


def _register(world: ConfidentialWorld, name: str, role: str, country: str) -> Party:
    key = SigningKey.from_seed(uuid.uuid4().bytes * 2)
    facilities = [
        {
            "id": f"site-{name}-{uuid.uuid4().hex}",
            "name": f"{name.title()} works {uuid.uuid4().hex[:12]}",
            "country": country,
            "latitude": f"{(uuid.uuid4().int % 80)}.{uuid.uuid4().int % 10**7:07d}",
            "longitude": f"{(uuid.uuid4().int % 170)}.{uuid.uuid4().int % 10**7:07d}",
        }
    ]
    subject = {
        "id": key.did,
        "name": f"{name.title()} Ltd",
        "country": country,
        "roles": [role],
        "facilities": facilities,
    }
    _append(world, name + "-registration", world.operator, "ActorRegistration", subject)
    world.records[name + "-registration"].issuer = key.did  # the registered actor's own record
    return Party(key, facilities)


def _append(
    world: ConfidentialWorld, name: str, key: SigningKey, kind: str, subject: dict[str, Any]
) -> str:
    ledger = world.ledger
    signed: Confidential = ledger.sign_new(key, kind, subject, confidential=True)
    receipt = ledger.append(signed)
    issuer = signed.record["issuer"]
    issuer = issuer if isinstance(issuer, str) else issuer["id"]
    world.records[name] = Signed(receipt.record_hash, kind, issuer, signed.disclosures)
    return receipt.record_hash


def _give(world: ConfidentialWorld, seller: str, lot: str, grams: int, buyer: str) -> None:
    """A confidential Transfer of the lot, and the buyer's (plain) acceptance."""
    p = world.parties
    made = world.records[lot].hash
    subject = {"lot": world.lots[lot], "record": made, "massGrams": grams, "buyer": p[buyer].did}
    transfer = _append(world, f"{lot}-transfer", p[seller].key, "Transfer", subject)
    accept = {"transfer": transfer, "decision": "accepted"}
    record = world.ledger.sign_new(p[buyer].key, "TransferAcceptance", accept)
    receipt = world.ledger.append(record)
    world.records[f"{lot}-acceptance"] = Signed(
        receipt.record_hash, "TransferAcceptance", p[buyer].did, ()
    )


def build_confidential_world(ledger: Ledger, operator: SigningKey) -> ConfidentialWorld:
    """Register the parties and append the chain (see the module)."""
    world = ConfidentialWorld(ledger, operator)
    for name, (role, country) in ROLES.items():
        world.parties[name] = _register(world, name, role, country)
    p = world.parties
    for name in ("ore", "refined", "pack", "other"):
        world.lots[name] = new_lot_id()
    chain = Chain.__new__(Chain)  # only its subject builders: no mirror (it replays no Disclosures)
    ore = chain.extraction_subject(
        p["miner"],
        world.lots["ore"],
        7_654_321,
        {"Ni": 412_345},
        deposit="lateritic",
        method="artisanal-small-scale",
    )
    _append(world, "ore", p["miner"].key, "Extraction", ore)
    other = chain.extraction_subject(p["supplier"], world.lots["other"], 5_432_109, {"Ni": 398_765})
    _append(world, "other", p["supplier"].key, "Extraction", other)
    certificate = {
        "subject": {"type": "facility", "actor": p["miner"].did, "facility": p["miner"].facility},
        "scheme": "IRMA",
        "certificateId": f"IRMA-{uuid.uuid4().hex}",
        "scope": f"mine site {uuid.uuid4().hex[:10]}",
        "validFrom": "2025-01-01T00:00:00Z",
        "validUntil": "2027-12-31T00:00:00Z",
    }
    _append(world, "certificate", p["certifier"].key, "Certification", certificate)
    _give(world, "miner", "ore", 7_654_321, "refiner")
    refining = Chain.transformation_subject(
        p["refiner"],
        "refining",
        [(world.lots["ore"], world.records["ore"].hash, 7_654_321)],
        [out(world.lots["refined"], 3_123_457, {"Ni": 987_654})],
    )
    _append(world, "refined", p["refiner"].key, "Transformation", refining)
    _give(world, "refiner", "refined", 3_123_457, "oem")
    pack = Chain.transformation_subject(
        p["oem"],
        "pack",
        [(world.lots["refined"], world.records["refined"].hash, 3_123_457)],
        [out(world.lots["pack"], 2_987_651, {"Ni": 987_653})],
    )
    _append(world, "pack", p["oem"].key, "Transformation", pack)
    return world
