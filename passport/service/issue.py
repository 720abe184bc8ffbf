"""Issuing a passport: the OEM's model data plus the pack's roll-ups → a validated passport, four
signed partitions and the public ``BatteryPassport`` record that commits to them.

Steps (``bpass passport issue --pack LOT --model MODEL.json --key OEM_KEY``):

1. read the log's current size and its signed checkpoint; roll the pack lot's provenance up as of
   that checkpoint (:func:`passport.trace.rollup.compute_rollup`);
2. turn the roll-up into the passport's figures (carbon footprint per kWh of service-life energy
   per stage and its class, recycled content, origins, certification and due-diligence coverage…);
3. assemble the document with the model data and validate it (schema, semantic rules, figures
   equal to the roll-ups): any problem refuses the issue, listing every one;
4. sign each partition as its own VC, sign the record committing to their hashes, to the
   checkpoint and to the set of provenance records the roll-up read as of it
   (:mod:`passport.verify.provenance_set`), append it with the partitions staged for the
   kind's handler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from passport.document.body import MODEL_FIELDS, SCHEMA_VERSION, get_at, new_document
from passport.document.figures import figures_from_rollup
from passport.document.ids import SERIAL, digital_link, new_passport_id, valid_gtin14
from passport.document.partitions import PARTITION_FIELD, PARTITIONS
from passport.document.regulation import CarbonClassTable, load_class_table
from passport.document.signed_partitions import partition_hash, sign_partition, staged
from passport.document.validation import Problem, validate
from passport.errors import NotFoundError, PassportInvalidError, UnknownIssuerError
from passport.ledger import log as translog
from passport.ledger.pipeline import Ledger
from passport.records.envelope import dumps, record_hash, sign_next
from passport.service.chainstate import ChainSource
from passport.service.closure import committed_provenance
from passport.store.passport_rows import PassportState
from passport.store.rows import StoredActor, StoredCheckpoint
from passport.store.trace_rows import LotRow
from passport.timefmt import format_ts, now
from passport.trace.config import TraceConfig
from passport.trace.model import Rollup
from passport.trace.rollup import compute_rollup
from passport.verify.provenance_set import provenance_commitment
from signing.keys import SigningKey


@dataclass(frozen=True)
class PreparedPassport:
    """A passport ready to append: its document, signed partitions and signed record."""

    document: dict[str, Any]
    partitions: dict[int, dict[str, Any]]
    record: dict[str, Any]
    figures: dict[str, Any]
    rollup: Rollup

    @property
    def passport_id(self) -> str:
        """The new passport's identifier."""
        return str(self.document["passportId"])

    @property
    def record_hash(self) -> str:
        """The hash (id) the record will have in the ledger."""
        return record_hash(dumps(self.record))


