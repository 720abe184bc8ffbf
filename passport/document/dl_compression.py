"""GS1 Digital Link URI compression (GS1 Digital Link standard 1.1+, "compressed" URI form).

A compressed Digital Link's path is one segment of base64url characters
(``A-Z a-z 0-9 - _``, 6 bits each, padded with zero bits) that encodes a sequence of GS1
Application Identifiers and their values in binary. Each entry starts with its AI as hex nibbles
(``01`` is the byte ``0x01``; how many digits the AI has follows from its first two, table "P"),
or with an optimisation byte that stands for a fixed sequence of AIs (``0x0C`` = AI 01 then
AI 21). Then each component of the AI's value:

* fixed-length numeric (GTIN, N14): the number in ``ceil(n·log2 10)`` bits (47 for 14 digits);
* variable-length alphanumeric (serial, X..20): a 3-bit encoding, the length in
  ``ceil(log2 max)`` bits (5 for 20), then the characters: ``000`` digits as one binary number,
  ``001``/``010`` lower/upper-case hex at 4 bits, ``011`` base64url at 6 bits, ``100`` ASCII at
  7 bits.

The tables are the subset of the standard's that a battery's GTIN link needs: AIs 01 (GTIN),
22 (CPV), 10 (lot), 21 (serial) and 17 (expiry, in the ``01 10 21 17`` optimisation), and the
optimisation codes that start with a GTIN and use only those. The algorithm and the test vectors
(``tests/test_gs1_resolver.py``) follow GS1's reference implementation
(github.com/gs1/GS1DigitalLinkCompressionPrototype). Anything else is refused, never guessed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from passport.document.ids import parse_battery_key
from passport.errors import DigitalLinkMalformedError

BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
HEX = "0123456789ABCDEF"
COMPRESSED = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class _Component:
    numeric: bool
    length: int  # the fixed length, or the maximum of a variable one
    fixed: bool


_N14 = _Component(numeric=True, length=14, fixed=True)
_N6 = _Component(numeric=True, length=6, fixed=True)
_X20 = _Component(numeric=False, length=20, fixed=False)

AIS: dict[str, tuple[_Component, ...]] = {
    "01": (_N14,),
    "10": (_X20,),
    "17": (_N6,),
    "21": (_X20,),
    "22": (_X20,),
}
"""The AIs decoded here and the format of their values (the standard's table "F")."""

OPTIMISATIONS: dict[int, tuple[str, ...]] = {
    0x0A: ("01", "22"),
    0x0B: ("01", "10"),
    0x0C: ("01", "21"),
    0x1A: ("01", "10", "21", "17"),
}
"""Optimisation bytes (the standard's table "Opt") whose AIs are all in :data:`AIS`."""


def value_bits(digits: int) -> int:
    """Bits of a ``digits``-digit number: ceil(digits × log2 10)."""
    return math.ceil(digits * math.log2(10) + 0.01)


def length_bits(maximum: int) -> int:
    """Bits of the length of a value of at most ``maximum`` characters."""
    return math.ceil(math.log2(maximum) + 0.01)


class _Reader:
    def __init__(self, bits: str) -> None:
        self.bits = bits
        self.pos = 0

    def left(self) -> int:
        return len(self.bits) - self.pos

    def take(self, n: int) -> int:
        if n > self.left():
            raise DigitalLinkMalformedError("the compressed link ends inside a value")
        chunk = self.bits[self.pos : self.pos + n]
        self.pos += n
        return int(chunk, 2) if chunk else 0


def _digits(reader: _Reader, count: int) -> str:
    number = reader.take(value_bits(count))
    text = str(number).rjust(count, "0")
    if len(text) != count:
        raise DigitalLinkMalformedError("a numeric value is longer than its length")
    return text


def _characters(reader: _Reader, encoding: int, count: int) -> str:
    if encoding == 0:
        return _digits(reader, count)
    if encoding in (1, 2):
        text = "".join(HEX[reader.take(4)] for _ in range(count))
        return text.lower() if encoding == 1 else text
    if encoding == 3:
        return "".join(BASE64URL[reader.take(6)] for _ in range(count))
    if encoding == 4:
        return "".join(chr(reader.take(7)) for _ in range(count))
    raise DigitalLinkMalformedError(f"unknown value encoding {encoding:03b} in a compressed link")


def _value(reader: _Reader, ai: str) -> str:
    parts = []
    for component in AIS[ai]:
        if component.numeric and component.fixed:
            parts.append(_digits(reader, component.length))
            continue
        encoding = reader.take(3)
        count = reader.take(length_bits(component.length))
        if count == 0 or count > component.length:
            raise DigitalLinkMalformedError(f"AI ({ai}) has length {count}")
        parts.append(_characters(reader, encoding, count))
    return "".join(parts)


def decompress(segment: str) -> dict[str, str]:
    """The AIs and values of a compressed Digital Link path segment (without the slash).

    Raises :class:`DigitalLinkMalformedError` for characters outside base64url, an AI or
    optimisation code outside the tables here, a value cut short, or an AI given twice.
    """
    if not COMPRESSED.match(segment):
        raise DigitalLinkMalformedError("a compressed Digital Link holds base64url characters only")
    reader = _Reader("".join(format(BASE64URL.index(c), "06b") for c in segment))
    found: dict[str, str] = {}
    while reader.left() > 8:  # what is left at the end is the zero padding to 6 bits
        head = reader.take(8)
        high, low = head >> 4, head & 0xF
        if high <= 9 and low <= 9:
            ai = f"{high}{low}"
            if ai not in AIS:
                raise DigitalLinkMalformedError(f"AI ({ai}) is not supported in a compressed link")
            sequence: tuple[str, ...] = (ai,)
        elif head in OPTIMISATIONS:
            sequence = OPTIMISATIONS[head]
        else:
            raise DigitalLinkMalformedError(
                f"code {head:02X} is not supported in a compressed link"
            )
        for ai in sequence:
            if ai in found:
                raise DigitalLinkMalformedError(f"AI ({ai}) appears twice")
            found[ai] = _value(reader, ai)
    if not found:
        raise DigitalLinkMalformedError("the compressed link holds no Application Identifier")
    return found


# -- compression (the inverse, for GTIN + serial) ------------------------------------------------
def _encoding(text: str) -> int:
    if text.isdigit() and text.isascii():
        return 0
    if re.fullmatch(r"[0-9A-F]+", text):
        return 2
    if re.fullmatch(r"[0-9a-f]+", text):
        return 1
    if COMPRESSED.match(text):
        return 3
    return 4


def _encode_text(text: str, maximum: int) -> str:
    encoding = _encoding(text)
    bits = format(encoding, "03b") + format(len(text), f"0{length_bits(maximum)}b")
    if encoding == 0:
        return bits + format(int(text), f"0{value_bits(len(text))}b")
    if encoding in (1, 2):
        return bits + "".join(format(HEX.index(c.upper()), "04b") for c in text)
    if encoding == 3:
        return bits + "".join(format(BASE64URL.index(c), "06b") for c in text)
    return bits + "".join(format(ord(c), "07b") for c in text)


def key_bits(gtin: str, serial: str) -> str:
    """The binary string of GTIN + serial (AI 01 then AI 21, no optimisation code), unpadded."""
    if len(gtin) != 14 or not gtin.isdigit():
        raise ValueError("need a GTIN-14")
    if not 1 <= len(serial) <= 20 or not all(32 < ord(c) < 127 for c in serial):
        raise ValueError("need a serial of 1 to 20 printable ASCII characters")
    bits = "00000001" + format(int(gtin), f"0{value_bits(14)}b")
    return bits + "00100001" + _encode_text(serial, 20)


def to_base64url(bits: str) -> str:
    """A binary string, padded with zero bits to a multiple of 6, in base64url characters."""
    bits += "0" * (-len(bits) % 6)
    return "".join(BASE64URL[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def compress(gtin: str, serial: str) -> str:
    """The compressed path segment of GTIN + serial, as GS1's reference compressor writes it
    without optimisation codes."""
    return to_base64url(key_bits(gtin, serial))


def battery_key(segment: str) -> tuple[str, str] | None:
    """(GTIN-14, serial) of a compressed battery link; None when it decodes to other keys (a
    GTIN alone, a lot, …: well-formed, but no battery is identified by them here)."""
    ais = decompress(segment)
    if set(ais) != {"01", "21"}:
        return None
    return parse_battery_key(ais["01"], ais["21"])
