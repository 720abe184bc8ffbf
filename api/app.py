"""The FastAPI application: ``create_app`` wires settings, the ledger, auth and the routers.

Layering (design): routes parse, call ``passport`` and render; every error becomes an RFC 9457
problem (:mod:`api.problems`); bodies are size-capped before they are read
(:class:`api.middleware.BodyLimitMiddleware`). Each resource has its own router module under
``api/routes``: records, actors, log, auth, lots (roll-ups), passports (with QR images and
bundles), the GS1 Digital Link resolver with its HTML page, and the supplier page with its
upload check; ``/static`` serves the page's
same-origin CSS and JavaScript (the in-browser verifier).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from api.auth import Authenticator, derive_token_key
from api.cache import LogHead, RecordCache, ViewCache
from api.config import ApiConfig
from api.cors import CorsMiddleware
from api.deps import AppState
from api.errors import BatchTooLargeError
from api.limits import ChallengeLimits
from api.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    CatchAllMiddleware,
    LimitRule,
    too_large,
)
from api.openapi import finish as finish_openapi
from api.problems import install as install_problem_handlers
from api.routes import actors, auth, log, lots, passports, records, resolver, supplier
from api.writer import AppendCoalescer
from passport.errors import RecordTooLargeError
from passport.ledger.pipeline import Ledger
from passport.settings import Settings
from passport.trace.model import Rollup, Trail
from signing.errors import BpassError

VERSION = "0.1.0"

TAGS = [
    {"name": "records", "description": "Signed ledger records: append and read back."},
    {"name": "actors", "description": "Registered actors, their roles, keys and chain heads."},
    {"name": "log", "description": "The RFC 9162 transparency log: checkpoints and proofs."},
    {"name": "auth", "description": "Bearer tokens for restricted reads, by signed challenge."},
    {"name": "lots", "description": "Provenance roll-ups of a lot and the trail of each figure."},
    {
        "name": "passports",
        "description": "Battery passports: issue and change by signed records; read the "
        "partitions your access role may see; compliance, export, QR codes, offline bundles.",
    },
    {
        "name": "supplier",
        "description": "The supplier page's upload check: an import file's report and the "
        "unsigned drafts of its records, signed in the supplier's browser.",
    },
    {
        "name": "resolver",
        "description": "GS1 Digital Link: the URI in a battery's QR code, by content negotiation.",
    },
]

STATIC = Path(__file__).parent / "static"


def _limit_rule(ledger: Ledger, config: ApiConfig) -> LimitRule:
    record_limit = ledger.max_record_bytes
    batch_limit = config.max_batch_bytes

    def record_error(size: int) -> RecordTooLargeError:
        return RecordTooLargeError(
            f"record is {size} bytes or more, limit {record_limit}", limit=record_limit
        )

    def batch_error(size: int) -> BatchTooLargeError:
        return BatchTooLargeError(
            f"the batch is {size} bytes or more, limit {batch_limit}", limit=batch_limit
        )

    other = too_large(config.max_other_bytes)
    passport_error = too_large(config.max_passport_bytes)
    import_error = too_large(config.max_import_bytes)

    def rule(method: str, path: str) -> tuple[int, Callable[[int], BpassError]]:
        if method == "POST" and path == "/records":
            return record_limit, record_error
        if method == "POST" and path == "/records/batch":
            return batch_limit, batch_error
        if method == "POST" and path.startswith("/passports"):
            return config.max_passport_bytes, passport_error
        if method == "POST" and path == "/imports/validate":
            return config.max_import_bytes, import_error
        return config.max_other_bytes, other

    return rule


def create_app(
    settings: Settings | None = None,
    ledger: Ledger | None = None,
    *,
    config: ApiConfig | None = None,
) -> FastAPI:
    """The API for ``ledger`` (opened from ``settings`` with its log key when not given)."""
    settings = settings or Settings()
    config = config or ApiConfig()
    owns_ledger = ledger is None
    if ledger is None:
        ledger = Ledger.open(settings)
    info = ledger.info()
    authenticator = Authenticator(
        ledger,
        token_key=derive_token_key(ledger.log_key),
        issuer=info.origin,
        audience=settings.public_base_url.rstrip("/"),
        token_ttl=config.token_ttl_seconds,
        challenge_ttl=config.challenge_ttl_seconds,
        max_challenges=config.max_pending_challenges,
    )
    state = AppState(
        settings=settings,
        config=config,
        ledger=ledger,
        auth=authenticator,
        records=RecordCache(config.record_cache_bytes),
        log_head=LogHead(config.checkpoint_cache_seconds),
        writer=AppendCoalescer(
            ledger, max_group=config.max_group_records, max_pending=config.max_pending_appends
        ),
        identity=info,
        owns_ledger=owns_ledger,
        views=ViewCache(config.view_cache_bytes),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(
        title="battery-passport ledger API",
        version=VERSION,
        description=(
            "Signed, hash-chained provenance records (W3C VC 2.0, eddsa-jcs-2022), an RFC 9162 "
            "transparency log with C2SP signed checkpoints, and per-pack EU battery passports. "
            "Every error is an RFC 9457 problem document with a stable `code`."
        ),
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.bpass = state
    app.state.challenge_limits = ChallengeLimits.of(config)
    install_problem_handlers(app)
    for module in (resolver, records, actors, log, auth, lots, passports, supplier):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Added last = outermost: access log, then the catch-all, then the body limit.
    app.add_middleware(
        BodyLimitMiddleware,
        rule=_limit_rule(ledger, config),
        large_bytes=config.large_body_bytes,
        max_large=config.max_large_bodies,
    )
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(CorsMiddleware)  # GS1 resolver: CORS on every read, outside the catch-all
    app.add_middleware(AccessLogMiddleware)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = finish_openapi(document, extra_models=(Rollup, Trail))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