@dataclass(frozen=True)
class IssuedPassport:
    """An issued passport and the ledger's receipt for its record."""

    passport_id: str
    battery_id: str
    record_hash: str
    receipt: translog.Receipt
    document: dict[str, Any]
    partitions: dict[int, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON summary (without the confidential partitions)."""
        return {
            "passportId": self.passport_id,
            "batteryId": self.battery_id,
            "record": self.record_hash,
            "partitions": {str(n): partition_hash(p) for n, p in sorted(self.partitions.items())},
            "receipt": self.receipt.to_dict(),
        }


def sign_chain(
    ledger: ChainSource,
    key: SigningKey,
    items: Sequence[tuple[str, dict[str, Any]]],
    *,
    valid_from: str,
) -> list[dict[str, Any]]:
    """Records by one issuer, each continuing the chain from the previous one (for a batch)."""
    issuer = ledger.issuer_for_key(key)
    head = ledger.chain_head(issuer)
    out = []
    for kind, subject in items:
        signed = sign_next(key, kind, subject, issuer=issuer, head=head, valid_from=valid_from)
        head = (head[0] + 1, record_hash(dumps(signed)))
        out.append(signed)
    return out


def model_problems(model: Any) -> list[Problem]:
    """Problems with the model data's shape that would make the passport meaningless to build."""
    if not isinstance(model, dict):
        return [Problem("", "the model data must be a JSON object with point1, point2, point3")]
    problems = [
        Problem("/" + k, "is not a field of the model data")
        for k in sorted(set(model) - MODEL_FIELDS)
    ]
    for number in (1, 2, 3):
        field = PARTITION_FIELD[number]
        if not isinstance(model.get(field), dict):
            problems.append(
                Problem(
                    "/" + field, "is required: an object with the model's Annex XIII point data"
                )
            )
    if "point4" in model and not isinstance(model["point4"], dict):
        problems.append(
            Problem("/point4", "must be an object (initial state of the individual battery)")
        )
    return problems


def service_life_energy(model: Mapping[str, Any]) -> Decimal:
    """The model's total energy over its expected service life (kWh): the functional unit."""
    raw = get_at(model, "/point1/carbonFootprint/serviceLifeEnergyKWh")
    try:
        value = Decimal(str(raw)) if isinstance(raw, str) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= 0:
        raise PassportInvalidError(
            [
                {
                    "pointer": "/point1/carbonFootprint/serviceLifeEnergyKWh",
                    "message": "the service-life energy (kWh, a positive decimal string) is "
                    "needed to "
                    "express the carbon footprint per kWh",
                }
            ],
            "refusing to issue",
        )
    return value


def battery_identifier(
    model: Mapping[str, Any], serial: str | None, base_url: str
) -> tuple[str, str]:
    """(GS1 Digital Link URI, serial) of the battery; problems listed if unusable."""
    gtin = get_at(model, "/point1/identification/gtin")
    chosen = serial or get_at(model, "/point1/identification/serialNumber")
    problems = []
    if not isinstance(gtin, str) or not valid_gtin14(gtin):
        problems.append(
            {
                "pointer": "/point1/identification/gtin",
                "message": "needs a GTIN-14 with a valid check digit",
            }
        )
    if not isinstance(chosen, str) or not SERIAL.match(chosen):
        problems.append(
            {
                "pointer": "/point1/identification/serialNumber",
                "message": "needs the pack's serial number (--serial or in the model): "
                "1 to 20 of A-Z a-z 0-9 . _ -",
            }
        )
    if problems:
        raise PassportInvalidError(problems, "refusing to issue")
    assert isinstance(gtin, str) and isinstance(chosen, str)
    return digital_link(base_url, gtin, chosen), chosen


def prepare_passport(
    ledger: Ledger,
    key: SigningKey,
    *,
    pack_lot: str,
    model: Any,
    base_url: str,
    serial: str | None = None,
    battery_id: str | None = None,
    class_table: CarbonClassTable | None = None,
    trace_config: TraceConfig | None = None,
    status: str = "original",
    predecessor: PassportState | None = None,
    passport_id: str | None = None,
) -> PreparedPassport:
    """Build, validate and sign a passport without appending it. Raises
    :class:`PassportInvalidError` listing every problem if the passport would be invalid."""
    shape = model_problems(model)
    if shape:
        raise PassportInvalidError(
            [p.to_dict() for p in shape], "refusing to issue: unusable model data"
        )
    energy = service_life_energy(model)
    table = class_table or load_class_table()
    issuer = ledger.issuer_for_key(key)
    checkpoint, lot, actor, rollup, provenance = _rollup_at_checkpoint(
        ledger, issuer, pack_lot, trace_config
    )
    figures = figures_from_rollup(rollup, service_life_energy_kwh=energy, table=table)
    model = dict(model)
    if battery_id is None:
        battery_id, chosen_serial = battery_identifier(model, serial, base_url)
        model["point1"] = {
            **model["point1"],
            "identification": {
                **model["point1"].get("identification", {}),
                "serialNumber": chosen_serial,
            },
        }
    stamp = format_ts(now(), micro=False)
    operator: dict[str, Any] = {"id": issuer, "name": actor.name}
    trade_name = get_at(model, "/economicOperator/tradeName")
    if trade_name is not None:
        operator["tradeName"] = trade_name
    address = get_at(model, "/economicOperator/address")
    if address is not None:
        operator["address"] = address
    pid = passport_id or new_passport_id()
    document = new_document(
        model,
        figures,
        passport_id=pid,
        battery_id=battery_id,
        issued_at=stamp,
        operator=operator,
        status=status,
        predecessor=predecessor.passport_id if predecessor else None,
    )
    problems = validate(document, figures)
    if problems:
        raise PassportInvalidError(
            [p.to_dict() for p in problems], "refusing to issue: the passport is invalid"
        )
    partitions = _sign_partitions(document, pid, issuer, key, stamp)
    subject: dict[str, Any] = {
        "passportId": pid,
        "batteryId": battery_id,
        "schemaVersion": SCHEMA_VERSION,
        "category": document["point1"]["category"],
        "status": status,
        "economicOperator": operator,
        "pack": {"lot": pack_lot, "record": lot.record_hash},
        "partitions": {str(n): partition_hash(p) for n, p in partitions.items()},
        "checkpoint": {"size": checkpoint.size, "rootHash": translog.b64(checkpoint.root)},
        # The exact set of provenance records the figures were computed over, as of the
        # checkpoint (passport.verify.provenance_set): a bundle leaving one out, or adding one,
        # fails its completeness check.
        "provenance": provenance_commitment(provenance),
    }
    if predecessor is not None:
        subject["predecessor"] = {
            "passportId": predecessor.passport_id,
            "record": predecessor.record_hash,
        }
    (record,) = sign_chain(ledger, key, [("BatteryPassport", subject)], valid_from=stamp)
    return PreparedPassport(
        document=document, partitions=partitions, record=record, figures=figures, rollup=rollup
    )


def _rollup_at_checkpoint(
    ledger: Ledger, issuer: str, pack_lot: str, trace_config: TraceConfig | None
) -> tuple[StoredCheckpoint, LotRow, StoredActor, Rollup, list[str]]:
    """The log's latest checkpoint, the pack lot, the issuing actor, the pack's roll-up as of
    that checkpoint and the provenance set it was computed over, read in one transaction."""
    with ledger.repo.read() as tx:
        size, _ = tx.log_size()
        checkpoint = tx.checkpoint(size)
        lot = tx.trace().lot(pack_lot)
        actor = tx.actor(issuer)
        if checkpoint is None:
            raise NotFoundError(f"the log has no checkpoint at its size {size}")
        if lot is None:
            raise NotFoundError(f"no lot {pack_lot}", lot=pack_lot)
        if actor is None:
            raise UnknownIssuerError(f"{issuer} is not a registered actor")
        rollup = compute_rollup(tx, pack_lot, at=checkpoint.created_at, config=trace_config)
        provenance = committed_provenance(tx, pack_lot, checkpoint.size)
    return checkpoint, lot, actor, rollup, provenance


def _sign_partitions(
    document: Mapping[str, Any], pid: str, issuer: str, key: SigningKey, stamp: str
) -> dict[int, dict[str, Any]]:
    """Each partition of the document, signed by the issuer."""
    return {
        n: sign_partition(
            passport_id=pid,
            number=n,
            data=document[PARTITION_FIELD[n]],
            issuer=issuer,
            key=key,
            valid_from=stamp,
        )
        for n in PARTITIONS
    }


def issue_passport(
    ledger: Ledger,
    key: SigningKey,
    *,
    pack_lot: str,
    model: Any,
    base_url: str,
    serial: str | None = None,
    class_table: CarbonClassTable | None = None,
    trace_config: TraceConfig | None = None,
) -> IssuedPassport:
    """Issue the passport of ``pack_lot``: validate, sign, append (see the module docstring)."""
    prepared = prepare_passport(
        ledger,
        key,
        pack_lot=pack_lot,
        model=model,
        base_url=base_url,
        serial=serial,
        class_table=class_table,
        trace_config=trace_config,
    )
    with staged(prepared.partitions.values()):
        receipt = ledger.append(prepared.record)
    return IssuedPassport(
        passport_id=prepared.passport_id,
        battery_id=prepared.document["batteryId"],
        record_hash=receipt.record_hash,
        receipt=receipt,
        document=prepared.document,
        partitions=prepared.partitions,
    )
