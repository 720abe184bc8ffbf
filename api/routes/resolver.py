"""The GS1 Digital Link resolver (GS1-Conformant Resolver 1.2): ``/01/{GTIN}/21/{serial}``, the
URI a battery's QR code holds, its compressed form, and ``/.well-known/gs1resolver``.

Without ``linkType`` the default link is served by content negotiation (RFC 9110 §12.5.1) on
``Accept``: a browser (``text/html``) gets the passport page, which verifies the passport in the
browser; a client asking for JSON gets the passport as its access role may see it (public
without a token); ``application/linkset+json`` (or ``?linkType=all``) gets the links as an
RFC 9264 linkset. ``?linkType=gs1:pip`` (a CURIE or the full URI) redirects (307) to that link;
a link type the battery lacks is a 404 problem. Every answer carries the links in a ``Link``
header. A malformed key (GTIN length or check digit, serial outside GS1 AI 21's characters,
undecodable compressed link) is a 400 problem; a well-formed one without a passport a 404.
GTIN-8/12/13 and compressed links resolve as their canonical URI (no redirect: GS1 asks not to
redirect a compressed link to its uncompressed form), which the ``Link`` header names as
``owl:sameAs``. HEAD answers as GET without the body; OPTIONS names the methods. CORS headers
come from :class:`api.cors.CorsMiddleware`. The link building is :mod:`api.views`'; key parsing
and decompression are the domain's (:mod:`passport.document.ids`,
:mod:`passport.document.dl_compression`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from api import pages
from api.auth import Principal
from api.deps import PrincipalDep, State, passport_audience
from api.errors import LinkTypeNotFoundError, NotAcceptableError
from api.models import PASSPORT_ID_PATTERN
from api.openapi import problems
from api.routes.passports import RequestedRole, cached, dump, json_response
from api.views import (
    HTML,
    JSON,
    LINKSET,
    find_link,
    link_header,
    linkset,
    negotiate,
    passport_links,
    resolver_description,
)
from passport.document.access import AccessRole
from passport.document.dl_compression import battery_key
from passport.document.ids import SERIAL, digital_link, parse_battery_key
from passport.errors import DigitalLinkMalformedError, PassportNotFoundError
from passport.service.assurance import named_assurances
from passport.service.views import resolve, show_passport

router = APIRouter(tags=["resolver"])

ALLOW = "GET, HEAD, OPTIONS"


class CompressedLinkConvertor(Convertor[str]):
    """A compressed Digital Link's one path segment: base64url, starting with an upper-case
    letter (every GS1 key's first byte does) and at least 10 characters (a GTIN alone takes 10),
    so that no other route's lower-case segment is taken for one."""

    regex = "[A-Z][A-Za-z0-9_-]{9,}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("gs1compressed", CompressedLinkConvertor())

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
                "description": "RFC 8288 links: linkset, gs1:pip, gs1:defaultLink, bundle, QR "
                "images, checkpoint, passport; owl:sameAs the canonical URI",
                "schema": {"type": "string"},
            }
        },
    },
    307: {"description": "``linkType`` names a link: redirect to its target"},
    **problems(400, 401, 403, 404, 406, 422),
}

LinkType = Annotated[
    str | None,
    Query(
        alias="linkType",
        max_length=200,
        description="``all``: the links as a linkset; a link type (``gs1:pip``, "
        "``https://gs1.org/voc/pip``, …): redirect to that link.",
    ),
]


def _bodiless(request: Request, response: Response) -> Response:
    """HEAD: the response's status and headers (its Content-Length too), without the body."""
    if request.method != "HEAD":
        return response
    return Response(status_code=response.status_code, headers=dict(response.headers))


async def _answer(
    request: Request,
    state: State,
    audience: tuple[Principal | None, AccessRole | None],
    key: tuple[str, str] | None,
    shown: tuple[str, str],
    link_type: str | None,
) -> Response:
    """The resolver's answer for battery ``key`` (None: well-formed but not ours), requested by
    a URI showing ``shown`` (GTIN, serial) as the client wrote them."""
    ledger = state.ledger  # not a dependency of its own: this is the QR code's hot path
    wants = negotiate(request.headers.get("accept"), [JSON, HTML, LINKSET])
    if link_type in ("all", "linkset"):
        wants = LINKSET
    elif link_type is not None:
        wants = wants or JSON  # a redirect is acceptable to anyone
    if wants is None:
        raise NotAcceptableError(f"offered: {JSON}, {HTML}, {LINKSET}")
    base = state.settings.public_base_url.rstrip("/")
    try:
        if key is None or not SERIAL.match(key[1]):
            raise PassportNotFoundError("no battery passport is registered at this link")
        battery_id = digital_link(base, *key)
        found = await cached(
            state,
            ("resolve", battery_id),
            lambda: resolve(ledger, battery_id).encode("ascii"),
        )
        passport_id = found.decode("ascii")
    except PassportNotFoundError:
        if wants == HTML:
            return pages.not_found_page(*shown)
        raise
    path = battery_id.removeprefix(base)
    links = passport_links(passport_id, base, path)
    canonical = path == request.url.path
    headers = {
        "Link": link_header(links, f"{battery_id}?linkType=all", None if canonical else battery_id),
        "Vary": "Accept",
    }
    if link_type not in (None, "all", "linkset"):
        target = find_link(links, link_type)
        if target is None:
            raise LinkTypeNotFoundError(
                f"this battery has no link of type {link_type!r}", linkType=link_type
            )
        return RedirectResponse(target["href"], status_code=307, headers=headers)
    if wants == LINKSET:
        return JSONResponse(linkset(battery_id, links), media_type=LINKSET, headers=headers)
    if wants == HTML:
        return HTMLResponse(
            await _page(state, passport_id, links), headers={**headers, **pages.SECURITY_HEADERS}
        )
    _, role = await passport_audience(state, passport_id, *audience)
    body = await cached(
        state,
        ("view", passport_id, role.value),
        lambda: dump(show_passport(ledger, passport_id, role).to_dict()),
    )
    return json_response(body, role, {"Link": headers["Link"]})


