"""``/passports``: issue, read, change and export battery passports, their QR codes and their
offline verification bundles.

Every write is a record signed by the actor that makes it (the OEM issues, repairers and
recyclers change the status, …), submitted with the signed partitions it commits to; the ledger
checks signature, role, status machine and every partition inside the append transaction
(:mod:`passport.document.rules`). Every read serves the caller exactly the Annex XIII partitions
its access role may see (public without a token; :mod:`passport.document.partitions`), with the
evidence to check them; which audience a reader is for a passport is decided per passport and per
request from the ledger (:func:`passport.document.access.decide_access`). The logic is the
domain's: :mod:`passport.service.views`,
:mod:`passport.verify.bundle`,
:mod:`passport.document.compliance`, :mod:`passport.document.exports.batterypass`,
:mod:`passport.document.exports.catenax`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from api import qr
from api.deps import LedgerDep, PrincipalDep, State, passport_audience
from api.errors import ExportForbiddenError, JsonMalformedError, SubmissionInvalidError
from api.models import (
    PASSPORT_ID_PATTERN,
    ComplianceModel,
    ExportModel,
    PassportViewModel,
    PassportWritten,
    ReceiptModel,
    SignedSubmission,
    StatusSubmission,
)
from api.openapi import problems
from api.routes.log import latest
from api.views import scoped_compliance
from passport.document.access import AccessRole
from passport.document.exports.batterypass import PERFORMANCE_VERSIONS, export_batterypass
from passport.document.exports.catenax import export_catenax, parse_supplement
from passport.document.signed_partitions import staged
from passport.errors import ExportSupplementError
from passport.ledger.log import Receipt
from passport.ledger.pipeline import Ledger
from passport.service.bundle import build_bundle
from passport.service.views import current_version, full_document, load_state, show_passport
from signing.errors import CanonicalizationError
from signing.jcs import parse_json

router = APIRouter(prefix="/passports", tags=["passports"])

PassportId = Annotated[
    str, Path(pattern=PASSPORT_ID_PATTERN, description="The passport id (urn:bpass:<32 hex>).")
]

RequestedRole = Annotated[
    AccessRole | None,
    Query(
        alias="role",
        description="The audience to read as. Without it: the widest the caller is entitled to "
        "for this passport (the public view for a caller with no entitlement). Asking for an "
        "audience the caller is not entitled to for this passport is refused (403 "
        "access_not_entitled): points 2 and 4 go to its economic operator, the actors it "
        "granted access or mandated and the actors holding the battery; point 3 to authorities.",
    ),
]


# -- reading a submission --------------------------------------------------------------------------
async def _parse(request: Request, model: type[BaseModel]) -> Any:
    body = await request.body()
    try:
        value = await run_in_threadpool(parse_json, body)
    except CanonicalizationError as exc:
        raise JsonMalformedError(f"the body is not valid JSON: {exc.message}") from None
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None


async def signed_submission(request: Request) -> SignedSubmission:
    """A strict JSON body (no duplicate keys: what was signed is unambiguous)."""
    parsed: SignedSubmission = await _parse(request, SignedSubmission)
    return parsed


async def status_submission(request: Request) -> StatusSubmission:
    """A strict JSON body with an optional successor passport."""
    parsed: StatusSubmission = await _parse(request, StatusSubmission)
    return parsed


def _body_doc(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    if "successor" in schema.get("properties", {}):
        schema["properties"]["successor"] = {
            "anyOf": [{"$ref": "#/components/schemas/SignedSubmission"}, {"type": "null"}]
        }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _kind(record: dict[str, Any], kind: str, passport_id: str | None = None) -> None:
    kinds = record.get("type")
    if not (isinstance(kinds, list) and len(kinds) == 2 and kinds[1] == kind):
        raise SubmissionInvalidError(f"the record must be a signed {kind} record")
    if passport_id is not None:
        subject = record.get("credentialSubject")
        named = subject.get("passportId") if isinstance(subject, dict) else None
        if named != passport_id:
            raise SubmissionInvalidError(
                f"the record is for passport {named!r}, not {passport_id}", passport=passport_id
            )


def _append(
    ledger: Ledger, records: list[dict[str, Any]], partitions: Iterable[dict[str, Any]]
) -> list[Receipt]:
    """Append records (one transaction) with the signed partitions they commit to."""
    with staged(partitions):
        if len(records) == 1:
            return [ledger.append(records[0])]
        return ledger.append_batch(records)


def _written(
    response: Response, state: State, receipt: Receipt, passport_id: str, status: str | None
) -> PassportWritten:
    state.log_head.appended(receipt.tree_size, receipt.checkpoint)
    response.status_code = 200 if receipt.existing else 201
    response.headers["Location"] = f"/passports/{passport_id}"
    return PassportWritten(
        passport_id=passport_id,
        record=receipt.record_hash,
        status=status,
        receipt=ReceiptModel.of(receipt),
    )


_WRITE_ERRORS = problems(400, 403, 404, 409, 413, 422)


@router.post(
    "",
    summary="Issue a passport: the OEM's signed BatteryPassport record and its four partitions",
    status_code=201,
    response_model=PassportWritten,
    responses={200: {"model": PassportWritten, "description": "Already issued"}, **_WRITE_ERRORS},
    openapi_extra=_body_doc(SignedSubmission),
)
def issue(
    submission: Annotated[SignedSubmission, Depends(signed_submission)],
    state: State,
    response: Response,
) -> PassportWritten:
    """Append a passport prepared and signed by its OEM (``passport.service.issue.
    prepare_passport`` makes one; ``bpass passport issue`` does the same locally).

    The ledger checks the OEM's signature and role, that the record commits to the four
    partitions given (each signed with the same key), to a checkpoint of this log and to a pack
    lot, that the battery has no other live passport, and that the passport validates. Nothing
    about the passport is taken from this request but what is signed.
    """
    _kind(submission.record, "BatteryPassport")
    (receipt,) = _append(state.ledger, [submission.record], submission.partitions)
    subject = submission.record["credentialSubject"]
    return _written(response, state, receipt, str(subject["passportId"]), str(subject["status"]))


@router.post(
    "/{passport_id}/status",
    summary="Change a battery's status (signed PassportStatusChange)",
    status_code=201,
    response_model=PassportWritten,
    responses={200: {"model": PassportWritten, "description": "Already recorded"}, **_WRITE_ERRORS},
    openapi_extra=_body_doc(StatusSubmission),
)
def change_status(
    passport_id: PassportId,
    submission: Annotated[StatusSubmission, Depends(status_submission)],
    state: State,
    response: Response,
) -> PassportWritten:
    """Append a status change signed by an actor allowed to make it (repairer, recycler, the
    OEM for its own passports), with a new point-4 partition if it records one; repurposing and
    remanufacturing come with the successor passport, appended in the same transaction."""
    _kind(submission.record, "PassportStatusChange", passport_id)
    records, partitions = [submission.record], list(submission.partitions)
    if submission.successor is not None:
        _kind(submission.successor.record, "BatteryPassport")
        records.insert(0, submission.successor.record)
        partitions += submission.successor.partitions
    receipts = _append(state.ledger, records, partitions)
    out = _written(
        response,
        state,
        receipts[-1],
        passport_id,
        str(submission.record["credentialSubject"]["to"]),
    )
    if submission.successor is not None:
        subject = submission.successor.record["credentialSubject"]
        out.successor = PassportWritten(
            passport_id=str(subject["passportId"]),
            record=receipts[0].record_hash,
            status=str(subject["status"]),
            receipt=ReceiptModel.of(receipts[0]),
        )
    return out


@router.post(
    "/{passport_id}/updates",
    summary="Update point 4 (signed PassportUpdate and its new point-4 partition)",
    status_code=201,
    response_model=PassportWritten,
    responses={200: {"model": PassportWritten, "description": "Already recorded"}, **_WRITE_ERRORS},
    openapi_extra=_body_doc(SignedSubmission),
)
def update(
    passport_id: PassportId,
    submission: Annotated[SignedSubmission, Depends(signed_submission)],
    state: State,
    response: Response,
) -> PassportWritten:
    """Append a point-4 update (state of health, cycles, negative events …) signed by a repairer
    or the passport's OEM; it must supersede the current point 4 (409 ``passport_stale`` if not)."""
    _kind(submission.record, "PassportUpdate", passport_id)
    (receipt,) = _append(state.ledger, [submission.record], submission.partitions)
    return _written(response, state, receipt, passport_id, None)


