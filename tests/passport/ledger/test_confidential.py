"""Confidential provenance (issue #21): records signed and logged with their confidential members
replaced by salted digests, appended with the Disclosures beside them.

The node reveals each record with its Disclosures and runs the same schema and rules on it as on
a plain record; the stored (served) bytes and the log hold only the redacted record; every bad
Disclosure is refused with its typed error and nothing is written."""

from __future__ import annotations

import re
from typing import Any

import pytest

import schemas
from passport.errors import (
    BatchItemError,
    ConcealmentError,
    MassBalanceError,
    SchemaViolationError,
    UndisclosedMemberError,
)
from passport.ledger.audit import audit
from passport.ledger.pipeline import PARALLEL_VERIFY_MIN, Ledger
from passport.records.confidential import (
    ALL_PUBLIC,
    PUBLIC_ANNOTATION,
    Confidential,
    new_lot_id,
    public_members,
    reveal_checked,
    reveal_subject,
)
from passport.records.envelope import (
    dumps,
    known_kinds,
    parse_record,
    record_hash,
    reveal_record,
    sign_next,
    sign_record,
)
from passport.store.sql.repository import Repository
from signing.disclosures import conceal, make_disclosure, parse_disclosure
from signing.errors import BpassError, DisclosureError, DisclosureMismatchError
from signing.keys import SigningKey
from tests.helpers.chain import Chain, Party, holding, out, snapshot

NI = {"Ni": 20_000}
PROVENANCE = {  # the kinds with confidential members
    "FacilityUpdate",
    "Extraction",
    "Transformation",
    "Transfer",
    "TransferAcceptance",
    "CarbonFootprint",
    "RecycledContent",
    "Certification",
    "DueDiligence",
    "Retraction",
}
MASS = 7_654_321


@pytest.fixture
def chain(ledger: Ledger, operator_key: SigningKey) -> Chain:
    c = Chain(ledger, operator_key)
    # The in-memory mirror replays records from their stored bytes: confidential records need
    # their Disclosures there (the bundle replay, a later step of #21), so it is not run here.
    Chain.created.remove(c)
    return c


def state(ledger: Ledger) -> tuple[Any, ...]:
    """Everything an append writes, Disclosures included."""
    with ledger.repo.read() as tx:
        kept = tx.count_disclosures()
    return snapshot(ledger), kept


def extraction(chain: Chain, miner: Party, lot: str, grams: int = MASS) -> Confidential:
    subject = chain.extraction_subject(miner, lot, grams, NI)
    return chain.ledger.sign_new(miner.key, "Extraction", subject, confidential=True)


def test_every_kind_declares_its_public_members() -> None:
    for kind in known_kinds():
        schema = schemas.load(f"records/{kind}.schema.json")
        declared = schema.get(PUBLIC_ANNOTATION)
        assert declared is not None, f"{kind} declares no public members"
        if kind == "ActorRegistration":  # facilities (sites, coordinates) may be concealed
            assert set(schema["properties"]) - set(declared) == {"facilities"}
        elif kind in PROVENANCE:
            assert isinstance(declared, list), kind
            assert set(declared) <= set(schema["properties"]), kind
            # deny by default: something is confidential in every provenance kind
            assert set(schema["properties"]) - set(declared), kind
        else:
            assert declared == ALL_PUBLIC, kind
            assert public_members(kind) is None


def test_opaque_lot_ids() -> None:
    lots = {new_lot_id() for _ in range(100)}
    assert len(lots) == 100
    for lot in lots:
        assert re.fullmatch(r"urn:lot:[a-z2-7]{26}", lot)
        parse_lot = schemas.load("records/Extraction.schema.json")["$defs"]["lotId"]["pattern"]
        assert re.fullmatch(parse_lot, lot)


