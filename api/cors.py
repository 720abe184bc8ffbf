"""CORS (Fetch standard) for the public, read-only surface: any origin may read what a GET or
HEAD returns, never with credentials (no cookies exist; a bearer token is a header the caller
sets, and restricted answers stay ``Cache-Control: private, no-store``). A preflight (``OPTIONS``
with ``Access-Control-Request-Method``) for GET or HEAD is answered here for every path; a plain
``OPTIONS`` goes on to the application (the resolver answers it with ``Allow``)."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = "GET, HEAD, OPTIONS"
ALLOWED_HEADERS = "Accept, Accept-Language, Authorization"
EXPOSED = "Link, Location, Content-Length, Retry-After"
MAX_AGE = "86400"
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class CorsMiddleware:
    """``Access-Control-Allow-Origin: *`` on reads; preflights for reads answered (204)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in READS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        requested = headers.get("access-control-request-method")
        if scope["method"] == "OPTIONS" and "origin" in headers and requested is not None:
            status = 204 if requested.upper() in ("GET", "HEAD") else 403
            preflight = Response(
                status_code=status,
                headers={
                    "Access-Control-Allow-Origin": "*",
                    "Access-Control-Allow-Methods": METHODS,
                    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                    "Access-Control-Max-Age": MAX_AGE,
                    "Allow": METHODS,
                },
            )
            await preflight(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["Access-Control-Allow-Origin"] = "*"
                out["Access-Control-Allow-Methods"] = METHODS
                out["Access-Control-Expose-Headers"] = EXPOSED
            await send(message)

        await self.app(scope, receive, send_with_cors)
