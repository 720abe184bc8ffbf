"""A small hand-built chain, written with the sample's :class:`ChainWriter`, whose roll-up figures
are computed by hand here (issue §4): origins by country, recycled share, carbon footprint.

The chain (masses in grams, lithium contents in ppm):

    AU spodumene ore  1 000 000 g @ 6 000 ppm  = 6 000 g Li, own emissions 500 kg CO2e
    CL brine          2 000 000 g @ 1 000 ppm  = 2 000 g Li, own emissions 200 kg CO2e
      └─ CN converter: consumes both → LiOH 40 000 g @ 165 000 ppm = 6 600 g Li, emits 1 000 kg
    EoL packs (post-consumer, outside the ledger) 100 000 g @ 20 000 ppm = 2 000 g Li
      └─ DE recycler: → recovered LiOH 10 000 g @ 165 000 ppm = 1 650 g Li, emits 100 kg
    FI cathode maker: 20 000 g primary LiOH (3 300 g Li) + 10 000 g recovered (1 650 g Li)
      └─ cathode 60 000 g @ 80 000 ppm = 4 800 g Li, emits 300 kg

Hand-computed roll-up of the cathode lot (physical allocation by element mass at each step):

- lithium 4 800 g; recycled (post-consumer) 4 800 × 1 650 / 4 950 = 1 600 g = 33.33 %;
  primary 3 200 g split at the converter 6 000 : 2 000 → AU 2 400 g (50.00 %), CL 800 g (16.67 %);
- carbon: the cathode step's own 300 kg + half of the LiOH lot (20 000 of 40 000 g consumed) of
  (1 000 + 500 + 200) kg = 850 kg + the recovered lot's 100 kg (recycled intake is burden-free)
  = 1 250 kg CO2e, i.e. 1 250 / 60 = 20.833333 kg CO2e per kg.
"""

from __future__ import annotations

from decimal import Decimal

from passport.ledger.pipeline import Ledger
from passport.trace.rollup import compute_rollup
from samples.chain import ChainWriter, Timeline
from samples.generate import BASE_DATE
from signing.keys import SigningKey
from tests.conftest import Actors

RMA = "raw-material-acquisition"


def _facility(fid: str, country: str) -> list[dict[str, str]]:
    return [{"id": fid, "name": fid, "country": country}]


