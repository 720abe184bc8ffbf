"""Tests for signing.jcs: RFC 8785 canonicalization and the strict JSON parser."""

from __future__ import annotations

import enum
import hashlib
import json
import math
import re
import struct
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

import signing.jcs as jcs
from signing.errors import CanonicalizationError
from signing.jcs import (
    _canonicalize_slow,
    canonical_form,
    canonicalize,
    parse_canonical,
    parse_json,
)
from tests.helpers.vectors import VECTORS_DIR

JCS_DIR = VECTORS_DIR / "jcs-rfc8785"
VECTOR_NAMES = sorted(p.stem for p in (JCS_DIR / "input").glob("*.json"))
MAX_SAFE = 2**53 - 1


def both_paths(value: object) -> bytes:
    """Canonicalize through the public entry point and the slow path; they must agree."""
    fast = canonicalize(value)
    assert _canonicalize_slow(value) == fast
    return fast


# --------------------------------------------------------------------------------------------
# RFC 8785 test vectors (cyberphone/json-canonicalization testdata)
# --------------------------------------------------------------------------------------------


def test_vectors_present() -> None:
    assert len(VECTOR_NAMES) >= 6


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_rfc8785_vector(name: str) -> None:
    value = parse_json((JCS_DIR / "input" / f"{name}.json").read_bytes())
    expected = (JCS_DIR / "output" / f"{name}.json").read_bytes()
    expected_hex = bytes.fromhex((JCS_DIR / "outhex" / f"{name}.txt").read_text())
    assert expected == expected_hex
    assert both_paths(value) == expected
    # Canonical output is a fixed point.
    assert canonicalize(parse_json(expected)) == expected


# --------------------------------------------------------------------------------------------
# Numbers (RFC 8785 §3.2.2.3, Appendix B, ES6 test file)
# --------------------------------------------------------------------------------------------

