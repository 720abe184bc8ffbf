"""C2SP signed notes (Ed25519) and C2SP tlog-checkpoint bodies.

A signed note is a UTF-8 text ending in a newline, a blank line, then one or more signature lines
``— <key name> base64(key ID || signature)``. A checkpoint is a note whose text is the origin, the
decimal tree size, the base64 root hash and optional extension lines.

This module is pure: it parses, formats, signs through a caller-supplied :class:`NoteSigner` and
verifies; it performs no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from signing import ed25519
from signing.errors import NoteError, SignatureError

__all__ = [
    "MAX_SIGNATURES",
    "Checkpoint",
    "NoteSigner",
    "key_id",
    "open_checkpoint",
    "open_note",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "verifier_key",
]

MAX_SIGNATURES = 100
"""Maximum signature lines accepted in one note (signed-note §Format requires at least 16)."""

_ED25519_TYPE = b"\x01"  # signed-note §Signature types: 0x01 = Ed25519
_PUBLIC_KEY_SIZE = 32
_SIGNATURE_SIZE = 64
_KEY_ID_SIZE = 4
_SIG_PREFIX = "\u2014 "  # signed-note §Format: em dash (U+2014), space
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")
_MAX_TREE_SIZE = 2**64 - 1


class NoteSigner(Protocol):
    """An Ed25519 signing key: signs raw bytes and exposes its 32-byte public key."""

    @property
    def public_key_bytes(self) -> bytes:
        """The 32-byte RFC 8032 encoding of the public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``."""
        ...


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _b64decode(value: str, what: str) -> bytes:
    """Strict RFC 4648 §4 base64: standard alphabet, padding required, canonical encoding."""
    try:
        decoded = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise NoteError(f"{what} is not valid base64") from None
    if base64.b64encode(decoded).decode("ascii") != value:
        raise NoteError(f"{what} is not canonical base64")
    return decoded


def _b64encode(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _check_name(name: str) -> None:
    """signed-note §Format: key names are non-empty, without Unicode spaces or plus signs."""
    if not isinstance(name, str) or not name:
        raise NoteError("key name must be a non-empty string")
    for char in name:
        if (
            char == "+"
            or char.isspace()
            or unicodedata.category(char) == "Zs"
            or ord(char) < 0x20
            or ord(char) == 0x7F
        ):
            raise NoteError("key name contains a space, '+' or control character", name=name)


def _check_chars(text: str, what: str) -> None:
    """signed-note §Format: valid UTF-8 without ASCII control characters other than newline."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError(f"{what} is not valid UTF-8") from None
    for char in text:
        if ord(char) < 0x20 and char != "\n":
            raise NoteError(f"{what} contains an ASCII control character", code_point=ord(char))


def _check_public_key(public_key: bytes) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != _PUBLIC_KEY_SIZE:
        raise NoteError(f"Ed25519 public key must be {_PUBLIC_KEY_SIZE} bytes")


def _verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """RFC 8032 §5.1.7 Ed25519 verification; False for any failure."""
    try:
        ed25519.verify(public_key, message, signature)
    except SignatureError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Keys
# --------------------------------------------------------------------------------------------


