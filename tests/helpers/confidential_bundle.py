"""A small ledger whose pack provenance is confidential, and its passport (issue #21 point 4):
the bundle tests' own world, built through the public append interface (``Ledger.sign_new(...,
confidential=True)``) on the backend under test, not from ``samples/``.

The chain: a miner extracts nickel (confidential), sells it to a pack maker (a confidential
Transfer, accepted), the pack maker makes the pack (a confidential Transformation) and sells it
to the OEM (a plain Transfer, accepted); a certifier states the pack maker's due diligence
(plain); the ore comes from a pit the miner added by a confidential FacilityUpdate; the miner extracts a stray lot no pack uses; the OEM issues the passport. Also: an old-style passport (signed without the completeness commitment, as
passports were before it existed) of a second pack.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from passport.document.signed_partitions import staged
from passport.ledger import log as translog
from passport.ledger.pipeline import Ledger
from passport.service.issue import issue_passport, prepare_passport, sign_chain
from passport.store.sql.repository import Repository
from samples.models import sample_model
from signing.jcs import parse_json
from signing.keys import SigningKey
from tests.conftest import _new_db_url
from tests.helpers.chain import T0, Chain, Party, out

BASE = "https://id.example"
NI = {"Ni": 800_000}


@dataclass
class ConfidentialWorld:
    """The ledger, its actors, the passports and the confidential records' hashes."""

    url: str
    """The database's URL (for ``bpass --db``)."""
    ledger: Ledger
    chain: Chain
    parties: dict[str, Party]
    passport_id: str
    old_passport_id: str
    confidential: list[str]
    """Hashes of the confidential records in the first passport's provenance."""
    stray: str
    """A plain record accepted before the first passport, in no pack's provenance."""
    facility_update: str
    """The miner's confidential FacilityUpdate adding the pit the ore comes from: in the bundle
    (the replay needs it), not in the committed provenance set."""


def _confidential(chain: Chain, party: Party, kind: str, subject: dict[str, Any]) -> str:
    signed = chain.ledger.sign_new(party.key, kind, subject, valid_from=T0, confidential=True)
    return chain.ledger.append(signed).record_hash


def _pack(
    chain: Chain,
    p: dict[str, Party],
    tag: str,
    confidential: list[str],
    facility: str | None = None,
) -> str:
    """A confidential supply chain ending in a pack lot in the OEM's custody; its lot id (the ore
    mined at ``facility``, default the miner's registered one)."""
    ore, pack = f"urn:lot:ore-{tag}", f"urn:lot:pack-{tag}"
    extraction = chain.extraction_subject(p["miner"], ore, 1_000_000, NI)
    if facility is not None:
        extraction["facility"] = facility
    mined = _confidential(chain, p["miner"], "Extraction", extraction)
    sale = {"lot": ore, "record": mined, "massGrams": 1_000_000, "buyer": p["maker"].did}
    transfer = _confidential(chain, p["miner"], "Transfer", sale)
    chain.accept(p["maker"], transfer)
    step = chain.transformation_subject(
        p["maker"],
        "pack",
        [(ore, mined, 1_000_000)],
        [out(pack, 900_000, {"Ni": 700_000}, product="pack")],
    )
    made = _confidential(chain, p["maker"], "Transformation", step)
    chain.give(p["maker"], pack, made, 900_000, p["oem"])
    confidential.extend([mined, transfer, made])
    return pack


def issue_without_commitment(ledger: Ledger, key: SigningKey, pack_lot: str, serial: str) -> str:
    """A passport signed as before the completeness commitment existed: the record's subject
    carries no ``provenance``; everything else as :func:`issue_passport` makes it."""
    prepared = prepare_passport(
        ledger, key, pack_lot=pack_lot, model=sample_model("ev"), base_url=BASE, serial=serial
    )
    subject = dict(prepared.record["credentialSubject"])
    del subject["provenance"]
    (record,) = sign_chain(
        ledger, key, [("BatteryPassport", subject)], valid_from=prepared.record["validFrom"]
    )
    with staged(prepared.partitions.values()):
        ledger.append(record)
    return prepared.passport_id


@contextmanager
def confidential_world(folder: Path) -> Iterator[ConfidentialWorld]:
    """The world of the module docstring on a fresh database of the backend under test."""
    url, drop = _new_db_url(folder)
    ledger = Ledger(Repository(url), log_key=SigningKey.from_seed(b"\x04" * 32), workers=1)
    operator = SigningKey.from_seed(b"\x03" * 32)
    ledger.initialise(operator, "test.example/log", "Operator")
    try:
        chain = Chain(ledger, operator)
        p = {
            "miner": chain.party("miner", country="CD"),
            "maker": chain.party("pack-maker"),
            "oem": chain.party("oem"),
            "certifier": chain.party("certifier"),
            "authority": chain.party("authority"),
        }
        confidential: list[str] = []
        # the ore comes from a pit the miner added after registration (a confidential
        # FacilityUpdate): the replay needs the update to know the pit
        pit = {"id": "pit-2", "name": "Pit 2", "country": "CD"}
        added = _confidential(
            chain, p["miner"], "FacilityUpdate", {"actor": p["miner"].did, "add": [pit]}
        )
        pack = _pack(chain, p, "a", confidential, facility="pit-2")
        chain.due_diligence(p["certifier"], p["maker"])  # a plain attestation in the set
        stray = chain.extract(p["miner"], "urn:lot:stray", 5_000, NI)  # in no pack's set
        issued = issue_passport(
            ledger,
            p["oem"].key,
            pack_lot=pack,
            model=sample_model("ev"),
            base_url=BASE,
            serial="CONF-0001",
        )
        old_pack = _pack(chain, p, "b", [])
        old = issue_without_commitment(ledger, p["oem"].key, old_pack, "CONF-0002")
        yield ConfidentialWorld(
            url,
            ledger,
            chain,
            p,
            issued.passport_id,
            old,
            confidential,
            stray,
            added,
        )
    finally:
        ledger.close()
        drop()


def bundle_entry(ledger: Ledger, record_hash: str, size: int) -> dict[str, Any]:
    """A record as a bundle holds it, with its inclusion proof in the log of ``size``."""
    with ledger.repo.read() as tx:
        row = tx.record_by_hash(record_hash)
        assert row is not None
        proof = translog.inclusion(tx, row.leaf_index, size)
    return {
        "record": parse_json(row.body),
        "leafIndex": row.leaf_index,
        "acceptedAt": row.accepted_at,
        "inclusionProof": [translog.b64(p) for p in proof],
    }


def kept_disclosures(ledger: Ledger, record_hash: str) -> list[str]:
    """The Disclosures the node keeps for a record."""
    with ledger.repo.read() as tx:
        return tx.disclosures_of(record_hash)