@router.post(
    "/{passport_id}/mandates",
    summary="Mandate an actor to update point 4, or withdraw it (signed PassportMandate)",
    status_code=201,
    response_model=PassportWritten,
    responses={200: {"model": PassportWritten, "description": "Already recorded"}, **_WRITE_ERRORS},
    openapi_extra=_body_doc(SignedSubmission),
)
def mandate(
    passport_id: PassportId,
    submission: Annotated[SignedSubmission, Depends(signed_submission)],
    state: State,
    response: Response,
) -> PassportWritten:
    """Append a mandate signed by the passport's economic operator: the named actor (a repairer,
    say) may update this passport's point 4 until the mandate's end time or its withdrawal
    (Art. 77). It carries no partitions."""
    _kind(submission.record, "PassportMandate", passport_id)
    if submission.partitions:
        raise SubmissionInvalidError("a mandate carries no partitions", passport=passport_id)
    (receipt,) = _append(state.ledger, [submission.record], ())
    return _written(response, state, receipt, passport_id, None)


# -- reading -----------------------------------------------------------------------------------
def private_headers(response: Response, role: AccessRole) -> None:
    """Restricted views are never stored by shared caches; every view varies by token."""
    response.headers["Vary"] = "Authorization, Accept"
    response.headers["Cache-Control"] = (
        "public, max-age=10" if role is AccessRole.PUBLIC else "private, no-store"
    )


