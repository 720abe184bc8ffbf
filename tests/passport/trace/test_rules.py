"""Traceability append rules against their threats (issue §3): over-consumption, consumption by a
non-custodian, double transfer, acceptance by the wrong buyer, element mass from nothing, double
claims of recycled credits, wrong creator hashes, broken chain-of-custody models, bad attestations.
Every rejection raises a typed error and leaves the ledger unchanged."""

from __future__ import annotations

import copy
from decimal import Decimal, localcontext
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passport.errors import (
    AttestationError,
    BatchItemError,
    ChainOfCustodyError,
    CustodyError,
    DoubleClaimError,
    ElementBalanceError,
    LotExistsError,
    LotRecordMismatchError,
    MassBalanceError,
    RoleNotAllowedError,
    RuleViolationError,
    SchemaViolationError,
    UnknownFacilityError,
    UnknownLotError,
    UnknownSubjectError,
    UnknownTransferError,
)
from passport.ledger.batchsign import BatchSigner
from passport.ledger.pipeline import Ledger
from passport.trace.quantities import grams_text
from signing.keys import SigningKey
from tests.helpers.chain import Chain, Party, external, facility_subject, holding, out, snapshot

E = TypeVar("E", bound=Exception)

NI = {"Ni": 20_000}  # 2 % nickel ore


@pytest.fixture
def chain(ledger: Ledger, operator_key: SigningKey) -> Chain:
    return Chain(ledger, operator_key)


def rejected(ledger: Ledger, error: type[E], fn: Any, *args: Any, **kw: Any) -> E:
    """Run ``fn``, expect ``error`` and an unchanged ledger."""
    before = snapshot(ledger)
    with pytest.raises(error) as info:
        fn(*args, **kw)
    assert snapshot(ledger) == before
    return info.value


@pytest.fixture
def mine(chain: Chain) -> tuple[Party, str]:
    miner = chain.party("miner", country="CA")
    return miner, chain.extract(miner, "urn:lot:ore-1", 1_000_000, NI)


def test_extraction_creates_a_lot_in_the_miners_custody(
    chain: Chain, mine: tuple[Party, str]
) -> None:
    miner, _ = mine
    assert holding(chain.ledger, "urn:lot:ore-1", miner) == 1_000_000


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"facility": "nowhere"}, UnknownFacilityError),
        ({"country": "FR"}, UnknownFacilityError),
        ({"elements": {"Co": 1000}}, RuleViolationError),  # a nickel lot without nickel
        ({"elements": {"Ni": 900_000, "Co": 200_000}}, RuleViolationError),  # > 1,000,000 ppm
        (
            {"period": {"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}},
            RuleViolationError,
        ),
        ({"massGrams": 1.5}, SchemaViolationError),  # no floats in signed data
        ({"elements": {"Ni": "20000"}}, SchemaViolationError),
        ({"depositType": "brine"}, SchemaViolationError),  # not a nickel deposit type
        ({"lot": "lot-without-urn"}, SchemaViolationError),
    ],
)
def test_bad_extractions_are_rejected(
    chain: Chain, mine: tuple[Party, str], change: dict[str, Any], error: type[Exception]
) -> None:
    miner, _ = mine
    subject = chain.extraction_subject(miner, "urn:lot:ore-2", 1000, NI)
    subject.update(change)
    rejected(chain.ledger, error, chain.append, miner, "Extraction", subject)


def test_lot_ids_are_unique_ledger_wide(chain: Chain, mine: tuple[Party, str]) -> None:
    other = chain.party("miner", country="CA")
    rejected(chain.ledger, LotExistsError, chain.extract, other, "urn:lot:ore-1", 5, NI)


def test_only_miners_extract_and_miners_only_concentrate(
    chain: Chain, mine: tuple[Party, str]
) -> None:
    miner, h = mine
    refiner = chain.party("refiner", country="CA")
    from passport.errors import RoleNotAllowedError as Forbidden

    rejected(chain.ledger, Forbidden, chain.extract, refiner, "urn:lot:x", 5, NI)
    rejected(
        chain.ledger,
        RoleNotAllowedError,
        chain.transform,
        miner,
        "refining",
        [("urn:lot:ore-1", h, 1000)],
        [out("urn:lot:sulfate", 100, {"Ni": 200_000})],
    )
    chain.transform(
        miner,
        "concentration",
        [("urn:lot:ore-1", h, 1000)],
        [out("urn:lot:conc", 100, {"Ni": 200_000})],
    )


