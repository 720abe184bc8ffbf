"""`bpass serve`: the HTTP API (FastAPI on uvicorn) over this node's ledger."""

from __future__ import annotations

import gc
from typing import Annotated, Any

import typer

from cli.common import DbOption, HomeOption, handle_errors, settings
from passport.errors import ConfigurationError

LOG_LEVELS = ("debug", "info", "warning", "error")

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="Act through the HTTP API of the node at this URL instead of a local database.",
    ),
]
"""The ``--server URL`` option of commands that read or write the ledger."""


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging plus the API's own loggers (``bpass.access``, ``bpass.api``) on stderr.

    uvicorn's own access log is off: the API logs requests itself, without headers or tokens.
    """
    import uvicorn.config

    config: dict[str, Any] = {**uvicorn.config.LOGGING_CONFIG}
    config["loggers"] = {
        **config["loggers"],
        "bpass": {"handlers": ["default"], "level": level.upper(), "propagate": False},
    }
    return config


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default $BPASS_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default $BPASS_PORT).")] = None,
    db: DbOption = None,
    home: HomeOption = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="Public base URL: QR links and token audience ($BPASS_PUBLIC_BASE_URL).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    header_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds a request's head may take from its first byte "
            "($BPASS_API_HEADER_TIMEOUT_SECONDS, 10)."
        ),
    ] = None,
    body_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds a request body may stall between two reads "
            "($BPASS_API_BODY_TIMEOUT_SECONDS, 30)."
        ),
    ] = None,
    max_connections: Annotated[
        int | None,
        typer.Option(
            help="Open connections allowed; beyond, 503 ($BPASS_API_MAX_CONNECTIONS, 1000)."
        ),
    ] = None,
    max_header_bytes: Annotated[
        int | None,
        typer.Option(
            help="Largest request head; beyond, 431 ($BPASS_API_MAX_HEADER_BYTES, 16384)."
        ),
    ] = None,
    keep_alive: Annotated[
        int | None,
        typer.Option(
            help="Seconds an idle keep-alive connection stays open "
            "($BPASS_API_KEEP_ALIVE_SECONDS, 5)."
        ),
    ] = None,
) -> None:
    """Serve the HTTP API over this node's ledger (opened with its log key from --home).

    Read timeouts, the header size cap and the connection cap are the server's own
    (``api/server.py``); every other limit is an ``ApiConfig`` setting (``BPASS_API_*``).
    """

    @handle_errors
    def run() -> None:
        import uvicorn
        from pydantic import ValidationError

        from api.app import create_app
        from api.config import ApiConfig
        from api.server import ServerLimits, guarded_protocol

        cfg = settings(db, home, host=host, port=port, public_base_url=base_url)
        level = log_level.lower()
        if level not in LOG_LEVELS:
            raise ConfigurationError(f"--log-level must be one of {', '.join(LOG_LEVELS)}")
        overrides: dict[str, Any] = {
            "header_timeout_seconds": header_timeout,
            "body_timeout_seconds": body_timeout,
            "max_connections": max_connections,
            "max_header_bytes": max_header_bytes,
            "keep_alive_seconds": keep_alive,
        }
        try:
            api_config = ApiConfig(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            raise ConfigurationError(f"invalid server limit: {exc.errors()[0]['msg']}") from None
        limits = ServerLimits(
            header_timeout=api_config.header_timeout_seconds,
            body_timeout=api_config.body_timeout_seconds,
            max_connections=api_config.max_connections,
            max_header_bytes=api_config.max_header_bytes,
        )
        app = create_app(cfg, config=api_config)
        # What start-up loaded (modules, schemas, compiled validators, the app) lives as long as
        # the process: move it to the permanent generation, so that a full collection scans only
        # what requests allocate instead of stalling every request in flight while it walks
        # everything (https://docs.python.org/3/library/gc.html#gc.freeze).
        gc.collect()
        gc.freeze()
        uvicorn.run(
            app,
            host=cfg.host,
            port=cfg.port,
            access_log=False,
            log_config=log_config(level),
            log_level=level,
            server_header=False,
            http=guarded_protocol(limits),
            timeout_keep_alive=api_config.keep_alive_seconds,
            h11_max_incomplete_event_size=api_config.max_header_bytes,
        )

    run()
