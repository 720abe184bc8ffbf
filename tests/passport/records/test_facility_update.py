"""Actors maintain their facilities with signed FacilityUpdate records (issue #23 point 4).

The attacks first: a stranger editing another actor's sites, a miner moving its mine to another
country to launder what it extracts there, a closed mine still producing, an id reused to rewrite
a site's history, a confidential update whose sites leak. Each is refused with its typed error and
nothing is written; history stays readable on the actor."""

from __future__ import annotations

from typing import Any

import pytest

from passport.errors import (
    FacilityClosedError,
    FacilityConflictError,
    FacilityUpdateForbiddenError,
    RuleViolationError,
    SchemaViolationError,
)
from passport.ledger.pipeline import Ledger
from passport.records.actors import facility_history
from passport.records.confidential import new_lot_id
from signing.errors import BpassError
from signing.keys import SigningKey
from tests.helpers.chain import Chain, Party, snapshot

NI = {"Ni": 20_000}


@pytest.fixture
def chain(ledger: Ledger, operator_key: SigningKey) -> Chain:
    return Chain(ledger, operator_key)


def facilities(ledger: Ledger, party: Party) -> dict[str, dict[str, Any]]:
    with ledger.repo.read() as tx:
        actor = tx.actor(party.did)
    assert actor is not None
    return {str(f["id"]): dict(f) for f in actor.facilities}


def update(chain: Chain, by: SigningKey, subject: dict[str, Any]) -> str:
    record = chain.ledger.sign_new(by, "FacilityUpdate", subject)
    return chain.submit(record)


def refused(chain: Chain, by: SigningKey, subject: dict[str, Any], error: type[BpassError]) -> str:
    before = snapshot(chain.ledger)
    with pytest.raises(error) as caught:
        update(chain, by, subject)
    assert snapshot(chain.ledger) == before
    return caught.value.message


def site(fid: str, country: str = "CA", **extra: str) -> dict[str, str]:
    return {"id": fid, "name": f"Site {fid}", "country": country, **extra}


def test_an_actor_adds_changes_and_closes_its_facilities_with_history(chain: Chain) -> None:
    ledger = chain.ledger
    miner = chain.party("miner", country="CA")
    registered = miner.facility
    h_add = update(chain, miner.key, {"actor": miner.did, "add": [site("pit-2")]})
    # a record may name the new facility at once
    subject = chain.extraction_subject(miner, new_lot_id(), 1_000_000, NI)
    subject["facility"] = "pit-2"
    chain.append(miner, "Extraction", subject)

    moved = site("pit-2", latitude="49.1", longitude="-80.2")
    h_change = update(chain, miner.key, {"actor": miner.did, "change": [moved]})
    h_close = update(chain, miner.key, {"actor": miner.did, "close": [registered]})

    now = facilities(ledger, miner)
    assert now["pit-2"]["latitude"] == "49.1"
    assert [(e["action"], e["record"]) for e in facility_history(now["pit-2"])] == [
        ("added", h_add),
        ("changed", h_change),
    ]
    assert "closed" in now[registered]
    assert [e["action"] for e in facility_history(now[registered])] == ["registered", "closed"]
    assert facility_history(now[registered])[-1]["record"] == h_close


def test_a_closed_facility_names_no_new_record(chain: Chain) -> None:
    miner = chain.party("miner", country="CA")
    update(chain, miner.key, {"actor": miner.did, "close": [miner.facility]})
    before = snapshot(chain.ledger)
    with pytest.raises(FacilityClosedError, match="closed"):
        chain.extract(miner, new_lot_id(), 1_000_000, NI)
    assert snapshot(chain.ledger) == before


def test_records_accepted_before_an_update_keep_what_they_said(chain: Chain) -> None:
    miner = chain.party("miner", country="CA")
    lot = new_lot_id()
    chain.extract(miner, lot, 1_000_000, NI)
    update(chain, miner.key, {"actor": miner.did, "close": [miner.facility]})
    with chain.ledger.repo.read() as tx:
        row = tx.trace().lots([lot])[lot]
    assert row.lot_id == lot  # the lot and its origin stay as extracted


def test_a_stranger_may_not_edit_another_actors_facilities(chain: Chain) -> None:
    miner = chain.party("miner", country="CA")
    rival = chain.party("miner", country="CA")
    message = refused(
        chain,
        rival.key,
        {"actor": miner.did, "close": [miner.facility]},
        FacilityUpdateForbiddenError,
    )
    assert "the actor itself or the ledger operator" in message


def test_moving_a_facility_to_another_country_needs_the_operator(chain: Chain) -> None:
    # the laundering attack: an artisanal cobalt site relabelled to a country off the risk list
    miner = chain.party("miner", country="CD")
    relabelled = site(miner.facility, country="ZM")
    refused(
        chain,
        miner.key,
        {"actor": miner.did, "change": [relabelled]},
        FacilityUpdateForbiddenError,
    )
    update(chain, chain.operator, {"actor": miner.did, "change": [relabelled]})
    assert facilities(chain.ledger, miner)[miner.facility]["country"] == "ZM"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda fid: {"add": [site(fid)]}, id="add an id the actor has"),
        pytest.param(lambda fid: {"change": [site("nowhere")]}, id="change an unknown id"),
        pytest.param(lambda fid: {"close": ["nowhere"]}, id="close an unknown id"),
        pytest.param(
            lambda fid: {"add": [site("x")], "close": ["x"]}, id="one id twice in one update"
        ),
    ],
)
def test_conflicting_updates_are_refused(chain: Chain, change: Any) -> None:
    miner = chain.party("miner", country="CA")
    refused(chain, miner.key, {"actor": miner.did, **change(miner.facility)}, FacilityConflictError)


def test_a_closed_facility_id_is_never_reused_or_reopened(chain: Chain) -> None:
    miner = chain.party("miner", country="CA")
    fid = miner.facility
    update(chain, miner.key, {"actor": miner.did, "close": [fid]})
    for subject in ({"add": [site(fid)]}, {"change": [site(fid)]}, {"close": [fid]}):
        refused(chain, miner.key, {"actor": miner.did, **subject}, FacilityConflictError)


def test_an_update_that_changes_nothing_is_refused(chain: Chain) -> None:
    miner = chain.party("miner", country="CA")
    message = refused(chain, miner.key, {"actor": miner.did, "reason": "x"}, RuleViolationError)
    assert "at least one facility" in message
    refused(chain, miner.key, {"actor": miner.did, "add": []}, SchemaViolationError)


def test_a_confidential_update_keeps_its_sites_out_of_the_signed_bytes(chain: Chain) -> None:
    ledger = chain.ledger
    # the in-memory mirror replays stored bytes, without the Disclosures this record needs
    Chain.created.remove(chain)
    miner = chain.party("miner", country="CA")
    secret = site("deep-pit", latitude="-22.4512345", longitude="-68.9312345")
    signed = ledger.sign_new(
        miner.key, "FacilityUpdate", {"actor": miner.did, "add": [secret]}, confidential=True
    )
    h = ledger.append(signed).record_hash
    body = ledger.record(h).body.decode()
    assert "deep-pit" not in body and "-22.4512345" not in body
    assert facilities(ledger, miner)["deep-pit"]["latitude"] == "-22.4512345"
