"""``GET /records/{hash}/disclosures`` (issue #21): a confidential record's Disclosures go to its
issuer, the buyer a Transfer names and authorities; everyone else is refused with
``disclosures_not_entitled``, anonymous readers included. ``GET /records/{hash}`` keeps serving
everyone the signed redacted bytes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from passport.document.access import DisclosureFacts, Reader, may_read_disclosures
from passport.ledger.pipeline import Ledger
from passport.records.confidential import new_lot_id
from signing.disclosures import parse_disclosure
from signing.keys import SigningKey
from tests.conftest import Actors
from tests.helpers.api import assert_problem, bearer, client, login
from tests.helpers.chain import Chain, Party

__all__ = ["client"]

MASS = 7_654_321


@pytest.fixture
def trade(ledger: Ledger, operator_key: SigningKey, actors: Actors) -> dict[str, Any]:
    """A confidential Extraction and a confidential Transfer of its lot to a buyer."""
    chain = Chain(ledger, operator_key)
    Chain.created.remove(chain)  # the mirror replays stored bytes, without Disclosures
    miner: Party = chain.party("miner", country="CA")
    buyer: Party = chain.party("refiner")
    lot = new_lot_id()
    subject = chain.extraction_subject(miner, lot, MASS, {"Ni": 20_000})
    extraction = ledger.sign_new(miner.key, "Extraction", subject, confidential=True)
    h_ext = ledger.append(extraction).record_hash
    transfer = ledger.sign_new(
        miner.key,
        "Transfer",
        {"lot": lot, "record": h_ext, "massGrams": 1_000_000, "buyer": buyer.did},
        confidential=True,
    )
    h_tr = ledger.append(transfer).record_hash
    return {
        "miner": miner.key,
        "buyer": buyer.key,
        "authority": actors.add("authority"),
        "competitor": actors.add("refiner"),
        "extraction": (h_ext, sorted(extraction.disclosures)),
        "transfer": (h_tr, sorted(transfer.disclosures)),
    }


def read(client: TestClient, record_hash: str, key: SigningKey | None) -> Any:
    headers = bearer(login(client, key.did, key)) if key is not None else {}
    return client.get(f"/records/{record_hash}/disclosures", headers=headers)


@pytest.mark.parametrize("reader", ["miner", "buyer", "authority"])
def test_entitled_readers_get_the_transfer_disclosures(
    client: TestClient, trade: dict[str, Any], reader: str
) -> None:
    h_tr, disclosures = trade["transfer"]
    response = read(client, h_tr, trade[reader])
    assert response.status_code == 200, response.text
    assert sorted(response.json()) == disclosures
    assert {parse_disclosure(d).name for d in response.json()} == {"massGrams", "buyer"}


def test_the_buyer_of_a_transfer_is_not_entitled_to_the_sellers_other_records(
    client: TestClient, trade: dict[str, Any]
) -> None:
    h_ext, disclosures = trade["extraction"]
    assert sorted(read(client, h_ext, trade["miner"]).json()) == disclosures
    assert sorted(read(client, h_ext, trade["authority"]).json()) == disclosures
    assert_problem(read(client, h_ext, trade["buyer"]), 403, "disclosures_not_entitled")


def test_a_competitor_and_an_anonymous_reader_are_refused(
    client: TestClient, trade: dict[str, Any]
) -> None:
    for record_hash, _ in (trade["transfer"], trade["extraction"]):
        body = assert_problem(
            read(client, record_hash, trade["competitor"]), 403, "disclosures_not_entitled"
        )
        assert "1000000" not in str(body) and str(MASS) not in str(body)
        assert_problem(read(client, record_hash, None), 403, "disclosures_not_entitled")


def test_the_redacted_record_stays_public(client: TestClient, trade: dict[str, Any]) -> None:
    h_tr, _ = trade["transfer"]
    anonymous = client.get(f"/records/{h_tr}")
    assert anonymous.status_code == 200
    assert b'"_sd"' in anonymous.content and b"1000000" not in anonymous.content
    assert trade["buyer"].did.encode() not in anonymous.content


def test_unknown_record(client: TestClient, trade: dict[str, Any]) -> None:
    response = read(client, "sha256:" + "00" * 32, trade["authority"])
    assert response.status_code == 404


def test_the_decision_is_pure() -> None:
    facts = DisclosureFacts("sha256:" + "ab" * 32, "did:key:issuer", "did:key:buyer")
    assert may_read_disclosures(Reader("did:key:issuer"), facts)
    assert may_read_disclosures(Reader("did:key:buyer"), facts)
    assert may_read_disclosures(Reader("did:key:x", ("authority",)), facts)
    assert not may_read_disclosures(Reader("did:key:x", ("refiner", "recycler")), facts)
    assert not may_read_disclosures(Reader(), facts)
    assert not may_read_disclosures(Reader(None, ("authority",)), facts)
    plain = DisclosureFacts(facts.record_hash, "did:key:issuer")
    assert not may_read_disclosures(Reader("did:key:buyer"), plain)