NUMBER_CASES = [
    (0.0, "0"),
    (-0.0, "0"),
    (1.0, "1"),
    (-1.0, "-1"),
    (56.0, "56"),
    (4.5, "4.5"),
    (0.002, "0.002"),
    (1e21, "1e+21"),
    (1e20, "100000000000000000000"),
    (1e-7, "1e-7"),
    (1e-6, "0.000001"),
    (-1.5e-7, "-1.5e-7"),
    (1e30, "1e+30"),
    (1e-27, "1e-27"),
    (333333333.33333329, "333333333.3333333"),
    (9007199254740994.0, "9007199254740994"),
    (9007199254740996.0, "9007199254740996"),
    (123456789012345680000.0, "123456789012345680000"),
    (5e-324, "5e-324"),
    (-5e-324, "-5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    (-1.7976931348623157e308, "-1.7976931348623157e+308"),
    (2.2250738585072014e-308, "2.2250738585072014e-308"),
    (9.999999999999997e-7, "9.999999999999997e-7"),
    (295147905179352830000.0, "295147905179352830000"),
    (4.35, "4.35"),
    (0.1, "0.1"),
    (1 / 3, "0.3333333333333333"),
    (2.0**60, "1152921504606847000"),
]


@pytest.mark.parametrize(("number", "expected"), NUMBER_CASES, ids=[c[1] for c in NUMBER_CASES])
def test_number_formatting(number: float, expected: str) -> None:
    assert both_paths(number) == expected.encode()
    assert both_paths([number]) == f"[{expected}]".encode()


@pytest.mark.parametrize(
    ("hex_ieee", "expected"),
    [
        ("4340000000000001", "9007199254740994"),
        ("4340000000000002", "9007199254740996"),
        ("444b1ae4d6e2ef50", "1e+21"),
        ("3eb0c6f7a0b5ed8d", "0.000001"),
        ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
        ("8000000000000000", "0"),
        ("0", "0"),
    ],
)
def test_readme_sample_lines(hex_ieee: str, expected: str) -> None:
    (number,) = struct.unpack(">d", int(hex_ieee, 16).to_bytes(8, "big"))
    assert canonicalize(number) == expected.encode()


def _es6_doubles() -> Iterator[int]:
    """The deterministic IEEE-754 sequence of the ES6 test file, as described in the README."""
    readme = (JCS_DIR / "README.md").read_text(encoding="utf-8")
    block = readme.split("staticU64s = new BigUint64Array([", 1)[1].split("])", 1)[0]
    static = [int(h, 16) for h in re.findall(r"0x([0-9a-f]+)n", block)]
    assert len(static) == 168
    yield from static
    for i in range(2000):
        yield 0x0010000000000000 + i
    state = bytes(32)
    while True:
        state = hashlib.sha256(state).digest()
        for offset in range(0, 32, 8):  # a Float64Array view of the digest (little-endian)
            chunk = state[offset : offset + 8]
            (number,) = struct.unpack("<d", chunk)
            if number != 0.0 and math.isfinite(number):
                yield int.from_bytes(chunk, "little")


def _es6_file_hash(lines: int) -> str:
    digest = hashlib.sha256()
    for _, bits in zip(range(lines), _es6_doubles(), strict=False):
        (number,) = struct.unpack("<d", bits.to_bytes(8, "little"))
        digest.update(f"{bits:x},".encode() + canonicalize(number) + b"\n")
    return digest.hexdigest()


# The SHA-256 table of the README: hashes of the first N lines "hex-ieee,expected\n".
ES6_HASHES = {
    1000: "be18b62b6f69cdab33a7e0dae0d9cfa869fda80ddc712221570f9f40a5878687",
    10000: "b9f7a8e75ef22a835685a52ccba7f7d6bdc99e34b010992cbc5864cd12be6892",
    100000: "22776e6d4b49fa294a0d0f349268e5c28808fe7e0cb2bcbe28f63894e494d4c7",
    1000000: "49415fee2c56c77864931bd3624faad425c3c577d6d74e89a83bc725506dad16",
}


def test_es6_hash_table_matches_readme() -> None:
    readme = (JCS_DIR / "README.md").read_text(encoding="utf-8")
    for lines, digest in ES6_HASHES.items():
        assert re.search(rf"\| {digest} \| {lines} ", readme)


@pytest.mark.parametrize("lines", [1000, 10000, 100000])
def test_es6_number_file(lines: int) -> None:
    assert _es6_file_hash(lines) == ES6_HASHES[lines]


@pytest.mark.slow
def test_es6_number_file_million() -> None:
    assert _es6_file_hash(1000000) == ES6_HASHES[1000000]


def test_integers() -> None:
    assert both_paths(MAX_SAFE) == b"9007199254740991"
    assert both_paths(-MAX_SAFE) == b"-9007199254740991"
    assert both_paths([0, -1, 42]) == b"[0,-1,42]"


def test_bool_is_not_int() -> None:
    assert both_paths(True) == b"true"
    assert (
        both_paths({"a": False, "b": 0, "c": 1, "d": True}) == b'{"a":false,"b":0,"c":1,"d":true}'
    )


# --------------------------------------------------------------------------------------------
# Strings and key order (RFC 8785 §3.2.2.2, §3.2.3)
# --------------------------------------------------------------------------------------------

SHORT_ESCAPES = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r"}


def _expected_string(char: str) -> str:
    code = ord(char)
    if code in SHORT_ESCAPES:
        return SHORT_ESCAPES[code]
    if code < 0x20:
        return f"\\u{code:04x}"
    if char in '"\\':
        return "\\" + char
    return char


def test_string_escaping_matches_rfc8785_for_all_ascii() -> None:
    for code in range(0x80):
        char = chr(code)
        expected = ('"' + _expected_string(char) + '"').encode()
        assert both_paths(char) == expected, hex(code)
        assert both_paths({char: char}) == b"{" + expected + b":" + expected + b"}", hex(code)


def test_string_escapes_are_lowercase_hex() -> None:
    assert both_paths("\x0b\x1f\x1b\x00") == b'"\\u000b\\u001f\\u001b\\u0000"'


@pytest.mark.parametrize(
    "text", ["\x7f", "\x80", "é", "\u2028\u2029", "</script>", "/", "\ufeff", "\uffff", "😂"]
)
def test_non_control_characters_are_literal(text: str) -> None:
    assert both_paths(text) == b'"' + text.encode("utf-8") + b'"'


def test_keys_sorted_by_utf16_code_units() -> None:
    # U+1F600 is the pair D83D DE00, which sorts below U+FB33 in UTF-16 but above in code points.
    value = {"\ufb33": 1, "\U0001f600": 2, "\ue000": 3, "z": 4, "\U00010000": 5}
    expected = '{"z":4,"\U00010000":5,"\U0001f600":2,"\ue000":3,"\ufb33":1}'.encode()
    assert both_paths(value) == expected
    assert rfc8785.dumps(value) == expected


def test_non_bmp_value_only() -> None:
    assert both_paths({"b": "😂", "a": ["\U0010ffff"]}) == '{"a":["\U0010ffff"],"b":"😂"}'.encode()


def test_key_prefix_sorts_first() -> None:
    assert both_paths({"ab": 1, "a": 2, "": 3, "b": 4}) == b'{"":3,"a":2,"ab":1,"b":4}'


# --------------------------------------------------------------------------------------------
# Containers and accepted Python types
# --------------------------------------------------------------------------------------------


class Colour(enum.IntEnum):
    RED = 7


class Mode(enum.StrEnum):
    FAST = "fast"


class Ratio(float):
    pass


def test_tuples_are_arrays() -> None:
    assert both_paths(((1, "a"), [])) == b'[[1,"a"],[]]'


def test_subclasses_use_underlying_value() -> None:
    assert both_paths({"c": Colour.RED, Mode.FAST: Mode.FAST, "r": Ratio(0.5)}) == (
        b'{"c":7,"fast":"fast","r":0.5}'
    )


def test_empty_and_scalars() -> None:
    assert both_paths({}) == b"{}"
    assert both_paths([]) == b"[]"
    assert both_paths(None) == b"null"
    assert both_paths("") == b'""'


def test_plain_values_take_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(value: object) -> bytes:
        raise AssertionError("slow path used")

    monkeypatch.setattr(jcs, "_canonicalize_slow", fail)
    record = {"b": [1, None, True, "é\n"], "a": {"x": -MAX_SAFE, "y": ("t",)}, "é": "€"}
    assert (
        canonicalize(record)
        == '{"a":{"x":-9007199254740991,"y":["t"]},"b":[1,null,true,"é\\n"],"é":"€"}'.encode()
    )


@pytest.mark.parametrize(
    "value",
    [{"f": 1.0}, {"k": "😂"}, {"😂": 1}, {"s": "\ud800"}, [MAX_SAFE + 1], {1: 2}, [Colour.RED]],
)
def test_other_values_take_slow_path(monkeypatch: pytest.MonkeyPatch, value: object) -> None:
    calls: list[object] = []

    def record_call(arg: object) -> bytes:
        calls.append(arg)
        return b"slow"

    monkeypatch.setattr(jcs, "_canonicalize_slow", record_call)
    assert canonicalize(value) == b"slow"
    assert calls == [value]


# --------------------------------------------------------------------------------------------
# canonicalize rejections
# --------------------------------------------------------------------------------------------


def _rejects(value: object, match: str) -> CanonicalizationError:
    with pytest.raises(CanonicalizationError, match=match):
        _canonicalize_slow(value)
    with pytest.raises(CanonicalizationError, match=match) as info:
        canonicalize(value)
    return info.value


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_rejects_non_finite(number: float) -> None:
    _rejects(number, "not a JSON number")
    error = _rejects({"a": [1, number]}, "not a JSON number")
    assert error.details["path"] == "/a/1"


@pytest.mark.parametrize("number", [MAX_SAFE + 1, -MAX_SAFE - 1, 2**64, 10**30, -(10**100)])
def test_rejects_unsafe_integers(number: int) -> None:
    error = _rejects({"n": number}, r"outside the I-JSON safe range.*IEEE-754 double")
    assert error.details["path"] == "/n"


@pytest.mark.parametrize(
    "surrogate", [chr(0xD800), chr(0xDFFF), f"a{chr(0xDC00)}b", chr(0xDE02) + chr(0xD83D)]
)
def test_rejects_lone_surrogate_value(surrogate: str) -> None:
    _rejects(surrogate, "lone surrogate in string")
    error = _rejects({"x": [{"y": surrogate}]}, "lone surrogate in string")
    assert error.details["path"] == "/x/0/y"


def test_rejects_lone_surrogate_key() -> None:
    error = _rejects({"ok": {"k\ud800": 1}}, "lone surrogate in object key")
    assert error.details["path"] == "/ok/k\\ud800"
    error.to_dict()["path"].encode("utf-8")  # details stay encodable


@pytest.mark.parametrize("key", [1, None, 1.5, True, ("a",), b"a"])
def test_rejects_non_str_keys(key: object) -> None:
    _rejects({key: 1}, "keys must be str")


@pytest.mark.parametrize(
    "value",
    [
        {1, 2},
        frozenset(),
        b"x",
        bytearray(b"x"),
        Decimal("1.5"),
        object(),
        1j,
        range(3),
        {"a": {"b": b""}},
    ],
)
def test_rejects_unsupported_types(value: object) -> None:
    _rejects(value, "unsupported type")


def test_pointer_escaping() -> None:
    error = _rejects({"a/b": {"c~d": [math.nan]}}, "not a JSON number")
    assert error.details["path"] == "/a~1b/c~0d/0"


def test_rejects_cycles_and_deep_nesting() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    _rejects(cyclic, "nested too deeply or contains a reference cycle")
    deep: list[Any] = []
    for _ in range(100000):
        deep = [deep]
    _rejects(deep, "nested too deeply")


def test_depth_near_recursion_limit_is_bytes_or_error() -> None:
    limit = sys.getrecursionlimit()
    errors: list[str] = []
    for depth in range(limit - 150, limit + 10):
        nested_list: list[Any] = []
        nested_dict: dict[str, Any] = {}
        for _ in range(depth):
            nested_list = [nested_list]
            nested_dict = {"a": nested_dict}
        for value in (nested_list, nested_dict):
            try:
                result = canonicalize(value)
            except CanonicalizationError as exc:
                errors.append(str(exc))
            else:
                assert result.count(b"[") + result.count(b"{") == depth + 1
    assert errors
    assert all("nested too deeply" in message for message in errors)


# --------------------------------------------------------------------------------------------
# parse_json
# --------------------------------------------------------------------------------------------


def test_parse_accepts_bytes_and_str() -> None:
    text = ' {"a": [1, 2.5, "\\u00e9\\ud83d\\ude02", true, null]} \n'
    expected = {"a": [1, 2.5, "é😂", True, None]}
    assert parse_json(text) == expected
    assert parse_json(text.encode()) == expected


def test_parse_escaped_backslash_before_u_is_not_a_surrogate() -> None:
    assert parse_json(r'["\\ud800"]') == ["\\ud800"]


def test_parse_large_integers() -> None:
    # Canonical form of the double 1e20 re-parses to that double, so canonicalization round-trips.
    value = parse_json(b"[100000000000000000000, -1152921504606847000]")
    assert value == [1e20, -(2.0**60)]
    assert all(isinstance(v, float) for v in value)
    assert canonicalize(value) == b"[100000000000000000000,-1152921504606847000]"
    # A literal that is not exactly a double stays an int, which canonicalize refuses.
    (big,) = parse_json(b"[9007199254740993]")
    assert big == 9007199254740993
    with pytest.raises(CanonicalizationError, match="safe range"):
        canonicalize(big)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b'{"a":1,"a":2}', "duplicate object key 'a'"),
        (b'{"x":[{"y":{"b":1,"c":2,"b":3}}]}', "duplicate object key 'b'"),
        (b'[{"\\u0061":1,"a":2}]', "duplicate object key 'a'"),
        (b"NaN", "NaN is not valid JSON"),
        (b'{"a":NaN}', "NaN is not valid JSON"),
        (b"[Infinity]", "Infinity is not valid JSON"),
        (b"[-Infinity]", "-Infinity is not valid JSON"),
        (b"[1e400]", "overflows"),
        (b"[-1e400]", "overflows"),
        (b"[1] x", "Extra data"),
        (b'{"a":1}{}', "Extra data"),
        (b"[1],", "Extra data"),
        (b"", "invalid JSON"),
        (b"[1,]", "invalid JSON"),
        (b"{'a':1}", "invalid JSON"),
        (b'["\x01"]', "invalid JSON"),
        (b'"\xff"', "invalid UTF-8"),
        (b'"\xc0\xaf"', "invalid UTF-8"),
        (b'"\xed\xa0\x80"', "invalid UTF-8"),
        (b'"\xf4\x90\x80\x80"', "invalid UTF-8"),
        (b'["abc\xe2\x82"]', "invalid UTF-8"),
        (b'\xef\xbb\xbf{"a":1}', "byte order mark"),
        (b'"\\ud800"', "lone surrogate in string"),
        (b'["ok", "x\\uDBFFy"]', "lone surrogate in string"),
        (b'{"a":["\\ude02\\ud83d"]}', "lone surrogate in string"),
        (b'{"a":"\\ud83d\\ud83d"}', "lone surrogate in string"),
        (b'{"\\udc00":1}', "lone surrogate in object key"),
        (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
        (b"1" * 5000, "invalid JSON"),
    ],
)
def test_parse_rejects(data: bytes, match: str) -> None:
    with pytest.raises(CanonicalizationError, match=match):
        parse_json(data)