def test_over_consumption_is_rejected(chain: Chain, mine: tuple[Party, str]) -> None:
    miner, h = mine
    outputs = [out("urn:lot:conc", 1, {"Ni": 1})]
    err = rejected(
        chain.ledger,
        MassBalanceError,
        chain.transform,
        miner,
        "concentration",
        [("urn:lot:ore-1", h, 1_000_001)],
        outputs,
    )
    assert err.details["held"] == 1_000_000
    chain.transform(miner, "concentration", [("urn:lot:ore-1", h, 600_000)], outputs)
    # the second consumer finds only what is left: consumption never exceeds the lot's mass
    rejected(
        chain.ledger,
        MassBalanceError,
        chain.transform,
        miner,
        "concentration",
        [("urn:lot:ore-1", h, 400_001)],
        [out("urn:lot:conc-2", 1, {"Ni": 1})],
    )
    chain.transform(
        miner,
        "concentration",
        [("urn:lot:ore-1", h, 400_000)],
        [out("urn:lot:conc-2", 1, {"Ni": 1})],
    )
    assert holding(chain.ledger, "urn:lot:ore-1", miner) == 0
    rejected(
        chain.ledger,
        MassBalanceError,
        chain.transform,
        miner,
        "concentration",
        [("urn:lot:ore-1", h, 1)],
        [out("urn:lot:conc-3", 1, {"Ni": 1})],
    )


def test_consumption_by_a_non_custodian_is_rejected(chain: Chain, mine: tuple[Party, str]) -> None:
    _, h = mine
    thief = chain.party("refiner")
    rejected(
        chain.ledger,
        CustodyError,
        chain.transform,
        thief,
        "refining",
        [("urn:lot:ore-1", h, 10)],
        [out("urn:lot:stolen", 1, {"Ni": 1})],
    )


def test_unknown_lot_and_wrong_creator_hash_are_rejected(
    chain: Chain, mine: tuple[Party, str]
) -> None:
    miner, h = mine
    outputs = [out("urn:lot:conc", 1, {"Ni": 1})]
    rejected(
        chain.ledger,
        UnknownLotError,
        chain.transform,
        miner,
        "concentration",
        [("urn:lot:nope", h, 1)],
        outputs,
    )
    other = chain.extract(miner, "urn:lot:ore-2", 10, NI)
    err = rejected(
        chain.ledger,
        LotRecordMismatchError,
        chain.transform,
        miner,
        "concentration",
        [("urn:lot:ore-1", other, 1)],
        outputs,
    )
    assert err.code == "lot_record_mismatch"
    rejected(
        chain.ledger,
        LotRecordMismatchError,
        chain.transfer,
        miner,
        "urn:lot:ore-1",
        other,
        1,
        chain.party("refiner"),
    )


def test_element_mass_from_nothing_is_rejected(chain: Chain, mine: tuple[Party, str]) -> None:
    miner, h = mine
    # 1000 g of 2 % ore carry 20 g Ni = 20,000,000 µg: 100 g at 20 % is exactly that, 1 ppm more is not
    chain.transform(
        miner,
        "concentration",
        [("urn:lot:ore-1", h, 1000)],
        [out("urn:lot:c1", 100, {"Ni": 200_000})],
    )
    err = rejected(
        chain.ledger,
        ElementBalanceError,
        chain.transform,
        miner,
        "concentration",
        [("urn:lot:ore-1", h, 1000)],
        [out("urn:lot:c2", 100, {"Ni": 200_001})],
    )
    assert (err.details["leaving_ug"], err.details["entering_ug"]) == (20_000_100, 20_000_000)
    # in the units the records are written in: grams (exact), not µg
    assert err.message.startswith("Ni: 20.0001 g leave this transformation, only 20 g enter")
    assert "µg" not in err.message
    # an element that did not enter at all
    rejected(
        chain.ledger,
        ElementBalanceError,
        chain.transform,
        miner,
        "concentration",
        [("urn:lot:ore-1", h, 1000)],
        [out("urn:lot:c3", 100, {"Ni": 1, "Co": 1})],
    )
    # split over two outputs, together too much
    rejected(
        chain.ledger,
        ElementBalanceError,
        chain.transform,
        miner,
        "concentration",
        [("urn:lot:ore-1", h, 1000)],
        [out("urn:lot:c4", 60, {"Ni": 200_000}), out("urn:lot:c5", 41, {"Ni": 200_000})],
    )
    # untraced external input makes up the difference, and is declared
    chain.transform(
        miner,
        "concentration",
        [("urn:lot:ore-1", h, 1000)],
        [out("urn:lot:c6", 100, {"Ni": 300_000})],
        externals=[external("untraced", "purchased concentrate", 50, {"Ni": 200_000})],
    )


