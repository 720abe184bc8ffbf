"""Passport versions and their canonical hashes (the EU registry rules ask for a hash per
passport version).

A version is the passport as a record of :data:`VERSION_KINDS` left it: its issue, a point-4
update or a status change (mandates and access grants change who may act or read, not the
passport). Its hash is that record's hash: ``sha256:`` + SHA-256 of the RFC 8785 canonical bytes
of the signed record, which commits to every partition of the version by its hash. A reader
recomputes every entry from the signed records alone (:func:`versions_from_records`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

VERSION_KINDS = frozenset({"BatteryPassport", "PassportUpdate", "PassportStatusChange"})
VERSION_HASH_OF = "the signed record of this version (SHA-256 of its RFC 8785 canonical bytes)"


def version_entry(number: int, record_hash: str, kind: str) -> dict[str, Any]:
    """One version as views and exports show it."""
    return {"version": number, "hash": record_hash, "hashOf": VERSION_HASH_OF, "kind": kind}


def versions_from_records(records: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """The versions made by ``records`` ((hash, kind) in log order), oldest first."""
    made = [(h, kind) for h, kind in records if kind in VERSION_KINDS]
    return [version_entry(n, h, kind) for n, (h, kind) in enumerate(made, start=1)]
