"""The performance shortcuts in signing/ agree exactly with the straightforward code they replace.

- multikey's base58btc decoder (no per-character loop) against the ``base58`` package;
- jcs's reused C encoder against the public ``json.JSONEncoder``;
- proofs' direct serialization of the usual proof configuration against :func:`canonicalize`.
"""

from __future__ import annotations

import re
from typing import Any

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signing import jcs
from signing.errors import KeyFormatError, ProofError
from signing.jcs import canonicalize
from signing.keys import SigningKey
from signing.multikey import (
    _b58decode_strict,
    decode_multibase,
    decode_multibase_signature,
    encode_multibase,
)
from signing.proofs import (
    _cut_unsecured,
    create_proof,
    verify_proof,
)

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ALPHABET_RE = re.compile(r"[1-9A-HJ-NP-Za-km-z]*")


def reference_decode(text: str) -> bytes | None:
    """The decoder as it was: alphabet regex, then base58.b58decode_int, '1' -> zero byte."""
    if not _ALPHABET_RE.fullmatch(text):
        return None
    stripped = text.lstrip("1")
    zeros = len(text) - len(stripped)
    if not stripped:
        return b"\x00" * zeros
    number = base58.b58decode_int(stripped)
    return b"\x00" * zeros + number.to_bytes((number.bit_length() + 7) // 8, "big")


# --------------------------------------------------------------------------------------------
# base58btc
# --------------------------------------------------------------------------------------------


@given(st.binary(max_size=300))
@settings(max_examples=400)
def test_base58_round_trip_against_package(data: bytes) -> None:
    encoded = base58.b58encode(data).decode("ascii")
    assert _b58decode_strict(encoded) == data
    assert decode_multibase("z" + encoded) == data
    assert encode_multibase(data) == "z" + encoded


@given(st.text(alphabet=ALPHABET, max_size=200))
@settings(max_examples=400)
def test_base58_decode_any_alphabet_text_like_reference(text: str) -> None:
    decoded = _b58decode_strict(text)
    assert decoded == reference_decode(text)
    # Decoding is the exact inverse of the package's encoder: no second spelling exists.
    assert decoded is not None
    assert base58.b58encode(decoded).decode("ascii") == text


@given(st.text(max_size=60))
@settings(max_examples=400)
def test_base58_decode_arbitrary_text_like_reference(text: str) -> None:
    assert _b58decode_strict(text) == reference_decode(text)


@pytest.mark.parametrize(
    "text", ["0", "O", "I", "l", " 2", "2 ", "2\n", "é", "+", "\x00", "2\udc80", "２"]
)
def test_base58_rejects_characters_outside_the_alphabet(text: str) -> None:
    assert reference_decode(text) is None
    assert _b58decode_strict(text) is None


@pytest.mark.parametrize("zeros", [0, 1, 2, 5])
@pytest.mark.parametrize("length", [0, 1, 2, 3, 64, 127, 128, 129, 1023, 1024, 1025, 3000])
def test_base58_lengths_and_leading_zeros(zeros: int, length: int) -> None:
    data = b"\x00" * zeros + bytes((i * 37 + 11) % 256 or 1 for i in range(length))
    encoded = base58.b58encode(data).decode("ascii")
    assert _b58decode_strict(encoded) == data == reference_decode(encoded)


def test_base58_long_text_of_digit_extremes() -> None:
    for text in ("z" * 2500, "2" + "1" * 2100, "1" * 1500 + "z" * 1500):
        assert _b58decode_strict(text) == reference_decode(text)


def test_signature_decoding_still_strict() -> None:
    good = encode_multibase(bytes(range(64)))
    assert decode_multibase_signature(good) == bytes(range(64))
    for bad in (good[:-1] + "0", good + " ", "z" + "1" * 86, good[:-1]):
        with pytest.raises(ProofError):
            decode_multibase_signature(bad)
    with pytest.raises(KeyFormatError):
        decode_multibase("z2l")


# --------------------------------------------------------------------------------------------
# JCS: the orjson fast path
# --------------------------------------------------------------------------------------------

# Text in the Basic Multilingual Plane without surrogates: what the fast path must take.
_BMP = st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"])

PLAIN = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(alphabet=_BMP),
    lambda children: (
        st.lists(children, max_size=5)
        | st.tuples(children, children)
        | st.dictionaries(st.text(alphabet=_BMP, max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@given(PLAIN)
@settings(max_examples=300)
def test_orjson_fast_path_is_taken_and_matches_general_serializer(value: Any) -> None:
    slow = jcs._canonicalize_slow(value)
    original = jcs._canonicalize_slow
    jcs._canonicalize_slow = _refuse
    try:
        fast = canonicalize(value)
    finally:
        jcs._canonicalize_slow = original
    assert fast == slow


def _refuse(value: object) -> bytes:
    raise AssertionError(f"slow path used for {value!r}")


# --------------------------------------------------------------------------------------------
# proofs: verify_proof(..., canonical=...) cuts the unsecured form out of the stored bytes
# --------------------------------------------------------------------------------------------

_KEY = SigningKey.from_seed(bytes(range(32)))

_MEMBER_NAMES = st.sampled_from(
    ["@context", "a", "issuer", "pro", "proof0", "proofs", "prooe", "type", "z", "é", "😂", "~"]
)


@given(
    members=st.dictionaries(_MEMBER_NAMES, PLAIN, max_size=6),
    context=st.none() | st.lists(st.text(max_size=5), max_size=3),
)
@settings(max_examples=300, deadline=None)
def test_cut_unsecured_equals_canonicalize(members: dict[str, Any], context: Any) -> None:
    document = {k: v for k, v in members.items() if k != "@context"}
    if context is not None:
        document["@context"] = context
    document["issuer"] = _KEY.did
    secured = create_proof(document, _KEY, _KEY.verification_method, created="2025-01-01T00:00:00Z")
    canonical = canonicalize(secured)
    unsecured = dict(secured)
    del unsecured["proof"]
    if "@context" in secured["proof"]:
        unsecured["@context"] = secured["proof"]["@context"]
    assert _cut_unsecured(canonical, secured, unsecured, secured["proof"]) == canonicalize(
        unsecured
    )
    assert verify_proof(secured, canonical=canonical) == verify_proof(secured)


def test_canonical_bytes_of_another_document_are_not_cut() -> None:
    document = {"@context": ["https://www.w3.org/ns/credentials/v2"], "issuer": _KEY.did, "a": 1}
    secured = create_proof(document, _KEY, _KEY.verification_method)
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    other = dict(secured, a=2)  # a member before "proof": only the signature can tell
    assert _cut_unsecured(canonicalize(other), secured, unsecured, secured["proof"]) is not None
    changed_proof = dict(secured, proof=dict(secured["proof"], created="2025-01-01T00:00:01Z"))
    assert _cut_unsecured(canonicalize(changed_proof), secured, unsecured, secured["proof"]) is None
    # Bytes of a tampered document give the signature over those bytes: it fails.
    with pytest.raises(ProofError, match="signature"):
        verify_proof(secured, canonical=canonicalize(other))
    assert verify_proof(secured, canonical=b"not canonical") == verify_proof(secured)


def test_proof_context_shorter_than_document_context_is_serialized_as_usual() -> None:
    document = {"@context": ["https://www.w3.org/ns/credentials/v2"], "issuer": _KEY.did}
    secured = create_proof(document, _KEY, _KEY.verification_method)
    secured["@context"] = [*secured["@context"], "https://example.org/extra"]
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    unsecured["@context"] = secured["proof"]["@context"]
    assert _cut_unsecured(canonicalize(secured), secured, unsecured, secured["proof"]) is None
    assert verify_proof(secured, canonical=canonicalize(secured)) == verify_proof(secured)


# verify_proof(..., canonical=...) serializes with orjson when orjson agrees with the bytes

_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=6)
ANY_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=12,
)


@given(members=st.dictionaries(_MEMBER_NAMES | _TEXT, ANY_JSON, max_size=6))
@settings(max_examples=300, deadline=None)
def test_verify_with_stored_bytes_equals_verify_without(members: dict[str, Any]) -> None:
    # Floats that orjson writes otherwise than RFC 8785, and non-BMP names that it sorts
    # otherwise, make it disagree: those documents take the general path, the rest the fast one.
    document = {k: v for k, v in members.items() if k not in ("proof", "issuer")}
    document["issuer"] = _KEY.did
    secured = create_proof(document, _KEY, _KEY.verification_method, created="2025-01-01T00:00:00Z")
    canonical = canonicalize(secured)
    assert verify_proof(secured, canonical=canonical) == verify_proof(secured)
    tampered = dict(secured, issuer=_KEY.did + "x")
    with pytest.raises(ProofError):
        verify_proof(tampered, canonical=canonicalize(tampered))


def test_fast_path_is_taken_for_plain_records_and_not_for_disagreeing_floats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from signing import proofs

    def no_cut(*args: object) -> bytes | None:
        raise AssertionError("the general path ran")

    monkeypatch.setattr(proofs, "_cut_unsecured", no_cut)
    plain = create_proof({"issuer": _KEY.did, "n": 7, "s": "é"}, _KEY, _KEY.verification_method)
    verify_proof(plain, canonical=canonicalize(plain))  # orjson agrees: no cut
    floats = create_proof({"issuer": _KEY.did, "x": 1.0}, _KEY, _KEY.verification_method)
    assert b'"x":1}' in canonicalize(floats)  # RFC 8785 writes 1; orjson writes 1.0
    with pytest.raises(AssertionError, match="general path"):
        verify_proof(floats, canonical=canonicalize(floats))


# passport.records.envelope.leaf_data formats the usual leaf directly

_ANY_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)


@given(
    accepted_at=_ANY_TEXT | st.from_regex(r"\A[0-9:.TZ-]{20,27}\Z"),
    record=_ANY_TEXT | st.from_regex(r"\Asha256:[0-9a-f]{64}\Z"),
)
@settings(max_examples=400)
def test_leaf_data_is_the_canonical_form(accepted_at: str, record: str) -> None:
    from passport.records.envelope import leaf_data

    expected = canonicalize({"acceptedAt": accepted_at, "record": record})
    assert leaf_data(record, accepted_at) == expected