def test_hand_built_chain_figures(ledger: Ledger, actors: Actors) -> None:
    au = actors.add("miner", country="AU", facilities=_facility("au-mine", "AU"))
    cl = actors.add("miner", country="CL", facilities=_facility("cl-salar", "CL"))
    cn = actors.add("refiner", country="CN", facilities=_facility("cn-plant", "CN"))
    de = actors.add("recycler", country="DE", facilities=_facility("de-plant", "DE"))
    fi = actors.add("material-maker", country="FI", facilities=_facility("fi-plant", "FI"))
    w = ChainWriter(ledger, batch_size=4)
    t = Timeline(BASE_DATE)

    def extraction(
        key: SigningKey,
        lot: str,
        fid: str,
        country: str,
        grams: int,
        ppm: int,
        deposit: str,
        kg: str,
    ) -> str:
        return w.sign_at(key, "Extraction", {
            "lot": lot, "material": "lithium", "depositType": deposit,
            "miningMethod": "industrial", "facility": fid, "country": country,
            "massGrams": grams, "elements": {"Li": ppm},
            "period": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-31T00:00:00Z"},
            "emissions": {RMA: kg},
        }, at=t.at(1))  # fmt: skip

    ore = extraction(au, "urn:lot:t:au", "au-mine", "AU", 1_000_000, 6_000, "spodumene", "500")
    brine = extraction(cl, "urn:lot:t:cl", "cl-salar", "CL", 2_000_000, 1_000, "brine", "200")

    def transfer(seller: SigningKey, buyer: SigningKey, lot: str, record: str, grams: int) -> None:
        sent = w.sign_at(seller, "Transfer", {
            "lot": lot, "record": record, "massGrams": grams, "buyer": buyer.did,
        }, at=t.at(2))  # fmt: skip
        w.sign_at(
            buyer, "TransferAcceptance", {"transfer": sent, "decision": "accepted"}, at=t.at(2)
        )

    transfer(au, cn, "urn:lot:t:au", ore, 1_000_000)
    transfer(cl, cn, "urn:lot:t:cl", brine, 2_000_000)
    lioh = w.sign_at(cn, "Transformation", {
        "processStep": "refining", "custody": "controlled-blending", "facility": "cn-plant",
        "inputs": [
            {"lot": "urn:lot:t:au", "record": ore, "massGrams": 1_000_000},
            {"lot": "urn:lot:t:cl", "record": brine, "massGrams": 2_000_000},
        ],
        "outputs": [{"lot": "urn:lot:t:lioh", "massGrams": 40_000, "elements": {"Li": 165_000}}],
        "emissions": {RMA: "1000"},
    }, at=t.at(3))  # fmt: skip
    recovered = w.sign_at(de, "Transformation", {
        "processStep": "recycling", "custody": "controlled-blending", "facility": "de-plant",
        "inputs": [],
        "externalInputs": [{
            "source": "post-consumer-waste", "description": "end-of-life packs",
            "massGrams": 100_000, "elements": {"Li": 20_000},
        }],
        "outputs": [{"lot": "urn:lot:t:rlioh", "massGrams": 10_000, "elements": {"Li": 165_000}}],
        "emissions": {RMA: "100"},
    }, at=t.at(3))  # fmt: skip
    transfer(cn, fi, "urn:lot:t:lioh", lioh, 20_000)
    transfer(de, fi, "urn:lot:t:rlioh", recovered, 10_000)
    w.sign_at(fi, "Transformation", {
        "processStep": "cathode-material", "custody": "controlled-blending", "facility": "fi-plant",
        "inputs": [
            {"lot": "urn:lot:t:lioh", "record": lioh, "massGrams": 20_000},
            {"lot": "urn:lot:t:rlioh", "record": recovered, "massGrams": 10_000},
        ],
        "externalInputs": [{"source": "untraced", "description": "iron phosphate",
                            "massGrams": 30_000}],
        "outputs": [{"lot": "urn:lot:t:cam", "massGrams": 60_000, "elements": {"Li": 80_000}}],
        "emissions": {RMA: "300"},
    }, at=t.at(4))  # fmt: skip
    w.flush()
    assert w.counts["Transformation"] == 3 and not w.pending

    r = compute_rollup(ledger.repo, "urn:lot:t:cam")
    li = r.elements["Li"]
    g = 10**6  # micrograms per gram
    assert li.micrograms == 4_800 * g
    assert li.origin["recycled-post-consumer"].micrograms == 1_600 * g
    assert li.origin["recycled-post-consumer"].percent == "33.33"
    assert li.origin["extracted"].micrograms == 3_200 * g
    assert li.by_country["AU"].micrograms == 2_400 * g
    assert li.by_country["AU"].percent == "50.00"
    assert li.by_country["CL"].micrograms == 800 * g
    assert li.by_country["CL"].percent == "16.67"
    assert li.by_country["DE"].micrograms == 1_600 * g  # recycled at the recycler's facility
    assert li.recycled_post_consumer.percent == "33.33"
    assert li.recycled_pre_consumer.micrograms == 0
    assert li.by_deposit_type["spodumene"].micrograms == 2_400 * g
    assert li.by_deposit_type["brine"].micrograms == 800 * g
    assert r.carbon.total.milligrams == 1_250 * 10**6
    assert Decimal(r.carbon.total.kg_co2e) == Decimal(1250)
    assert r.carbon.stages[RMA].milligrams == 1_250 * 10**6
    assert r.carbon.per_kg == "20.833333"
    assert r.carbon.default_percent == "0.00"
