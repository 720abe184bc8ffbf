"""``/auth``: earn a bearer token by signing a challenge with a registered actor's key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.deps import PrincipalDep, State
from api.limits import ChallengeLimits, challenge_limits
from api.models import (
    ChallengeRequest,
    ChallengeResponse,
    Jwks,
    TokenRequest,
    TokenResponse,
    WhoAmI,
)
from api.openapi import problems
from passport.document.access import AccessRole

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/challenge",
    summary="Get a challenge to sign",
    response_model=ChallengeResponse,
    responses=problems(400, 403, 413, 422, 429),
)
def challenge(
    body: ChallengeRequest,
    state: State,
    request: Request,
    limits: Annotated[ChallengeLimits, Depends(challenge_limits)],
    response: Response,
) -> ChallengeResponse:
    """A single-use challenge for a registered actor; sign its exact UTF-8 bytes with its key.

    429 with ``Retry-After`` when this client address or this DID asks too often, or when every
    challenge slot holds a pending challenge (none is ever dropped to make room).
    """
    limits.check_client(request)
    text, expires = state.auth.challenge(body.did, admit=limits.check_did)
    response.headers["Cache-Control"] = "no-store"
    return ChallengeResponse(challenge=text, expires=expires)


@router.post(
    "/token",
    summary="Exchange a signed challenge for a bearer token",
    response_model=TokenResponse,
    responses=problems(400, 403, 404, 413, 422),
)
def token(body: TokenRequest, state: State, response: Response) -> TokenResponse:
    """A short-lived bearer token (compact JWS, EdDSA) for the actor that signed the challenge."""
    issued = state.auth.token(body.did, body.challenge, body.signature)
    response.headers["Cache-Control"] = "no-store"
    return TokenResponse(
        access_token=issued.token,
        expires_in=issued.expires_in,
        access_role=issued.principal.access,
    )


@router.get(
    "/whoami",
    summary="The caller's identity and access role",
    response_model=WhoAmI,
    responses=problems(401),
)
def whoami(principal: PrincipalDep) -> WhoAmI:
    """Who the bearer token (if any) makes the caller, and the access role it reads as."""
    if principal is None:
        return WhoAmI(did=None, roles=[], access_role=AccessRole.PUBLIC)
    return WhoAmI(did=principal.did, roles=list(principal.roles), access_role=principal.access)


@router.get("/keys", summary="Token verification keys", response_model=Jwks)
def keys(state: State) -> Jwks:
    """The node's token-signing public key as a JWK Set, to verify tokens independently."""
    return Jwks.model_validate(state.auth.jwks())
