"""RFC 8785 JSON Canonicalization Scheme (JCS) and a strict JSON parser for untrusted input.

:func:`canonicalize` turns a JSON value into its unique canonical UTF-8 bytes (the input to every
hash and signature in the project); :func:`parse_json` parses untrusted JSON and rejects whatever
I-JSON (RFC 7493) forbids, so that what was parsed can be canonicalized faithfully.

Two serializers produce identical bytes:

* a fast path that hands the value to orjson when one cheap traversal proves its output equals
  JCS (exact ``dict``/``list``/``tuple``/``str``/``bool``/``None``/``int`` only; orjson itself
  refuses non-``str`` keys, unsafe integers and lone surrogates, and non-BMP keys are detected
  on its output);
* a general recursive serializer (:func:`_canonicalize_slow`) for everything else, which also
  produces the precise error messages.

Pure module: no I/O.
"""

from __future__ import annotations

import json
import math
import re
from json.encoder import encode_basestring
from typing import Any, TypeAlias

import orjson

from signing.errors import CanonicalizationError

__all__ = ["JSONValue", "canonical_form", "canonicalize", "parse_canonical", "parse_json"]

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None
"""A JSON value as Python objects (:func:`canonicalize` also accepts ``tuple`` as an array)."""

# RFC 7493 §2.2 (I-JSON): integers outside ±(2**53 - 1) cannot be represented exactly by the
# IEEE-754 double that RFC 8785 §3.2.2.3 serializes, so they are rejected rather than rounded.
_MAX_SAFE_INT = 2**53 - 1

# The fast path's encoder: orjson (a maintained C/Rust JSON library; measured 1.0 µs against 9.1 µs
# for the stdlib C encoder with sort_keys on a 1 KB record). With these options its output is JCS
# for every value the fast path admits: no whitespace (RFC 8785 §3.2.1), UTF-8 rather than \u
# escapes and exactly the escapes of §3.2.2.2 (the tests compare it with the general serializer),
# keys sorted by UTF-8 bytes, which is code point order and equal to the UTF-16 order of §3.2.3
# when every key is in the BMP. OPT_STRICT_INTEGER makes it refuse integers outside ±(2**53 - 1);
# it also refuses non-str keys, lone surrogates and nesting beyond 254 levels. Every refusal sends
# the value to the general serializer, which reports the precise error.
_ORJSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_orjson_dumps = orjson.dumps
_OrjsonError = orjson.JSONEncodeError

# A UTF-8 lead byte of a code point above U+FFFF (RFC 3629 §4: F0..F4).
_NON_BMP_LEAD = re.compile(b"[\xf0-\xf4]")

_DEPTH_MESSAGE = "value is nested too deeply or contains a reference cycle"


class _Reject(Exception):  # noqa: N818 - internal control flow, never escapes this module
    """Internal failure carrying the reason and the path (innermost segment first)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str | int] = []


def _safe_text(text: str) -> str:
    """``text`` with lone surrogates shown as backslash escapes, so error details stay encodable."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _to_error(exc: _Reject) -> CanonicalizationError:
    """Turn an internal rejection into the public error, naming the RFC 6901 JSON Pointer."""
    pointer = "".join(
        "/" + str(seg).replace("~", "~0").replace("/", "~1") for seg in reversed(exc.path)
    )
    where = f" at JSON pointer {pointer!r}" if pointer else ""
    return CanonicalizationError(exc.reason + where, path=_safe_text(pointer))


# ---------------------------------------------------------------------------------------------
# Fast path
# ---------------------------------------------------------------------------------------------


_LEAF_TYPES = frozenset({str, int, bool, type(None)})


def _is_plain(value: Any) -> bool:
    """True if ``value`` holds only exact dict, list, tuple, str, int, bool and None.

    For such values orjson's output is JCS except for what it refuses (non-str keys, unsafe
    integers, lone surrogates, deep nesting) and for non-BMP keys, which :func:`canonicalize`
    detects on the output. What is left to exclude here is what orjson would serialize in a
    non-JCS way: floats (ECMAScript number formatting, RFC 8785 §3.2.2.3), subclasses, enums,
    and the other types it knows (UUID, datetime, dataclasses, numpy).
    """
    t = type(value)
    if t is dict:
        items: Any = value.values()
    elif t is list or t is tuple:
        items = value
    else:
        return t in _LEAF_TYPES
    leaf_types = _LEAF_TYPES
    for item in items:
        ti = type(item)
        if ti in leaf_types:
            continue
        if (ti is dict or ti is list or ti is tuple) and _is_plain(item):
            continue
        return False
    return True


