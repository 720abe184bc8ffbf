"""Selective disclosure by salted digests: RFC 9901 (SD-JWT) Disclosures and their processing,
applied to the ledger's JSON records instead of a JWT payload.

A member of a JSON object is *concealed* by removing it and adding the digest of its Disclosure
to the object's ``_sd`` array (RFC 9901 §4.2.4.1); an array element by replacing it with
``{"...": digest}`` (§4.2.4.2). A Disclosure is the base64url encoding of the JSON array
``[salt, name, value]`` (or ``[salt, value]`` for an array element, §4.2.1-4.2.2); its digest is
the base64url SHA-256 of that ASCII string (§4.2.3). The signed record carries only digests; the
Disclosures travel beside it, and whoever holds one can check it against the signature without
learning the other members. A salt of 128 random bits (§9.3) keeps a digest from confirming a
guessed value.

Encoding: this module writes the array as RFC 8785 canonical JSON (any JSON is allowed, §4.2.1,
and the digest is over the string as given, so Disclosures from other encoders are accepted).

Pure: no I/O. Salts come from the caller's generator (``secrets`` by default).
"""

from __future__ import annotations

import binascii
import hashlib
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from signing.errors import CanonicalizationError, DisclosureError, DisclosureMismatchError
from signing.jcs import canonicalize, parse_canonical

__all__ = [
    "ARRAY_DIGEST",
    "SALT_BYTES",
    "SD",
    "SD_ALG",
    "SHA_256",
    "Disclosure",
    "conceal",
    "digest",
    "make_disclosure",
    "new_salt",
    "parse_disclosure",
    "reveal",
]

SD = "_sd"
"""The member holding an object's concealed members' digests (RFC 9901 §4.2.4.1)."""
SD_ALG = "_sd_alg"
"""The member naming the digest algorithm (§4.1.1); only ``sha-256`` is used here."""
ARRAY_DIGEST = "..."
"""The only member of an object standing in for a concealed array element (§4.2.4.2)."""
SHA_256 = "sha-256"
SALT_BYTES = 16
"""128 bits of salt, RFC 9901 §9.3's recommended minimum; shorter salts are refused."""

_RESERVED = frozenset({SD, ARRAY_DIGEST})
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


# base64url through binascii and a byte translation: the stdlib's ``urlsafe_b64*`` wrappers
# cost more than the coding itself on strings this short, and every append of a confidential
# record decodes, and re-encodes to check, two strings per Disclosure.
_TO_URL = bytes.maketrans(b"+/", b"-_")
_FROM_URL = bytes.maketrans(b"-_", b"+/")


def _b64url(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URL).rstrip(b"=").decode("ascii")


