"""``bpass import``: records of one kind from a CSV, JSON Lines or XLSX file, one row a record.

1. Read the whole file (:func:`read_table`) and check every row
   (:func:`passport.records.tabular.parse_rows`): unknown columns, cell types and units, lot
   references (resolved through the ledger, local or remote), the kind's schema. Any problem:
   :class:`ImportInvalidError` listing each with its row and column; nothing is signed.
2. Sign every row in file order, continuing the issuer's chain
   (:mod:`passport.service.chainstate`): confidential by default for a kind with confidential
   members (each record redacted, its Disclosures beside it: docs/records.md "Confidential
   records"), plain with ``confidential=False``.
3. Append in batches (``Ledger.append_batch``, atomic each, with the Disclosures), reporting
   progress.

Idempotence (re-running after a failure or an interruption appends only what is missing): a record
is a pure function of its row, its ``validFrom`` and its chain position (Ed25519 signatures are
deterministic, the proof's ``created`` is ``validFrom``, and a confidential record's Disclosure
salts are derived from the key and the chain position:
:func:`passport.records.confidential.derived_salts`), so the hashes compared below are those of
the redacted records the ledger holds. The first run notes in the key's chain state
(``KEY.chain``, ``imports``) the chain head it started from (the *anchor*), the ``validFrom`` it
gave rows without an ``@validFrom`` cell, and whether it signs confidential. A later run of the
same file (same kind, same path) that has not completed yet, or of an unchanged file, signs every
row again from that anchor with that time, in that form, which yields the very records the first
run signed: the ledger's head then tells how many are in (one check that the last of them is the
one the ledger holds, else :class:`ChainStateConflictError` naming both hashes), and only the rest
is appended. A completed import of a file whose content has changed since starts afresh from the
chain's head.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Protocol

from passport.errors import (
    BatchItemError,
    ChainStateConflictError,
    ImportFileError,
    ImportInvalidError,
    ImportRowRejectedError,
)
from passport.ledger.log import Receipt
from passport.records.confidential import derived_salts, public_members
from passport.records.envelope import build_record, dumps, record_hash, sign_record
from passport.records.tabular import ParsedRow, column_known, parse_rows, resolve_kind
from passport.service.chainstate import ChainState, load_state, resolve_head, save_state
from passport.timefmt import format_ts, now
from signing.keys import SigningKey

FORMATS = ("csv", "jsonl", "xlsx")
BATCH_SIZE = 500

_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".xlsx": "xlsx"}


class ImportLedger(Protocol):
    """What an import needs of a ledger: ``Ledger`` and ``api.client.RemoteLedger`` alike."""

    def issuer_for_key(self, key: SigningKey) -> str: ...

    def chain_head(self, issuer: str) -> tuple[int, str | None]: ...

    def lot_record(self, lot_id: str) -> str | None: ...

    def has_record(self, record_hash: str) -> bool: ...

    def append_batch(
        self,
        raws: Sequence[dict[str, Any]],
        disclosures: Sequence[Sequence[str] | None] | None = None,
    ) -> list[Receipt]: ...


@dataclass(frozen=True)
class Table:
    """A file's rows as (row number, cells); ``typed`` when cells hold JSON values."""

    format: str
    rows: list[tuple[int, dict[str, Any]]]
    typed: bool


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    file: str
    kind: str
    format: str
    issuer: str
    rows: int
    appended: int
    skipped: int
    resumed: bool
    head: tuple[int, str | None]
    confidential: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "format": self.format,
            "issuer": self.issuer,
            "rows": self.rows,
            "appended": self.appended,
            "alreadyInLedger": self.skipped,
            "resumed": self.resumed,
            "confidential": self.confidential,
            "chainHead": {"sequence": self.head[0], "hash": self.head[1]},
        }


def detect_format(path: Path, given: str | None = None) -> str:
    """The file's format: ``given``, else from its suffix."""
    if given is not None:
        fmt = given.lower()
        if fmt not in FORMATS:
            raise ImportFileError(f"unknown import format {given!r} (one of {', '.join(FORMATS)})")
        return fmt
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise ImportFileError(
            f"cannot tell the format of {path} from its name: use .csv, .jsonl or .xlsx, "
            "or --format"
        )
    return found


