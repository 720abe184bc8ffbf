"""The pure provenance read decisions of ``passport.document.access`` (issue #21 point 3)."""

from __future__ import annotations

import pytest

from passport.document.access import (
    DisclosureFacts,
    LotAccessFacts,
    Reader,
    decide_lot,
    may_read_facilities,
    may_read_lot,
    may_read_trail_entry,
)
from passport.errors import LotNotEntitledError

LOT = LotAccessFacts(
    "urn:lot:x",
    creator="did:key:maker",
    holders=frozenset({"did:key:maker", "did:key:holder"}),
    downstream=frozenset({"did:key:oem"}),
)


@pytest.mark.parametrize(
    ("reader", "allowed"),
    [
        (Reader(), False),
        (Reader(None, ("authority",)), False),  # roles without an authenticated DID: nothing
        (Reader("did:key:maker"), True),
        (Reader("did:key:holder"), True),
        (Reader("did:key:oem", ("oem",)), True),
        (Reader("did:key:rival", ("oem", "recycler")), False),
        (Reader("did:key:operator", ("operator",)), False),
        (Reader("did:key:msa", ("authority",)), True),
    ],
)
def test_who_reads_a_lot(reader: Reader, allowed: bool) -> None:
    assert may_read_lot(reader, LOT) is allowed


def test_downstream_not_looked_up_entitles_no_one_through_it() -> None:
    facts = LotAccessFacts(LOT.lot, LOT.creator, LOT.holders, downstream=None)
    assert not may_read_lot(Reader("did:key:oem"), facts)


def test_the_refusal_says_what_an_anonymous_reader_lacks() -> None:
    with pytest.raises(LotNotEntitledError) as anonymous:
        decide_lot(Reader(), LOT)
    assert "bearer token" in anonymous.value.message
    with pytest.raises(LotNotEntitledError) as rival:
        decide_lot(Reader("did:key:rival"), LOT)
    assert "bearer token" not in rival.value.message
    assert rival.value.code == "lot_not_entitled"


def test_trail_entries_follow_the_records_disclosures() -> None:
    confidential = DisclosureFacts("sha256:" + "ab" * 32, "did:key:miner", "did:key:buyer")
    assert may_read_trail_entry(Reader("did:key:oem"), None)  # a plain record: public subject
    assert not may_read_trail_entry(Reader("did:key:oem"), confidential)
    assert may_read_trail_entry(Reader("did:key:miner"), confidential)
    assert may_read_trail_entry(Reader("did:key:buyer"), confidential)
    assert may_read_trail_entry(Reader("did:key:msa", ("authority",)), confidential)


def test_facilities_go_to_the_actor_the_operator_and_authorities() -> None:
    actor = "did:key:miner"
    assert may_read_facilities(Reader(actor), actor)
    assert may_read_facilities(Reader("did:key:op", ("operator",)), actor)
    assert may_read_facilities(Reader("did:key:msa", ("authority",)), actor)
    assert not may_read_facilities(Reader("did:key:oem", ("oem",)), actor)
    assert not may_read_facilities(Reader(), actor)


def test_the_actor_reads_the_records_about_its_own_facilities() -> None:
    from passport.document.access import COUNTERPARTY_MEMBER

    assert COUNTERPARTY_MEMBER["ActorRegistration"] == "id"
    assert COUNTERPARTY_MEMBER["FacilityUpdate"] == "actor"
    update = DisclosureFacts("sha256:" + "cd" * 32, "did:key:operator", "did:key:miner")
    assert may_read_trail_entry(Reader("did:key:miner"), update)
