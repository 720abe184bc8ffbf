"""`bpass qr ID --out FILE`: the QR code of a passport's link, PNG or SVG by the file's extension.

The code holds the battery's GS1 Digital Link URI exactly as its passport names it, with error
correction level Q (:mod:`api.qr`, the same images the API serves at ``/passports/{id}/qr.png``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import DbOption, HomeOption, handle_errors, settings
from passport.errors import ConfigurationError


@handle_errors
def qr_command(
    passport: Annotated[
        str, typer.Argument(help="Passport id (urn:bpass:…) or the battery's Digital Link URI.")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Image file to write: .png or .svg (by extension).")
    ],
    db: DbOption = None,
    home: HomeOption = None,
) -> None:
    """Write the QR code of a passport's GS1 Digital Link URI (error correction level Q)."""
    from api.qr import render
    from passport.ledger.pipeline import Ledger
    from passport.service.views import load_state, resolve

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise ConfigurationError(f"--out {out}: the file must end in .png or .svg")
    ledger = Ledger.open(settings(db, home), need_log_key=False)
    try:
        battery_id = load_state(ledger, resolve(ledger, passport)).battery_id
    finally:
        ledger.close()
    out.write_bytes(render(battery_id, "png" if fmt == "png" else "svg"))
    typer.echo(f"wrote {out}: QR code (level Q) of {battery_id}")
