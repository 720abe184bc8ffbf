"""The sample chain on confidential records (issue #21 point 5): its passports' figures are those
of the same seed on plain records, and the point-2 element masses cannot be recomputed from what
the ledger publishes.

The attack gathers everything a reader without a token gets — ``GET /records/{hash}`` of every
record the log holds, the passport's public view and page, its public offline bundle — and tries
what a competitor would: find the Transformation that made the pack lot and multiply its output
mass by its element contents, or, failing that, add up what its inputs carried upstream. On a
ledger of plain records the attempt succeeds and gives point 2's figures exactly (so the test
can fail); on the confidential sample it finds none of the members it needs, and none of point
2's values appears anywhere in the public data. Runs on both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import pytest

from passport.ledger.pipeline import Ledger
from passport.records.envelope import record_hash
from passport.service.views import full_document
from passport.store.sql.repository import Repository
from samples.generate import SampleSummary, build_sample_ledger
from signing.jcs import canonicalize, parse_json
from signing.keys import SigningKey
from tests.conftest import _new_db_url
from tests.helpers.api import make_client

OPERATOR = SigningKey.from_seed(b"\x01" * 32)
LOG = SigningKey.from_seed(b"\x02" * 32)
SEED = 42
ELEMENTS = {"cobalt": "Co", "nickel": "Ni", "lithium": "Li", "manganese": "Mn", "graphite": "C"}
NEEDED = ("massGrams", "elements", "inputs", "outputs", "externalInputs")
"""The members point 2's masses are computed from (a lot's mass, its element contents, and the
links from a step's inputs to its outputs)."""

# Point 2 of the sample's first pack (seed 42, NMC811), recorded when the sample moved to
# confidential records: the figures must not change with the records' form.
RECORDED_POINT2 = {
    "cobalt": "6.118", "graphite": "61.378", "lithium": "7.404", "manganese": "5.703",
    "nickel": "48.745",
}  # fmt: skip


class World(NamedTuple):
    ledger: Ledger
    summary: SampleSummary


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, World]]:
    """The same seed's sample twice: on confidential records (the default) and on plain ones."""
    made: dict[str, World] = {}
    drops = []
    try:
        for name, confidential in (("confidential", True), ("plain", False)):
            url, drop = _new_db_url(tmp_path_factory.mktemp(name))
            drops.append(drop)
            ledger = Ledger(Repository(url), log_key=LOG, workers=1)
            ledger.initialise(OPERATOR, "samples.test/log", "Sample test operator")
            summary = build_sample_ledger(
                ledger, packs=2, seed=SEED, operator_key=OPERATOR, confidential=confidential
            )
            made[name] = World(ledger, summary)
        yield made
    finally:
        for world in made.values():
            world.ledger.close()
        for drop in drops:
            drop()


def _figures(document: dict[str, Any]) -> dict[str, Any]:
    """Points 1 and 2 of a passport without what differs between two issues of it (the
    partitions' random salts)."""
    return {
        point: {k: v for k, v in document[point].items() if k != "salt"}
        for point in ("point1", "point2")
    }


def test_confidential_sample_passports_have_the_plain_figures(worlds: dict[str, World]) -> None:
    confidential, plain = worlds["confidential"], worlds["plain"]
    assert [p.lot for p in confidential.summary.packs] == [p.lot for p in plain.summary.packs]
    for mine, theirs in zip(confidential.summary.packs, plain.summary.packs, strict=True):
        assert mine.passport_id is not None and theirs.passport_id is not None
        ours = _figures(full_document(confidential.ledger, mine.passport_id))
        assert ours == _figures(full_document(plain.ledger, theirs.passport_id))
    first = confidential.summary.packs[0].passport_id
    assert first is not None
    masses = full_document(confidential.ledger, first)["point2"]["elementMassesKg"]
    assert masses == RECORDED_POINT2


