"""The supplier page (``GET /supplier``) and its one server-side step, ``POST /imports/validate``.

A supplier uploads a CSV, JSON Lines or XLSX file of records of one kind; the node checks every
row as ``bpass import`` does and returns the unsigned drafts of its records
(:func:`passport.service.uploads.validate_upload`). The supplier's browser signs them with the
supplier's key, which never leaves it (WebCrypto Ed25519, ``/static/supplier.js``), and appends
them with ``POST /records/batch``: the node checks those records like any others.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep, State
from api.errors import AuthenticationRequiredError
from api.openapi import problems
from api.pages import SECURITY_HEADERS
from api.supplier_page import SUPPLIER_PAGE
from passport.service.uploads import CONTENT_TYPES, upload_format, validate_upload

router = APIRouter(tags=["supplier"])

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes; its format from ?format or the media type.",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}} for media in CONTENT_TYPES
        },
    }
}


@router.get("/supplier", include_in_schema=False)
def supplier_page() -> HTMLResponse:
    """The supplier page: pick the key file, upload, read the report, sign in the browser."""
    return HTMLResponse(SUPPLIER_PAGE, headers=SECURITY_HEADERS)


@router.post(
    "/imports/validate",
    summary="Check an import file and get the unsigned drafts of its records",
    responses=problems(401, 403, 413, 422),
    openapi_extra=_UPLOAD_BODY,
)
async def validate_import(
    request: Request,
    state: State,
    principal: PrincipalDep,
    kind: Annotated[str, Query(max_length=64, description="The records' kind (Extraction, …).")],
    format: Annotated[
        str | None, Query(max_length=8, description="csv, jsonl or xlsx; else the media type.")
    ] = None,
    name: Annotated[str, Query(max_length=200, description="The file's name, for messages.")] = (
        "upload"
    ),
) -> dict[str, Any]:
    """Every row checked as ``bpass import`` checks it: 422 ``import_invalid`` lists each problem
    with its row and column; a valid file's answer holds, in chain order, the unsigned record of
    each row for the authenticated actor (bearer token) to sign with its key, continuing its
    chain from the head given (see :mod:`passport.service.uploads`). Changes nothing."""
    if principal is None:
        raise AuthenticationRequiredError(
            "checking an import needs the supplier's bearer token (POST /auth/challenge, then "
            "POST /auth/token): the drafts continue the supplier's own chain"
        )
    fmt = upload_format(format, request.headers.get("content-type"))
    body = await request.body()
    return await run_in_threadpool(
        validate_upload,
        state.ledger,
        body,
        kind=kind,
        fmt=fmt,
        issuer=principal.did,
        key=principal.key,
        name=name,
    )