def read_table(path: Path, fmt: str) -> Table:
    """Every row of the file (blank rows left out), numbered as the user sees them."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"cannot read {path}: {exc}") from None
    return parse_table(data, fmt, str(path))


def parse_table(data: bytes, fmt: str, source: str) -> Table:
    """Every row of a file's bytes in format ``fmt`` (blank rows left out), numbered as the user
    sees them; ``source`` names the file in messages. Shared by ``bpass import`` and the supplier
    page's upload (``POST /imports/validate``)."""
    try:
        if fmt == "csv":
            return Table(fmt, list(_csv_rows(data.decode("utf-8-sig"))), typed=False)
        if fmt == "jsonl":
            return Table(fmt, list(_jsonl_rows(data.decode("utf-8"))), typed=True)
        return Table(fmt, list(_xlsx_rows(data, source)), typed=False)
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"cannot read {source}: {exc}") from None


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return
    columns = [c.strip() for c in header]
    for i, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(columns):
            yield i, {"(row)": f"{len(cells)} cells but {len(columns)} columns"}
            continue
        yield i, dict(zip(columns, cells, strict=False))


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    from signing.errors import CanonicalizationError
    from signing.jcs import parse_json

    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = parse_json(line.encode("utf-8"))
        except CanonicalizationError as exc:
            yield i, {"(row)": f"not JSON: {exc.message}"}
            continue
        if not isinstance(value, dict):
            yield i, {"(row)": "not a JSON object"}
            continue
        yield i, value


def _xlsx_cell(value: Any) -> str | None:
    """A spreadsheet cell as the text a CSV would hold (whole numbers without ``.0``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _xlsx_rows(data: bytes, source: str) -> Iterator[tuple[int, dict[str, Any]]]:
    # openpyxl is needed for spreadsheets only: CSV and JSON Lines imports never load it.
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a file that is no workbook
        raise ImportFileError(f"{source} is not a readable XLSX workbook: {exc}") from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return
        columns = [str(c).strip() if c is not None else "" for c in header]
        for i, values in enumerate(rows, start=2):
            cells = [_xlsx_cell(v) for v in values]
            if not any(c and c.strip() for c in cells):
                continue
            yield i, {c: v for c, v in zip(columns, cells, strict=False) if c}
    finally:
        book.close()


def _unknown_row_problems(table: Table) -> list[dict[str, Any]]:
    return [
        {"row": n, "column": "(row)", "message": cells["(row)"]}
        for n, cells in table.rows
        if "(row)" in cells
    ]


def check_file(
    ledger: ImportLedger, path: Path, kind: str, fmt: str | None = None
) -> tuple[str, Table, list[ParsedRow]]:
    """Step 1: (kind, table, rows ready to sign), or :class:`ImportInvalidError` with every
    problem."""
    kind = resolve_kind(kind)
    table = read_table(path, detect_format(path, fmt))
    return kind, table, check_table(table, kind, str(path), ledger.lot_record)


def check_table(
    table: Table, kind: str, source: str, lot_record: Callable[[str], str | None]
) -> list[ParsedRow]:
    """Step 1 on rows already read: the rows ready to sign, or :class:`ImportInvalidError` with
    every problem (``kind`` resolved by :func:`resolve_kind`; ``lot_record`` finds the record that
    created a lot in the ledger)."""
    problems = _unknown_row_problems(table)
    good = [(n, cells) for n, cells in table.rows if "(row)" not in cells]
    if not table.typed:  # a header naming no member: once, at the header row
        unknown = {c for _, cells in good for c in cells if not column_known(kind, c)}
        problems += [
            {"row": 1, "column": c, "message": f"no such member of {kind}"} for c in sorted(unknown)
        ]
        good = [(n, {c: v for c, v in cells.items() if c not in unknown}) for n, cells in good]
    parsed, more = parse_rows(kind, good, typed=table.typed, lot_record=lot_record)
    problems = sorted([*problems, *more], key=lambda p: p["row"])
    if problems:
        raise ImportInvalidError(source, problems)
    if not parsed:
        raise ImportInvalidError(source, [{"row": 1, "column": "(file)", "message": "no rows"}])
    return parsed


def fill_references(row: ParsedRow, created: Mapping[str, str]) -> None:
    """Put into ``row``'s subject the record hash of each lot an earlier row of the file creates
    (``created``: lot id -> hash of its creating record)."""
    for path, lot in row.pending:
        node: Any = row.subject
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = created[lot]


def row_record(
    kind: str, row: ParsedRow, *, issuer: str, head: tuple[int, str | None], valid_from: str
) -> dict[str, Any]:
    """The unsigned record of ``row`` continuing the chain from ``head``: what :func:`sign_rows`
    signs, and what the supplier page's browser signs (:func:`row_drafts`)."""
    return build_record(
        kind,
        issuer=issuer,
        subject=row.subject,
        sequence=head[0] + 1,
        previous=head[1],
        valid_from=row.valid_from or valid_from,
    )