def test_a_confidential_custody_chain_appends_and_keeps_its_rules(chain: Chain) -> None:
    ledger = chain.ledger
    miner = chain.party("miner", country="CA")
    buyer = chain.party("refiner", country="DE")
    lot = new_lot_id()
    signed = extraction(chain, miner, lot)
    redacted = signed.record["credentialSubject"]
    assert set(redacted) == {"lot", "material", "_sd", "_sd_alg"}
    assert len(signed.disclosures) == len(redacted["_sd"]) == 7
    h_ext = ledger.append(signed).record_hash
    assert h_ext == record_hash(ledger.record(h_ext).body)

    transfer = ledger.sign_new(
        miner.key,
        "Transfer",
        {"lot": lot, "record": h_ext, "massGrams": 1_000_000, "buyer": buyer.did},
        confidential=True,
    )
    h_tr = ledger.append(transfer.record, transfer.disclosures).record_hash
    acceptance = ledger.sign_new(
        buyer.key,
        "TransferAcceptance",
        {"transfer": h_tr, "decision": "accepted", "reason": "delivery note 4711 checked"},
        confidential=True,
    )
    ledger.append(acceptance)

    assert holding(ledger, lot, miner) == MASS - 1_000_000
    assert holding(ledger, lot, buyer) == 1_000_000

    # what GET /records/{hash} serves (the stored body) holds no confidential value: searched
    # as JSON members and values (a bare "Ni" or digits also occur by chance in the digests and
    # the proof value, which are random text)
    for h, secrets in (
        (h_ext, [f":{MASS}", miner.facility, '"CA"', "sulfidic", '"Ni"']),
        (h_tr, [":1000000", buyer.did]),
        (ledger.append(acceptance).record_hash, ["delivery note 4711"]),
    ):
        body = ledger.record(h).body.decode()
        for secret in secrets:
            assert secret not in body, (h, secret)
        assert '"_sd"' in body
    # the Disclosures are kept beside the record, by member
    with ledger.repo.read() as tx:
        kept = tx.disclosures_of(h_tr)
    assert sorted(kept) == sorted(transfer.disclosures)
    assert {parse_disclosure(d).name for d in kept} == {"massGrams", "buyer"}

    # the buyer can go on with the lot in a confidential transformation: over-consumption is
    # refused exactly as in plain form, and nothing is written
    def transform(grams: int) -> Confidential:
        subject = chain.transformation_subject(
            buyer, "refining", [(lot, h_ext, grams)], [out(new_lot_id(), 1, {"Ni": 1})]
        )
        return ledger.sign_new(buyer.key, "Transformation", subject, confidential=True)

    before = state(ledger)
    with pytest.raises(MassBalanceError) as info:
        ledger.append(transform(1_000_001))
    assert info.value.details["held"] == 1_000_000
    assert state(ledger) == before
    ledger.append(transform(1_000_000))
    assert holding(ledger, lot, buyer) == 0

    info_ = ledger.info()
    report = audit(ledger.repo, info_.origin, info_.log_vkey, workers=1)
    assert report.ok, report.findings


def test_bad_disclosures_are_refused_and_nothing_is_written(chain: Chain) -> None:
    ledger = chain.ledger
    miner = chain.party("miner", country="CA")
    other = extraction(chain, miner, new_lot_id())
    signed = extraction(chain, miner, new_lot_id())
    record, good = signed.record, list(signed.disclosures)

    def refused(error: type[BpassError], disclosures: list[str]) -> BpassError:
        before = state(ledger)
        with pytest.raises(error) as info:
            ledger.append(record, disclosures)
        assert state(ledger) == before
        return info.value

    # tampered: the mass changed inside its Disclosure (same salt, same name)
    mass = next(parse_disclosure(d) for d in good if parse_disclosure(d).name == "massGrams")
    tampered = make_disclosure("massGrams", MASS * 10, mass.salt).encoded
    refused(DisclosureMismatchError, [tampered if d == mass.encoded else d for d in good])
    # moved from another record (its digest is not in this one)
    moved = next(d for d in other.disclosures if parse_disclosure(d).name == "massGrams")
    refused(DisclosureMismatchError, [moved if d == mass.encoded else d for d in good])
    # guessed: the right value under a fresh salt
    guessed = make_disclosure("massGrams", MASS).encoded
    refused(DisclosureMismatchError, [guessed if d == mass.encoded else d for d in good])
    # an extra Disclosure beside all the right ones
    refused(DisclosureMismatchError, [*good, guessed])
    # missing: the node must see every member
    err = refused(UndisclosedMemberError, [d for d in good if d != mass.encoded])
    assert err.details["digests"] == [mass.digest]
    refused(UndisclosedMemberError, [])
    # not a Disclosure at all
    refused(DisclosureError, [*good[:-1], "not a disclosure!"])

    # the same record with its own Disclosures is accepted
    ledger.append(record, good)


