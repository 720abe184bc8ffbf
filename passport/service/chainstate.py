"""The issuer's chain as this machine last signed it: ``KEY.chain`` beside the key file.

``bpass record new --out`` signs a record without appending it. Continuing from the ledger's head
each time, three records signed ahead would all claim the same sequence; this state (issuer,
sequence and hash of the last record signed with the key here) lets each continue from the one
before, so a month can be signed offline and appended later, in order.

Which head a new record continues (:func:`resolve_head`):

- no state, or state of another issuer: the ledger's head;
- the ledger is ahead of the state (records signed elsewhere were appended): the ledger's head;
- the same sequence: the hashes must agree, else :class:`ChainStateConflictError` names both;
- the state is ahead of the ledger (signed ahead, not yet appended): the state.

Offline, the state alone is used. The file also keeps ``bpass import``'s journal (see
:mod:`passport.service.imports`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, overload

from passport.errors import ChainStateConflictError, ConfigurationError
from passport.records.confidential import Confidential
from passport.records.envelope import dumps, parse_record, record_hash, sign_next
from signing.keys import SigningKey


class ChainSource(Protocol):
    """What signing needs of a ledger, local or remote."""

    def issuer_for_key(self, key: SigningKey) -> str: ...

    def chain_head(self, issuer: str) -> tuple[int, str | None]: ...


@dataclass
class ChainState:
    """The last record signed with a key on this machine, and the import journal."""

    issuer: str
    sequence: int
    hash: str | None
    imports: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def head(self) -> tuple[int, str | None]:
        return self.sequence, self.hash


def state_path(key_path: Path) -> Path:
    """``KEY.chain``: the state file beside the key file."""
    return key_path.with_name(key_path.name + ".chain")


def load_state(key_path: Path) -> ChainState | None:
    """The key's chain state, or None if it has none yet."""
    path = state_path(key_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read the chain state {path}: {exc}") from None
    try:
        return ChainState(
            str(data["issuer"]),
            int(data["sequence"]),
            data.get("hash"),
            dict(data.get("imports", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"the chain state {path} is malformed: {exc}") from None


def save_state(key_path: Path, state: ChainState) -> None:
    """Write the state atomically (a temporary file renamed over the old one)."""
    path = state_path(key_path)
    body: dict[str, Any] = {"issuer": state.issuer, "sequence": state.sequence, "hash": state.hash}
    if state.imports:
        body["imports"] = state.imports
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def resolve_head(
    state: ChainState | None, issuer: str, ledger_head: tuple[int, str | None]
) -> tuple[int, str | None]:
    """The head a new record of ``issuer`` continues, from the local state and the ledger's."""
    if state is None or state.issuer != issuer:
        return ledger_head
    sequence, digest = ledger_head
    if sequence > state.sequence:
        return ledger_head
    if sequence == state.sequence:
        if digest != state.hash:
            raise ChainStateConflictError(
                f"{issuer}'s record {sequence} is {digest} in the ledger but {state.hash} in "
                "the local chain state: the key signed two different records at one sequence; "
                "append the local one or pass --from-ledger to continue from the ledger",
                sequence=sequence,
                ledger_hash=digest,
                local_hash=state.hash,
            )
        return ledger_head
    return state.head


@overload
def sign_ahead(
    key: SigningKey,
    key_path: Path,
    kind: str,
    subject: dict[str, Any],
    *,
    ledger: ChainSource | None,
    from_ledger: bool = False,
    remember: bool = True,
    confidential: Literal[False] = False,
) -> dict[str, Any]: ...
@overload
def sign_ahead(
    key: SigningKey,
    key_path: Path,
    kind: str,
    subject: dict[str, Any],
    *,
    ledger: ChainSource | None,
    from_ledger: bool = False,
    remember: bool = True,
    confidential: Literal[True],
) -> Confidential: ...
def sign_ahead(
    key: SigningKey,
    key_path: Path,
    kind: str,
    subject: dict[str, Any],
    *,
    ledger: ChainSource | None,
    from_ledger: bool = False,
    remember: bool = True,
    confidential: bool = False,
) -> dict[str, Any] | Confidential:
    """A record of ``kind`` continuing the key's chain from :func:`resolve_head` (``ledger`` None:
    offline, from the local state alone); with ``remember`` the state then names it. With
    ``confidential``, the redacted record and its Disclosures: step 1 runs on the revealed
    subject, and the state names the redacted record (the one the ledger will hold)."""
    state = load_state(key_path)
    if ledger is None:
        if state is None:
            raise ConfigurationError(
                f"signing offline needs the chain state {state_path(key_path)}: sign one record "
                "with this key while the ledger is reachable first"
            )
        issuer, head = state.issuer, state.head
    else:
        issuer = ledger.issuer_for_key(key)
        ledger_head = ledger.chain_head(issuer)
        head = ledger_head if from_ledger else resolve_head(state, issuer, ledger_head)
    signed: dict[str, Any] | Confidential
    if confidential:
        signed = sign_next(key, kind, subject, issuer=issuer, head=head, confidential=True)
        record = signed.record
        parse_record(record, disclosures=signed.disclosures)  # step 1 before the state names it
    else:
        signed = record = sign_next(key, kind, subject, issuer=issuer, head=head)
        parse_record(record)  # step 1 (schemas) before the state names it
    if remember:
        note_signed(key_path, record)
    return signed


def note_signed(key_path: Path, record: dict[str, Any]) -> None:
    """Let the key's chain state name ``record`` as the last one it signed: after it was written
    out to be appended later, or after the ledger accepted it (never before an append that may
    still be refused: the next record would then skip a sequence the ledger never had)."""
    state = load_state(key_path)
    issuer = str(record["issuer"])
    imports = state.imports if state is not None and state.issuer == issuer else {}
    sequence = int(record["chain"]["sequence"])
    save_state(key_path, ChainState(issuer, sequence, record_hash(dumps(record)), imports))
