"""``/lots``: a lot's provenance roll-ups (origins, recycled content, carbon, certification and
due-diligence coverage, risk flags) and the trail behind each figure.

Roll-ups are not public (issue #21): a lot's figures go to its creator, the actors that hold or
held it, the actors downstream of it and authorities; anyone else, anonymous readers included,
gets 403 ``lot_not_entitled``. Within a trail, an entry whose confidential record the reader may
not read keeps its record hash and kind and withholds its lot and amount. The decisions are
:mod:`passport.document.access`'s, the facts :mod:`passport.service.provenance`'s; the figures
are computed by :func:`passport.trace.rollup.compute_rollup`, never here. The bearer token only
authenticates: the reader's roles are read from the ledger per request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from api.deps import LedgerDep, PrincipalDep
from api.errors import RequestInvalidError
from api.models import LOT_PATTERN, TIMESTAMP_PATTERN
from api.openapi import problems
from passport.service.provenance import read_rollup, read_trail
from passport.timefmt import parse_ts
from passport.trace.model import Trail
from signing.errors import BpassError

router = APIRouter(prefix="/lots", tags=["lots"])

LotId = Annotated[
    str,
    Path(pattern=LOT_PATTERN, max_length=208, description="The lot id (urn:lot:…)."),
]
At = Annotated[
    str | None,
    Query(
        pattern=TIMESTAMP_PATTERN,
        description="RFC 3339 UTC time: count the attestations the ledger had accepted by then "
        "(default: now).",
    ),
]


def _at(at: str | None) -> str | None:
    if at is None:
        return None
    try:
        parse_ts(at)
    except BpassError:
        raise RequestInvalidError(
            f"query /at: {at!r} names no real instant",
            problems=[{"in": "query", "pointer": "/at", "message": "not a real instant"}],
        ) from None
    return at


_ROLLUP_SCHEMA: dict[str, Any] = {
    "allOf": [{"$ref": "#/components/schemas/Rollup"}],
    "type": "object",
    "properties": {
        "trails": {
            "type": "object",
            "additionalProperties": {"$ref": "#/components/schemas/Trail"},
            "description": "Every figure's trail by figure id (absent with trails=false).",
        }
    },
}


@router.get(
    "/{lot}/rollup",
    summary="A lot's provenance roll-up",
    response_model=None,
    responses={
        200: {
            "description": "The roll-up (camelCase; masses in µg, shares as percent strings)",
            "content": {"application/json": {"schema": _ROLLUP_SCHEMA}},
        },
        **problems(401, 403, 404, 422),
    },
)
async def rollup(
    ledger: LedgerDep,
    principal: PrincipalDep,
    lot: LotId,
    at: At = None,
    trails: Annotated[
        bool, Query(description="Include every figure's trail (records and amounts).")
    ] = True,
) -> dict[str, Any]:
    """Roll the lot's provenance up as of ``at``: per element its origins by country, facility,
    deposit type and mining method, recycled and certified shares, due-diligence coverage; the
    carbon footprint per life-cycle stage; risk flags; and each figure's trail (entries of
    confidential records the reader may not read withheld). 403 ``lot_not_entitled`` for a
    reader not entitled to the lot (see the module)."""
    reader = principal.did if principal is not None else None
    read = await run_in_threadpool(read_rollup, ledger, lot, reader, at=_at(at), trails=trails)
    body: dict[str, Any] = read.rollup.model_dump(by_alias=True, mode="json")
    if trails:
        body["trails"] = {
            figure: trail.model_dump(by_alias=True, mode="json")
            for figure, trail in read.trails.items()
        }
    return body


@router.get(
    "/{lot}/rollup/explain/{figure}",
    summary="The trail behind one figure of a roll-up",
    response_model=Trail,
    responses=problems(401, 403, 404, 422),
)
async def explain(
    ledger: LedgerDep,
    principal: PrincipalDep,
    lot: LotId,
    figure: Annotated[
        str,
        Path(
            max_length=200,
            description="A figure id of the roll-up (its ``figures`` list), e.g. Ni.country.ID.",
        ),
    ],
    at: At = None,
) -> Trail:
    """Which records contributed how much to one figure (404 lists the lot's figure ids); an
    entry of a confidential record the reader may not read withholds its lot and amount. 403
    ``lot_not_entitled`` as for the roll-up."""
    reader = principal.did if principal is not None else None
    return await run_in_threadpool(read_trail, ledger, lot, figure, reader, at=_at(at))
