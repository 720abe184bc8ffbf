"""Issuing the sample packs' passports: the OEM issues one per pack from its model data file,
through the passport engineer's domain function (:func:`passport.service.issue.issue_passport`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from passport.ledger.pipeline import Ledger
from samples.designs import DESIGNS, model_for

if TYPE_CHECKING:
    from samples.generate import SampleSummary

OEM = "elbe"
"""The sample's OEM, economic operator of every passport."""

SERVICE_PARTNER = "saale"
"""The independent repairer the OEM mandates to update every pack's point 4 (Art. 77)."""


def issue_sample_passports(
    ledger: Ledger,
    summary: SampleSummary,
    *,
    base_url: str,
    on_issued: Callable[[], None] | None = None,
) -> None:
    """Issue the passport of every sample pack that has none yet, and mandate the service
    partner to update its point 4; fills in the pack's ``passport_id`` and ``passport_record``."""
    from passport.service.issue import issue_passport
    from passport.service.lifecycle import mandate

    design = DESIGNS[summary.chemistry]
    key = summary.actor(OEM).key
    for pack in summary.packs:
        if pack.passport_id is None:
            issued = issue_passport(
                ledger,
                key,
                pack_lot=pack.lot,
                model=model_for(design, pack),
                base_url=base_url,
                serial=pack.serial,
            )
            pack.passport_id = issued.passport_id
            pack.passport_record = issued.record_hash
            summary.record_counts["BatteryPassport"] = (
                summary.record_counts.get("BatteryPassport", 0) + 1
            )
            mandate(
                ledger,
                key,
                issued.passport_id,
                summary.actor(SERVICE_PARTNER).did,
                reason="authorised service partner",
            )
            summary.record_counts["PassportMandate"] = (
                summary.record_counts.get("PassportMandate", 0) + 1
            )
        if on_issued is not None:
            on_issued()