def dump(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def cached(state: State, key: tuple[str, ...], render: Callable[[], bytes]) -> bytes:
    """The body of a passport read, rendered once per log size (:class:`api.cache.ViewCache`)."""
    size, _ = await latest(state)
    full = (*key, str(size))
    body = state.views.get(full)
    if body is None:
        body = await run_in_threadpool(render)
        state.views.put(full, body)
    return body


def json_response(body: bytes, role: AccessRole, headers: dict[str, str] | None = None) -> Response:
    """A cached JSON body with the caching headers of ``role``'s view."""
    response = Response(body, media_type="application/json", headers=headers)
    private_headers(response, role)
    return response


@router.get(
    "/{passport_id}",
    summary="A passport as the caller's access role may see it",
    response_model=PassportViewModel,
    response_class=JSONResponse,
    responses=problems(401, 403, 404, 422),
)
async def read(
    passport_id: PassportId,
    state: State,
    principal: PrincipalDep,
    requested: RequestedRole = None,
) -> Response:
    """The public partition (point 1) without a token; with one, the partitions of the
    caller's access role (legitimate interest: 1, 2, 4; authority: 1, 2, 3). Each partition comes
    as the signed object the passport record (or a later update) commits to, with those records
    and their inclusion proofs, so the caller can verify what it is shown. The audience is decided
    for this passport at this request (``?role``: see the parameter)."""
    _, role = await passport_audience(state, passport_id, principal, requested)
    body = await cached(
        state,
        ("view", passport_id, role.value),
        lambda: dump(show_passport(state.ledger, passport_id, role).to_dict()),
    )
    return json_response(body, role)


@router.get(
    "/{passport_id}/compliance",
    summary="Compliance report over the caller's partitions",
    response_model=ComplianceModel,
    responses=problems(401, 403, 404, 422),
)
async def compliance(
    passport_id: PassportId,
    state: State,
    principal: PrincipalDep,
    response: Response,
    requested: RequestedRole = None,
) -> ComplianceModel:
    """Annex XIII completeness (items of the partitions the caller may see), Art. 8 recycled
    content against the 2031/2036 minimums, the carbon-footprint class and due-diligence
    coverage, computed from the caller's view of the passport."""
    _, role = await passport_audience(state, passport_id, principal, requested)
    private_headers(response, role)

    def report() -> dict[str, Any]:
        document = show_passport(state.ledger, passport_id, role, with_receipts=False).document
        return scoped_compliance(document, role)

    return ComplianceModel.model_validate(await run_in_threadpool(report))


@router.get(
    "/{passport_id}/export",
    summary="Export to the Battery Pass or Catena-X data model (the economic operator only)",
    response_model=ExportModel,
    responses=problems(401, 403, 404, 422),
)
def export(
    passport_id: PassportId,
    ledger: LedgerDep,
    principal: PrincipalDep,
    response: Response,
    format: Annotated[
        Literal["batterypass", "catenax"],
        Query(description="Export format: Battery Pass v1.2 or Catena-X battery_pass 6.1.0."),
    ] = "batterypass",
    performance_version: Annotated[
        Literal["1.2.0", "1.2.1"],
        Query(alias="performanceVersion", description="PerformanceAndDurability version."),
    ] = "1.2.1",
    supplement: Annotated[
        list[str] | None,
        Query(
            alias="set",
            description="catenax only: a Catena-X-only value the passport does not hold, as "
            "POINTER=VALUE (repeatable), e.g. /metadata/economicOperatorId=BPNL0000000000AB.",
        ),
    ] = None,
) -> ExportModel:
    """The seven Battery Pass v1.2 aspects, or the Catena-X battery_pass 6.1.0 payload (as the
    one aspect ``BatteryPass``). They carry all four partitions, so only the passport's own
    economic operator (with its bearer token) may export it; 403 for anyone else, whatever its
    access role."""
    state = load_state(ledger, passport_id)
    if principal is None or principal.did != state.issuer:
        raise ExportForbiddenError(
            "the export holds every partition: only the passport's economic operator may export "
            "it; read GET /passports/{id} for your role's view",
            passport=passport_id,
        )
    response.headers["Cache-Control"] = "private, no-store"
    if format == "catenax":
        given = dict(parse_supplement(s) for s in supplement or [])
        catenax = export_catenax(full_document(ledger, passport_id), supplements=given)
        return ExportModel(
            passport_id=passport_id,
            format=format,
            aspects={"BatteryPass": catenax.payload},
            notes=catenax.notes,
            passport_version=current_version(ledger, passport_id),
        )
    if supplement:
        raise ExportSupplementError([{"pointer": "set", "message": "for format=catenax only"}])
    assert performance_version in PERFORMANCE_VERSIONS
    exported = export_batterypass(
        full_document(ledger, passport_id),
        performance_version=performance_version,
        version=current_version(ledger, passport_id),
    )
    return ExportModel(
        passport_id=passport_id,
        format=format,
        performance_version=performance_version,
        aspects=exported.aspects,
        notes=exported.notes,
        passport_version=exported.passport_version or {},
        supplement=exported.supplement,
    )


_BUNDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "version", "log", "checkpoint", "passport", "records"],
    "properties": {
        "type": {"const": "BatteryPassportBundle"},
        "version": {"const": 1},
        "log": {"type": "object"},
        "checkpoint": {"type": "string", "description": "C2SP signed checkpoint note."},
        "passport": {"type": "object"},
        "records": {"type": "array", "items": {"type": "object"}},
        "provenanceSet": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The record hashes of the provenance set the passport commits to.",
        },
        "disclosures": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Authority bundle only: record hash -> the Disclosures of that "
            "confidential record, so that the provenance can be replayed.",
        },
    },
}


