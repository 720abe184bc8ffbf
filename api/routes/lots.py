"""``/lots``: a lot's provenance roll-ups (origins, recycled content, carbon, certification and
due-diligence coverage, risk flags) and the trail behind each figure.

The provenance records are public ledger records, so roll-ups are public: every reader gets the
same. The figures are computed by :func:`passport.trace.rollup.compute_rollup`, never here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import LedgerDep
from api.errors import RequestInvalidError
from api.models import LOT_PATTERN, TIMESTAMP_PATTERN
from api.openapi import problems
from passport.timefmt import parse_ts
from passport.trace.model import Rollup, Trail
from passport.trace.rollup import compute_rollup
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


def _rollup(ledger: LedgerDep, lot: str, at: str | None) -> Rollup:
    return compute_rollup(ledger.repo, lot, at=_at(at))


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
        **problems(404, 422),
    },
)
def rollup(
    ledger: LedgerDep,
    lot: LotId,
    at: At = None,
    trails: Annotated[
        bool, Query(description="Include every figure's trail (records and amounts).")
    ] = True,
) -> dict[str, Any]:
    """Roll the lot's provenance up as of ``at``: per element its origins by country, facility,
    deposit type and mining method, recycled and certified shares, due-diligence coverage; the
    carbon footprint per life-cycle stage; risk flags; and each figure's trail."""
    result = _rollup(ledger, lot, at)
    body: dict[str, Any] = result.model_dump(by_alias=True, mode="json")
    if trails:
        body["trails"] = {
            figure: trail.model_dump(by_alias=True, mode="json")
            for figure, trail in result.trails.items()
        }
    return body


@router.get(
    "/{lot}/rollup/explain/{figure}",
    summary="The trail behind one figure of a roll-up",
    response_model=Trail,
    responses=problems(404, 422),
)
def explain(
    ledger: LedgerDep,
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
    """Which records contributed how much to one figure (404 lists the lot's figure ids)."""
    return _rollup(ledger, lot, at).explain(figure)
