"""``/records``: append signed records (one, or a batch, all-or-nothing) and read them back.

Writes need no account: the record's own signature authenticates it, and the ledger checks that
the issuer is registered, the key is its current one and its role may issue the kind.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api import reads
from api.deps import LedgerDep, PrincipalDep, State
from api.errors import BatchInvalidError, BatchTooLargeError, JsonMalformedError
from api.jsonscan import scan_batch
from api.models import HASH_PATTERN, MAX_SEQUENCE, Did, ReceiptModel, RecordPage, RecordSummary
from api.openapi import problems, record_body, record_schema
from passport.errors import BatchItemError, MalformedRecordError
from passport.records.confidential import unwrap
from passport.service.disclosures import read_disclosures
from signing.errors import CanonicalizationError
from signing.jcs import parse_json

router = APIRouter(prefix="/records", tags=["records"])

RecordHash = Annotated[
    str, Path(pattern=HASH_PATTERN, description="sha256:<hex> of the record's canonical bytes.")
]


async def raw_body(request: Request) -> bytes:
    """The request body, read under the size limit enforced by the middleware."""
    return await request.body()


async def batch_body(request: Request, state: State) -> list[dict[str, Any]]:
    """A batch body: a non-empty strict JSON array of at most the configured number of objects.

    Off the event loop (a batch may be megabytes): scanned first
    (:func:`api.jsonscan.scan_batch`: items, depth and values capped, nothing built, stopping at
    the first violation), then parsed; nothing is verified before both passed.
    """
    body = await request.body()
    config = state.config

    def scan_and_parse() -> Any:
        scan_batch(
            body,
            max_items=config.max_batch_records,
            max_depth=config.max_json_depth,
            max_values=config.max_json_values,
        )
        return parse_json(body)

    try:
        items = await run_in_threadpool(scan_and_parse)
    except CanonicalizationError as exc:
        raise JsonMalformedError(f"the batch is not valid JSON: {exc.message}") from None
    if not isinstance(items, list) or not items:
        raise BatchInvalidError("a batch is a non-empty JSON array of signed records")
    limit = state.config.max_batch_records
    if len(items) > limit:
        raise BatchTooLargeError(
            f"the batch holds {len(items)} records; at most {limit}", limit=limit
        )
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise BatchItemError(index, MalformedRecordError("record must be a JSON object"))
    return items


def _unwrap(
    item: dict[str, Any], index: int | None = None
) -> tuple[dict[str, Any], list[str]] | None:
    """A confidential record's wrapped form, ``{"record": …, "disclosures": [string, …]}``, as
    (record, Disclosures); None for a plain record
    (:func:`passport.records.confidential.unwrap`)."""
    try:
        wrapped = unwrap(item)
    except MalformedRecordError as error:
        raise error if index is None else BatchItemError(index, error) from None
    return None if wrapped is None else (wrapped.record, list(wrapped.disclosures))


def _created(response: Response, receipt: ReceiptModel) -> ReceiptModel:
    response.status_code = 200 if receipt.existing else 201
    response.headers["Location"] = f"/records/{receipt.record_hash}"
    return receipt


@router.post(
    "",
    summary="Append one signed record",
    status_code=201,
    response_model=ReceiptModel,
    responses={
        200: {"model": ReceiptModel, "description": "Already in the ledger: its receipt"},
        **problems(400, 403, 409, 413, 422),
    },
    openapi_extra=record_body(batch=False),
)
async def append_record(
    body: Annotated[bytes, Depends(raw_body)], state: State, response: Response
) -> ReceiptModel:
    """Append the signed record in the body (its exact JSON bytes) and return its receipt.

    A confidential record comes wrapped with its Disclosures, ``{"record": …, "disclosures":
    […]}``: they are checked against its digests and kept beside it, never logged.

    201 for a new record; 200 with ``existing: true`` when the same record was appended before, so
    a retry is safe. Concurrent appends are committed together (group commit), with the same
    outcome for each as if they had been appended one by one in arrival order.
    """
    wrapped = None
    if b'"disclosures"' in body:  # perhaps a confidential record with its Disclosures
        try:
            doc = await run_in_threadpool(parse_json, body)
        except CanonicalizationError:
            doc = None  # the ledger names the problem with the bytes as sent
        if isinstance(doc, dict):
            wrapped = _unwrap(doc)
    if wrapped is None:
        receipt = await asyncio.wrap_future(state.writer.submit(body))
    else:
        receipt = await asyncio.wrap_future(state.writer.submit(*wrapped))
    state.log_head.appended(receipt.tree_size, receipt.checkpoint)
    return _created(response, ReceiptModel.of(receipt))


@router.post(
    "/batch",
    summary="Append a batch of signed records, all or nothing",
    status_code=201,
    response_model=list[ReceiptModel],
    responses={
        200: {"model": list[ReceiptModel], "description": "Every record was already in the ledger"},
        **problems(400, 403, 409, 413, 422),
    },
    openapi_extra=record_body(batch=True),
)
def append_batch(
    items: Annotated[list[dict[str, Any]], Depends(batch_body)],
    state: State,
    response: Response,
) -> list[ReceiptModel]:
    """Append a JSON array of signed records in one transaction; a rejection names its ``index``.

    An item may be a confidential record wrapped with its Disclosures (see ``POST /records``).
    """
    unwrapped = [_unwrap(item, i) for i, item in enumerate(items)]
    if any(u is not None for u in unwrapped):
        records = [item if u is None else u[0] for item, u in zip(items, unwrapped, strict=True)]
        receipts = state.ledger.append_batch(
            records, [None if u is None else u[1] for u in unwrapped]
        )
    else:
        receipts = state.ledger.append_batch(items)
    state.log_head.appended(receipts[-1].tree_size, receipts[-1].checkpoint)
    response.status_code = 200 if all(r.existing for r in receipts) else 201
    return [ReceiptModel.of(r) for r in receipts]


@router.get(
    "/{record_hash}",
    summary="A record's signed bytes",
    response_class=Response,
    responses={
        200: {
            "description": "The record's canonical JSON bytes, exactly as stored and hashed",
            "content": {"application/json": {"schema": record_schema()}},
        },
        **problems(404, 422),
    },
)
async def get_record(record_hash: RecordHash, state: State) -> Response:
    """The stored canonical (RFC 8785) bytes of a record, unchanged: their SHA-256 is its id."""
    body = state.records.get(record_hash)
    if body is None:
        stored = await run_in_threadpool(state.ledger.record, record_hash)
        body = stored.body
        state.records.put(record_hash, body)
    return Response(
        body,
        media_type="application/json",
        headers={
            "ETag": f'"{record_hash}"',
            "Cache-Control": "public, max-age=31536000, immutable",
        },
    )


@router.get(
    "/{record_hash}/disclosures",
    summary="A confidential record's Disclosures (its entitled parties only)",
    response_model=list[str],
    responses=problems(401, 403, 404, 422),
)
async def get_disclosures(
    record_hash: RecordHash, state: State, principal: PrincipalDep
) -> list[str]:
    """The RFC 9901 Disclosures of the record's concealed members (none for a plain record),
    to its issuer, the buyer a Transfer names, authorities and the certifiers or notified bodies
    the issuer granted them (``DisclosureGrant``); 403 ``disclosures_not_entitled`` for anyone
    else, anonymous readers included. The token only authenticates: the reader's
    roles are read from the ledger per request. ``GET /records/{hash}`` keeps serving everyone
    the signed redacted bytes."""
    reader = principal.did if principal is not None else None
    return await run_in_threadpool(read_disclosures, state.ledger, record_hash, reader)


@router.get(
    "",
    summary="An issuer's records",
    response_model=RecordPage,
    responses=problems(422),
)
def list_records(
    ledger: LedgerDep,
    issuer: Annotated[Did, Query(description="The issuer's DID.")],
    after: Annotated[
        int, Query(ge=0, le=MAX_SEQUENCE, description="Only records with a greater sequence.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
) -> RecordPage:
    """The issuer's records in chain order, a page at a time (``after`` = last sequence seen)."""
    rows = reads.records_by_issuer(ledger, issuer, after, limit)
    return RecordPage(
        items=[RecordSummary.of(r) for r in rows],
        next_after=rows[-1].sequence if len(rows) == limit else None,
    )
