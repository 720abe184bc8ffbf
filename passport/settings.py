"""Settings, from environment variables (``BPASS_*``) with sensible defaults.

The embedded default is SQLite in ``$BPASS_HOME/ledger.sqlite`` (``./.bpass`` unless set);
PostgreSQL is chosen by URL, e.g. ``BPASS_DATABASE_URL=postgresql+psycopg://127.0.0.1:5432/test``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from passport.timefmt import DEFAULT_CLOCK_SKEW_SECONDS


class Settings(BaseSettings):
    """Runtime settings of a ledger node."""

    model_config = SettingsConfigDict(env_prefix="BPASS_", extra="ignore")

    home: Path = Path(".bpass")
    database_url: str | None = None
    max_record_bytes: int = 256 * 1024
    clock_skew_seconds: int = DEFAULT_CLOCK_SKEW_SECONDS
    """How far a record's ``validFrom`` / proof ``created`` may lie ahead of the ledger's
    acceptance time (``BPASS_CLOCK_SKEW_SECONDS``); later ones are refused at append."""
    log_origin: str | None = None
    public_base_url: str = Field(
        default="",
        validation_alias=AliasChoices(
            "BPASS_PUBLIC_URL", "BPASS_PUBLIC_BASE_URL", "public_base_url"
        ),
    )
    """The public base URL of the node's links and QR codes (``BPASS_PUBLIC_URL``); when unset,
    ``http://HOST:PORT`` of the server, so that a changed port is followed everywhere."""
    host: str = "127.0.0.1"
    port: int = 8000

    @model_validator(mode="after")
    def _derive_public_url(self) -> Settings:
        if not self.public_base_url:
            self.public_base_url = f"http://{self.host}:{self.port}"
        return self

    def resolved_database_url(self) -> str:
        """The database URL: the configured one, else SQLite inside ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'ledger.sqlite').as_posix()}"

    @property
    def operator_key_path(self) -> Path:
        """The ledger operator's private key (signs actor registrations)."""
        return self.home / "operator.key"

    @property
    def log_key_path(self) -> Path:
        """The transparency log's private key (signs checkpoints)."""
        return self.home / "log.key"