def canonical_form(value: object) -> tuple[bytes, bool]:
    """:func:`canonicalize`, and whether its bytes are orjson's serialization of ``value`` with
    sorted keys (the fast path: ``value`` holds only the exact plain types and no key outside
    the BMP).

    When they are, orjson also serializes as RFC 8785 does every object made of ``value``'s own
    members (JSON text is self-delimiting, so two serializers that agree on the whole agree on
    each member): :func:`signing.proofs.prepare_proof` then serializes a document's unsecured
    form and proof configuration without checking that again. Raises as :func:`canonicalize`.
    """
    try:
        plain = _is_plain(value)
    except RecursionError:
        # Too deep (or cyclic) for the traversal; the slow path reports it.
        plain = False
    if plain:
        try:
            data = _orjson_dumps(value, option=_ORJSON_OPTIONS)
        except _OrjsonError:
            pass
        else:
            # RFC 8785 §3.2.3 sorts by UTF-16 code units; orjson sorted by code point, which
            # agrees unless a key holds a non-BMP character. Only then is the order redone.
            if data.isascii() or _NON_BMP_LEAD.search(data) is None:
                return data, True
    return _canonicalize_slow(value), False


def canonicalize(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 encoding of a JSON value.

    Accepts ``None``, ``bool``, ``int`` (within ±(2**53 - 1)), finite ``float``, ``str``,
    ``list``/``tuple`` and ``dict`` with ``str`` keys, nested arbitrarily (subclasses such as
    ``IntEnum`` or ``StrEnum`` members are serialized as their underlying value).

    Raises:
        CanonicalizationError: for NaN or infinities, integers outside the I-JSON safe range,
            lone surrogates in a string or key, non-``str`` keys, unsupported types, or nesting
            deeper than the interpreter's recursion limit (including reference cycles). The
            message names the offending location as a JSON Pointer.
    """
    return canonical_form(value)[0]


# ---------------------------------------------------------------------------------------------
# General serializer
# ---------------------------------------------------------------------------------------------


def _format_number(x: float) -> str:
    """Serialize a finite double like ECMAScript ``Number.prototype.toString`` (RFC 8785 §3.2.2.3).

    Python's ``repr`` yields the shortest digit string that round-trips, choosing the one closest
    to the exact value: the digits ``s`` and length ``k`` of ECMA-262 Number::toString step 5.
    Only the layout (steps 6-10) is redone here.
    """
    if x == 0:
        return "0"  # ECMA-262 Number::toString step 2: both +0 and -0 give "0"
    sign = "-" if x < 0 else ""  # step 3
    mantissa, _, exponent = repr(abs(x)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    # n: position of the decimal point relative to the start of ``digits`` (value = 0.digits × 10^n)
    n = len(int_part) + (int(exponent) if exponent else 0)
    significant = digits.lstrip("0")
    n -= len(digits) - len(significant)
    digits = significant.rstrip("0")
    k = len(digits)
    if k <= n <= 21:  # step 6: integer, padded with zeros
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:  # step 7: decimal point inside the digits
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:  # step 8: 0.000ddd
        return sign + "0." + "0" * -n + digits
    e = n - 1  # steps 9-10: exponential form, explicit sign on the exponent
    exp_text = ("e+" if e >= 0 else "e-") + str(abs(e))
    if k == 1:
        return sign + digits + exp_text
    return sign + digits[0] + "." + digits[1:] + exp_text


def _string(text: str) -> str:
    """Serialize a string per RFC 8785 §3.2.2.2, rejecting lone surrogates.

    The stdlib ``encode_basestring`` escapes exactly ``"``, ``\\`` and U+0000..U+001F, using
    ``\\b \\t \\n \\f \\r`` and otherwise lowercase ``\\u00xx``, and leaves everything else
    literal, which is what §3.2.2.2 requires (the tests pin this down).
    """
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # RFC 8785 §3.2.2.2 / RFC 7493 §2.1: strings must be valid Unicode.
            raise _Reject(f"lone surrogate in string {text!r}") from None
    return encode_basestring(text)


def _check_key(name: str) -> None:
    """Reject a member name holding a lone surrogate (RFC 8785 §3.2.2.2), pointing at it."""
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            exc = _Reject(f"lone surrogate in object key {name!r}")
            exc.path.append(name)
            raise exc from None


def _utf16_order(member: tuple[str, Any]) -> bytes:
    """Sort key giving UTF-16 code unit order (RFC 8785 §3.2.3): big-endian bytes compare alike."""
    return member[0].encode("utf-16-be")


def _name_order(member: tuple[str, Any]) -> str:
    """Sort key giving code point order, equal to UTF-16 order for BMP-only names."""
    return member[0]


_LITERALS = {None: "null", True: "true", False: "false"}  # §3.2.2.1: literals


def _serialize(value: object, out: list[str]) -> None:
    """Append the canonical serialization of ``value`` to ``out`` (RFC 8785 §3.2).

    The container loops serialize ASCII strings and safe ints inline (the bulk of a record)
    and recurse only for everything else; rejections collect the path on the way out.
    """
    if isinstance(value, str):
        out.append(_string(str.__str__(value)))
    elif value is None or value is True or value is False:
        out.append(_LITERALS[value])
    elif isinstance(value, int):
        number = int.__int__(value)
        if not -_MAX_SAFE_INT <= number <= _MAX_SAFE_INT:
            raise _Reject(
                f"integer {number} is outside the I-JSON safe range ±(2**53 - 1) and cannot "
                "round-trip through an IEEE-754 double (RFC 8785 §3.2.2.3, RFC 7493 §2.2); "
                "send it as a string"
            )
        out.append(str(number))  # equals Number::toString for every safe integer
    elif isinstance(value, float):
        number_f = float.__float__(value)
        if not math.isfinite(number_f):
            raise _Reject(f"{number_f!r} is not a JSON number (RFC 8785 §3.2.2.3)")
        out.append(_format_number(number_f))
    elif isinstance(value, dict):
        _serialize_object(value, out)
    elif isinstance(value, list | tuple):
        separator = "["  # §3.2.1: no whitespace between tokens
        for index, item in enumerate(value):
            out.append(separator)
            separator = ","
            kind = type(item)
            if kind is str and item.isascii():  # an ASCII string holds no surrogate
                out.append(encode_basestring(item))
            elif kind is int and -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
                out.append(str(item))
            else:
                try:
                    _serialize(item, out)
                except _Reject as exc:
                    exc.path.append(index)
                    raise
        out.append("]" if separator == "," else "[]")
    else:
        raise _Reject(
            f"unsupported type {type(value).__name__!r}: JSON values are None, bool, int, "
            "float, str, list/tuple and dict"
        )


def _object_members(obj: dict[Any, Any]) -> list[tuple[str, Any]]:
    """The members of ``obj`` sorted by name in UTF-16 code unit order (RFC 8785 §3.2.3)."""
    for key in obj:
        if type(key) is not str or not key.isascii():
            break
    else:
        # All names are ASCII: code point order is UTF-16 order, and names are unique, so
        # comparing (name, value) tuples never reaches the values.
        return sorted(obj.items())
    members: list[tuple[str, Any]] = []
    non_bmp = False
    for key, item in obj.items():
        if not isinstance(key, str):
            raise _Reject(f"object key {key!r} has type {type(key).__name__}; keys must be str")
        name = str.__str__(key)
        if not name.isascii():
            _check_key(name)
            non_bmp = non_bmp or max(name) > "\uffff"
        members.append((name, item))
    # Code point order and UTF-16 code unit order differ only when a name has a character above
    # U+FFFF: its surrogate pair sorts below U+E000..U+FFFF.
    members.sort(key=_utf16_order if non_bmp else _name_order)
    return members


def _serialize_object(obj: dict[Any, Any], out: list[str]) -> None:
    """Append a JSON object: ``{"name":value,...}`` in canonical member order (§3.2.3)."""
    separator = "{"
    for name, item in _object_members(obj):
        out.append(separator)
        separator = ","
        out.append(encode_basestring(name) + ":")
        kind = type(item)
        if kind is str and item.isascii():  # an ASCII string holds no surrogate
            out.append(encode_basestring(item))
        elif kind is int and -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
            out.append(str(item))
        else:
            try:
                _serialize(item, out)
            except _Reject as exc:
                exc.path.append(name)
                raise
    out.append("}" if separator == "," else "{}")


def _canonicalize_slow(value: object) -> bytes:
    """General RFC 8785 serializer; same contract and output as :func:`canonicalize`."""
    out: list[str] = []
    try:
        _serialize(value, out)
    except _Reject as exc:
        raise _to_error(exc) from None
    except RecursionError:
        raise CanonicalizationError(_DEPTH_MESSAGE) from None
    return "".join(out).encode("utf-8")  # §3.2.4: UTF-8


# ---------------------------------------------------------------------------------------------
# Strict parser
# ---------------------------------------------------------------------------------------------


def _object_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build an object, rejecting duplicate member names (RFC 7493 §2.3, RFC 8785 §3.1)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise CanonicalizationError(f"duplicate object key {key!r} (RFC 7493 §2.3)")
            seen.add(key)
    return obj


def _reject_constant(name: str) -> Any:
    """Reject the non-standard literals NaN, Infinity and -Infinity (RFC 8259 §6)."""
    raise CanonicalizationError(f"{name} is not valid JSON (RFC 8259 §6)")


def _parse_float(text: str) -> float:
    """Parse a fraction/exponent number, rejecting ones that overflow a double (RFC 7493 §2.2)."""
    number = float(text)
    if not math.isfinite(number):
        raise CanonicalizationError(f"number {text} overflows an IEEE-754 double")
    return number


def _parse_int(text: str) -> int | float:
    """Parse an integer literal.

    Safe integers stay ``int``. A larger literal that is exactly the canonical form of a double
    (as :func:`canonicalize` writes e.g. ``1e20``: ``100000000000000000000``) becomes that
    ``float``, so canonical output always re-parses to a value that canonicalizes identically.
    Any other large integer stays an ``int``, which :func:`canonicalize` rejects.
    """
    number = int(text)
    if -_MAX_SAFE_INT <= number <= _MAX_SAFE_INT:
        return number
    as_float = float(number)
    if math.isfinite(as_float) and _format_number(as_float) == text:
        return as_float
    return number


_decode = json.JSONDecoder(
    object_pairs_hook=_object_pairs,
    parse_float=_parse_float,
    parse_int=_parse_int,
    parse_constant=_reject_constant,
    strict=True,  # RFC 8259 §7: unescaped control characters are not allowed in strings
).decode

# A \uD800..\uDFFF escape: JSON's only way to smuggle a lone surrogate into parsed text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _check_strings(value: Any) -> None:
    """Raise _Reject at the first string or key containing a surrogate code point."""
    if isinstance(value, str):
        _string(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_key(key)
            try:
                _check_strings(item)
            except _Reject as exc:
                exc.path.append(key)
                raise
    elif isinstance(value, list):
        for index, item in enumerate(value):
            try:
                _check_strings(item)
            except _Reject as exc:
                exc.path.append(index)
                raise


def parse_json(data: bytes | str) -> Any:
    """Parse one JSON text from untrusted input, strictly.

    ``bytes`` must be UTF-8 (RFC 8259 §8.1) without a byte order mark. Rejects, with
    :class:`CanonicalizationError` naming the problem: invalid UTF-8, syntax errors, trailing
    data, duplicate object keys at any depth, the ``NaN``/``Infinity``/``-Infinity`` literals,
    numbers overflowing a double, and lone surrogates (raw or as ``\\uD800``-style escapes) in
    strings and keys. Integers beyond ±(2**53 - 1) are returned as ``float`` when the literal is
    exactly a double's canonical form, otherwise as ``int`` (which :func:`canonicalize` rejects).
    """
    if isinstance(data, str):
        text = data
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise CanonicalizationError(
                    f"lone surrogate at character offset {exc.start}", offset=exc.start
                ) from None
    else:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CanonicalizationError(
                f"invalid UTF-8 at byte offset {exc.start}: {exc.reason}", offset=exc.start
            ) from None
    if text.startswith("\ufeff"):
        raise CanonicalizationError("byte order mark is not allowed (RFC 8259 §8.1)")
    try:
        value = _decode(text)
    except json.JSONDecodeError as exc:
        # Covers syntax errors and trailing garbage ("Extra data").
        raise CanonicalizationError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", offset=exc.pos
        ) from None
    except ValueError as exc:  # e.g. an integer literal beyond the interpreter's digit limit
        raise CanonicalizationError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise CanonicalizationError("JSON text is nested too deeply") from None
    # Only a \uD8xx..\uDFxx escape can produce a surrogate code point in decoded text; the
    # substring test is memchr-fast and skips the walk for almost every document.
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        try:
            _check_strings(value)
        except _Reject as exc:
            raise _to_error(exc) from None
        except RecursionError:
            raise CanonicalizationError("JSON text is nested too deeply") from None
    return value


_orjson_loads = orjson.loads
_OrjsonDecodeError = orjson.JSONDecodeError


def parse_canonical(data: bytes) -> tuple[Any, bytes]:
    """Parse untrusted JSON like :func:`parse_json`; return the value and its canonical bytes.

    Signers send canonical JSON, and such input is recognised with one C parse (orjson) and one
    serialization: when ``canonicalize(orjson.loads(data)) == data``, ``data`` is the RFC 8785
    image of a value, so it has no duplicate names (a duplicate would have been merged and the
    image would differ), no lone surrogates and no non-finite or unsafe numbers
    (:func:`canonicalize` refuses those), and :func:`parse_json` would return an equal value
    (both parsers round correctly, and a JCS number round-trips). Any other input, and anything
    either step refuses, goes through :func:`parse_json`, which raises the precise error.
    """
    try:
        value = _orjson_loads(data)
        canonical = canonicalize(value)
    except (_OrjsonDecodeError, CanonicalizationError, RecursionError):
        pass
    else:
        if canonical == data:
            return value, canonical
    value = parse_json(data)
    return value, canonicalize(value)