def test_transfer_then_acceptance_moves_custody(chain: Chain, mine: tuple[Party, str]) -> None:
    miner, h = mine
    buyer = chain.party("refiner")
    t = chain.transfer(miner, "urn:lot:ore-1", h, 300_000, buyer)
    assert holding(chain.ledger, "urn:lot:ore-1", miner) == 700_000
    # in transit: the buyer cannot consume yet
    rejected(
        chain.ledger,
        CustodyError,
        chain.transform,
        buyer,
        "refining",
        [("urn:lot:ore-1", h, 1)],
        [out("urn:lot:s", 1, {"Ni": 1})],
    )
    chain.accept(buyer, t)
    assert holding(chain.ledger, "urn:lot:ore-1", buyer) == 300_000
    rejected(
        chain.ledger,
        MassBalanceError,
        chain.transform,
        buyer,
        "refining",
        [("urn:lot:ore-1", h, 300_001)],
        [out("urn:lot:s", 1, {"Ni": 1})],
    )
    chain.transform(
        buyer, "refining", [("urn:lot:ore-1", h, 300_000)], [out("urn:lot:s", 1, {"Ni": 1})]
    )


def test_double_transfer_is_rejected(chain: Chain, mine: tuple[Party, str]) -> None:
    miner, h = mine
    a, b = chain.party("refiner"), chain.party("refiner")
    chain.transfer(miner, "urn:lot:ore-1", h, 800_000, a)
    # the same grams cannot be sold again: only 200,000 g are left with the miner
    rejected(chain.ledger, MassBalanceError, chain.transfer, miner, "urn:lot:ore-1", h, 800_000, b)
    rejected(
        chain.ledger,
        MassBalanceError,
        chain.transform,
        miner,
        "concentration",
        [("urn:lot:ore-1", h, 200_001)],
        [out("urn:lot:c", 1, {"Ni": 1})],
    )


def test_acceptance_by_the_wrong_buyer_and_twice_is_rejected(
    chain: Chain, mine: tuple[Party, str]
) -> None:
    miner, h = mine
    buyer, intruder = chain.party("refiner"), chain.party("refiner")
    t = chain.transfer(miner, "urn:lot:ore-1", h, 1000, buyer)
    rejected(chain.ledger, CustodyError, chain.accept, intruder, t)
    rejected(chain.ledger, CustodyError, chain.accept, miner, t)  # nor by the seller
    rejected(chain.ledger, UnknownTransferError, chain.accept, buyer, "sha256:" + "0" * 64)
    chain.accept(buyer, t)
    rejected(chain.ledger, CustodyError, chain.accept, buyer, t)
    rejected(chain.ledger, CustodyError, chain.accept, buyer, t, "rejected")


def test_rejected_transfer_returns_the_grams(chain: Chain, mine: tuple[Party, str]) -> None:
    miner, h = mine
    buyer = chain.party("refiner")
    chain.accept(buyer, chain.transfer(miner, "urn:lot:ore-1", h, 1000, buyer), "rejected")
    assert holding(chain.ledger, "urn:lot:ore-1", miner) == 1_000_000
    assert holding(chain.ledger, "urn:lot:ore-1", buyer) is None


def test_transfer_to_self_or_to_a_non_supply_chain_actor_is_rejected(
    chain: Chain, mine: tuple[Party, str]
) -> None:
    miner, h = mine
    rejected(chain.ledger, RuleViolationError, chain.transfer, miner, "urn:lot:ore-1", h, 1, miner)
    rejected(
        chain.ledger,
        RuleViolationError,
        chain.transfer,
        miner,
        "urn:lot:ore-1",
        h,
        1,
        chain.party("certifier"),
    )


def recycler_with_scrap(chain: Chain) -> tuple[Party, str]:
    """A recycler whose black mass is 100 % recycled (50 g Ni pre-consumer)."""
    recycler = chain.party("recycler")
    h = chain.transform(
        recycler,
        "recycling",
        [],
        [out("urn:lot:black-mass", 1000, {"Ni": 50_000})],
        externals=[external("pre-consumer-waste", "cell scrap", 1000, {"Ni": 50_000})],
    )
    return recycler, h


