"""The GS1 Digital Link resolver: ``/01/{GTIN}/21/{serial}``, the URI a battery's QR code holds.

Content negotiation (RFC 9110 §12.5.1) on ``Accept``: a browser (``text/html``) gets the passport
page, which verifies the passport in the browser; a client asking for JSON gets the passport as
its access role may see it (public without a token); ``application/linkset+json`` (or
``?linkType=all``) gets the passport's links as an RFC 9264 linkset. Every answer carries the
links in a ``Link`` header: the verification bundle, the QR images, the log's checkpoint.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from api import pages
from api.deps import PrincipalDep, State, passport_audience
from api.errors import NotAcceptableError
from api.openapi import problems
from api.routes.passports import RequestedRole, cached, dump, json_response
from api.views import HTML, JSON, LINKSET, link_header, linkset, negotiate, passport_links
from passport.document.access import AccessRole
from passport.document.ids import SERIAL, digital_link, valid_gtin14
from passport.errors import PassportNotFoundError
from passport.service.views import resolve, show_passport

router = APIRouter(tags=["resolver"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The passport page (text/html), the caller's view of the passport "
        "(application/json) or its links (application/linkset+json)",
        "content": {
            JSON: {"schema": {"$ref": "#/components/schemas/PassportView"}},
            HTML: {"schema": {"type": "string"}},
            LINKSET: {"schema": {"type": "object"}},
        },
        "headers": {
            "Link": {
                "description": "RFC 8288 links: linkset, bundle, QR images, checkpoint",
                "schema": {"type": "string"},
            }
        },
    },
    **problems(401, 403, 404, 406, 422),
}


@router.get(
    "/01/{gtin}/21/{serial}",
    summary="Resolve a battery's GS1 Digital Link URI",
    response_class=Response,
    responses=_RESPONSES,
)
async def resolve_battery(
    gtin: str,
    serial: str,
    request: Request,
    state: State,
    principal: PrincipalDep,
    link_type: Annotated[
        str | None,
        Query(alias="linkType", max_length=40, description="``all``: the links as a linkset."),
    ] = None,
    requested: RequestedRole = None,
) -> Response:
    """The battery's passport (the live one, else its latest), negotiated by ``Accept``."""
    ledger = state.ledger  # not a dependency of its own: this is the QR code's hot path
    accept = request.headers.get("accept")
    wants = negotiate(accept, [JSON, HTML, LINKSET])
    if link_type in ("all", "linkset"):
        wants = LINKSET
    if wants is None:
        raise NotAcceptableError(f"offered: {JSON}, {HTML}, {LINKSET}")
    path = f"/01/{gtin}/21/{serial}"
    try:
        if not valid_gtin14(gtin) or not SERIAL.match(serial):
            raise PassportNotFoundError("this is not the link of a battery (GTIN-14 and serial)")
        battery_id = digital_link(state.settings.public_base_url, gtin, serial)
        found = await cached(
            state,
            ("resolve", battery_id),
            lambda: resolve(ledger, battery_id).encode("ascii"),
        )
        passport_id = found.decode("ascii")
    except PassportNotFoundError:
        if wants == HTML:
            return pages.not_found_page(gtin, serial)
        raise
    links = passport_links(passport_id, path)
    headers = {"Link": link_header(links, f"{path}?linkType=all")}
    if wants == LINKSET:
        headers["Vary"] = "Accept"
        return JSONResponse(linkset(battery_id, links), media_type=LINKSET, headers=headers)
    if wants == HTML:
        page = await cached(
            state,
            ("page", passport_id),
            lambda: pages.passport_page(
                show_passport(ledger, passport_id, AccessRole.PUBLIC, with_receipts=False).document,
                links,
            ).encode("utf-8"),
        )
        return HTMLResponse(page, headers={**headers, **pages.SECURITY_HEADERS, "Vary": "Accept"})
    _, role = await passport_audience(state, passport_id, principal, requested)
    body = await cached(
        state,
        ("view", passport_id, role.value),
        lambda: dump(show_passport(ledger, passport_id, role).to_dict()),
    )
    return json_response(body, role, headers)