# RFC 4648 §3.5: canonical encoders set the pad bits to zero, so the last character of a string
# of length 4k+2 carries a multiple of 16 and of length 4k+3 a multiple of 4. Checking that
# character decides canonical form without encoding the bytes again.
_CANONICAL_LAST = {0: None, 2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


def _b64url_size(text: str, what: str) -> int:
    """The number of bytes ``text`` encodes, once it is checked to be canonical base64url
    without padding (:class:`DisclosureError` otherwise)."""
    rest = len(text) % 4
    if rest == 1 or not _B64URL.fullmatch(text):
        raise DisclosureError(f"{what} is not base64url without padding")
    last = _CANONICAL_LAST[rest]
    if last is not None and text[-1] not in last:
        raise DisclosureError(f"{what} is not canonical base64url")
    return len(text) * 3 // 4


def _unb64url(text: str, what: str) -> bytes:
    _b64url_size(text, what)
    padded = (text + "=" * (-len(text) % 4)).encode("ascii").translate(_FROM_URL)
    try:
        return binascii.a2b_base64(padded, strict_mode=True)
    except (binascii.Error, ValueError):  # pragma: no cover - the checks above exclude it
        raise DisclosureError(f"{what} is not base64url without padding") from None


def new_salt(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A fresh salt: 128 random bits, base64url."""
    return _b64url(random_bytes(SALT_BYTES))


def digest(disclosure: str) -> str:
    """The digest of a Disclosure: base64url(SHA-256(ASCII(disclosure))) (RFC 9901 §4.2.3)."""
    return _b64url(hashlib.sha256(disclosure.encode("ascii")).digest())


class Disclosure(NamedTuple):
    """A parsed Disclosure: its encoded form (what the digest is over), salt, member name
    (None for an array element), value and digest. A named tuple: built for every Disclosure a
    node or a verifier reads, and a frozen dataclass cost twice as much to build."""

    encoded: str
    salt: str
    name: str | None
    value: Any
    digest: str


def make_disclosure(name: str | None, value: Any, salt: str | None = None) -> Disclosure:
    """The Disclosure of one object member (``name``) or array element (``name`` None)."""
    if name is not None and name in _RESERVED:
        raise DisclosureError(f"a concealed member may not be named {name!r} (RFC 9901 §4.2.1)")
    salt = new_salt() if salt is None else salt
    parts: list[Any] = [salt, value] if name is None else [salt, name, value]
    try:
        encoded = _b64url(canonicalize(parts))
    except CanonicalizationError as exc:
        raise DisclosureError(f"the value of {name!r} is not JSON: {exc.message}") from None
    return Disclosure(encoded, salt, name, value, digest(encoded))


def parse_disclosure(encoded: str) -> Disclosure:
    """Parse and check one Disclosure (RFC 9901 §7.1 step 3.2): base64url of a JSON array of a
    salt, a member name that is not reserved, and a value; or of a salt and a value."""
    if not isinstance(encoded, str):
        raise DisclosureError("a disclosure is a base64url string")
    try:
        parts, _ = parse_canonical(_unb64url(encoded, "a disclosure"))
    except CanonicalizationError as exc:
        raise DisclosureError(f"a disclosure is not one JSON text: {exc.message}") from None
    if not isinstance(parts, list) or len(parts) not in (2, 3):
        raise DisclosureError(
            "a disclosure is a JSON array of [salt, name, value] or [salt, value]"
        )
    salt = parts[0]
    if not isinstance(salt, str):
        raise DisclosureError("a disclosure's salt is a string")
    if _b64url_size(salt, "a disclosure's salt") < SALT_BYTES:
        raise DisclosureError(f"a disclosure's salt has fewer than {SALT_BYTES * 8} bits")
    name: str | None = None
    if len(parts) == 3:
        name = parts[1]
        if not isinstance(name, str):
            raise DisclosureError("a disclosure's member name is a string")
        if name in _RESERVED:
            raise DisclosureError(f"a disclosure may not name the member {name!r}")
    return Disclosure(encoded, salt, name, parts[-1], digest(encoded))


def conceal(
    obj: Mapping[str, Any],
    public: Iterable[str],
    *,
    salt: Callable[[], str] = new_salt,
) -> tuple[dict[str, Any], list[Disclosure]]:
    """Conceal every member of ``obj`` not named in ``public`` (deny by default): the result
    keeps the public members and lists the concealed ones' digests, sorted so their order says
    nothing, in ``_sd``; the Disclosures are returned beside it in member order."""
    keep = frozenset(public)
    if SD in obj or ARRAY_DIGEST in obj:
        raise DisclosureError(f"the object already has a {SD!r} or {ARRAY_DIGEST!r} member")
    out: dict[str, Any] = {}
    disclosures: list[Disclosure] = []
    for name, value in obj.items():
        if name in keep:
            out[name] = value
        else:
            disclosures.append(make_disclosure(name, value, salt()))
    if disclosures:
        out[SD] = sorted(d.digest for d in disclosures)
    return out, disclosures


def reveal(
    obj: Mapping[str, Any], disclosures: Sequence[str | Disclosure], *, top_level: bool = True
) -> dict[str, Any]:
    """Process ``obj`` with the given Disclosures as RFC 9901 §7.1 steps 3-5 do: every digest
    answered by a Disclosure is replaced by its member or element (recursively: a disclosed
    value may conceal members of its own); unanswered digests are dropped; ``_sd`` and, at the
    top level, ``_sd_alg`` are removed.

    Refused (:class:`DisclosureError`): an unknown ``_sd_alg``, a digest that appears twice, a
    Disclosure of the wrong form for its place, a disclosed member whose name the object
    already has. A Disclosure no digest refers to (tampered, guessed, or from another record)
    is refused with :class:`DisclosureMismatchError`.
    """
    if top_level:
        alg = obj.get(SD_ALG, SHA_256)
        if alg != SHA_256:
            raise DisclosureError(f"digest algorithm {alg!r} is not supported (only sha-256)")
    parsed: dict[str, Disclosure] = {}
    for given in disclosures:  # encoded, or already parsed by the caller
        d = given if isinstance(given, Disclosure) else parse_disclosure(given)
        parsed.setdefault(d.digest, d)
    state = _Reveal(parsed)
    result = state.object(obj, top_level=top_level)
    unused = set(parsed) - state.used
    if unused:
        raise DisclosureMismatchError(
            f"{len(unused)} disclosure(s) answer no digest of this record",
            digests=sorted(unused),
        )
    return result


class _Reveal:
    """One run of :func:`reveal`: the Disclosures by digest and the digests seen so far."""

    def __init__(self, disclosures: Mapping[str, Disclosure]) -> None:
        self.disclosures = disclosures
        self.seen: set[str] = set()
        self.used: set[str] = set()

    def _take(self, value: Any) -> Disclosure | None:
        if not isinstance(value, str):
            raise DisclosureError("a digest is a string")
        if value in self.seen:  # §7.1 step 4: a digest may appear once only
            raise DisclosureError(f"the digest {value} appears more than once")
        self.seen.add(value)
        found = self.disclosures.get(value)
        if found is not None:
            self.used.add(value)
        return found

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return self.object(value, top_level=False)
        if isinstance(value, list):
            return self.array(value)
        return value

    def object(self, obj: Mapping[str, Any], *, top_level: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, member in obj.items():
            if name == SD or (top_level and name == SD_ALG):
                continue
            out[name] = self.value(member)
        digests = obj.get(SD, [])
        if not isinstance(digests, list):
            raise DisclosureError(f"{SD!r} is an array of digests")
        for item in digests:
            d = self._take(item)
            if d is None:
                continue  # undisclosed (or a decoy): it stays concealed
            if d.name is None:
                raise DisclosureError("an array element's disclosure answers an object's digest")
            if d.name in out:  # §7.1 step 3.3.2.2: no overwriting a member that is there
                raise DisclosureError(f"the disclosed member {d.name!r} is already present")
            out[d.name] = self.value(d.value)
        return out

    def array(self, items: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for item in items:
            if isinstance(item, dict) and len(item) == 1 and ARRAY_DIGEST in item:
                d = self._take(item[ARRAY_DIGEST])
                if d is None:
                    continue  # §7.1 step 3.4: an undisclosed element is removed
                if d.name is not None:
                    raise DisclosureError("an object member's disclosure answers an element digest")
                out.append(self.value(d.value))
            else:
                out.append(self.value(item))
        return out
