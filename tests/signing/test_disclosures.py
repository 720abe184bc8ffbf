"""Selective disclosure (RFC 9901 Disclosures on JSON records): the RFC's own example, and the
attacks: a tampered, guessed, moved or duplicated disclosure."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signing.disclosures import (
    SD,
    _b64url_size,
    _unb64url,
    conceal,
    digest,
    make_disclosure,
    parse_disclosure,
    reveal,
)
from signing.errors import DisclosureError, DisclosureMismatchError

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "vectors" / "sd-jwt-rfc9901"


def _example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLE / "presentation-example.json").read_text("utf-8"))
    return data


def test_rfc9901_example_digests_and_processing() -> None:
    """The RFC's example: each Disclosure's digest is in the signed payload, and processing
    gives the disclosed claims (the undisclosed nationality is dropped)."""
    ex = _example()
    payload = ex["issuerPayload"]
    family = ex["disclosures"][0]
    assert digest(family) == "TGf4oLbgwd5JQaHyKVQZU9UdGE0w5rtDsrZzfUaomLo"
    assert digest(family) in payload[SD]
    assert parse_disclosure(family).name == "family_name"
    assert reveal(payload, ex["disclosures"]) == ex["disclosedClaims"]


def test_rfc9901_example_undisclosed_members_stay_hidden() -> None:
    ex = _example()
    shown = reveal(ex["issuerPayload"], ex["disclosures"][:1])
    assert shown["family_name"] == "Doe"
    assert "given_name" not in shown and "address" not in shown
    assert shown["nationalities"] == []


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(max_size=6).filter(lambda k: k not in (SD, "...")), inner, max_size=4
        )
    ),
    max_leaves=12,
)
_objects = st.dictionaries(
    st.text(min_size=1, max_size=8).filter(lambda k: k not in (SD, "...", "_sd_alg")),
    _json,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(_objects, st.data())
def test_conceal_then_reveal_gives_the_object_back(
    obj: dict[str, Any], data: st.DataObject
) -> None:
    public = data.draw(st.sets(st.sampled_from(sorted(obj)) if obj else st.nothing()))
    redacted, disclosures = conceal(obj, public)
    assert set(redacted) - {SD} == public
    for name in set(obj) - public:
        assert name not in redacted
    assert reveal(redacted, [d.encoded for d in disclosures]) == obj
    # with no disclosure, only the public members remain
    assert reveal(redacted, []) == {k: obj[k] for k in public}


def _subject() -> dict[str, Any]:
    return {"lot": "urn:lot:x", "massGrams": 452_500, "buyer": "did:key:z6Mkbuyer"}


def test_a_tampered_disclosure_is_refused() -> None:
    redacted, disclosures = conceal(_subject(), {"lot"})
    mass = next(d for d in disclosures if d.name == "massGrams")
    forged = make_disclosure("massGrams", 999_999, mass.salt)  # same salt, other value
    with pytest.raises(DisclosureMismatchError):
        reveal(redacted, [forged.encoded])
    flipped = mass.encoded[:-2] + ("A" if mass.encoded[-2] != "A" else "B") + mass.encoded[-1]
    with pytest.raises(DisclosureError):
        reveal(redacted, [flipped])


def test_a_disclosure_moved_to_another_record_is_refused() -> None:
    one, d_one = conceal(_subject(), {"lot"})
    other, _ = conceal(_subject(), {"lot"})  # same content, fresh salts
    with pytest.raises(DisclosureMismatchError):
        reveal(other, [d.encoded for d in d_one])
    assert reveal(one, [d.encoded for d in d_one]) == _subject()


def test_a_guessed_value_does_not_match_without_the_salt() -> None:
    """The digest of the true value under a guessed salt answers nothing: 128-bit salts."""
    redacted, _ = conceal(_subject(), {"lot"})
    guess = make_disclosure("massGrams", 452_500)
    assert guess.digest not in redacted[SD]
    with pytest.raises(DisclosureMismatchError):
        reveal(redacted, [guess.encoded])


def test_duplicates_collisions_and_short_salts_are_refused() -> None:
    redacted, disclosures = conceal(_subject(), {"lot"})
    doubled = {**redacted, SD: [*redacted[SD], redacted[SD][0]]}
    with pytest.raises(DisclosureError, match="more than once"):
        reveal(doubled, [d.encoded for d in disclosures])
    lot = make_disclosure("lot", "urn:lot:evil")
    colliding = {**redacted, SD: sorted([*redacted[SD], lot.digest])}
    with pytest.raises(DisclosureError, match="already present"):
        reveal(colliding, [lot.encoded])
    with pytest.raises(DisclosureError, match="bits"):
        parse_disclosure(make_disclosure("a", 1, salt="c2hvcnQ").encoded)
    with pytest.raises(DisclosureError, match="not be named"):
        make_disclosure(SD, 1)
    with pytest.raises(DisclosureError, match="not supported"):
        reveal({**redacted, "_sd_alg": "md5"}, [])


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=", max_size=30
    )
)
def test_base64url_is_accepted_exactly_when_it_is_canonical(text: str) -> None:
    """The decoder takes what a canonical unpadded encoder writes and nothing else, and gives
    the stdlib's bytes: checked against decoding and encoding again with ``base64``."""
    try:
        expected: bytes | None = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        expected = None
    if expected is not None and base64.urlsafe_b64encode(expected).rstrip(b"=").decode() != text:
        expected = None  # not canonical (pad bits set, padding, or characters outside base64url)
    if text == "":
        expected = None  # nothing encoded is no salt and no Disclosure
    try:
        got: bytes | None = _unb64url(text, "x")
    except DisclosureError:
        got = None
    assert got == expected
    if got is not None:
        assert _b64url_size(text, "x") == len(got)


_b64 = st.binary(max_size=80).map(lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode())
_arrays = st.lists(_json, max_size=4).map(
    lambda a: base64.urlsafe_b64encode(json.dumps(a).encode()).rstrip(b"=").decode()
)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | _b64 | _arrays)
def test_parse_disclosure_refuses_with_a_disclosure_error_only(text: str) -> None:
    """Any input either parses into a well-formed Disclosure or raises DisclosureError."""
    try:
        d = parse_disclosure(text)
    except DisclosureError:
        return
    assert d.encoded == text and d.digest == digest(text)
    assert d.name is None or isinstance(d.name, str)
