"""``/actors`` and ``/keys``: registered actors, their roles, keys and chain heads.

Actors are registered by appending an operator-signed ActorRegistration record to ``/records``;
there is no unsigned write here.

An actor's legal name, country, roles and keys are public. Its facilities (names, countries,
coordinates) go to the actor itself, the ledger operator and authorities
(:func:`passport.document.access.may_read_facilities`); anyone else reads ``facilities: null``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from api import reads
from api.deps import LedgerDep, PrincipalDep
from api.models import DID_PATTERN, MULTIKEY_PATTERN, ActorDetail, ActorSummary, KeyInfo
from api.openapi import problems
from passport.service.provenance import read_actor

router = APIRouter(tags=["actors"])


@router.get("/actors", summary="Registered actors", response_model=list[ActorSummary])
def list_actors(ledger: LedgerDep) -> list[ActorSummary]:
    """Every registered actor with its roles and the length of its hash chain."""
    return [ActorSummary.of(a) for a in reads.actors(ledger)]


@router.get(
    "/actors/{did}",
    summary="One actor, its keys and chain head",
    response_model=ActorDetail,
    responses=problems(401, 404, 422),
)
async def get_actor(
    ledger: LedgerDep,
    principal: PrincipalDep,
    did: Annotated[str, Path(pattern=DID_PATTERN, max_length=256, description="The actor's DID.")],
) -> ActorDetail:
    """A registered actor with every key it has had and its chain head; its facilities for
    the actor itself, the ledger operator and authorities (null for anyone else)."""
    reader = principal.did if principal is not None else None
    read = await run_in_threadpool(read_actor, ledger, did, reader)
    return ActorDetail.with_keys(read.actor, read.keys, read.facilities)


@router.get(
    "/keys/{multikey}",
    summary="Which actor a key belongs to",
    response_model=KeyInfo,
    responses=problems(404, 422),
)
def get_key(
    ledger: LedgerDep,
    multikey: Annotated[
        str, Path(pattern=MULTIKEY_PATTERN, description="Ed25519 multikey (z6Mk…).")
    ],
) -> KeyInfo:
    """A registered key: its actor and its state (active, rotated or revoked)."""
    return KeyInfo.of(reads.key(ledger, multikey))