def test_double_claim_of_recycled_credits_across_two_consumers_is_rejected(chain: Chain) -> None:
    recycler, h = recycler_with_scrap(chain)
    miner = chain.party("miner")
    a, b = chain.party("refiner"), chain.party("refiner")
    ore = {}
    for who in (a, b):
        chain.give(recycler, "urn:lot:black-mass", h, 500, who)
        lot = f"urn:lot:ore-for-{who.facility}"
        ore[who.did] = (lot, chain.extract(miner, lot, 500, {"Ni": 50_000}))
        chain.give(miner, lot, ore[who.did][1], 500, who)

    # Each consumer receives the credits of its 500 g of black mass: 25 g recycled Ni. Its output
    # holds 50 g Ni (25 g recycled + 25 g mined); claiming more than 25 g recycled is a double claim.
    def claim(who: Party, lot: str, grams: int) -> str:
        return chain.transform(
            who,
            "refining",
            [("urn:lot:black-mass", h, 500), (*ore[who.did], 500)],
            [
                out(
                    lot,
                    100,
                    {"Ni": 500_000},
                    claims=[{"type": "recycled-pre-consumer", "element": "Ni", "grams": grams}],
                )
            ],
            custody="mass-balance",
        )

    err = rejected(chain.ledger, DoubleClaimError, claim, a, "urn:lot:a", 26)
    assert err.details["available_ug"] == 500 * 50_000  # 25 g of 1000 g × 5 %
    assert err.message == (
        "outputs claim 26 g of recycled-pre-consumer Ni, only 25 g entered this step"
    )
    claim(a, "urn:lot:a", 25)
    rejected(chain.ledger, DoubleClaimError, claim, b, "urn:lot:b", 50)
    claim(b, "urn:lot:b", 25)


def test_mass_balance_claims_are_bounded_by_credits_and_content(chain: Chain) -> None:
    recycler, h = recycler_with_scrap(chain)
    refiner = chain.party("refiner")
    chain.give(recycler, "urn:lot:black-mass", h, 1000, refiner)
    mine_ = chain.party("miner")
    ore = chain.extract(mine_, "urn:lot:primary", 10_000, {"Ni": 50_000})
    chain.give(mine_, "urn:lot:primary", ore, 10_000, refiner)
    inputs: list[Any] = [("urn:lot:black-mass", h, 1000), ("urn:lot:primary", ore, 10_000)]

    def claims(*items: tuple[str, int]) -> list[dict[str, Any]]:
        return [{"type": t, "element": "Ni", "grams": g} for t, g in items]

    # two outputs of 250 g Ni each; 50 g recycled entered. Output A may carry all 50 g (mass balance),
    # but the outputs together may not claim 51 g, and no output more than the Ni it contains.
    rejected(
        chain.ledger,
        DoubleClaimError,
        chain.transform,
        refiner,
        "refining",
        inputs,
        [
            out("urn:lot:a", 1000, {"Ni": 250_000}, claims=claims(("recycled-pre-consumer", 30))),
            out("urn:lot:b", 1000, {"Ni": 250_000}, claims=claims(("recycled-pre-consumer", 21))),
        ],
        custody="mass-balance",
    )
    # more than the output contains: said in grams and ppm, as the record states them
    err = rejected(
        chain.ledger,
        DoubleClaimError,
        chain.transform,
        refiner,
        "refining",
        inputs,
        [out("urn:lot:a", 100, {"Ni": 250_005}, claims=claims(("recycled-pre-consumer", 26)))],
        custody="mass-balance",
    )
    assert err.message == (
        "outputs[0] claims 26 g recycled-pre-consumer Ni, more than the 25.0005 g of Ni it "
        "contains (100 g at 250005 ppm)"
    )
    err = rejected(
        chain.ledger,
        DoubleClaimError,
        chain.transform,
        refiner,
        "refining",
        inputs,
        [
            out(
                "urn:lot:a",
                100,
                {"Ni": 250_000},
                claims=claims(("recycled-pre-consumer", 20), ("recycled-post-consumer", 10)),
            )
        ],
        custody="mass-balance",
    )
    assert err.message == (
        "outputs[0] claims 30 g of recycled Ni (pre + post), more than the 25 g it contains "
        "(100 g at 250000 ppm)"
    )
    rejected(
        chain.ledger,
        DoubleClaimError,
        chain.transform,
        refiner,
        "refining",
        inputs,
        [out("urn:lot:a", 1000, {"Ni": 250_000}, claims=claims(("recycled-post-consumer", 1)))],
        custody="mass-balance",
    )
    rejected(
        chain.ledger,
        ChainOfCustodyError,
        chain.transform,
        refiner,
        "refining",
        inputs,
        [out("urn:lot:a", 1000, {"Ni": 250_000}, claims=claims(("recycled-pre-consumer", 1)))],
        custody="controlled-blending",
    )
    chain.transform(
        refiner,
        "refining",
        inputs,
        [
            out("urn:lot:a", 1000, {"Ni": 250_000}, claims=claims(("recycled-pre-consumer", 50))),
            out("urn:lot:b", 1000, {"Ni": 250_000}),
        ],
        custody="mass-balance",
    )


