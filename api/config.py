"""Limits and lifetimes of the HTTP layer (``BPASS_API_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiConfig(BaseSettings):
    """Settings of the HTTP API beyond the node's :class:`passport.settings.Settings`."""

    model_config = SettingsConfigDict(env_prefix="BPASS_API_", extra="ignore")

    max_batch_records: int = Field(default=1000, ge=1)
    """Most records one ``POST /records/batch`` may carry."""
    max_batch_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    """Largest ``POST /records/batch`` body, in bytes."""
    max_json_depth: int = Field(default=32, ge=2, le=1000)
    """Deepest nesting of a record in a batch body (checked before the body is parsed)."""
    max_json_values: int = Field(default=1_000_000, ge=1)
    """Most JSON values and member names in a batch body (checked before it is parsed)."""
    large_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    """A body larger than this (or of unknown length, where the endpoint allows more) is large."""
    max_large_bodies: int = Field(default=2, ge=1)
    """Large bodies received and handled at once (per process); beyond this, 503 at once."""
    max_passport_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    """Largest passport submission (a signed record with its signed partitions), in bytes."""
    max_import_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    """Largest file uploaded to the supplier page's check (``POST /imports/validate``), in bytes."""
    max_other_bytes: int = Field(default=64 * 1024, ge=1024)
    """Largest body of every other endpoint (authentication requests), in bytes."""
    token_ttl_seconds: int = Field(default=900, gt=0, le=900)
    """Lifetime of a bearer token; at most 15 minutes."""
    challenge_ttl_seconds: int = Field(default=120, gt=0, le=600)
    """Lifetime of an authentication challenge."""
    max_pending_challenges: int = Field(default=10_000, ge=1)
    """Challenges pending at once (node-wide, in the database); when full, new ones get 429."""
    challenge_client_limit: int = Field(default=30, ge=1)
    """Challenge requests one client address (IPv6: one /64) may make per window (per process)."""
    challenge_did_limit: int = Field(default=10, ge=1)
    """Challenges one DID may be issued per window (per process)."""
    challenge_rate_window_seconds: float = Field(default=60.0, gt=0, le=3600)
    """The window of the challenge rate limits: a bucket refills fully in this time."""
    rate_limit_keys: int = Field(default=100_000, ge=1)
    """Addresses and DIDs each rate limit tracks at once (bounded memory); beyond, 429."""
    record_cache_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    """Bytes of immutable record bodies kept in memory for ``GET /records/{hash}``."""
    view_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    """Bytes of rendered passport views and bundles kept in memory (keyed by the log size)."""
    checkpoint_cache_seconds: float = Field(default=1.0, ge=0, le=60)
    """How long the latest checkpoint is served from memory (appends via this node: at once)."""
    max_group_records: int = Field(default=256, ge=1, le=1000)
    """Most concurrent single appends committed in one transaction (group commit)."""
    max_pending_appends: int = Field(default=10_000, ge=1)
    """Single appends allowed to wait for the writer; beyond this the server answers 503."""
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """``bpass serve``: a request's head must arrive within this time of its first byte."""
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """``bpass serve``: longest stall between two reads of a request body."""
    max_connections: int = Field(default=1000, ge=1)
    """``bpass serve``: open connections per process; beyond, 503 ``connections_full``."""
    max_header_bytes: int = Field(default=16 * 1024, ge=1024, le=1024 * 1024)
    """``bpass serve``: largest request head (request line and headers); beyond, 431."""
    keep_alive_seconds: int = Field(default=5, ge=1, le=300)
    """``bpass serve``: how long an idle keep-alive connection stays open."""
