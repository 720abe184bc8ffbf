"""Bearer tokens for restricted reads, earned by signing a server challenge with an actor's key.

No password exists anywhere: an actor proves control of its current ledger key.

1. ``POST /auth/challenge {did}``: the server returns a random, single-use challenge that expires
   after a short time. Pending challenges live in the ledger's database (``auth_challenges``),
   so every server process of the node accepts a challenge any of them issued, once.
2. ``POST /auth/token {did, challenge, signature}``: ``signature`` is Ed25519 over the exact UTF-8
   bytes of the challenge, by one of the actor's active keys, as base58btc multibase (``z…``) or
   base64url. The challenge is consumed whatever the outcome.
3. The server answers with a compact JWS (EdDSA) whose claims name the actor (``sub``), its ledger
   roles, its access role (:func:`passport.document.access.role_for_actor`), the key that answered
   (``key``), the audience (the node's public base URL) and an expiry at most 15 minutes ahead.

The token only authenticates. At each request :meth:`Authenticator.verify` reads the key and the
actor's roles from the ledger (the roles in the claims are informative only), and what the reader
may see of a passport is decided per passport from the ledger
(:func:`passport.document.access.decide_access`, :func:`api.deps.passport_audience`).

The token key is derived from the log key (the SHA-256 of a fixed, domain-separated message signed
by it: Ed25519 signatures are deterministic), so it is stable across restarts, known only to the
holder of the log key, and distinct from it. A token is refused once its key has been revoked.
Tokens, signatures and challenges are never logged.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api import reads
from api.errors import ChallengeInvalidError, ChallengesFullError, TokenInvalidError
from passport.document.access import AccessRole, role_for_actor
from passport.errors import UnknownIssuerError
from passport.ledger.pipeline import Ledger
from passport.store.rows import StoredActor
from passport.store.sql.repository import Repository
from passport.timefmt import format_ts
from signing import ed25519
from signing.errors import BpassError, JwsError, SignatureError
from signing.jws import b64url_decode, decode_jwt, encode_jwt
from signing.keys import SigningKey
from signing.multikey import decode_multibase_signature, public_key_to_jwk

TOKEN_KEY_LABEL = b"battery-passport/api/token-key/v1"
CHALLENGE_PREFIX = "battery-passport auth challenge v1"

Clock = Callable[[], float]


def derive_token_key(log_key: SigningKey | None) -> SigningKey:
    """The node's token-signing key: derived from the log key, or random when there is none."""
    if log_key is None:
        return SigningKey.generate()
    return SigningKey.from_seed(hashlib.sha256(log_key.sign(TOKEN_KEY_LABEL)).digest())


def decode_signature(text: str) -> bytes:
    """A 64-byte Ed25519 signature from base58btc multibase (``z…``) or base64url text."""
    if not isinstance(text, str) or len(text) > 200:
        raise SignatureError("the signature is neither multibase nor base64url")
    candidates: list[Callable[[str], bytes]] = [b64url_decode]
    if text.startswith("z"):
        candidates.insert(0, decode_multibase_signature)
    for decode in candidates:
        try:
            raw = decode(text)
        except BpassError:
            continue
        if len(raw) == ed25519.SIGNATURE_SIZE:
            return raw
    raise SignatureError("the signature is neither multibase nor base64url of 64 bytes")