def test_parse_rejects_raw_lone_surrogate_in_str() -> None:
    with pytest.raises(CanonicalizationError, match="lone surrogate at character offset 2"):
        parse_json('["\ud800"]')


def test_parse_surrogate_error_names_path() -> None:
    with pytest.raises(CanonicalizationError) as info:
        parse_json(b'{"a":[0,{"b":"\\udfff"}]}')
    assert info.value.details["path"] == "/a/1/b"


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

TRICKY = st.sampled_from(
    [
        *("a", "Z", "0", " ", "/", "\x00", "\x1f", '"', "\\", "\x7f", "é", "\u2028"),
        *("\ue000", "\ufb33", "\uffff", "\U00010000", "\U0001f600", "\U0010ffff"),
    ]
)
TEXT = st.text() | st.text(alphabet=TRICKY, max_size=6)
SAFE_INTS = st.integers(-MAX_SAFE, MAX_SAFE)
FLOATS = st.floats(allow_nan=False, allow_infinity=False)
PLAIN = st.recursive(
    st.none() | st.booleans() | SAFE_INTS | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | SAFE_INTS | FLOATS | TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5),
    max_leaves=30,
)


@given(JSON_VALUES)
def test_idempotent_through_parse(value: Any) -> None:
    canonical = canonicalize(value)
    assert canonicalize(parse_json(canonical)) == canonical


