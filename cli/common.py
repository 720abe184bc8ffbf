"""Shared CLI plumbing: settings from options, error mapping, JSON output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer

from passport.errors import ConfigurationError, LedgerStateError, StorageUnavailableError
from signing.errors import BpassError

if TYPE_CHECKING:
    from api.client import RemoteLedger
    from passport.settings import Settings
    from signing.keys import SigningKey

P = ParamSpec("P")
R = TypeVar("R")

EXIT_REJECTED = 1
EXIT_UNUSABLE = 2

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Database URL (default: $BPASS_DATABASE_URL, else SQLite in --home)."
    ),
]
HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Folder for the default SQLite ledger and the node's keys (default ./.bpass).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
ReaderKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key",
        help="With --server: the reader's private key; the node logs it in and serves what "
        "the actor it signs for is entitled to (without it: the public's view).",
    ),
]


def settings(db: str | None = None, home: Path | None = None, **options: Any) -> Settings:
    """Settings from the environment, overridden by command-line options (those given as None
    are not given). Built in one go, so derived settings (the public base URL from the host and
    port) follow the options."""
    from passport.settings import Settings

    overrides: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    if db:
        overrides["database_url"] = db
    if home:
        overrides["home"] = home
    return Settings(**overrides)


def fail(message: str, code: int = EXIT_REJECTED) -> NoReturn:
    """Print an error to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def exit_code_for(exc: BpassError) -> int:
    """Unusable set-up or input exits 2; a rejection by a rule exits 1."""
    return (
        EXIT_UNUSABLE
        if isinstance(exc, ConfigurationError | LedgerStateError | StorageUnavailableError)
        else EXIT_REJECTED
    )


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Map the domain's typed errors to a one-line message with its code and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except BpassError as exc:
            fail(f"[{exc.code}] {exc.message}", exit_code_for(exc))

    return wrapper


def read_bytes(path: Path) -> bytes:
    """Read an input file; exit 2 with a clear message if it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", EXIT_UNUSABLE)


def read_json_file(path: Path) -> Any:
    """Read and strictly parse a JSON input file; exit 2 if it is not usable JSON."""
    from signing.errors import CanonicalizationError
    from signing.jcs import parse_json

    data = read_bytes(path)
    try:
        return parse_json(data)
    except CanonicalizationError as exc:
        fail(f"{path} is not usable JSON: {exc.message}", EXIT_UNUSABLE)


def print_json(value: Any) -> None:
    """Pretty JSON on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def write_output(text: str, out: Path | None) -> None:
    """Write to ``out`` or stdout."""
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def choose(what: str, name: str, known: Iterable[str]) -> str:
    """The allowed value ``name`` spells (case-insensitively where unambiguous); otherwise a
    typed error suggesting the closest (``bpass passport export --format batterypas``)."""
    from passport.errors import NameUnknownError
    from passport.records.names import closest, match_name

    values = list(known)
    found = match_name(name, values)
    if found is None:
        raise NameUnknownError(what, name, closest(name, values), values)
    return found


def spelled(name: str, known: Iterable[str]) -> str:
    """``name`` as the known value it spells case-insensitively, else unchanged (for the domain
    to refuse with its own error code and a suggestion)."""
    from passport.records.names import match_name

    return match_name(name, known) or name


def remote(server: str) -> RemoteLedger:
    """The node at ``server`` through its HTTP API (:class:`api.client.RemoteLedger`)."""
    from api.client import RemoteLedger

    return RemoteLedger(server)


def reader_key(key: Path | None) -> SigningKey | None:
    """The reader's signing key for a remote read, if one was given."""
    if key is None:
        return None
    from passport.ledger.keystore import load_key

    return load_key(key)


def remote_passport_id(identifier: str) -> str:
    """A passport id a node's API takes; a Digital Link URI is resolved only by a local ledger."""
    ensure_config(
        identifier.startswith("urn:bpass:"),
        f"with --server give the passport id (urn:bpass:…), not {identifier!r}: a Digital "
        "Link URI is resolved by the node's own resolver (open it, or drop --server)",
    )
    return identifier


def ensure_config(condition: bool, message: str) -> None:
    """Raise a ConfigurationError unless ``condition``."""
    if not condition:
        raise ConfigurationError(message)