async def _page(state: State, passport_id: str, links: list[dict[str, str]]) -> bytes:
    """The public page, rendered once per log size; its links same-origin (relative)."""
    base = state.settings.public_base_url.rstrip("/")
    links = [{**link, "href": link["href"].removeprefix(base)} for link in links]

    def render() -> bytes:
        view = show_passport(state.ledger, passport_id, AccessRole.PUBLIC, with_receipts=False)
        named = named_assurances(state.ledger, view.assurances)
        return pages.passport_page(view.document, links, named).encode("utf-8")

    return await cached(state, ("page", passport_id), render)


@router.get(
    "/01/{gtin}/21/{serial}",
    summary="Resolve a battery's GS1 Digital Link URI",
    response_class=Response,
    responses=_RESPONSES,
)
@router.head("/01/{gtin}/21/{serial}", include_in_schema=False)
async def resolve_battery(
    gtin: str,
    serial: str,
    request: Request,
    state: State,
    principal: PrincipalDep,
    link_type: LinkType = None,
    requested: RequestedRole = None,
) -> Response:
    """The battery's passport (the live one, else its latest): the default link negotiated by
    ``Accept``, the linkset, or a redirect to the link ``linkType`` names. A GTIN-8, -12 or -13
    resolves as its GTIN-14."""
    try:
        key = parse_battery_key(gtin, serial)
    except DigitalLinkMalformedError:
        if negotiate(request.headers.get("accept"), [JSON, HTML]) == HTML:
            return _bodiless(request, pages.not_found_page(gtin, serial, status_code=400))
        raise
    audience = (principal, requested)
    return _bodiless(
        request, await _answer(request, state, audience, key, (gtin, serial), link_type)
    )


@router.get("/{compressed:gs1compressed}", include_in_schema=False)
@router.head("/{compressed:gs1compressed}", include_in_schema=False)
async def resolve_compressed(
    compressed: str,
    request: Request,
    state: State,
    principal: PrincipalDep,
    link_type: LinkType = None,
    requested: RequestedRole = None,
) -> Response:
    """A compressed Digital Link (GS1 Digital Link 1.1+): resolved as its uncompressed URI."""
    key = battery_key(compressed)
    shown = key or (compressed, "")
    audience = (principal, requested)
    return _bodiless(request, await _answer(request, state, audience, key, shown, link_type))


@router.options("/01/{gtin}/21/{serial}", include_in_schema=False)
@router.options("/{compressed:gs1compressed}", include_in_schema=False)
async def resolver_options() -> Response:
    """The methods the resolver answers (a CORS preflight is answered by the CORS middleware)."""
    return Response(status_code=204, headers={"Allow": ALLOW})


@router.get(
    "/passports/{passport_id}/page",
    summary="A passport's page: GS1 product information page (gs1:pip) of the battery",
    response_class=HTMLResponse,
    responses={200: {"content": {HTML: {"schema": {"type": "string"}}}}, **problems(404, 422)},
)
@router.head("/passports/{passport_id}/page", include_in_schema=False)
async def passport_page(
    passport_id: Annotated[str, Path(pattern=PASSPORT_ID_PATTERN)],
    request: Request,
    state: State,
) -> Response:
    """The public passport page (the same as the resolver serves a browser); the target of the
    battery's ``gs1:pip`` and default links."""
    view = await run_in_threadpool(
        show_passport, state.ledger, passport_id, AccessRole.PUBLIC, with_receipts=False
    )
    base = state.settings.public_base_url.rstrip("/")
    battery_id = str(view.document.get("batteryId") or "")
    path = battery_id.removeprefix(base)
    links = passport_links(passport_id, base, path)
    page = await _page(state, passport_id, links)
    return _bodiless(request, HTMLResponse(page, headers=dict(pages.SECURITY_HEADERS)))


@router.get(
    "/.well-known/gs1resolver",
    summary="The GS1 resolver description document",
    response_class=JSONResponse,
)
@router.head("/.well-known/gs1resolver", include_in_schema=False)
async def gs1resolver(request: Request, state: State) -> Response:
    """Name, resolver root, primary keys and link type vocabularies (GS1-Conformant Resolver
    1.2, resolver description file)."""
    body = resolver_description(state.settings.public_base_url, request.app.version)
    return _bodiless(request, JSONResponse(body, headers={"Cache-Control": "public, max-age=3600"}))