@dataclass(frozen=True)
class Principal:
    """The authenticated reader behind a valid bearer token."""

    did: str
    roles: tuple[str, ...]
    access: AccessRole
    key: str
    expires_at: int


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued bearer token."""

    token: str
    expires_in: int
    principal: Principal


class ChallengeStore:
    """Pending single-use challenges, bounded in number, kept in the ledger's database so that
    every server process of the node knows them (each is consumed exactly once).

    A full store refuses a new challenge (:class:`ChallengesFullError`, with the seconds until
    the earliest pending one expires) and never drops a pending one to make room: a flood must
    not evict a real user's challenge between its issue and its answer. Processes sharing the
    database may each add one beyond ``capacity`` in a race (the count and the insert are not
    serialised across processes)."""

    def __init__(self, repo: Repository, ttl: int, capacity: int, clock: Clock) -> None:
        self.repo = repo
        self.ttl = ttl
        self.capacity = capacity
        self.clock = clock

    def issue(self, did: str, audience: str) -> tuple[str, float]:
        """A new challenge for ``did`` and the time it expires (seconds since the epoch)."""
        now = self.clock()
        expires = now + self.ttl
        nonce = secrets.token_urlsafe(32)
        challenge = f"{CHALLENGE_PREFIX};aud={audience};did={did};nonce={nonce}"
        with self.repo.side_write() as tx:
            full_until = tx.add_challenge(challenge, did, expires, now, self.capacity)
        if full_until is not None:
            retry = max(1, math.ceil(full_until - now))
            raise ChallengesFullError(
                f"{self.capacity} challenges are pending; retry in {retry} s", retryAfter=retry
            )
        return challenge, expires

    def take(self, challenge: str, did: str) -> None:
        """Consume ``challenge``; ChallengeInvalidError unless pending, fresh and for ``did``."""
        with self.repo.side_write() as tx:
            entry = tx.take_challenge(challenge)
        if entry is None:
            raise ChallengeInvalidError("unknown or already used challenge; request a new one")
        owner, expires = entry
        if owner != did:
            raise ChallengeInvalidError("the challenge was issued to another DID")
        if self.clock() >= expires:
            raise ChallengeInvalidError("the challenge has expired; request a new one")

    def pending(self) -> int:
        """How many challenges are stored."""
        with self.repo.read() as tx:
            return tx.count_challenges()


class Authenticator:
    """Challenges, token issuance and token verification for one ledger node."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        token_key: SigningKey,
        issuer: str,
        audience: str,
        token_ttl: int,
        challenge_ttl: int,
        max_challenges: int,
        clock: Clock = time.time,
    ) -> None:
        self.ledger = ledger
        self.token_key = token_key
        self.issuer = issuer
        self.audience = audience
        self.token_ttl = token_ttl
        self._clock = clock
        self.challenges = ChallengeStore(ledger.repo, challenge_ttl, max_challenges, self.now)

    def now(self) -> float:
        """The current time (seconds since the epoch); replaceable in tests via ``_clock``."""
        return self._clock()

    @property
    def kid(self) -> str:
        """Key id of the token key: its multikey."""
        return self.token_key.multikey

    def jwks(self) -> dict[str, Any]:
        """The token verification key as a JWK Set (RFC 7517 §5)."""
        jwk = public_key_to_jwk(self.token_key.public_key_bytes)
        return {"keys": [{**jwk, "kid": self.kid, "alg": "EdDSA", "use": "sig"}]}

    def challenge(self, did: str, admit: Callable[[str], None] | None = None) -> tuple[str, str]:
        """A challenge for a registered actor and its expiry as an RFC 3339 timestamp.

        ``admit`` (a rate limit) is called with the DID once it is known to be registered, before
        anything is stored; it refuses by raising.
        """
        self._registered(did)
        if admit is not None:
            admit(did)
        challenge, expires = self.challenges.issue(did, self.audience)
        return challenge, format_ts(datetime.fromtimestamp(expires, UTC), micro=False)

    def _registered(self, did: str) -> StoredActor:
        try:
            return reads.actor(self.ledger, did)
        except BpassError:
            raise UnknownIssuerError(f"{did} is not a registered actor") from None

    def token(self, did: str, challenge: str, signature: str) -> IssuedToken:
        """Check the signed challenge and issue a bearer token for ``did``."""
        self.challenges.take(challenge, did)
        signature_bytes = decode_signature(signature)
        actor, keys = reads.actor_with_keys(self.ledger, did)
        message = challenge.encode("utf-8")
        for key in keys:
            if key.state == "active" and ed25519.is_valid(key.public_key, message, signature_bytes):
                return self._issue(actor, key.multikey)
        raise SignatureError("the signature is not by an active key of this actor")

    def _issue(self, actor: StoredActor, key_multikey: str) -> IssuedToken:
        now = int(self.now())
        exp = now + self.token_ttl
        access = role_for_actor(actor.roles)
        claims = {
            "iss": self.issuer,
            "sub": actor.did,
            "aud": self.audience,
            "iat": now,
            "exp": exp,
            "jti": secrets.token_urlsafe(16),
            "roles": list(actor.roles),
            "access": access.value,
            "key": key_multikey,
        }
        token = encode_jwt(claims, self.token_key, kid=self.kid)
        return IssuedToken(
            token, self.token_ttl, Principal(actor.did, actor.roles, access, key_multikey, exp)
        )

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; TokenInvalidError otherwise (never echoing the token)."""
        try:
            claims = decode_jwt(token, self._key_for)
        except JwsError as exc:
            raise TokenInvalidError(f"bearer token rejected: {exc.message}") from None
        principal = self._check_claims(claims)
        # The token authenticates; the ledger authorises. The actor's roles are read now, not
        # taken from the claims, so a role removed after issue stops counting at once.
        with self.ledger.repo.read() as tx:
            key = tx.key(principal.key)
            actor = tx.actor(principal.did)
        if key is None:
            raise TokenInvalidError("bearer token names an unknown key")
        if key.state == "revoked" or key.actor_did != principal.did:
            raise TokenInvalidError("the key that earned this token has been revoked")
        if actor is None:
            raise TokenInvalidError("bearer token names an actor the ledger no longer knows")
        roles = tuple(actor.roles)
        return Principal(
            principal.did, roles, role_for_actor(roles), principal.key, principal.expires_at
        )

    def _key_for(self, header: Mapping[str, Any]) -> bytes:
        if header.get("kid") != self.kid:
            raise JwsError("bearer token was not issued by this node")
        return self.token_key.public_key_bytes

    def _check_claims(self, claims: dict[str, Any]) -> Principal:
        now = self.now()
        exp, iat = claims.get("exp"), claims.get("iat")
        sub, roles, key = claims.get("sub"), claims.get("roles"), claims.get("key")
        if claims.get("iss") != self.issuer or claims.get("aud") != self.audience:
            raise TokenInvalidError("bearer token is for another issuer or audience")
        if not isinstance(exp, int) or not isinstance(iat, int) or exp - iat > self.token_ttl:
            raise TokenInvalidError("bearer token has an unusable lifetime")
        if now >= exp:
            raise TokenInvalidError("bearer token has expired")
        if not isinstance(sub, str) or not isinstance(key, str) or not isinstance(roles, list):
            raise TokenInvalidError("bearer token lacks its subject, key or roles")
        held = tuple(str(r) for r in roles)
        return Principal(sub, held, role_for_actor(held), key, exp)

    def principal(self, authorization: str | None) -> Principal | None:
        """The principal of an ``Authorization`` header; None without one."""
        if authorization is None:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenInvalidError("Authorization must be 'Bearer <token>'")
        return self.verify(token.strip())


__all__ = [
    "Authenticator",
    "ChallengeStore",
    "IssuedToken",
    "Principal",
    "decode_signature",
    "derive_token_key",
]
