"""``/log``: the transparency log's identity, signed checkpoints, inclusion and consistency."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from api.deps import AppState, LedgerDep, State
from api.models import HASH_PATTERN, MAX_INDEX, ConsistencyProof, LogInfo, ReceiptModel
from api.openapi import problems

router = APIRouter(prefix="/log", tags=["log"])


async def latest(state: AppState) -> tuple[int, str]:
    """(tree size, signed note) of the latest checkpoint, from memory while fresh."""
    return await state.log_head.latest(lambda: run_in_threadpool(state.ledger.checkpoint))


Size = Annotated[
    int | None, Query(ge=0, le=MAX_INDEX, description="Tree size (default: the latest).")
]


@router.get("", summary="The log's origin, verifier key and size", response_model=LogInfo)
async def log_info(state: State) -> LogInfo:
    """Identity of the log: pin ``logVkey`` (out of band) to verify checkpoints and receipts."""
    size, _ = await latest(state)
    return LogInfo.of(dataclasses.replace(state.identity, size=size))


_NOTE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "C2SP tlog-checkpoint signed note",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/checkpoint",
    summary="Signed checkpoint",
    response_class=PlainTextResponse,
    responses={**_NOTE, **problems(404, 422)},
)
async def checkpoint(state: State, size: Size = None) -> PlainTextResponse:
    """The latest signed checkpoint, or the one at ``size``, as a C2SP signed note."""
    if size is None:
        _, note = await latest(state)
        return PlainTextResponse(note, headers={"Cache-Control": "max-age=1"})
    note = await run_in_threadpool(state.ledger.checkpoint, size)
    return PlainTextResponse(note, headers={"Cache-Control": "public, max-age=31536000, immutable"})


@router.get(
    "/inclusion/{record_hash}",
    summary="Inclusion proof of a record",
    response_model=ReceiptModel,
    responses=problems(404, 422),
)
def inclusion(
    ledger: LedgerDep,
    record_hash: Annotated[str, Path(pattern=HASH_PATTERN)],
    size: Size = None,
) -> ReceiptModel:
    """The record's receipt against the latest checkpoint (or the one at ``size``)."""
    return ReceiptModel.of(ledger.receipt(record_hash, size))


@router.get(
    "/consistency",
    summary="Consistency proof between two tree sizes",
    response_model=ConsistencyProof,
    responses=problems(404, 422),
)
def consistency(
    ledger: LedgerDep,
    old: Annotated[int, Query(ge=0, le=MAX_INDEX, description="The older tree size.")],
    new: Size = None,
) -> ConsistencyProof:
    """Proof that the tree at ``new`` (default latest) extends the tree at ``old``."""
    return ConsistencyProof.model_validate(ledger.consistency(old, new))