def test_identity_preserved_and_segregated_models_are_enforced(chain: Chain) -> None:
    m1, m2 = chain.party("miner"), chain.party("miner")
    refiner = chain.party("refiner")
    h1 = chain.extract(m1, "urn:lot:m1", 1000, NI)
    h2 = chain.extract(m2, "urn:lot:m2", 1000, NI)
    chain.give(m1, "urn:lot:m1", h1, 1000, refiner)
    chain.give(m2, "urn:lot:m2", h2, 1000, refiner)
    both: list[Any] = [("urn:lot:m1", h1, 500), ("urn:lot:m2", h2, 500)]
    rejected(
        chain.ledger,
        ChainOfCustodyError,
        chain.transform,
        refiner,
        "refining",
        both,
        [out("urn:lot:ip", 10, {"Ni": 1})],
        custody="identity-preserved",
    )
    ip = chain.transform(
        refiner,
        "refining",
        [("urn:lot:m1", h1, 500)],
        [out("urn:lot:ip", 10, {"Ni": 1})],
        custody="identity-preserved",
    )
    # identity is kept further down, as long as the source stays single
    chain.transform(
        refiner,
        "precursor",
        [("urn:lot:ip", ip, 5)],
        [out("urn:lot:ip2", 1, {"Ni": 1})],
        custody="identity-preserved",
    )
    mb = chain.transform(
        refiner,
        "refining",
        [("urn:lot:m2", h2, 500)],
        [out("urn:lot:mb", 10, {"Ni": 1})],
        custody="mass-balance",
    )
    rejected(
        chain.ledger,
        ChainOfCustodyError,
        chain.transform,
        refiner,
        "precursor",
        [("urn:lot:mb", mb, 5)],
        [out("urn:lot:seg", 1, {"Ni": 1})],
        custody="segregated",
    )
    rejected(
        chain.ledger,
        ChainOfCustodyError,
        chain.transform,
        refiner,
        "precursor",
        [("urn:lot:m1", h1, 5)],
        [out("urn:lot:seg", 1, {"Ni": 1})],
        custody="segregated",
        externals=[{"source": "untraced", "description": "x", "massGrams": 1}],
    )
    chain.transform(
        refiner,
        "precursor",
        [("urn:lot:m1", h1, 5)],
        [out("urn:lot:seg", 1, {"Ni": 1})],
        custody="segregated",
    )


def test_recycled_intake_and_synthetic_feedstock_are_restricted(
    chain: Chain, mine: tuple[Party, str]
) -> None:
    miner, h = mine
    refiner = chain.party("refiner")
    chain.give(miner, "urn:lot:ore-1", h, 1000, refiner)
    rejected(
        chain.ledger,
        RuleViolationError,
        chain.transform,
        refiner,
        "recycling",
        [("urn:lot:ore-1", h, 10, "post-consumer")],
        [out("urn:lot:r", 1, {"Ni": 1})],
    )
    recycler = chain.party("recycler")
    rejected(
        chain.ledger,
        RuleViolationError,
        chain.transform,
        recycler,
        "refining",
        [],
        [out("urn:lot:r", 1, {"Ni": 1})],
        externals=[external("post-consumer-waste", "x", 1, {"Ni": 1})],
    )
    maker = chain.party("material-maker")
    rejected(
        chain.ledger,
        RuleViolationError,
        chain.transform,
        maker,
        "anode-material",
        [],
        [out("urn:lot:g", 1, {"C": 1})],
        externals=[external("synthetic-feedstock", "coke", 1, {"Ni": 1})],
    )
    chain.transform(
        maker,
        "anode-material",
        [],
        [out("urn:lot:g", 1, {"C": 900_000})],
        externals=[external("synthetic-feedstock", "needle coke", 2, {"C": 950_000})],
    )


