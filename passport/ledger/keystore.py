"""Private key files: PKCS#8 PEM, mode 0600, optionally passphrase-encrypted.

This is the I/O around :class:`signing.keys.SigningKey`, which itself never touches a file.
The passphrase, when used, comes from the ``BPASS_KEY_PASSPHRASE`` environment variable so that it
never appears on a command line or in shell history.
"""

from __future__ import annotations

import os
from pathlib import Path

from passport.errors import ConfigurationError
from signing.errors import KeyFormatError
from signing.keys import SigningKey

PASSPHRASE_ENV = "BPASS_KEY_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)


def _passphrase(explicit: bytes | None) -> bytes | None:
    if explicit is not None:
        return explicit
    env = os.environ.get(PASSPHRASE_ENV)
    return env.encode("utf-8") if env else None


def save_key(key: SigningKey, path: Path, *, passphrase: bytes | None = None) -> None:
    """Write ``key`` to a new file readable by its owner only; refuses to overwrite."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.to_pem(_passphrase(passphrase))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise ConfigurationError(f"{path} exists; refusing to overwrite a key file") from exc
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def load_key(path: Path, *, passphrase: bytes | None = None) -> SigningKey:
    """Read a key file written by :func:`save_key` (or any Ed25519 PKCS#8 PEM)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read key file {path}: {exc.strerror}") from exc
    try:
        return SigningKey.from_pem(data, _passphrase(passphrase))
    except KeyFormatError as exc:
        raise ConfigurationError(f"{path}: {exc.message}") from exc


def load_or_create(path: Path) -> tuple[SigningKey, bool]:
    """Load the key at ``path``, creating it first if absent. Returns (key, created)."""
    if path.exists():
        return load_key(path), False
    key = SigningKey.generate()
    save_key(key, path)
    return key, True