def test_a_revealed_record_is_held_to_its_schema(chain: Chain) -> None:
    ledger = chain.ledger
    miner = chain.party("miner", country="CA")
    subject = chain.extraction_subject(miner, new_lot_id(), MASS, NI)
    subject["massGrams"] = -5  # invalid, and concealed
    signed = ledger.sign_new(miner.key, "Extraction", subject, confidential=True)
    before = state(ledger)
    with pytest.raises(SchemaViolationError) as info:
        ledger.append(signed)
    assert info.value.details["problems"][0]["pointer"] == "/credentialSubject/massGrams"
    assert state(ledger) == before


def _signed_with(
    chain: Chain, miner: Party, subject: dict[str, Any], public: set[str]
) -> tuple[dict[str, Any], list[str]]:
    """A record whose concealment the signer chose against the kind's declaration."""
    redacted, disclosures = conceal(subject, public)
    redacted["_sd_alg"] = "sha-256"
    unsigned = chain.ledger.sign_new(miner.key, "Extraction", subject)
    del unsigned["proof"]
    unsigned["credentialSubject"] = redacted
    return sign_record(unsigned, miner.key), [d.encoded for d in disclosures]


def test_concealment_must_follow_the_declaration(chain: Chain) -> None:
    ledger = chain.ledger
    miner = chain.party("miner", country="CA")
    subject = chain.extraction_subject(miner, new_lot_id(), MASS, NI)
    # a confidential member in the clear
    record, disclosures = _signed_with(chain, miner, subject, {"lot", "material", "massGrams"})
    before = state(ledger)
    with pytest.raises(ConcealmentError, match="massGrams"):
        ledger.append(record, disclosures)
    # a public member concealed
    record, disclosures = _signed_with(chain, miner, subject, {"material"})
    with pytest.raises(ConcealmentError, match="lot"):
        ledger.append(record, disclosures)
    # nothing may be concealed in a kind that declares every member public
    key = SigningKey.generate()
    rotation = ledger.sign_new(miner.key, "KeyRotation", {"nextKey": key.multikey})
    assert (
        ledger.sign_new(
            miner.key, "KeyRotation", {"nextKey": key.multikey}, confidential=True
        ).disclosures
        == ()
    )
    redacted, found = conceal(rotation["credentialSubject"], set())
    del rotation["proof"]
    rotation["credentialSubject"] = {**redacted, "_sd_alg": "sha-256"}
    with pytest.raises(ConcealmentError, match="no confidential members"):
        ledger.append(sign_record(rotation, miner.key), [d.encoded for d in found])
    # Disclosures beside a plain record
    plain = ledger.sign_new(miner.key, "Extraction", subject)
    with pytest.raises(DisclosureMismatchError):
        ledger.append(plain, disclosures)
    assert state(ledger) == before


def test_a_batch_with_a_bad_disclosure_writes_nothing(chain: Chain) -> None:
    ledger = chain.ledger
    miner = chain.party("miner", country="CA")
    first = extraction(chain, miner, new_lot_id())
    sequence, _ = ledger.chain_head(miner.did)
    second = sign_next(
        miner.key,
        "Extraction",
        chain.extraction_subject(miner, new_lot_id(), 5, NI),
        issuer=miner.did,
        head=(sequence + 1, record_hash(dumps(first.record))),
        confidential=True,
    )
    before = state(ledger)
    with pytest.raises(BatchItemError) as info:
        ledger.append_batch([first.record, second.record], [first.disclosures, []])
    assert info.value.index == 1
    assert isinstance(info.value.error, UndisclosedMemberError)
    assert state(ledger) == before
    receipts = ledger.append_batch([first.record], [first.disclosures])
    with ledger.repo.read() as tx:
        assert sorted(tx.disclosures_of(receipts[0].record_hash)) == sorted(first.disclosures)


