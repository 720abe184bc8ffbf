"""Reproducible confidential records: Disclosure salts derived from the signer's key and the
record's chain position (:func:`passport.records.confidential.derived_salts`), so a signer that
signs the same record again (an import resumed, the sample rebuilt from its seed) gets the same
redacted bytes and hash; and opaque lot ids from given entropy."""

from __future__ import annotations

import re

import pytest

from passport.ledger.batchsign import BatchSigner
from passport.ledger.pipeline import Ledger
from passport.records.confidential import derived_salts, new_lot_id
from passport.records.envelope import dumps, record_hash, sign_next
from signing.disclosures import parse_disclosure
from signing.keys import SigningKey
from tests.helpers.chain import Chain

KEY = SigningKey.from_seed(b"\x07" * 32)
OTHER = SigningKey.from_seed(b"\x08" * 32)
T0 = "2026-03-01T00:00:00Z"
SUBJECT = {
    "lot": "urn:lot:zzzzzzzzzzzzzzzzzzzzzzzzzz",
    "material": "nickel",
    "facility": "f1",
    "country": "FI",
    "massGrams": 1_000,
    "elements": {"Ni": 20_000},
}


def _sign(key: SigningKey, subject: dict[str, object], *, derive: bool, seq: int = 0) -> bytes:
    sealed = sign_next(
        key, "Extraction", subject, issuer=KEY.did, head=(seq, None),
        valid_from=T0, confidential=True, derive_salts=derive,
    )  # fmt: skip
    return dumps(sealed.record) + "".join(sealed.disclosures).encode()


def test_derived_secret_is_deterministic_and_separated_by_label_and_key() -> None:
    assert KEY.derive_secret(b"a") == SigningKey.from_seed(b"\x07" * 32).derive_secret(b"a")
    assert len(KEY.derive_secret(b"a")) == 32
    assert KEY.derive_secret(b"a") != KEY.derive_secret(b"b")
    assert KEY.derive_secret(b"a") != OTHER.derive_secret(b"a")
    with pytest.raises(ValueError, match="non-empty label"):
        KEY.derive_secret(b"")


def test_derived_salts_give_the_same_record_random_ones_do_not() -> None:
    assert _sign(KEY, SUBJECT, derive=True) == _sign(KEY, SUBJECT, derive=True)
    assert _sign(KEY, SUBJECT, derive=False) != _sign(KEY, SUBJECT, derive=False)


def test_derived_salts_differ_by_member_value_position_and_key() -> None:
    salt = derived_salts(KEY, [KEY.did, 1, "Extraction"])
    assert salt("massGrams", 1) != salt("massGrams", 2)
    assert salt("massGrams", 1) != salt("elements", 1)
    assert salt("massGrams", 1) != derived_salts(KEY, [KEY.did, 2, "Extraction"])("massGrams", 1)
    assert salt("massGrams", 1) != derived_salts(OTHER, [KEY.did, 1, "Extraction"])("massGrams", 1)
    # 128 bits each, and every concealed member of a record has its own
    sealed = sign_next(
        KEY, "Extraction", SUBJECT, issuer=KEY.did, head=(0, None), valid_from=T0,
        confidential=True, derive_salts=True,
    )  # fmt: skip
    salts = [parse_disclosure(d).salt for d in sealed.disclosures]
    assert len(salts) == len(set(salts)) == 4
    assert all(len(s) == 22 for s in salts)


def test_a_batch_signer_re_signs_confidential_records_to_the_same_hashes(
    ledger: Ledger, operator_key: SigningKey
) -> None:
    """What a resumed import relies on: sign, discard, sign again from the same head."""
    chain = Chain(ledger, operator_key)
    Chain.created.remove(chain)
    miner = chain.party("miner")
    signer = BatchSigner(ledger)
    subjects = [chain.extraction_subject(miner, new_lot_id(), 5 + i, {"Ni": 1}) for i in range(3)]

    def sign_all() -> list[str]:
        return [
            signer.sign(miner.key, "Extraction", s, valid_from=T0, confidential=True)[1]
            for s in subjects
        ]

    first = sign_all()
    signer.discard()
    again = sign_all()
    assert first == again
    assert signer.flush() == 3
    assert ledger.chain_head(miner.did)[1] == first[-1]
    with ledger.repo.read() as tx:
        assert tx.count_disclosures() >= 3
    assert record_hash(ledger.record(first[0]).body) == first[0]


def test_opaque_lot_ids_from_entropy() -> None:
    entropy = bytes(range(32))
    assert new_lot_id(entropy) == new_lot_id(entropy)
    assert re.fullmatch(r"urn:lot:[a-z2-7]{26}", new_lot_id(entropy))
    assert new_lot_id(entropy) != new_lot_id(bytes(range(1, 33)))
    with pytest.raises(ValueError, match="16 bytes"):
        new_lot_id(b"short")