def test_a_bad_record_rolls_back_the_whole_batch(chain: Chain, mine: tuple[Party, str]) -> None:
    miner, h = mine
    buyer = chain.party("refiner")
    signer = BatchSigner(chain.ledger)
    signer.sign(
        miner.key,
        "Transfer",
        {"lot": "urn:lot:ore-1", "record": h, "massGrams": 10, "buyer": buyer.did},
    )
    signer.sign(miner.key, "Extraction", chain.extraction_subject(miner, "urn:lot:new", 5, NI))
    signer.sign(
        miner.key,
        "Transfer",
        {"lot": "urn:lot:ore-1", "record": h, "massGrams": 999_991, "buyer": buyer.did},
    )
    err = rejected(chain.ledger, BatchItemError, signer.flush)
    assert isinstance(err, BatchItemError) and err.index == 2 and err.error.code == "mass_balance"


def test_attestation_rules(chain: Chain, mine: tuple[Party, str]) -> None:
    miner, h = mine
    other = chain.party("refiner")
    certifier = chain.party("certifier")
    lot = {"type": "lot", "lot": "urn:lot:ore-1", "record": h}
    per_kg = {"raw-material-acquisition": "0.5"}
    rejected(chain.ledger, AttestationError, chain.footprint, other, "urn:lot:ore-1", h, per_kg)
    rejected(
        chain.ledger,
        LotRecordMismatchError,
        chain.footprint,
        miner,
        "urn:lot:ore-1",
        "sha256:" + "1" * 64,
        per_kg,
    )
    rejected(chain.ledger, RoleNotAllowedError, chain.certify, miner, lot)
    rejected(
        chain.ledger,
        UnknownSubjectError,
        chain.certify,
        certifier,
        {"type": "facility", "actor": miner.did, "facility": "nowhere"},
    )
    rejected(
        chain.ledger,
        AttestationError,
        chain.certify,
        certifier,
        lot,
        valid=("2027-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
    )
    rejected(chain.ledger, AttestationError, chain.due_diligence, other, miner)
    body = {
        "subject": lot,
        "boundary": "cradle-to-gate",
        "perKg": per_kg,
        "method": "m",
        "study": "s",
        "verifier": other.did,
    }
    rejected(chain.ledger, AttestationError, chain.append, miner, "CarbonFootprint", body)
    rc = {
        "subject": lot,
        "elements": {"Ni": {"preConsumerGrams": 0, "postConsumerGrams": 1}},
        "intakeRecords": [h],
    }
    rejected(chain.ledger, AttestationError, chain.append, miner, "RecycledContent", rc)
    fp = chain.footprint(miner, "urn:lot:ore-1", h, per_kg)
    cert = chain.certify(certifier, facility_subject(miner))
    retraction = {"record": cert, "reason": "audit failed"}
    rejected(chain.ledger, AttestationError, chain.append, miner, "Retraction", retraction)
    rejected(
        chain.ledger,
        UnknownSubjectError,
        chain.append,
        certifier,
        "Retraction",
        {"record": h, "reason": "x"},
    )
    chain.append(certifier, "Retraction", retraction)
    rejected(chain.ledger, AttestationError, chain.append, certifier, "Retraction", retraction)
    chain.append(miner, "Retraction", {"record": fp, "reason": "error in study"})


def test_schema_rejects_floats_and_unknown_fields_in_attestations(
    chain: Chain, mine: tuple[Party, str]
) -> None:
    miner, h = mine
    rejected(
        chain.ledger,
        SchemaViolationError,
        chain.footprint,
        miner,
        "urn:lot:ore-1",
        h,
        {"raw-material-acquisition": "1e3"},
    )
    rejected(
        chain.ledger,
        SchemaViolationError,
        chain.footprint,
        miner,
        "urn:lot:ore-1",
        h,
        {"use-phase": "1"},
    )
    subject = chain.extraction_subject(miner, "urn:lot:q", 5, NI)
    bad = copy.deepcopy(subject)
    bad["emissions"] = {"main-production": 1.5}
    rejected(chain.ledger, SchemaViolationError, chain.append, miner, "Extraction", bad)


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_grams_text_is_the_exact_mass(ug: int) -> None:
    text = grams_text(ug)
    with localcontext(prec=80):
        assert text.endswith(" g") and Decimal(text[:-2]) * 10**6 == ug
    number = text[:-2]
    assert "e" not in number.lower()
    assert "." not in number or not number.endswith(("0", "."))