def test_plain_records_still_append_and_verify(chain: Chain) -> None:
    ledger = chain.ledger
    miner = chain.party("miner", country="CA")
    lot = new_lot_id()
    h = chain.extract(miner, lot, MASS, NI)
    stored = ledger.record(h)
    assert str(MASS) in stored.body.decode()  # a plain record is public as before
    parsed = parse_record(stored.body)
    assert parsed.disclosures == () and parsed.subject["massGrams"] == MASS
    with ledger.repo.read() as tx:
        assert tx.disclosures_of(h) == []
    ledger.append(extraction(chain, miner, new_lot_id()))
    info = ledger.info()
    report = audit(ledger.repo, info.origin, info.log_vkey, workers=1)
    assert report.ok, report.findings


def test_migration_0008_adds_and_drops_the_disclosure_table(chain: Chain) -> None:
    from alembic import command
    from sqlalchemy import inspect

    ledger = chain.ledger
    repo = ledger.repo
    assert "record_disclosures" in inspect(repo.engine).get_table_names()
    with repo.engine.connect() as conn, conn.begin():
        command.downgrade(repo._alembic(conn), "0007")
    assert "record_disclosures" not in inspect(repo.engine).get_table_names()
    repo.migrate()
    repo.check_schema()
    miner = chain.party("miner", country="CA")
    h = ledger.append(extraction(chain, miner, new_lot_id())).record_hash
    with repo.read() as tx:
        assert len(tx.disclosures_of(h)) == 7


def test_reveal_record_checks_what_parse_record_checks_with_disclosures(chain: Chain) -> None:
    """A verifier holding a record parsed as stored reveals it with ``reveal_record``: the same
    record as parsing it with its Disclosures, and the same refusals (tampered or guessed
    Disclosure, one missing, Disclosures beside a plain record, a revealed subject the kind
    schema refuses)."""
    miner = chain.party("miner", country="CA")
    signed = extraction(chain, miner, new_lot_id())
    stored = parse_record(signed.record, redacted=True)
    assert reveal_record(stored, signed.disclosures) == parse_record(
        signed.record, disclosures=signed.disclosures
    )
    guessed = make_disclosure("massGrams", MASS).encoded
    with pytest.raises(DisclosureMismatchError):
        reveal_record(stored, [*signed.disclosures[1:], guessed])
    with pytest.raises(UndisclosedMemberError):
        reveal_record(stored, signed.disclosures[1:])
    subject = chain.extraction_subject(miner, new_lot_id(), MASS, NI)
    plain = parse_record(chain.ledger.sign_new(miner.key, "Extraction", subject))
    with pytest.raises(DisclosureMismatchError):
        reveal_record(plain, signed.disclosures)
    bad = {**subject, "massGrams": -1}
    invalid = chain.ledger.sign_new(miner.key, "Extraction", bad, confidential=True)
    with pytest.raises(SchemaViolationError, match="massGrams"):
        reveal_record(parse_record(invalid.record, redacted=True), invalid.disclosures)