@router.get(
    "/{passport_id}/bundle",
    summary="Offline verification bundle (the caller's partitions)",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "Everything needed to verify the passport offline: the role's "
            "partitions, the records, one checkpoint and each record's inclusion proof",
            "content": {"application/json": {"schema": _BUNDLE_SCHEMA}},
        },
        **problems(401, 403, 404, 422),
    },
)
async def bundle(
    passport_id: PassportId,
    state: State,
    principal: PrincipalDep,
    requested: RequestedRole = None,
) -> Response:
    """Built by :func:`passport.service.bundle.build_bundle`; verify it with ``bpass verify`` or
    in a browser (the passport page does). Its audience is decided as for ``GET
    /passports/{id}``: an authority's bundle carries the confidential records' Disclosures (its
    figures can be replayed), every other audience's carries them redacted only."""
    _, role = await passport_audience(state, passport_id, principal, requested)
    body = await cached(
        state,
        ("bundle", passport_id, role.value),
        lambda: dump(build_bundle(state.ledger, passport_id, access_role=role.value)),
    )
    return json_response(body, role)


def _qr(ledger: Ledger, passport_id: str, fmt: qr.QrFormat) -> Response:
    battery_id = load_state(ledger, passport_id).battery_id
    return Response(
        qr.render(battery_id, fmt),
        media_type=qr.MEDIA_TYPES[fmt],
        headers={"Cache-Control": "public, max-age=86400"},
    )


def _qr_doc(media: str, schema: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": "QR code (level Q) of the battery's Digital Link URI",
            "content": {media: {"schema": schema}},
        },
        **problems(404, 422),
    }


@router.get(
    "/{passport_id}/qr.png",
    summary="QR code of the passport's link, PNG",
    response_class=Response,
    responses=_qr_doc("image/png", {"type": "string", "format": "binary"}),
)
def qr_png(passport_id: PassportId, ledger: LedgerDep) -> Response:
    """The battery's GS1 Digital Link URI as a QR code (error correction Q), black on white."""
    return _qr(ledger, passport_id, "png")


@router.get(
    "/{passport_id}/qr.svg",
    summary="QR code of the passport's link, SVG",
    response_class=Response,
    responses=_qr_doc("image/svg+xml", {"type": "string"}),
)
def qr_svg(passport_id: PassportId, ledger: LedgerDep) -> Response:
    """The same QR code as scalable vector graphics, for print."""
    return _qr(ledger, passport_id, "svg")