@given(JSON_VALUES)
def test_round_trip(value: Any) -> None:
    # Python's == already equates -0.0 with 0 and 5.0 with 5, matching JSON number semantics.
    assert parse_json(canonicalize(value)) == value


@given(PLAIN | JSON_VALUES)
def test_fast_and_slow_paths_agree(value: Any) -> None:
    assert canonicalize(value) == _canonicalize_slow(value)


@settings(max_examples=300)
@given(JSON_VALUES)
def test_matches_rfc8785_package(value: Any) -> None:
    try:
        reference = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, ValueError, UnicodeError):
        return
    assert canonicalize(value) == reference


@given(FLOATS)
def test_floats_match_rfc8785_package(number: float) -> None:
    assert canonicalize(number) == rfc8785.dumps(number)


# ---------------------------------------------------------------------------------------------
# parse_canonical: canonical input in one C parse, everything else through parse_json
# ---------------------------------------------------------------------------------------------


@given(JSON_VALUES)
def test_parse_canonical_of_canonical_input(value: Any) -> None:
    try:
        canonical = canonicalize(value)
    except CanonicalizationError:
        return
    parsed, again = parse_canonical(canonical)
    assert again == canonical
    assert parsed == parse_json(canonical)


@given(JSON_VALUES)
def test_parse_canonical_of_pretty_input(value: Any) -> None:
    try:
        canonical = canonicalize(value)
    except CanonicalizationError:
        return
    pretty = json.dumps(parse_json(canonical), indent=1, ensure_ascii=True).encode()
    parsed, again = parse_canonical(pretty)
    assert again == canonical
    assert parsed == parse_json(pretty)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1,"a":2}',
        b'{"a":{"b":1,"b":1}}',
        b'["\\ud800"]',
        b"[NaN]",
        b"[1e400]",
        b"\xef\xbb\xbf{}",
        b'{"a":1} x',
        b"[9007199254740993]",
    ],
)
def test_parse_canonical_refuses_what_parse_json_refuses(data: bytes) -> None:
    with pytest.raises(CanonicalizationError) as strict:
        canonicalize(parse_json(data))
    with pytest.raises(CanonicalizationError) as fast:
        parse_canonical(data)
    assert fast.value.message == strict.value.message


