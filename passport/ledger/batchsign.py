"""Signing many records ahead of appending them in one batch (``Ledger.append_batch``).

``Ledger.sign_new`` continues an issuer's hash chain from the head stored in the ledger, so records
signed one after another without appending in between would all claim the same sequence. A
:class:`BatchSigner` keeps each issuer's head locally (sequence and record hash, design: "Per-issuer
hash chain"), so a whole batch can be signed first and appended atomically.
"""

from __future__ import annotations

from typing import Any

from passport.ledger.pipeline import Ledger
from passport.records.envelope import dumps, record_hash, sign_next
from signing.keys import SigningKey


class BatchSigner:
    """Signs records for several issuers, continuing each issuer's chain locally."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.heads: dict[str, tuple[int, str | None]] = {}
        self.pending: list[dict[str, Any]] = []

    def sign(
        self,
        key: SigningKey,
        kind: str,
        subject: dict[str, Any],
        *,
        issuer: str | None = None,
        valid_from: str | None = None,
    ) -> tuple[dict[str, Any], str]:
        """Sign one record and queue it; returns (record, record hash)."""
        issuer = issuer or key.did
        if issuer not in self.heads:
            self.heads[issuer] = self.ledger.chain_head(issuer)
        sequence, _ = self.heads[issuer]
        signed = sign_next(
            key, kind, subject, issuer=issuer, head=self.heads[issuer], valid_from=valid_from
        )
        digest = record_hash(dumps(signed))
        self.heads[issuer] = (sequence + 1, digest)
        self.pending.append(signed)
        return signed, digest

    def flush(self) -> int:
        """Append the queued records in one atomic batch; the number appended."""
        batch, self.pending = self.pending, []
        if batch:
            self.ledger.append_batch(batch)
        return len(batch)

    def discard(self) -> None:
        """Forget queued records and the local heads (after a rejected batch)."""
        self.pending = []
        self.heads = {}
