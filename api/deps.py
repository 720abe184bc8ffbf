"""What every route may ask for: the node's state, its ledger, and the reader's access role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import Authenticator, Principal
from api.cache import LogHead, RecordCache, ViewCache
from api.config import ApiConfig
from api.writer import AppendCoalescer
from passport.access import AccessRole
from passport.ledger import Ledger, LedgerInfo
from passport.settings import Settings


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


def get_state(request: Request) -> AppState:
    """The :class:`AppState` of the application serving ``request``."""
    state: AppState = request.app.state.bpass
    return state


def get_ledger(request: Request) -> Ledger:
    """The ledger this node serves."""
    return get_state(request).ledger


bearer = HTTPBearer(
    auto_error=False,
    description="A token from POST /auth/token; without one the caller reads as the public.",
)


def current_principal(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Principal | None:
    """The authenticated reader, or None for an anonymous request (401 on a bad token).

    The header is read here, not by ``HTTPBearer`` (which only documents the scheme), so that a
    malformed ``Authorization`` header is refused rather than ignored.
    """
    return get_state(request).auth.principal(request.headers.get("authorization"))


def current_role(request: Request) -> AccessRole:
    """The reader's access role: public without a token, else the role its actor's roles give."""
    principal = current_principal(request)
    return principal.access if principal else AccessRole.PUBLIC


State = Annotated[AppState, Depends(get_state)]
LedgerDep = Annotated[Ledger, Depends(get_ledger)]
PrincipalDep = Annotated[Principal | None, Depends(current_principal)]
RoleDep = Annotated[AccessRole, Depends(current_role)]