def test_parse_canonical_keeps_a_float_beyond_the_safe_integers() -> None:
    # 2**53 is a double's canonical form; parse_json returns it as a float, so must this.
    assert parse_canonical(b"[9007199254740992]") == ([9007199254740992.0], b"[9007199254740992]")


# ---------------------------------------------------------------------------------------------
# canonical_form: the bytes, and whether orjson wrote them
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "by_orjson"),
    [
        ({"b": 1, "a": [True, None, "x"]}, True),
        ({"a": {"é": "ü"}}, True),  # non-ASCII in the BMP: orjson's order is JCS's
        ({"a": 1.5}, False),  # a float: ECMAScript formatting
        ({"a": 1.0}, False),
        ({"\U0001f600": 1, "\uffff": 2}, False),  # a non-BMP key: UTF-16 order differs
        ({"a": (1, 2)}, True),
        ({"a": Decimal("1")}, False),  # not a JSON type: the general serializer refuses it
    ],
)
def test_canonical_form_says_when_orjson_wrote_the_bytes(value: Any, by_orjson: bool) -> None:
    import orjson

    try:
        expected = canonicalize(value)
    except CanonicalizationError:
        with pytest.raises(CanonicalizationError):
            canonical_form(value)
        return
    data, flag = canonical_form(value)
    assert data == expected
    assert flag is by_orjson
    if flag:
        assert data == orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES | PLAIN)
def test_canonical_form_is_canonicalize(value: Any) -> None:
    """Its bytes are canonicalize's; when it says orjson wrote them, orjson's are them."""
    import orjson

    data, flag = canonical_form(value)
    assert data == canonicalize(value)
    if flag:
        assert data == orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER)
