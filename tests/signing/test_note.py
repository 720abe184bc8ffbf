"""Tests for signing.note: C2SP signed notes and tlog-checkpoint bodies."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from signing.errors import NoteError
from signing.note import (
    MAX_SIGNATURES,
    Checkpoint,
    NoteSigner,
    key_id,
    open_checkpoint,
    open_note,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verifier_key,
)
from tests.helpers.vectors import load_json

EXAMPLE = load_json("signed-note/signed-note-example.json")
DASH = "\u2014"


class TestKey:
    """Test adapter: a cryptography Ed25519 key exposed as a NoteSigner."""

    __test__ = False  # not a pytest class

    def __init__(self, seed: int = 0) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)

    @property
    def public_key_bytes(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


class BadSigner(TestKey):
    """Returns a truncated signature."""

    __test__ = False

    def sign(self, message: bytes) -> bytes:
        return super().sign(message)[:63]


def _signer(seed: int = 1) -> NoteSigner:
    return TestKey(seed)


def _vkey(name: str, seed: int = 1) -> str:
    return verifier_key(name, TestKey(seed).public_key_bytes)


ROOT = bytes(range(32))


# ---------------------------------------------------------------------------------------------
# The C2SP example
# ---------------------------------------------------------------------------------------------


def test_example_verifies() -> None:
    assert open_note(EXAMPLE["note"], [EXAMPLE["vkey"]]) == "This is an example message.\n"


def test_example_verifier_key() -> None:
    name, kid, public_key = parse_verifier_key(EXAMPLE["vkey"])
    assert name == "example.com/foo"
    assert kid == bytes.fromhex("530d903a")
    assert key_id(name, public_key) == kid
    assert verifier_key(name, public_key) == EXAMPLE["vkey"]


def test_example_text_tampering_fails() -> None:
    note: str = EXAMPLE["note"]
    text_len = len("This is an example message.\n")
    for pos in range(text_len):
        replacement = "X" if note[pos] != "X" else "Y"
        tampered = note[:pos] + replacement + note[pos + 1 :]
        with pytest.raises(NoteError):
            open_note(tampered, [EXAMPLE["vkey"]])


def test_example_signature_tampering_fails() -> None:
    note: str = EXAMPLE["note"]
    prefix, b64 = note.rstrip("\n").rsplit(" ", 1)
    blob = base64.b64decode(b64)
    for bit in range(len(blob) * 8):
        mutated = bytearray(blob)
        mutated[bit // 8] ^= 1 << (bit % 8)
        tampered = f"{prefix} {base64.b64encode(bytes(mutated)).decode()}\n"
        with pytest.raises(NoteError):
            open_note(tampered, [EXAMPLE["vkey"]])


def test_example_wrong_vkey_fails() -> None:
    with pytest.raises(NoteError):
        open_note(EXAMPLE["note"], [_vkey("example.com/foo")])
    with pytest.raises(NoteError):
        open_note(EXAMPLE["note"], [_vkey("example.com/bar")])
    with pytest.raises(NoteError):
        open_note(EXAMPLE["note"], [])


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------


def test_verifier_key_round_trip() -> None:
    key = TestKey(7)
    vkey = verifier_key("log.example/a", key.public_key_bytes)
    name, kid, public_key = parse_verifier_key(vkey)
    assert (name, public_key) == ("log.example/a", key.public_key_bytes)
    assert kid == key_id("log.example/a", key.public_key_bytes)
    assert len(kid) == 4


def test_verifier_key_with_plus_in_base64() -> None:
    # Find a key whose base64 encoding contains '+', which must not confuse the parser.
    for seed in range(256):
        vkey = _vkey("n", seed)
        if "+" in vkey.split("+", 2)[2]:
            assert parse_verifier_key(vkey)[0] == "n"
            break
    else:  # pragma: no cover
        pytest.fail("no key with '+' in its base64 found")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda v: v.replace("+", "-", 1),  # no separators
        lambda v: v.split("+", 1)[0],  # name only
        lambda v: "+" + v.split("+", 1)[1],  # empty name
        lambda v: "a b" + v[v.index("+") :],  # space in name
        lambda v: "a\u00a0b" + v[v.index("+") :],  # Unicode space in name
        lambda v: v[: v.index("+") + 1] + "00000000" + v[v.index("+") + 9 :],  # key ID mismatch
        lambda v: v[: v.index("+") + 1] + "1234567" + v[v.index("+") + 9 :],  # short key ID
        lambda v: (
            v[: v.index("+") + 1]
            + v[v.index("+") + 1 : v.index("+") + 9].upper()
            + v[v.index("+") + 9 :]
        ),  # uppercase hex
        lambda v: v[:-1],  # truncated base64
        lambda v: v + "AA==",  # extra bytes
        lambda v: v.rsplit("+", 1)[0] + "+" + "!!!",  # not base64
    ],
)
def test_bad_verifier_keys(mutate: object) -> None:
    # A key whose ID has a hex letter (for the uppercase case) and whose base64 has no '+'.
    vkey = next(
        v
        for v in (_vkey("example.com/k", seed) for seed in range(1, 256))
        if any(c in "abcdef" for c in v.split("+")[1]) and v.count("+") == 2
    )
    assert callable(mutate)
    bad = mutate(vkey)
    assert bad != vkey
    with pytest.raises(NoteError):
        parse_verifier_key(bad)


def test_verifier_key_wrong_type_byte() -> None:
    public_key = TestKey(1).public_key_bytes
    blob = base64.b64encode(b"\x02" + public_key).decode()
    kid = key_id("n", public_key).hex()
    with pytest.raises(NoteError):
        parse_verifier_key(f"n+{kid}+{blob}")


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "a\u2003b", "a\nb"])
def test_bad_key_names(name: str) -> None:
    with pytest.raises(NoteError):
        key_id(name, TestKey().public_key_bytes)
    with pytest.raises(NoteError):
        sign_note("hello\n", name, _signer())


# ---------------------------------------------------------------------------------------------
# Signing and opening
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["hello\n", "\n", "multi\nline\n\nwith blank lines\n", "trailing blank\n\n", "ünïcødé ✓\n"],
)
def test_sign_open_round_trip(text: str) -> None:
    note = sign_note(text, "example.com/log", _signer())
    assert note.startswith(text + "\n" + DASH + " example.com/log ")
    assert open_note(note, [_vkey("example.com/log")]) == text


def test_multiple_signatures_and_unknown_keys() -> None:
    text = "cosigned\n"
    first = sign_note(text, "a.example", _signer(1))
    second = sign_note(text, "b.example", _signer(2))
    note = first + second[len(text) + 1 :]
    assert note.count(DASH) == 2
    assert open_note(note, [_vkey("a.example", 1)]) == text
    assert open_note(note, [_vkey("b.example", 2)]) == text
    assert open_note(note, [_vkey("a.example", 1), _vkey("b.example", 2)]) == text
    # Same name, different key: unknown, ignored; nothing else verifies.
    with pytest.raises(NoteError):
        open_note(note, [_vkey("a.example", 3)])
    # Unknown keys are ignored as long as one known key verifies.
    assert open_note(note, [_vkey("a.example", 3), _vkey("b.example", 2)]) == text


def test_known_key_with_bad_signature_rejects_note() -> None:
    text = "message\n"
    good = sign_note(text, "a.example", _signer(1))
    forged = sign_note("other\n", "b.example", _signer(2))
    note = good + forged[len("other\n") + 1 :]
    assert open_note(note, [_vkey("a.example", 1)]) == text  # b is unknown here
    with pytest.raises(NoteError):
        open_note(note, [_vkey("a.example", 1), _vkey("b.example", 2)])


def test_repeated_signature_is_accepted_once() -> None:
    note = sign_note("x\n", "a.example", _signer())
    sig_line = note[len("x\n\n") :]
    assert open_note(note + sig_line, [_vkey("a.example")]) == "x\n"


def test_key_id_mismatch_in_signature() -> None:
    note = sign_note("hello\n", "a.example", _signer())
    prefix, b64 = note.rstrip("\n").rsplit(" ", 1)
    blob = bytearray(base64.b64decode(b64))
    blob[0] ^= 0xFF
    with pytest.raises(NoteError, match="not signed by any known key"):
        open_note(f"{prefix} {base64.b64encode(bytes(blob)).decode()}\n", [_vkey("a.example")])


def test_duplicate_verifier_keys_allowed() -> None:
    vkey = _vkey("a.example")
    assert open_note(sign_note("x\n", "a.example", _signer()), [vkey, vkey]) == "x\n"


def test_sign_note_rejects_bad_input() -> None:
    with pytest.raises(NoteError):
        sign_note("no newline", "a", _signer())
    with pytest.raises(NoteError):
        sign_note("control \x01 char\n", "a", _signer())
    with pytest.raises(NoteError):
        sign_note("lone \ud800 surrogate\n", "a", _signer())
    with pytest.raises(NoteError):
        sign_note("x\n", "a", BadSigner())


def _valid_note() -> str:
    return sign_note("body line\n", "a.example", _signer())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda n: n.replace("\n\n", "\n"),  # no blank line
        lambda n: n[:-1],  # no final newline
        lambda n: n.replace(DASH, "-"),  # ASCII hyphen instead of em dash
        lambda n: n.replace(DASH + " ", DASH),  # no space after the dash
        lambda n: n.replace(" a.example ", " a.example  "),  # double space
        lambda n: n.replace(" a.example ", " a example "),  # space in name
        lambda n: n.replace(" a.example ", " a+example "),  # plus in name
        lambda n: n.replace(" a.example ", "  "),  # empty name
        lambda n: n[:-3] + "!\n",  # bad base64
        lambda n: n[:-2] + "\n",  # truncated base64 (bad padding)
        lambda n: n + "\n",  # trailing blank line: no signature lines
        lambda n: n.replace("body", "bo\x00dy"),  # control character
        lambda n: n.replace("body", "bo\rdy"),  # carriage return
        lambda n: n + "garbage\n",  # non-signature line
        lambda n: "body line\n\n",  # no signatures at all
        lambda n: n.rsplit(" ", 1)[0] + " " + base64.b64encode(b"abcd").decode() + "\n",  # short
    ],
)
def test_malformed_notes(mutate: object) -> None:
    note = _valid_note()
    assert callable(mutate)
    bad = mutate(note)
    assert bad != note
    with pytest.raises(NoteError):
        open_note(bad, [_vkey("a.example")])


def test_signature_limit() -> None:
    note = _valid_note()
    sig_line = note[len("body line\n\n") :]
    assert open_note(note + sig_line * (MAX_SIGNATURES - 1), [_vkey("a.example")])
    with pytest.raises(NoteError, match="too many"):
        open_note(note + sig_line * MAX_SIGNATURES, [_vkey("a.example")])


def test_non_canonical_base64_signature_rejected() -> None:
    note = sign_note("x\n", "a.example", _signer())
    prefix, b64 = note.rstrip("\n").rsplit(" ", 1)
    # 68 bytes -> base64 ends in one '=' with 2 unused bits; set one of them.
    assert b64.endswith("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(b64[-2])
    bumped = b64[:-2] + alphabet[last ^ 1] + "="
    assert base64.b64decode(bumped) == base64.b64decode(b64)
    with pytest.raises(NoteError, match="canonical"):
        open_note(f"{prefix} {bumped}\n", [_vkey("a.example")])


_NOTE_ALPHABET = st.sampled_from(["\n", " ", DASH, "a", "+", "=", "/", "\x00", "é", "A", "\r"])


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_random_text_only_raises_note_error(note: str) -> None:
    with pytest.raises(NoteError):
        open_note(note, [EXAMPLE["vkey"]])


@settings(max_examples=400, deadline=None)
@given(st.text(_NOTE_ALPHABET, max_size=60), st.text(_NOTE_ALPHABET, max_size=120))
def test_random_structured_notes_only_raise_note_error(text: str, tail: str) -> None:
    note = f"{text}\n\n{DASH} example.com/foo {tail}"
    with pytest.raises(NoteError):
        open_note(note, [EXAMPLE["vkey"]])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_random_verifier_keys_only_raise_note_error(vkey: str) -> None:
    with pytest.raises(NoteError):
        parse_verifier_key(vkey)


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=80))
def test_random_texts_round_trip(body: str) -> None:
    text = body + "\n"
    assert open_note(sign_note(text, "a.example", _signer()), [_vkey("a.example")]) == text


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------


def test_checkpoint_spec_example_parses() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = Checkpoint.from_text(text)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.extensions == ()
    assert cp.to_text() == text


def test_checkpoint_round_trip_with_extensions() -> None:
    cp = Checkpoint("log.example/1", 0, ROOT, ("ext one", "ext two"))
    text = cp.to_text()
    assert text == f"log.example/1\n0\n{base64.b64encode(ROOT).decode()}\next one\next two\n"
    assert Checkpoint.from_text(text) == cp


@settings(max_examples=200, deadline=None)
@given(
    origin=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40),
    size=st.integers(0, 2**64 - 1),
    root_hash=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20),
        max_size=3,
    ),
)
def test_checkpoint_round_trip_random(
    origin: str, size: int, root_hash: bytes, extensions: list[str]
) -> None:
    cp = Checkpoint(origin, size, root_hash, tuple(extensions))
    assert Checkpoint.from_text(cp.to_text()) == cp


_B64_ROOT = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"o\n01\n{_B64_ROOT}\n",  # leading zero
        f"o\n00\n{_B64_ROOT}\n",
        f"o\n-1\n{_B64_ROOT}\n",
        f"o\n+1\n{_B64_ROOT}\n",
        f"o\n 1\n{_B64_ROOT}\n",
        f"o\n1 \n{_B64_ROOT}\n",
        f"o\n1.0\n{_B64_ROOT}\n",
        f"o\n1_000\n{_B64_ROOT}\n",
        f"o\n\u0661\n{_B64_ROOT}\n",  # Arabic-Indic digit one
        f"o\n{2**64}\n{_B64_ROOT}\n",  # beyond uint64
        f"o\n\n{_B64_ROOT}\n",  # empty size
        f"\n1\n{_B64_ROOT}\n",  # empty origin
        f"o\n1\n{base64.b64encode(ROOT[:31]).decode()}\n",  # 31-byte root
        f"o\n1\n{base64.b64encode(ROOT + b'x').decode()}\n",  # 33-byte root
        f"o\n1\n{_B64_ROOT.rstrip('=')}\n",  # missing padding
        f"o\n1\n{_B64_ROOT}",  # no final newline
        f"o\n1\n{_B64_ROOT}\n\n",  # trailing empty line
        f"o\n1\n{_B64_ROOT}\next\n\nmore\n",  # empty extension line
        "o\n1\n",  # too few lines
        "",
        f"o\x01\n1\n{_B64_ROOT}\n",  # control character
    ],
)
def test_checkpoint_strict_parsing(text: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.from_text(text)


@pytest.mark.parametrize(
    ("origin", "size", "root_hash", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("a\nb", 1, ROOT, ()),
        ("o", -1, ROOT, ()),
        ("o", 2**64, ROOT, ()),
        ("o", True, ROOT, ()),
        ("o", 1, ROOT[:31], ()),
        ("o", 1, ROOT, ("",)),
        ("o", 1, ROOT, ("a\nb",)),
        ("o", 1, ROOT, ["list"]),
    ],
)
def test_checkpoint_constructor_validation(
    origin: str, size: int, root_hash: bytes, extensions: tuple[str, ...]
) -> None:
    with pytest.raises(NoteError):
        Checkpoint(origin, size, root_hash, extensions)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=150))
def test_random_checkpoint_text_only_raises_note_error(text: str) -> None:
    try:
        cp = Checkpoint.from_text(text)
    except NoteError:
        return
    assert cp.to_text() == text


def test_signed_checkpoint_round_trip() -> None:
    cp = Checkpoint("log.example/1", 42, ROOT)
    note = sign_checkpoint(cp, "log.example/1", _signer(5))
    assert note.startswith(cp.to_text() + "\n")
    assert open_checkpoint(note, [_vkey("log.example/1", 5)]) == cp
    with pytest.raises(NoteError):
        open_checkpoint(note, [_vkey("log.example/1", 6)])


def test_open_checkpoint_rejects_signed_non_checkpoint() -> None:
    note = sign_note("just text\n", "log.example/1", _signer())
    with pytest.raises(NoteError):
        open_checkpoint(note, [_vkey("log.example/1")])
