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
) -> None:
    """Serve the HTTP API over this node's ledger (opened with its log key from --home)."""

    @handle_errors
    def run() -> None:
        import uvicorn

        from api.app import create_app

        cfg = settings(db, home)
        updates: dict[str, Any] = {}
        if host is not None:
            updates["host"] = host
        if port is not None:
            updates["port"] = port
        if base_url is not None:
            updates["public_base_url"] = base_url
        cfg = cfg.model_copy(update=updates)
        level = log_level.lower()
        if level not in LOG_LEVELS:
            raise ConfigurationError(f"--log-level must be one of {', '.join(LOG_LEVELS)}")
        app = create_app(cfg)
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
        )

    run()
