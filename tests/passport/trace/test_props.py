"""Property tests on random provenance DAGs (issue §6): mass is conserved, shares sum to 100 %,
and every over-consumption, double claim or custody violation is rejected without a trace."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from passport.errors import CustodyError, DoubleClaimError, ElementBalanceError, MassBalanceError
from passport.ledger.batchsign import BatchSigner
from passport.ledger.pipeline import Ledger
from passport.store.sql import trace as tr
from passport.trace.rollup import compute_rollup
from signing.keys import SigningKey
from tests.helpers.chain import T0, Chain, Party, external, out, snapshot

PPM = 1_000_000
MATERIAL = {
    "Li": ("lithium", "brine"),
    "Ni": ("nickel", "lateritic"),
    "Co": ("cobalt", "copper-cobalt"),
    "Mn": ("manganese", "sedimentary"),
    "C": ("graphite", "natural-flake"),
}
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class World:
    chain: Chain
    maker: Party
    other: Party
    stranger: Party


@pytest.fixture
def world(ledger: Ledger, operator_key: SigningKey) -> World:
    chain = Chain(ledger, operator_key)
    maker = chain.party("miner", "refiner", "recycler", country="CA")
    other = chain.party("refiner", country="FI")
    return World(chain, maker, other, chain.party("refiner", country="PL"))


@dataclass
class LotModel:
    record: str
    mass: int
    elements: dict[str, int]
    available: int


element_contents = st.dictionaries(
    st.sampled_from(["Li", "Ni", "Co", "Mn", "C"]), st.integers(1, 300_000), min_size=1, max_size=3
)


def lot_totals(ledger: Ledger) -> dict[str, tuple[int, int]]:
    """lot → (mass, consumed + held + in transit) from the index tables."""
    with ledger.repo.read() as tx:
        conn = tx.conn
        mass = {r.lot_id: (r.mass_grams, r.consumed_grams) for r in conn.execute(select(tr.LOTS))}
        held = dict(
            conn.execute(
                select(tr.HOLDINGS.c.lot_id, func.sum(tr.HOLDINGS.c.grams)).group_by(
                    tr.HOLDINGS.c.lot_id
                )
            ).all()
        )
        transit = dict(
            conn.execute(
                select(tr.TRANSFERS.c.lot_id, func.sum(tr.TRANSFERS.c.grams))
                .where(tr.TRANSFERS.c.status == "pending")
                .group_by(tr.TRANSFERS.c.lot_id)
            ).all()
        )
    return {
        lot: (m, c + int(held.get(lot, 0)) + int(transit.get(lot, 0)))
        for lot, (m, c) in mass.items()
    }


def check_rollup_invariants(ledger: Ledger, lot: str) -> None:
    r = compute_rollup(ledger.repo, lot)
    for e, fig in r.elements.items():
        assert sum(a.micrograms for a in fig.origin.values()) == fig.micrograms, (lot, e)
        pct = [a.percent for a in fig.origin.values()]
        assert sum(int(p.replace(".", "")) for p in pct) == 10_000, (lot, e, pct)
        by_country = [a.percent for a in fig.by_country.values()] + [fig.origin["unknown"].percent]
        assert sum(int(p.replace(".", "")) for p in by_country) == 10_000
        assert (
            sum(a.micrograms for a in fig.by_country.values()) + fig.origin["unknown"].micrograms
            == fig.micrograms
        )
        by_facility = [a.percent for a in fig.by_facility] + [fig.origin["unknown"].percent]
        assert sum(int(p.replace(".", "")) for p in by_facility) == 10_000
        recycled = fig.recycled_pre_consumer.micrograms + fig.recycled_post_consumer.micrograms
        assert recycled <= fig.micrograms
        # Without mass-balance claims recycled content is exactly the recycled origin.
        assert (
            fig.recycled_pre_consumer.micrograms == fig.origin["recycled-pre-consumer"].micrograms
        )
        assert (
            fig.recycled_post_consumer.micrograms == fig.origin["recycled-post-consumer"].micrograms
        )
        if fig.due_diligence is not None:
            assert fig.due_diligence.covered_micrograms <= fig.due_diligence.base_micrograms
        assert r.trails[f"{e}.mass"].value == fig.micrograms
    c = r.carbon
    assert sum(s.milligrams for s in c.stages.values()) == c.total.milligrams
    assert c.total.primary_milligrams + c.total.default_milligrams == c.total.milligrams


@SETTINGS
@given(data=st.data())
def test_random_dags_conserve_mass_and_reject_violations(world: World, data: st.DataObject) -> None:
    chain, maker, other = world.chain, world.maker, world.other
    ledger = chain.ledger
    px = uuid.uuid4().hex[:10]
    signer = BatchSigner(ledger)
    lots: dict[str, LotModel] = {}
    for i in range(data.draw(st.integers(1, 4), label="mines")):
        elements: dict[str, int] = data.draw(element_contents, label="elements")
        material, deposit = MATERIAL[sorted(elements)[0]]
        mass = data.draw(st.integers(1, 10**6), label="mass")
        lot = f"urn:lot:{px}:m{i}"
        subject = chain.extraction_subject(
            maker, lot, mass, elements, material=material, deposit=deposit
        )
        _, h = signer.sign(maker.key, "Extraction", subject, valid_from=T0)
        lots[lot] = LotModel(h, mass, elements, mass)
    made: list[str] = []
    for j in range(data.draw(st.integers(1, 6), label="steps")):
        open_lots = sorted(lot for lot, m in lots.items() if m.available > 0)
        if not open_lots:
            break
        picked = data.draw(
            st.lists(st.sampled_from(open_lots), min_size=1, max_size=3, unique=True),
            label="inputs",
        )
        recycling = data.draw(st.booleans(), label="recycling")
        tag = data.draw(st.sampled_from(["pre-consumer", "post-consumer"]), label="tag")
        inputs: list[Any] = []
        pool: dict[str, int] = {}
        for lot in picked:
            q = data.draw(st.integers(1, lots[lot].available), label="grams")
            lots[lot].available -= q
            inputs.append(
                (lot, lots[lot].record, q, tag) if recycling else (lot, lots[lot].record, q)
            )
            for e, ppm in lots[lot].elements.items():
                pool[e] = pool.get(e, 0) + q * ppm
        externals = []
        if data.draw(st.booleans(), label="external"):
            ext_elements = data.draw(element_contents, label="ext elements")
            ext_mass = data.draw(st.integers(1, 10**5), label="ext mass")
            source = "post-consumer-waste" if recycling else "untraced"
            externals.append(
                {
                    "source": source,
                    "description": "outside",
                    "massGrams": ext_mass,
                    "elements": ext_elements,
                }
            )
            for e, ppm in ext_elements.items():
                pool[e] = pool.get(e, 0) + ext_mass * ppm
        outputs = []
        left = dict(pool)
        for k in range(data.draw(st.integers(1, 2), label="outputs")):
            mass = data.draw(st.integers(1, 10**6), label="out mass")
            elements = {}
            room = PPM
            for e in sorted(left):
                share = data.draw(st.integers(0, 100), label="share")
                ppm = min(left[e] * share // 100 // mass, room)
                if ppm:
                    elements[e] = ppm
                    left[e] -= ppm * mass
                    room -= ppm
            lot = f"urn:lot:{px}:s{j}o{k}"
            outputs.append(out(lot, mass, elements))
        step = (
            "recycling"
            if recycling
            else data.draw(st.sampled_from(["refining", "precursor", "cell"]), label="step")
        )
        emissions = (
            {"main-production": "1.5"} if data.draw(st.booleans(), label="emissions") else None
        )
        subject = chain.transformation_subject(
            maker, step, inputs, outputs, externals=externals, emissions=emissions
        )
        _, h = signer.sign(maker.key, "Transformation", subject, valid_from=T0)
        for o in outputs:
            lots[o["lot"]] = LotModel(h, o["massGrams"], o["elements"], o["massGrams"])
            made.append(o["lot"])
    # some custody changes: accepted, rejected and pending transfers to the other actor
    for lot in data.draw(
        st.lists(st.sampled_from(sorted(lots)), max_size=3, unique=True), label="transfers"
    ):
        if lots[lot].available == 0:
            continue
        q = data.draw(st.integers(1, lots[lot].available), label="transfer grams")
        body = {"lot": lot, "record": lots[lot].record, "massGrams": q, "buyer": other.did}
        _, t = signer.sign(maker.key, "Transfer", body, valid_from=T0)
        decision = data.draw(st.sampled_from(["accepted", "rejected", None]), label="decision")
        if decision:
            signer.sign(
                other.key,
                "TransferAcceptance",
                {"transfer": t, "decision": decision},
                valid_from=T0,
            )
        if decision != "rejected":
            lots[lot].available -= q
    signer.flush()

    # Mass is conserved: every gram of every lot is consumed, held or in transit, never more.
    totals = lot_totals(ledger)
    for lot in lots:
        mass, accounted = totals[lot]
        assert mass == accounted == lots[lot].mass
    for lot in made:
        check_rollup_invariants(ledger, lot)

    # Violations are rejected and change nothing.
    before = snapshot(ledger)
    target = data.draw(st.sampled_from(sorted(lots)), label="violated lot")
    m = lots[target]
    with pytest.raises(MassBalanceError):
        chain.transform(
            maker,
            "refining",
            [(target, m.record, m.available + 1)],
            [out(f"urn:lot:{px}:bad1", 1, {})],
        )
    with pytest.raises(CustodyError):  # never held any of it
        chain.transform(
            world.stranger, "refining", [(target, m.record, 1)], [out(f"urn:lot:{px}:bad2", 1, {})]
        )
    if m.available and m.elements:
        q = min(m.available, 10)
        e, ppm = sorted(m.elements.items())[0]
        with pytest.raises(ElementBalanceError):
            chain.transform(
                maker,
                "refining",
                [(target, m.record, q)],
                [out(f"urn:lot:{px}:bad3", q * ppm + 1, {e: 1})],
            )
    assert snapshot(ledger) == before


@SETTINGS
@given(data=st.data())
def test_recycled_credits_are_never_claimed_twice(world: World, data: st.DataObject) -> None:
    """A 100 % recycled lot split among consumers: each may claim at most its consumed fraction."""
    chain, maker = world.chain, world.maker
    px = uuid.uuid4().hex[:10]
    ppm = data.draw(st.integers(1, 500_000), label="ppm")
    mass = data.draw(st.integers(2, 10_000), label="mass")
    black = f"urn:lot:{px}:black-mass"
    h = chain.transform(
        maker,
        "recycling",
        [],
        [out(black, mass, {"Ni": ppm})],
        externals=[external("pre-consumer-waste", "scrap", mass, {"Ni": ppm})],
    )
    left, accepted_claims = mass, 0
    for i in range(data.draw(st.integers(1, 4), label="consumers")):
        if left == 0:
            break
        q = data.draw(st.integers(1, left), label="q")
        credits_ug = q * ppm  # the consumed fraction of the lot's 100 % recycled Ni
        claim = data.draw(st.integers(0, credits_ug // PPM + 2), label="claim")
        before = snapshot(chain.ledger)

        def consume(q: int = q, i: int = i, claim: int = claim) -> str:
            return chain.transform(
                maker,
                "refining",
                [(black, h, q)],
                [
                    out(
                        f"urn:lot:{px}:c{i}",
                        q,
                        {"Ni": ppm},
                        claims=[{"type": "recycled-pre-consumer", "element": "Ni", "grams": claim}],
                    )
                ],
                custody="mass-balance",
            )

        if claim * PPM > credits_ug:
            with pytest.raises(DoubleClaimError):
                consume()
            assert snapshot(chain.ledger) == before
        else:
            consume()
            left -= q
            accepted_claims += claim
            roll = compute_rollup(chain.ledger.repo, f"urn:lot:{px}:c{i}")
            assert roll.elements["Ni"].recycled_pre_consumer.micrograms == claim * PPM
    # Across all consumers, no more is claimed than the lot's recycled nickel.
    assert accepted_claims * PPM <= mass * ppm


@SETTINGS
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["transfer", "decide", "consume"]),
            st.integers(0, 2),
            st.integers(0, 2),
            st.integers(1, 1200),
            st.booleans(),
        ),
        max_size=10,
    )
)
def test_custody_follows_a_simple_model(
    world: World, ops: list[tuple[str, int, int, int, bool]]
) -> None:
    """Random transfers, decisions and consumptions against a model of holdings: the ledger accepts
    exactly what the model allows and rejects the rest with the error the model predicts."""
    chain = world.chain
    parties = [world.maker, world.other, chain.party("refiner")]
    px = uuid.uuid4().hex[:10]
    lot = f"urn:lot:{px}:ore"
    h = chain.extract(world.maker, lot, 1000, {"Ni": 10_000})
    held: dict[int, int] = {0: 1000}
    pending: list[tuple[str, int, int, int]] = []  # (transfer hash, seller, buyer, grams)
    consumed = 0
    for n, (op, a, b, grams, flag) in enumerate(ops):
        before = snapshot(chain.ledger)
        expected: type[Exception] | None
        if op == "transfer":
            expected = (
                None
                if a != b and held.get(a, -1) >= grams
                else (CustodyError if a not in held else MassBalanceError)
            )
            if a == b:
                continue  # a transfer to oneself is a different rule (rule_violation)
            if expected is not None:
                with pytest.raises(expected) as info:
                    chain.transfer(parties[a], lot, h, grams, parties[b])
                assert type(info.value) is expected, (op, a, b, grams, held)
                assert snapshot(chain.ledger) == before
                continue
            t = chain.transfer(parties[a], lot, h, grams, parties[b])
            held[a] -= grams
            pending.append((t, a, b, grams))
        elif op == "decide":
            if not pending:
                continue
            t, seller, buyer, g = pending[0]
            decider = b if flag else buyer  # sometimes the wrong party tries
            if decider != buyer:
                with pytest.raises(CustodyError):
                    chain.accept(parties[decider], t)
                assert snapshot(chain.ledger) == before
                continue
            chain.accept(parties[buyer], t, "accepted" if grams % 2 else "rejected")
            receiver = buyer if grams % 2 else seller
            held[receiver] = held.get(receiver, 0) + g
            pending.pop(0)
        else:
            expected = (
                None
                if held.get(a, -1) >= grams
                else (CustodyError if a not in held else MassBalanceError)
            )
            outputs = [out(f"urn:lot:{px}:o{n}", 1, {})]
            if expected is not None:
                with pytest.raises(expected) as info:
                    chain.transform(parties[a], "refining", [(lot, h, grams)], outputs)
                assert type(info.value) is expected, (op, a, grams, held)
                assert snapshot(chain.ledger) == before
                continue
            chain.transform(parties[a], "refining", [(lot, h, grams)], outputs)
            held[a] -= grams
            consumed += grams
        total = sum(held.values()) + sum(p[3] for p in pending) + consumed
        assert total == 1000
    mass, accounted = lot_totals(chain.ledger)[lot]
    assert mass == accounted == 1000