def sign_rows(
    key: SigningKey,
    kind: str,
    rows: Sequence[ParsedRow],
    *,
    issuer: str,
    anchor: tuple[int, str | None],
    valid_from: str,
    confidential: bool = False,
) -> tuple[list[dict[str, Any]], list[str], list[tuple[str, ...] | None]]:
    """Sign every row in order from ``anchor``: (records, their hashes, their Disclosures).
    References to lots an earlier row creates get that row's record hash. With
    ``confidential`` each record is the redacted one, its Disclosures' salts derived from the
    key and its chain position (the same records on every run), and its hash is the redacted
    record's."""
    records: list[dict[str, Any]] = []
    hashes: list[str] = []
    disclosures: list[tuple[str, ...] | None] = []
    created: dict[str, str] = {}
    head = anchor
    for row in rows:
        fill_references(row, created)
        unsigned = row_record(kind, row, issuer=issuer, head=head, valid_from=valid_from)
        shown: tuple[str, ...] | None = None
        if confidential:
            # salts derived from the key and the chain position: a resumed import re-signs
            # the very same redacted records (docs/records.md, "Importing rows")
            salt = derived_salts(key, [issuer, head[0] + 1, kind])
            sealed = sign_record(
                unsigned, key, created=unsigned["validFrom"], confidential=True, salt=salt
            )
            signed, shown = sealed.record, sealed.disclosures
        else:
            signed = sign_record(unsigned, key, created=unsigned["validFrom"])
        digest = record_hash(dumps(signed))
        for lot in row.creates:
            created.setdefault(lot, digest)
        records.append(signed)
        hashes.append(digest)
        disclosures.append(shown)
        head = (head[0] + 1, digest)
    return records, hashes, disclosures


def row_drafts(
    kind: str,
    rows: Sequence[ParsedRow],
    *,
    issuer: str,
    anchor: tuple[int, str | None],
    valid_from: str,
) -> list[dict[str, Any]]:
    """What a signer outside this process (the supplier page's browser) needs to sign ``rows``
    exactly as :func:`sign_rows` does: for each row in chain order, its number, its unsigned
    record (:func:`row_record`; ``chain.previous`` is set for the first row only, every later
    row's is the hash of the record signed before it), the references to fill with the hash of
    the record that created a lot (``pending``: path in the subject and lot id), and the lots
    its record creates."""
    drafts = []
    for i, row in enumerate(rows):
        head = (anchor[0] + i, anchor[1] if i == 0 else None)
        drafts.append(
            {
                "row": row.number,
                "record": row_record(kind, row, issuer=issuer, head=head, valid_from=valid_from),
                "pending": [{"path": list(path), "lot": lot} for path, lot in row.pending],
                "creates": list(row.creates),
            }
        )
    return drafts


