"""Signing many records ahead of appending them, and the sample's simulated clock.

:meth:`passport.ledger.pipeline.Ledger.sign_new` reads the issuer's chain head from the ledger, so
records signed one after another without an append in between would all claim the same sequence
number.
:class:`ChainWriter` (a :class:`passport.ledger.batchsign.BatchSigner`) keeps every issuer's head
(sequence, hash of its newest record) locally,
signs each record continuing that chain, and appends the queued records in batches with
:meth:`passport.ledger.pipeline.Ledger.append_batch` (a batch's records see the earlier ones).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from passport.errors import BatchItemError
from passport.ledger.batchsign import BatchSigner
from passport.ledger.pipeline import Ledger
from passport.records.confidential import public_members
from signing.keys import SigningKey

DEFAULT_BATCH = 500
"""Records per ``append_batch``: large enough to amortise the transaction and the checkpoint
signature, small enough to keep memory and the lock short."""


class SampleLoadError(RuntimeError):
    """A sample record was rejected by the ledger: a bug in the generator, named precisely."""


class Timeline:
    """The sample's simulated clock: ``validFrom`` stamps from a fixed base date.

    The ledger's own acceptance time stays its clock; these are the times the records speak of
    (when ore was mined, a cell batch made), so the sample is the same on every run.
    """

    def __init__(self, base: datetime) -> None:
        self.base = base.astimezone(UTC)
        self._tick = 0

    def day(self, day: float) -> datetime:
        """The base date plus ``day`` days."""
        return self.base + timedelta(days=day)

    def at(self, day: float) -> str:
        """An RFC 3339 stamp ``day`` days after the base, a few seconds after the previous one
        asked for, so that records of the same day keep their order."""
        self._tick += 1
        moment = self.day(day) + timedelta(seconds=self._tick % 3600)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    @staticmethod
    def stamp(moment: datetime) -> str:
        """``moment`` as an RFC 3339 UTC stamp without fractions."""
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ChainWriter(BatchSigner):
    """Signs records for several issuers, continuing each issuer's hash chain locally, and appends
    them in batches.

    ``on_append(n)`` is called after every batch with the number of records it appended.
    ``confidential`` (the default) signs every record of a kind with confidential members
    confidential; False signs them all plain.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        batch_size: int = DEFAULT_BATCH,
        on_append: Callable[[int], None] | None = None,
        confidential: bool = True,
    ) -> None:
        super().__init__(ledger)
        self.confidential = confidential
        self.batch_size = batch_size
        self.on_append = on_append
        self.counts: Counter[str] = Counter()

    def sign_at(
        self,
        key: SigningKey,
        kind: str,
        subject: dict[str, Any],
        *,
        at: str,
        issuer: str | None = None,
        confidential: bool | None = None,
    ) -> str:
        """Sign a record of ``kind`` by ``key`` (for ``issuer``, default the key's did:key), queue
        it, and return its hash (its id in the ledger once appended).

        The record is confidential (its kind's non-public members concealed, see
        :mod:`passport.records.confidential`) when ``confidential`` says so, by default when
        the writer's ``confidential`` does and the kind has confidential members."""
        if confidential is None:
            confidential = self.confidential and public_members(kind) is not None
        _, digest = self.sign(
            key, kind, subject, issuer=issuer, valid_from=at, confidential=confidential
        )
        self.counts[kind] += 1
        if len(self.pending) >= self.batch_size:
            self.flush()
        return digest

    def flush(self) -> int:
        """Append the queued records in one atomic batch; the number appended."""
        batch, disclosures = self.take_pending()
        if not batch:
            return 0
        try:
            self.ledger.append_batch(batch, disclosures)
        except BatchItemError as exc:
            record = batch[exc.index]
            raise SampleLoadError(
                f"the ledger rejected sample record {record['type'][1]} by {record['issuer']} "
                f"(#{exc.index} of the batch): [{exc.error.code}] {exc.error.message}"
            ) from exc
        if self.on_append is not None:
            self.on_append(len(batch))
        return len(batch)

    def forget(self, issuer: str) -> None:
        """Drop the cached head of ``issuer`` (someone else appended to its chain)."""
        self.heads.pop(issuer, None)