def test_migration_0010_keeps_every_disclosure_of_a_populated_ledger(chain: Chain) -> None:
    """A ledger written under revision 0009 (one row per concealed member) is folded into one
    row per record and split back, losing no Disclosure and changing no order a reader sees."""
    from alembic import command
    from sqlalchemy import inspect, text

    ledger = chain.ledger
    repo = ledger.repo
    miner = chain.party("miner", country="CA")
    hashes = [ledger.append(extraction(chain, miner, new_lot_id())).record_hash for _ in range(3)]
    with repo.read() as tx:
        before = {h: tx.disclosures_of(h) for h in hashes}
        kept = tx.count_disclosures()
    assert all(len(ds) == 7 for ds in before.values()) and kept >= 21
    with repo.engine.connect() as conn, conn.begin():
        command.downgrade(repo._alembic(conn), "0009")
    columns = {c["name"] for c in inspect(repo.engine).get_columns("record_disclosures")}
    assert columns == {"record_hash", "member", "disclosure"}
    with repo.engine.connect() as conn:
        rows = conn.execute(text("SELECT record_hash, member, disclosure FROM record_disclosures"))
        per_member = [tuple(r) for r in rows]
    assert len(per_member) == kept
    assert all(parse_disclosure(d).name == member for _, member, d in per_member)
    assert {d for h, _, d in per_member if h in before} == {d for ds in before.values() for d in ds}
    repo.migrate()
    repo.check_schema()
    with repo.read() as tx:
        assert {h: tx.disclosures_of(h) for h in hashes} == before
        assert tx.count_disclosures() == kept
    for ds in before.values():  # served in member name order
        names = [parse_disclosure(d).name or "" for d in ds]
        assert names == sorted(names)
    info = ledger.info()
    report = audit(ledger.repo, info.origin, info.log_vkey, workers=1)
    assert report.ok, report.findings
    h = ledger.append(extraction(chain, miner, new_lot_id())).record_hash
    with repo.read() as tx:
        assert len(tx.disclosures_of(h)) == 7


def test_a_large_confidential_batch_is_checked_in_the_process_pool(chain: Chain) -> None:
    """A batch of PARALLEL_VERIFY_MIN records or more goes to the worker processes with each
    record's Disclosures: a tampered one is refused there with its index and error, nothing
    written; the good batch appends with every Disclosure kept and its rules run on the revealed
    subjects (the custody each Extraction gives its miner)."""
    ledger = chain.ledger
    miner = chain.party("miner", country="CA")
    pooled = Ledger(Repository(ledger.repo.url), log_key=ledger.log_key, workers=2)
    head = ledger.chain_head(miner.did)
    signed: list[Confidential] = []
    lots = [new_lot_id() for _ in range(PARALLEL_VERIFY_MIN + 4)]
    for lot in lots:
        one = sign_next(
            miner.key,
            "Extraction",
            chain.extraction_subject(miner, lot, MASS, NI),
            issuer=miner.did,
            head=head,
            confidential=True,
        )
        head = (head[0] + 1, record_hash(dumps(one.record)))
        signed.append(one)
    victim = 150
    tampered = list(signed[victim].disclosures)
    tampered[0] = make_disclosure("massGrams", MASS + 1).encoded  # answers no digest
    before = state(ledger)
    try:
        with pytest.raises(BatchItemError) as info:
            pooled.append_batch(
                [s.record for s in signed],
                [tampered if i == victim else s.disclosures for i, s in enumerate(signed)],
            )
        assert info.value.index == victim
        assert isinstance(info.value.error, DisclosureMismatchError)
        assert state(ledger) == before
        receipts = pooled.append_batch(signed)  # Confidential items carry their Disclosures
    finally:
        pooled.close()
    assert len(receipts) == len(signed)
    with ledger.repo.read() as tx:
        kept = tx.disclosures_of(receipts[victim].record_hash)
    assert sorted(kept) == sorted(signed[victim].disclosures)
    assert holding(ledger, lots[victim], miner) == MASS


def test_the_pools_fast_reveal_gives_the_checked_reveals_subject(chain: Chain) -> None:
    """After a worker checked a record's Disclosures, the main process reveals it again without
    the checks (``reveal_checked``): the same subject as the checked reveal, member for member."""
    miner = chain.party("miner", country="CA")
    for kind, subject in (
        ("Extraction", chain.extraction_subject(miner, new_lot_id(), MASS, NI)),
        (
            "Transformation",
            chain.transformation_subject(
                miner,
                "concentration",
                [(new_lot_id(), "sha256:" + "a" * 64, 5)],
                [out(new_lot_id(), 4, NI)],
            ),
        ),
    ):
        signed = chain.ledger.sign_new(miner.key, kind, subject, confidential=True)
        redacted = signed.record["credentialSubject"]
        checked = reveal_subject(kind, redacted, signed.disclosures)
        assert reveal_checked(redacted, signed.disclosures) == checked == subject