def key_id(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte key ID ``SHA-256(name || 0x0A || 0x01 || public_key)[:4]``.

    signed-note §Ed25519 signatures.
    """
    _check_name(name)
    _check_public_key(public_key)
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + _ED25519_TYPE + public_key).digest()
    return digest[:_KEY_ID_SIZE]


def verifier_key(name: str, public_key: bytes) -> str:
    """Return the verifier key string ``name+hex8(key ID)+base64(0x01 || public_key)``."""
    return f"{name}+{key_id(name, public_key).hex()}+{_b64encode(_ED25519_TYPE + public_key)}"


def parse_verifier_key(vkey: str) -> tuple[str, bytes, bytes]:
    """Parse a verifier key string into ``(name, key_id, public_key)``.

    Raises :class:`NoteError` if it is malformed, not Ed25519, or its key ID does not match.
    """
    if not isinstance(vkey, str):
        raise NoteError("verifier key must be a string")
    # The name cannot contain '+', but the base64 key can: split at the first two only.
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise NoteError("verifier key must have the form name+keyid+key")
    name, id_hex, key_b64 = parts
    _check_name(name)
    if len(id_hex) != 2 * _KEY_ID_SIZE or any(c not in "0123456789abcdef" for c in id_hex):
        raise NoteError("verifier key ID must be 8 lowercase hex digits", name=name)
    key = _b64decode(key_b64, "verifier key")
    if len(key) != 1 + _PUBLIC_KEY_SIZE or key[:1] != _ED25519_TYPE:
        raise NoteError("verifier key is not an Ed25519 (type 0x01) key", name=name)
    public_key = key[1:]
    expected = key_id(name, public_key)
    if bytes.fromhex(id_hex) != expected:
        raise NoteError("verifier key ID does not match its name and key", name=name, key_id=id_hex)
    return name, expected, public_key


# --------------------------------------------------------------------------------------------
# Notes
# --------------------------------------------------------------------------------------------


def _check_text(text: str) -> None:
    if not isinstance(text, str):
        raise NoteError("note text must be a string")
    # signed-note §Format: the text ends in a newline.
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_chars(text, "note text")


def sign_note(text: str, name: str, signer: NoteSigner) -> str:
    """Sign ``text`` with ``signer`` under key ``name`` and return the signed note."""
    _check_text(text)
    public_key = signer.public_key_bytes
    kid = key_id(name, public_key)
    # signed-note §Ed25519 signatures: RFC 8032 signature over the note text.
    signature = signer.sign(text.encode("utf-8"))
    if not isinstance(signature, bytes) or len(signature) != _SIGNATURE_SIZE:
        raise NoteError(f"signer returned a signature that is not {_SIGNATURE_SIZE} bytes")
    # signed-note §Format: text, blank line, "— name base64(keyID || signature)\n".
    return f"{text}\n{_SIG_PREFIX}{name} {_b64encode(kid + signature)}\n"


def open_note(note: str, verifier_keys: Sequence[str]) -> str:
    """Verify ``note`` against ``verifier_keys`` and return its text.

    Signatures by unknown keys are ignored; a known key whose signature fails rejects the whole
    note; at least one known key must have signed. Raises :class:`NoteError` otherwise or if the
    note or any verifier key is malformed.
    """
    known: dict[tuple[str, bytes], bytes] = {}
    for vkey in verifier_keys:
        name, kid, public_key = parse_verifier_key(vkey)
        previous = known.setdefault((name, kid), public_key)
        if previous != public_key:
            raise NoteError("two verifier keys share a name and key ID", name=name)

    if not isinstance(note, str):
        raise NoteError("note must be a string")
    _check_chars(note, "note")
    if not note.endswith("\n"):
        raise NoteError("note must end with a newline")
    # signed-note §Format: the text is separated from the signatures by the last empty line.
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    lines = signature_block[:-1].split("\n") if signature_block else []
    if not lines:
        raise NoteError("note has no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("note has too many signatures", count=len(lines), limit=MAX_SIGNATURES)

    message = text.encode("utf-8")
    verified: set[tuple[str, bytes]] = set()
    for line in lines:
        # signed-note §Format: em dash, space, key name, space, base64 signature.
        if not line.startswith(_SIG_PREFIX):
            raise NoteError("signature line does not start with an em dash and a space")
        fields = line[len(_SIG_PREFIX) :].split(" ")
        if len(fields) != 2:
            raise NoteError("signature line must be '— <name> <base64>'")
        name, sig_b64 = fields
        _check_name(name)
        blob = _b64decode(sig_b64, "signature")
        # signed-note §Format: 4-byte big-endian key ID followed by the signature.
        if len(blob) <= _KEY_ID_SIZE:
            raise NoteError("signature is too short to hold a key ID", name=name)
        kid, signature = blob[:_KEY_ID_SIZE], blob[_KEY_ID_SIZE:]
        trusted_key = known.get((name, kid))
        if trusted_key is None:
            continue  # signed-note §Signatures: verifiers MUST ignore unknown keys
        if (name, kid) in verified:
            continue  # a repeated signature by the same key adds nothing
        # signed-note §Signatures: if a known key's signature fails, reject the whole note.
        if not _verify_ed25519(trusted_key, message, signature):
            raise NoteError("note signature does not verify", name=name, key_id=kid.hex())
        verified.add((name, kid))
    # signed-note §Signatures: reject unless some known key's signature verifies.
    if not verified:
        raise NoteError("note is not signed by any known key")
    return text


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint body: origin, tree size, root hash and extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Validate the fields against C2SP tlog-checkpoint §Note text."""
        if not isinstance(self.extensions, tuple):
            raise NoteError("checkpoint extensions must be a tuple")
        for position, line in enumerate((self.origin, *self.extensions)):
            what = "origin" if position == 0 else f"extension line {position}"
            if not isinstance(line, str) or not line:
                raise NoteError(f"checkpoint {what} must be a non-empty string")
            if "\n" in line:
                raise NoteError(f"checkpoint {what} must not contain a newline")
            _check_chars(line, f"checkpoint {what}")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise NoteError("checkpoint size must be an integer")
        if not 0 <= self.size <= _MAX_TREE_SIZE:
            raise NoteError("checkpoint size is out of range", size=self.size)
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != 32:
            raise NoteError("checkpoint root hash must be 32 bytes")

    def to_text(self) -> str:
        """Return the note text: origin, size, base64 root and extension lines, each + newline."""
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text strictly; raise :class:`NoteError` if malformed."""
        if not isinstance(text, str) or not text.endswith("\n"):
            raise NoteError("checkpoint text must end with a newline")
        _check_chars(text, "checkpoint text")
        # C2SP tlog-checkpoint §Note text: at least three non-empty lines.
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("checkpoint needs origin, size and root hash lines")
        if any(not line for line in lines):
            raise NoteError("checkpoint lines must be non-empty")
        origin, size_text, root_text, *extensions = lines
        # Line 2: ASCII decimal, no leading zeroes unless the tree is empty.
        if not _SIZE_RE.fullmatch(size_text):
            raise NoteError("checkpoint size is not a canonical decimal number", size=size_text)
        size = int(size_text)
        if size > _MAX_TREE_SIZE:
            raise NoteError("checkpoint size is out of range", size=size_text)
        # Line 3: base64 of the RFC 6962 root hash.
        root_hash = _b64decode(root_text, "checkpoint root hash")
        return cls(origin, size, root_hash, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, name: str, signer: NoteSigner) -> str:
    """Return ``checkpoint`` as a note signed by ``signer`` under key ``name``."""
    return sign_note(checkpoint.to_text(), name, signer)


def open_checkpoint(note: str, verifier_keys: Sequence[str]) -> Checkpoint:
    """Verify a signed checkpoint note and parse its text."""
    return Checkpoint.from_text(open_note(note, verifier_keys))
