"""The supplier page's upload: a CSV, JSON Lines or XLSX file checked as ``bpass import`` checks
it, and the unsigned drafts of its records for the supplier's browser to sign.

The node never holds the supplier's key. It reads and checks the uploaded rows
(:func:`passport.service.imports.parse_table`, :func:`passport.service.imports.check_table`: every
problem with its row and column, nothing kept) and answers with what only the ledger knows: the
authenticated issuer, the issuer's chain head, the ``validFrom`` of rows that set none, and each
row's unsigned record in chain order (:func:`passport.service.imports.row_drafts`, the records
``bpass import`` would sign). The browser then does what :func:`passport.service.imports.sign_rows`
does, with WebCrypto: it fills each row's ``chain.previous`` and its references to lots created
by earlier rows with the hashes of the records it signed before, conceals the members the kind
does not declare public (RFC 9901 Disclosures with its own random salts), signs (eddsa-jcs-2022)
and appends the records with ``POST /records/batch``, where the node checks them like any other.

Nothing is stored by the upload: it changes nothing, and a draft the browser does not sign is
simply forgotten.
"""

from __future__ import annotations

from typing import Any, Protocol

from passport.errors import ImportFileError
from passport.records.confidential import public_members
from passport.records.tabular import resolve_kind
from passport.service.imports import FORMATS, check_table, parse_table, row_drafts
from passport.timefmt import format_ts, now

__all__ = ["CONTENT_TYPES", "UploadLedger", "upload_format", "validate_upload"]

CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
}
"""The media types an upload may declare, and the format each stands for."""


class UploadLedger(Protocol):
    """What an upload's check needs of a ledger."""

    def chain_head(self, issuer: str) -> tuple[int, str | None]: ...

    def lot_record(self, lot_id: str) -> str | None: ...


def upload_format(given: str | None, content_type: str | None) -> str:
    """The upload's format: ``given`` (``csv``, ``jsonl``, ``xlsx``), else from its media type;
    :class:`ImportFileError` when neither tells."""
    if given:
        fmt = given.strip().lower()
        if fmt not in FORMATS:
            raise ImportFileError(f"unknown import format {given!r} (one of {', '.join(FORMATS)})")
        return fmt
    media = (content_type or "").split(";", 1)[0].strip().lower()
    found = CONTENT_TYPES.get(media)
    if found is None:
        raise ImportFileError(
            f"cannot tell the upload's format from its media type {media or '(none)'!r}: "
            "give ?format=csv, jsonl or xlsx"
        )
    return found


def validate_upload(
    ledger: UploadLedger,
    data: bytes,
    *,
    kind: str,
    fmt: str,
    issuer: str,
    key: str,
    name: str = "upload",
) -> dict[str, Any]:
    """Check the uploaded rows of ``kind`` and return the drafts ``issuer`` signs with its key
    ``key`` (a multikey): :class:`passport.errors.ImportInvalidError` listing every problem (row
    and column) when a row is invalid, :class:`ImportFileError` for an unreadable file,
    :class:`passport.errors.KindNameError` for an unknown kind. Changes nothing."""
    kind = resolve_kind(kind)
    table = parse_table(data, fmt, name)
    rows = check_table(table, kind, name, ledger.lot_record)
    head = ledger.chain_head(issuer)
    stamp = format_ts(now(), micro=False)
    public = public_members(kind)
    return {
        "kind": kind,
        "format": fmt,
        "issuer": issuer,
        "verificationMethod": f"{issuer}#{key}",  # as envelope.verification_method_for
        "chainHead": {"sequence": head[0], "hash": head[1]},
        "validFrom": stamp,
        "public": None if public is None else sorted(public),
        "drafts": row_drafts(kind, rows, issuer=issuer, anchor=head, valid_from=stamp),
    }