def test_provenance_records_of_the_sample_are_confidential(worlds: dict[str, World]) -> None:
    """Every Extraction, Transformation and Transfer of the sample is logged redacted, and lot
    ids name no actor or product (the plain baseline shares them: they are opaque there too)."""
    with worlds["confidential"].ledger.repo.read() as tx:
        rows = tx.records_range(0, tx.log_size()[0])
    kinds = {"Extraction", "Transformation", "Transfer"}
    seen = 0
    for row in rows:
        if row.kind in kinds:
            subject = parse_json(row.body)["credentialSubject"]
            assert "_sd" in subject and not set(NEEDED) & set(subject), row.hash
            seen += 1
    assert seen > 50
    for lot in worlds["confidential"].summary.lots.values():
        assert re.fullmatch(r"urn:lot:[a-z2-7]{26}", lot), lot


# -- the attack ---------------------------------------------------------------------------------
class Public(NamedTuple):
    """What a reader without a token gets."""

    records: dict[str, dict[str, Any]]  # hash -> record, from GET /records/{hash} and the bundle
    documents: list[Any]  # every JSON body read (view, bundle, records)
    pages: list[str]  # HTML


def _gather(world: World, passport_id: str, *, with_bundle: bool = True) -> Public:
    with world.ledger.repo.read() as tx:
        hashes = [r.hash for r in tx.records_range(0, tx.log_size()[0])]
    records: dict[str, dict[str, Any]] = {}
    documents: list[Any] = []
    with make_client(world.ledger) as anonymous:
        for h in hashes:
            response = anonymous.get(f"/records/{h}")
            assert response.status_code == 200, response.text
            records[h] = parse_json(response.content)
            refused = anonymous.get(f"/records/{h}/disclosures")
            assert refused.status_code in (200, 403), refused.text
            if refused.status_code == 200:  # only a plain record's (empty) list is public
                assert refused.json() == []
        view = anonymous.get(f"/passports/{passport_id}")
        page = anonymous.get(f"/passports/{passport_id}/page")
        bundle = anonymous.get(f"/passports/{passport_id}/bundle") if with_bundle else None
    for response in (view, page, *([bundle] if bundle is not None else [])):
        assert response.status_code == 200, (response.request.url, response.text[:300])
    documents += [*records.values(), view.json()]
    if bundle is not None:
        documents.append(bundle.json())
        for entry in bundle.json()["records"]:
            records.setdefault(record_hash(canonicalize(entry["record"])), entry["record"])
    return Public(records, documents, [page.text])


def _kg(micrograms: int) -> str:
    return str((Decimal(micrograms) / 10**9).quantize(Decimal("0.001"), ROUND_HALF_UP))


def _creator(public: Public, lot: str) -> dict[str, Any] | None:
    """The record that made ``lot``: found through a Transfer's public ``lot`` and ``record``."""
    for record in public.records.values():
        subject = record["credentialSubject"]
        if record["type"][1] == "Transfer" and subject.get("lot") == lot:
            return public.records.get(subject["record"])
    return None


def _recompute(public: Public, pack_lot: str, pack_record: str) -> dict[str, str] | None:
    """Point 2's element masses (kg) from public records, or None if they cannot be had: the
    pack Transformation's output mass times its contents, else the sum of its inputs' masses
    times the contents of the outputs that made them upstream."""
    step = public.records.get(pack_record) or _creator(public, pack_lot)
    if step is None:
        return None
    subject = step["credentialSubject"]
    made = next((o for o in subject.get("outputs", []) if o.get("lot") == pack_lot), None)
    if made is not None and "massGrams" in made and "elements" in made:
        ug = {s: made["massGrams"] * made["elements"].get(s, 0) for s in ELEMENTS.values()}
    elif "inputs" in subject:
        ug = dict.fromkeys(ELEMENTS.values(), 0)
        for entry in subject["inputs"]:
            upstream = public.records.get(entry.get("record", ""), {}).get("credentialSubject", {})
            lot = next((o for o in upstream.get("outputs", []) if o["lot"] == entry["lot"]), None)
            if lot is None or "massGrams" not in entry:
                return None
            for s in ug:
                ug[s] += entry["massGrams"] * lot.get("elements", {}).get(s, 0)
    else:
        return None
    return {name: _kg(ug[sym]) for name, sym in ELEMENTS.items() if ug[sym]}