def run_import(
    ledger: ImportLedger,
    key: SigningKey,
    key_path: Path,
    path: Path,
    kind: str,
    *,
    fmt: str | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
    confidential: bool = True,
) -> ImportResult:
    """Check, sign and append the file's rows (see the module's description); resumable.

    The records are confidential when ``confidential`` (the default) and the kind has
    confidential members; a resumed import keeps the form its first run chose."""
    kind, table, rows = check_file(ledger, path, kind, fmt)
    content = hashlib.sha256(path.read_bytes()).hexdigest()
    issuer = ledger.issuer_for_key(key)
    ledger_head = ledger.chain_head(issuer)
    state = load_state(key_path)
    if state is None or state.issuer != issuer:
        state = ChainState(issuer, ledger_head[0], ledger_head[1])
    journal_key = f"{kind} {path.resolve()}"
    entry = state.imports.get(journal_key)
    resumed = entry is not None and (not entry["complete"] or entry["sha256"] == content)
    confidential = confidential and public_members(kind) is not None
    if entry is not None and resumed:
        anchor: tuple[int, str | None] = (int(entry["anchor"][0]), entry["anchor"][1])
        stamp = str(entry["validFrom"])
        confidential = bool(entry.get("confidential", False))
    else:
        anchor = resolve_head(state, issuer, ledger_head)
        stamp = format_ts(now(), micro=False)
    records, hashes, disclosures = sign_rows(
        key, kind, rows, issuer=issuer, anchor=anchor, valid_from=stamp, confidential=confidential
    )
    total = len(records)
    ahead = ledger_head[0] - anchor[0]
    done = min(max(ahead, 0), total)
    if done:
        expected = hashes[done - 1]
        holds = ledger_head[1] == expected if ahead == done else ledger.has_record(expected)
        if not holds:
            raise ChainStateConflictError(
                f"{path}: row {rows[done - 1].number} now signs to {expected} at sequence "
                f"{anchor[0] + done}, but the ledger holds "
                f"{ledger_head[1] if ahead == done else 'another record'} there (rows already "
                "appended were changed, or the key signed other records since this import "
                "began); restore those rows, or import the rest from a new file",
                sequence=anchor[0] + done,
                local_hash=expected,
                ledger_hash=ledger_head[1] if ahead == done else None,
            )
    state.imports[journal_key] = {
        "anchor": [anchor[0], anchor[1]],
        "validFrom": stamp,
        "sha256": content,
        "rows": total,
        "complete": False,
        "confidential": confidential,
    }
    save_state(key_path, state)
    if progress is not None:
        progress(done, total)
    position = done
    while position < total:
        batch = records[position : position + batch_size]
        shown = disclosures[position : position + batch_size] if confidential else None
        try:
            ledger.append_batch(batch, shown)
        except BatchItemError as exc:
            row = rows[position + exc.index]
            raise ImportRowRejectedError(
                f"{path}: row {row.number} rejected by the ledger: [{exc.error.code}] "
                f"{exc.error.message}; {position - done} rows appended before it in this run "
                f"({position} of {total} in all): fix the row and run the import again to "
                "append the rest",
                row=row.number,
                error=exc.error.code,
                appended=position - done,
            ) from exc
        position += len(batch)
        if anchor[0] + position >= state.sequence:  # the key's chain state follows the ledger
            state.sequence, state.hash = anchor[0] + position, hashes[position - 1]
        save_state(key_path, state)
        if progress is not None:
            progress(position, total)
    state.imports[journal_key]["complete"] = True
    if state.sequence < anchor[0] + total:
        state.sequence, state.hash = anchor[0] + total, hashes[-1]
    save_state(key_path, state)
    return ImportResult(
        file=str(path),
        kind=kind,
        format=table.format,
        issuer=issuer,
        rows=total,
        appended=total - done,
        skipped=done,
        resumed=resumed,
        head=(anchor[0] + total, hashes[-1]),
        confidential=confidential,
    )


def summary_lines(result: ImportResult) -> list[str]:
    """The result for a terminal."""
    return [
        f"imported {result.file} ({result.format}) as {result.kind}: "
        f"{result.rows} row{'' if result.rows == 1 else 's'}, "
        f"{result.appended} appended, {result.skipped} already in the ledger"
        + (", confidential (Disclosures kept by the node)" if result.confidential else ", plain"),
        f"issuer {result.issuer}, chain head {result.head[0]} {result.head[1]}",
    ]
