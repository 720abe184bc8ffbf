"""Signing many records ahead of appending them in one batch (``Ledger.append_batch``).

``Ledger.sign_new`` continues an issuer's hash chain from the head stored in the ledger, so records
signed one after another without appending in between would all claim the same sequence. A
:class:`BatchSigner` keeps each issuer's head locally (sequence and record hash, design: "Per-issuer
hash chain"), so a whole batch can be signed first and appended atomically.

A confidential record (``confidential=True``) is signed redacted with salts derived from the key
and its chain position (:func:`passport.records.confidential.derived_salts`): re-signing the same
records gives the same hashes, so a signer that reruns after a failure finds the ledger's records
where it expects them. Its Disclosures are queued beside it and appended with it.
"""

from __future__ import annotations

from typing import Any

from passport.ledger.pipeline import Ledger
from passport.records.confidential import Confidential
from passport.records.envelope import dumps, record_hash, sign_next
from signing.keys import SigningKey


class BatchSigner:
    """Signs records for several issuers, continuing each issuer's chain locally."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.heads: dict[str, tuple[int, str | None]] = {}
        self.pending: list[dict[str, Any]] = []
        self.pending_disclosures: list[tuple[str, ...] | None] = []

    def sign(
        self,
        key: SigningKey,
        kind: str,
        subject: dict[str, Any],
        *,
        issuer: str | None = None,
        valid_from: str | None = None,
        confidential: bool = False,
    ) -> tuple[dict[str, Any], str]:
        """Sign one record and queue it; returns (record, record hash). With ``confidential``
        the record is the redacted one (its hash is the ledger's id of it) and its Disclosures
        are queued beside it."""
        issuer = issuer or key.did
        if issuer not in self.heads:
            self.heads[issuer] = self.ledger.chain_head(issuer)
        sequence, _ = self.heads[issuer]
        head = self.heads[issuer]
        disclosures: tuple[str, ...] | None = None
        if confidential:
            sealed: Confidential = sign_next(
                key, kind, subject, issuer=issuer, head=head, valid_from=valid_from,
                confidential=True, derive_salts=True,
            )  # fmt: skip
            signed, disclosures = sealed.record, sealed.disclosures
        else:
            signed = sign_next(key, kind, subject, issuer=issuer, head=head, valid_from=valid_from)
        digest = record_hash(dumps(signed))
        self.heads[issuer] = (sequence + 1, digest)
        self.pending.append(signed)
        self.pending_disclosures.append(disclosures)
        return signed, digest

    def take_pending(
        self,
    ) -> tuple[list[dict[str, Any]], list[tuple[str, ...] | None] | None]:
        """The queued records and their Disclosures (None when all are plain), emptying the
        queue: the arguments of ``Ledger.append_batch``."""
        batch, disclosures = self.pending, self.pending_disclosures
        self.pending, self.pending_disclosures = [], []
        return batch, (disclosures if any(d is not None for d in disclosures) else None)

    def flush(self) -> int:
        """Append the queued records in one atomic batch; the number appended."""
        batch, disclosures = self.take_pending()
        if batch:
            self.ledger.append_batch(batch, disclosures)
        return len(batch)

    def discard(self) -> None:
        """Forget queued records and the local heads (after a rejected batch)."""
        self.pending, self.pending_disclosures = [], []
        self.heads = {}
