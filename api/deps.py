"""What every route may ask for: the node's state, its ledger, the authenticated reader, and the
audience a passport read is served as (decided per passport and per request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Authenticator, Principal
from api.cache import LogHead, RecordCache, ViewCache
from api.config import ApiConfig
from api.writer import AppendCoalescer
from passport.document.access import ANONYMOUS, AccessRole, PassportAccessFacts, decide_access
from passport.ledger.accept import LedgerInfo
from passport.ledger.pipeline import Ledger
from passport.service.views import reader_access
from passport.settings import Settings
from passport.timefmt import format_ts


@dataclass
class AppState:
    """Everything one API instance holds: settings, the ledger, authentication, caches."""

    settings: Settings
    config: ApiConfig
    ledger: Ledger
    auth: Authenticator
    records: RecordCache
    log_head: LogHead
    writer: AppendCoalescer
    identity: LedgerInfo
    owns_ledger: bool
    views: ViewCache

    def close(self) -> None:
        """Stop the writer (after what it holds), then the ledger if this state opened it."""
        self.writer.close()
        if self.owns_ledger:
            self.ledger.close()


# The dependencies are coroutines: FastAPI runs a plain ``def`` dependency in its thread pool,
# and a thread hop costs more than what these do (measured: three of them took about half of a
# cached public passport read's server time). Only a bearer token's check, which reads the key
# from the ledger, still goes to the pool.
async def get_state(request: Request) -> AppState:
    """The :class:`AppState` of the application serving ``request``."""
    return _state(request)


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.bpass
    return state


async def get_ledger(request: Request) -> Ledger:
    """The ledger this node serves."""
    return _state(request).ledger


bearer = HTTPBearer(
    auto_error=False,
    description="A token from POST /auth/token; without one the caller reads as the public.",
)


async def current_principal(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Principal | None:
    """The authenticated reader, or None for an anonymous request (401 on a bad token).

    The header is read here, not by ``HTTPBearer`` (which only documents the scheme), so that a
    malformed ``Authorization`` header is refused rather than ignored.
    """
    authorization = request.headers.get("authorization")
    if authorization is None:
        return None  # anonymous: nothing to check
    # The check reads the token's key from the ledger: blocking, so in the thread pool.
    return await run_in_threadpool(_state(request).auth.principal, authorization)


async def passport_audience(
    state: AppState,
    identifier: str,
    principal: Principal | None,
    requested: AccessRole | None,
) -> tuple[str, AccessRole]:
    """The passport a read is about and the audience it is served as, decided per request
    from the ledger (:func:`passport.service.views.reader_access`): 403 ``access_not_entitled``
    for an audience asked for without entitlement; without ``?role`` the widest the reader is
    entitled to, the public view for an unentitled reader.

    An anonymous reader is the public whatever the passport: decided without a database read
    (the QR code's hot path).
    """
    if principal is None:
        facts = PassportAccessFacts(passport_id=identifier, economic_operator="")
        return identifier, decide_access(ANONYMOUS, facts, requested)
    at = format_ts(datetime.fromtimestamp(state.auth.now(), UTC))
    return await run_in_threadpool(
        reader_access, state.ledger, identifier, principal.did, requested, at
    )


State = Annotated[AppState, Depends(get_state)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
PrincipalDep = Annotated[Principal | None, Depends(current_principal)]