def _values(doc: Any) -> Iterator[Any]:
    """Every scalar value in a JSON document (member names excluded)."""
    if isinstance(doc, dict):
        for v in doc.values():
            yield from _values(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _values(v)
    else:
        yield doc


def _members(doc: Any) -> Iterator[str]:
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield k
            yield from _members(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _members(v)


def _pack(world: World) -> tuple[str, str, str, dict[str, str]]:
    pack = world.summary.packs[0]
    assert pack.passport_id is not None
    document = full_document(world.ledger, pack.passport_id)
    creating = document["point3"]["supplyChainEvidence"]["provenanceRecords"]
    assert creating
    made = world.ledger.lot_record(pack.lot)
    assert made is not None
    return pack.passport_id, pack.lot, made, document["point2"]["elementMassesKg"]


def test_point2_masses_are_recomputed_from_plain_public_records(worlds: dict[str, World]) -> None:
    """The attack works when the records are plain: it is a real attack."""
    world = worlds["plain"]
    passport_id, lot, made, point2 = _pack(world)
    public = _gather(world, passport_id)
    assert _recompute(public, lot, made) == point2


def _exact_micrograms(plain: World) -> set[Decimal]:
    """The pack's element masses in µg, exact: from the plain twin's pack record (the same
    lot, mass and contents as the confidential one's)."""
    _, lot, made, _ = _pack(plain)
    subject = parse_json(plain.ledger.record(made).body)["credentialSubject"]
    out = next(o for o in subject["outputs"] if o["lot"] == lot)
    return {Decimal(out["massGrams"] * p) for p in out["elements"].values() if p}


def _leaks(
    documents: list[Any], pages: list[str], point2: dict[str, str], exact: set[Decimal]
) -> list[Any]:
    """Every value of ``documents`` equal to one of point 2's masses in kg, g or exact µg, and
    every kg figure written in ``pages``."""
    forbidden = {Decimal(v) for v in point2.values()}
    forbidden |= {Decimal(v) * 1000 for v in point2.values()} | exact
    found: list[Any] = [
        value
        for doc in documents
        for value in _values(doc)
        if isinstance(value, int | str)
        and not isinstance(value, bool)
        and _as_decimal(value) in forbidden
    ]
    found += [
        v
        for page in pages
        for v in point2.values()
        if re.search(rf"(?<![\d.]){re.escape(v)}(?!\d)", page)
    ]
    return found


def _as_decimal(value: int | str) -> Decimal | None:
    try:
        return Decimal(value)
    except ArithmeticError:
        return None


def _attack_fails(world: World, plain: World, *, with_bundle: bool) -> None:
    passport_id, lot, made, point2 = _pack(world)
    assert point2 == RECORDED_POINT2
    public = _gather(world, passport_id, with_bundle=with_bundle)
    assert made in public.records
    assert _recompute(public, lot, made) is None
    for h, record in public.records.items():
        assert not set(NEEDED) & set(record["credentialSubject"]), h
    members = {m for d in public.documents for m in _members(d)}
    assert not {"massGrams", "inputs", "outputs", "externalInputs"} & members
    exact = _exact_micrograms(plain)
    assert _leaks(public.documents, public.pages, point2, exact) == []
    # The search finds them where they are: in the full passport (point 2 for an authority).
    assert len(_leaks([full_document(world.ledger, passport_id)], [], point2, exact)) >= len(point2)


def test_point2_masses_cannot_be_recomputed_from_confidential_records_view_and_page(
    worlds: dict[str, World],
) -> None:
    _attack_fails(worlds["confidential"], worlds["plain"], with_bundle=False)


def test_point2_masses_cannot_be_recomputed_with_the_public_bundle(
    worlds: dict[str, World],
) -> None:
    _attack_fails(worlds["confidential"], worlds["plain"], with_bundle=True)
