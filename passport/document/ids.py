"""Identifiers: the passport identifier, the battery's GS1 Digital Link URI, salts.

The battery identifier is a GS1 Digital Link URI ``https://{resolver}/01/{GTIN-14}/21/{serial}``
(Art. 13, 77(3)); the passport identifier is distinct from it, ``urn:bpass:<32 hex>``, so that a
repurposed battery's new passport gets a new passport identifier (Art. 77(7)).
"""

from __future__ import annotations

import re
import secrets

from passport.errors import DigitalLinkMalformedError

PASSPORT_ID = re.compile(r"^urn:bpass:[0-9a-f]{32}$")
SERIAL = re.compile(r"^[A-Za-z0-9._-]{1,20}$")
AI21_CHARS = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$")
"""GS1 AI 21 (serial number): 1 to 20 characters of GS1 AI encodable character set 82."""
GTIN_LENGTHS = (8, 12, 13, 14)
_LINK_TAIL = re.compile(r"/01/([0-9]{14})/21/([A-Za-z0-9._-]{1,20})$")


def new_passport_id() -> str:
    """A fresh random passport identifier."""
    return "urn:bpass:" + secrets.token_hex(16)


def new_salt() -> str:
    """128 random bits as hex: makes a confidential partition's hash unguessable."""
    return secrets.token_hex(16)


def gtin_check_digit(first13: str) -> int:
    """The GS1 mod-10 check digit for the first 13 digits of a GTIN-14."""
    if len(first13) != 13 or not first13.isdigit():
        raise ValueError("need 13 digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(first13))
    return (10 - total % 10) % 10


def valid_gtin14(gtin: str) -> bool:
    """14 digits whose last is the GS1 check digit of the others."""
    return len(gtin) == 14 and gtin.isdigit() and gtin_check_digit(gtin[:13]) == int(gtin[13])


def digital_link(base_url: str, gtin: str, serial: str) -> str:
    """The GS1 Digital Link URI of a battery under the resolver at ``base_url``."""
    if not valid_gtin14(gtin):
        raise ValueError(f"{gtin!r} is not a GTIN-14 with a valid check digit")
    if not SERIAL.match(serial):
        raise ValueError(f"{serial!r} is not a usable serial number")
    return f"{base_url.rstrip('/')}/01/{gtin}/21/{serial}"


def normalise_gtin(gtin: str) -> str:
    """A GTIN-8, -12, -13 or -14 as its GTIN-14 (zeros on the left do not change the check
    digit); :class:`DigitalLinkMalformedError` for any other length, a non-digit or a wrong
    check digit."""
    if not (gtin.isascii() and gtin.isdigit()) or len(gtin) not in GTIN_LENGTHS:
        raise DigitalLinkMalformedError(
            f"{gtin[:20]!r} is not a GTIN (8, 12, 13 or 14 digits)", gtin=gtin[:20]
        )
    padded = gtin.zfill(14)
    if not valid_gtin14(padded):
        raise DigitalLinkMalformedError(f"GTIN {gtin} has a wrong check digit", gtin=gtin)
    return padded


def parse_battery_key(gtin: str, serial: str) -> tuple[str, str]:
    """(GTIN-14, serial) of a Digital Link's key and qualifier, the GTIN normalised.

    :class:`DigitalLinkMalformedError` if the GTIN is malformed or the serial is not 1 to 20
    characters of GS1 character set 82 (AI 21). A well-formed serial outside the characters
    this ledger issues (:data:`SERIAL`) is no error here: it names no battery of ours.
    """
    gtin14 = normalise_gtin(gtin)
    if not AI21_CHARS.match(serial):
        raise DigitalLinkMalformedError(
            "a serial number (AI 21) is 1 to 20 characters of GS1 character set 82",
            serial=serial[:40],
        )
    return gtin14, serial


def parse_digital_link(uri: str) -> tuple[str, str] | None:
    """(GTIN-14, serial) from a Digital Link URI's path, or None if it has no such tail."""
    match = _LINK_TAIL.search(uri)
    return (match.group(1), match.group(2)) if match else None


def valid_cas(cas: str) -> bool:
    """A CAS registry number whose check digit is right (weighted digit sum mod 10)."""
    match = re.fullmatch(r"([0-9]{2,7})-([0-9]{2})-([0-9])", cas)
    if not match:
        return False
    digits = (match.group(1) + match.group(2))[::-1]
    return sum((i + 1) * int(d) for i, d in enumerate(digits)) % 10 == int(match.group(3))
