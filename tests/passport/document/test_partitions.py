"""Access partitions (Art. 77(2), Annex XIII): every field for every role, and each served
partition checked against the signed passport record."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from passport.document.partitions import (
    AUTHORITY,
    FIELD_PARTITIONS,
    LEGITIMATE_INTEREST,
    PUBLIC,
    ROLE_PARTITIONS,
    partition_of,
    partitions_for,
    view,
)
from passport.document.signed_partitions import partition_hash, sign_partition, verify_partition
from passport.document.validation import schema, schema_problems
from passport.errors import PartitionUnverifiedError, UnknownAccessRoleError
from passport.ledger.pipeline import Ledger
from passport.service.views import show_passport
from passport.verify.view import verify_view
from signing.keys import SigningKey
from tests.helpers.passport import complete_document, doc_leaves, issue_sample, schema_leaves

ROLES = (PUBLIC, LEGITIMATE_INTEREST, AUTHORITY)


def test_the_partitions_are_not_nested() -> None:
    assert {
        "public": {1},
        "legitimate-interest": {1, 2, 4},
        "authority": {1, 2, 3},
    } == ROLE_PARTITIONS
    assert not ROLE_PARTITIONS[AUTHORITY] <= ROLE_PARTITIONS[LEGITIMATE_INTEREST]
    assert not ROLE_PARTITIONS[LEGITIMATE_INTEREST] <= ROLE_PARTITIONS[AUTHORITY]


@pytest.mark.parametrize("role", ROLES)
def test_every_field_for_every_role(role: str) -> None:
    """Enumerate every leaf the schema defines; the role's view holds exactly the leaves of its
    partitions: none outside them, none of them missing."""
    all_leaves = schema_leaves(schema())
    doc = complete_document()
    assert schema_problems(doc) == []
    assert doc_leaves(doc) == all_leaves  # the document really has every field
    seen = doc_leaves(view(doc, role))
    allowed = partitions_for(role)
    outside = sorted(leaf for leaf in seen if partition_of(leaf) not in allowed)
    assert outside == []
    assert seen == {leaf for leaf in all_leaves if partition_of(leaf) in allowed}
    for leaf in all_leaves:
        assert (leaf in seen) == (partition_of(leaf) in allowed), leaf


def test_the_leaf_partition_is_the_schema_group() -> None:
    s = schema()
    for leaf in schema_leaves(s):
        top = leaf.split("/")[1]
        node = s["properties"][top]
        group = (
            node.get("x-partition")
            or s["$defs"][node["$ref"].removeprefix("#/$defs/")]["x-partition"]
        )
        assert partition_of(leaf) == group, leaf


def test_unknown_fields_are_never_served_and_unknown_roles_refused() -> None:
    doc = {"passportId": "urn:bpass:" + "0" * 32, "secret": 1, "point3": {}}
    assert view(doc, PUBLIC) == {"passportId": doc["passportId"]}
    assert view(doc, AUTHORITY) == {"passportId": doc["passportId"], "point3": {}}
    with pytest.raises(UnknownAccessRoleError) as err:
        view(doc, "oem")
    assert err.value.code == "access_role_unknown"
    with pytest.raises(KeyError):
        partition_of("/secret")
    assert set(FIELD_PARTITIONS.values()) == {1, 2, 3, 4}


# -- on a ledger ------------------------------------------------------------------------------------
@pytest.fixture
def issued(ledger: Ledger, operator_key: SigningKey) -> Any:
    return issue_sample(ledger, operator_key)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_served_exactly_its_signed_partitions(
    ledger: Ledger, issued: Any, role: str
) -> None:
    _, passport = issued
    shown = show_passport(ledger, passport.passport_id, role)
    allowed = ROLE_PARTITIONS[role]
    assert set(shown.partitions) == allowed
    assert {k for k in shown.document if k.startswith("point")} == {f"point{n}" for n in allowed}
    served = json.loads(json.dumps(shown.to_dict()))  # as a client receives it
    verify_view(served, log_vkey=ledger.info().log_vkey)
    for number, partition in shown.partitions.items():
        verify_partition(shown.passport_record, partition)
        assert shown.committed_by[number] == passport.record_hash
    # the battery identifier resolves to the same view
    assert show_passport(ledger, passport.battery_id, role).document == shown.document


def test_a_tampered_partition_fails_verification(ledger: Ledger, issued: Any) -> None:
    _, passport = issued
    shown = show_passport(ledger, passport.passport_id, LEGITIMATE_INTEREST)
    record = shown.passport_record
    tampered = copy.deepcopy(shown.partitions[2])
    tampered["credentialSubject"]["data"]["partNumbers"][0]["partNumber"] = "FORGED"
    with pytest.raises(PartitionUnverifiedError) as err:
        verify_partition(record, tampered)
    assert err.value.details["reason"] == "hash"
    # the served document altered without touching the partition is caught too
    served = json.loads(json.dumps(shown.to_dict()))
    served["passport"]["point4"]["usage"]["fullCycles"] = 7
    with pytest.raises(
        PartitionUnverifiedError,
        match="shows 7 at /point4/usage/fullCycles; the signed records give 0",
    ):
        verify_view(served)
    # a long value is quoted cut short, both sides still named
    served = json.loads(json.dumps(shown.to_dict()))
    served["passport"]["point4"]["usage"]["fullCycles"] = "9" * 500
    with pytest.raises(PartitionUnverifiedError) as long_err:
        verify_view(served)
    assert long_err.value.message == (
        f"the view shows '{'9' * 59}… (502 characters) at /point4/usage/fullCycles; the signed "
        "records give 0"
    )
    # a partition re-signed by another key, even committed under its new hash, is not the issuer's
    other = SigningKey.generate()
    forged = sign_partition(
        passport_id=passport.passport_id,
        number=2,
        data=tampered["credentialSubject"]["data"],
        issuer=record["issuer"],
        key=other,
        valid_from=record["validFrom"],
    )
    fake_record = copy.deepcopy(record)
    fake_record["credentialSubject"]["partitions"]["2"] = partition_hash(forged)
    with pytest.raises(PartitionUnverifiedError) as err:
        verify_partition(fake_record, forged)
    assert err.value.details["reason"] == "issuer"
    # a partition shown for a partition number the record does not commit to
    renumbered = copy.deepcopy(shown.partitions[1])
    renumbered["credentialSubject"]["partition"] = 7
    with pytest.raises(PartitionUnverifiedError) as err:
        verify_partition(record, renumbered)
    assert err.value.details["reason"] == "not_committed"


def test_a_partition_of_another_passport_fails(
    ledger: Ledger, operator_key: SigningKey, issued: Any
) -> None:
    _, first = issued
    _, second = issue_sample(ledger, operator_key, serial="P75-000002", tag="s2")
    one = show_passport(ledger, first.passport_id, AUTHORITY)
    two = show_passport(ledger, second.passport_id, AUTHORITY)
    with pytest.raises(PartitionUnverifiedError):
        verify_partition(one.passport_record, two.partitions[3])
    served = json.loads(json.dumps(one.to_dict()))
    served["evidence"]["partitions"]["3"] = two.partitions[3]
    with pytest.raises(PartitionUnverifiedError):
        verify_view(served)


def test_confidential_partitions_stay_off_the_public_record(ledger: Ledger, issued: Any) -> None:
    """The public ledger serves every record's bytes: no point-2/3/4 data may be in them; the
    confidential partitions are salted so their public hashes confirm no guess."""
    _, passport = issued
    record_bytes = ledger.record(passport.record_hash).body.decode("utf-8")
    for number in (2, 3, 4):
        data = passport.partitions[number]["credentialSubject"]["data"]
        assert len(data["salt"]) == 32
        for leaf in doc_leaves(data):
            value = data
            for key in leaf.strip("/").split("/"):
                if key == "*":
                    break
                value = value[key]
            if isinstance(value, str) and len(value) > 6 and not value.startswith(("2026", "did:")):
                assert value not in record_bytes, (number, leaf)
    assert "salt" not in passport.partitions[1]["credentialSubject"]["data"]
    # guessing partition 2 without its salt does not reproduce the committed hash
    guess = copy.deepcopy(passport.partitions[2])
    guess["credentialSubject"]["data"]["salt"] = "0" * 32
    assert partition_hash(guess) != partition_hash(passport.partitions[2])


def test_public_view_of_the_json_evidence_reveals_no_other_partition(
    ledger: Ledger, issued: Any
) -> None:
    _, passport = issued
    served = json.dumps(show_passport(ledger, passport.passport_id, PUBLIC).to_dict())
    for number in (2, 3, 4):
        assert passport.partitions[number]["credentialSubject"]["data"]["salt"] not in served
    assert "VLT-M75-12" not in served  # a part number (point 2)
    assert "un383.pdf" not in served  # a test report (point 3)
