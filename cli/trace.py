"""`bpass trace LOT`: a lot's provenance roll-ups, and with ``--explain FIGURE`` one figure's trail.

Thin. With ``--db``/``--home`` it opens the ledger's own database and calls
:func:`passport.service.provenance.operator_rollup`: that is the operator's own access, every
trail entry whole, no entitlement decided. With ``--server`` it reads through the node's API,
which applies the read policy (``passport.document.access``): roll-ups go to the lot's creator,
holders, downstream actors and authorities, so pass ``--key`` to read as the actor it signs for;
an unentitled read prints the node's message and exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import (
    EXIT_UNUSABLE,
    DbOption,
    HomeOption,
    JsonOption,
    fail,
    handle_errors,
    print_json,
    settings,
)
from cli.serve import ServerOption

if TYPE_CHECKING:
    from passport.trace.config import TraceConfig
    from passport.trace.model import Rollup, Trail


def trace_command(
    lot: Annotated[str, typer.Argument(help="Lot id, e.g. urn:lot:pack-0001.")],
    explain: Annotated[
        str | None,
        typer.Option("--explain", help="Print the trail of one figure id (e.g. Ni.country.ID)."),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Roll up as of this RFC 3339 UTC time (default: now)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="JSON file with a TraceConfig (CAHRA list, factors)."),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            help="With --server: the reader's private key (the node logs it in; roll-ups go "
            "to the lot's creator, holders, downstream actors and authorities).",
        ),
    ] = None,
    db: DbOption = None,
    home: HomeOption = None,
    server: ServerOption = None,
    as_json: JsonOption = False,
) -> None:
    """Roll up a lot's provenance: origins, recycled content, carbon, coverage, risk flags.
    From the database (--db/--home): the operator's own read, trails whole. From a node
    (--server, with --key): as the node's read policy serves that actor."""

    @handle_errors
    def run() -> None:
        if server:
            if config is not None:
                fail("--config applies to a local roll-up; the node uses its own", EXIT_UNUSABLE)
            rollup, trail = _remote(server, key, lot, explain, at)
        else:
            rollup, trail = _local(db, home, config, lot, explain, at)
        if trail is not None:
            if as_json:
                print_json(trail.model_dump(by_alias=True, mode="json"))
            else:
                _print_trail(trail)
        elif rollup is not None:
            if as_json:
                print_json(rollup.model_dump(by_alias=True, mode="json"))
            else:
                _print_rollup(rollup)

    run()


def _local(
    db: str | None,
    home: Path | None,
    config: Path | None,
    lot: str,
    explain: str | None,
    at: str | None,
) -> tuple[Rollup | None, Trail | None]:
    """The operator's own read of its database (no entitlement decided)."""
    from passport.ledger.pipeline import Ledger
    from passport.service.provenance import operator_rollup
    from passport.trace.config import TraceConfig

    cfg: TraceConfig | None
    try:
        cfg = TraceConfig.from_json(config) if config else None
    except OSError as exc:  # only the config file's (a closed stdout is click's to handle)
        fail(f"cannot read {config}: {exc.strerror}", EXIT_UNUSABLE)
    ledger = Ledger.open(settings(db, home), need_log_key=False)
    try:
        rollup = operator_rollup(ledger, lot, at=at, config=cfg)
    finally:
        ledger.close()
    if explain is None:
        return rollup, None
    if explain not in rollup.figures:
        typer.echo(f"error: no figure {explain!r}; figures of {lot}:", err=True)
        for figure in rollup.figure_ids():
            typer.echo(f"  {figure}", err=True)
        raise typer.Exit(1)
    return None, rollup.explain(explain)


def _remote(
    server: str, key: Path | None, lot: str, explain: str | None, at: str | None
) -> tuple[Rollup | None, Trail | None]:
    """The node's answer for the actor ``key`` signs for (anonymous without ``--key``)."""
    from api.client import RemoteLedger
    from passport.ledger.keystore import load_key
    from passport.trace.model import Rollup, Trail

    remote = RemoteLedger(server)
    try:
        if key is not None:
            remote.login(load_key(key))
        if explain is not None:
            return None, Trail.model_validate(remote.trail(lot, explain, at=at))
        body: dict[str, Any] = remote.rollup(lot, at=at, trails=False)
        return Rollup.model_validate(body), None
    finally:
        remote.close()


def _grams(ug: int) -> str:
    return f"{ug // 10**6}.{ug % 10**6:06d}".rstrip("0").rstrip(".") + " g"


def _kg(mg: int) -> str:
    return f"{mg // 10**6}.{mg % 10**6:06d}"


def _print_trail(trail: Trail) -> None:
    value = _grams(trail.value) if trail.unit == "µg" else f"{_kg(trail.value)} kg CO2e"
    typer.echo(f"{trail.figure}: {trail.description}")
    typer.echo(f"value: {value} ({trail.value} {trail.unit}), {len(trail.entries)} contributions")
    for entry in trail.entries:
        lot = f" lot {entry.lot}" if entry.lot else ""
        amount = "withheld" if entry.amount is None else entry.amount
        typer.echo(f"  {amount:>20} {trail.unit}  {entry.kind} {entry.record}{lot}")
        typer.echo(f"  {'':>20}      {entry.note}")


def _print_rollup(r: Rollup) -> None:
    typer.echo(f"lot {r.lot} ({r.mass_grams} g), record {r.record}")
    p = r.provenance
    typer.echo(
        f"as of {r.at}; provenance: {p.records} records ({p.steps} steps, "
        f"{p.attestations} attestations), {p.lots} lots"
    )
    for e, fig in r.elements.items():
        typer.echo(f"\n{e}: {_grams(fig.micrograms)}")
        origin = ", ".join(f"{k} {a.percent} %" for k, a in fig.origin.items() if a.micrograms)
        typer.echo(f"  origin:     {origin}")
        countries = ", ".join(f"{k} {a.percent} %" for k, a in fig.by_country.items())
        typer.echo(f"  countries:  {countries or '-'} (unknown {fig.origin['unknown'].percent} %)")
        if fig.by_deposit_type:
            deposits = ", ".join(f"{k} {a.percent} %" for k, a in fig.by_deposit_type.items())
            typer.echo(f"  deposits:   {deposits}")
        if fig.by_mining_method:
            methods = ", ".join(f"{k} {a.percent} %" for k, a in fig.by_mining_method.items())
            typer.echo(f"  mining:     {methods}")
        typer.echo(
            f"  recycled:   pre-consumer {fig.recycled_pre_consumer.percent} %, "
            f"post-consumer {fig.recycled_post_consumer.percent} %"
        )
        if fig.certified:
            certs = ", ".join(f"{k} {a.percent} %" for k, a in fig.certified.items())
            typer.echo(f"  certified:  {certs}")
        if fig.due_diligence is not None:
            typer.echo(f"  due dilig.: {fig.due_diligence.percent} % of mined/unknown {e}")
    if r.graphite is not None:
        g = r.graphite
        typer.echo(
            f"\ngraphite: natural {g.natural.percent} % "
            f"({', '.join(f'{k} {a.percent} %' for k, a in g.natural_by_country.items()) or '-'}), "
            f"synthetic {g.synthetic.percent} % "
            f"({', '.join(f'{k} {a.percent} %' for k, a in g.synthetic_by_country.items()) or '-'})"
        )
    c = r.carbon
    typer.echo(
        f"\ncarbon: {c.total.kg_co2e} kg CO2e ({c.per_kg} kg/kg); primary {c.primary_percent} %, "
        f"default {c.default_percent} %"
    )
    for stage, figures in c.stages.items():
        typer.echo(f"  {stage:<26} {figures.kg_co2e} kg CO2e")
    typer.echo(f"\nrisk flags: {len(r.flags)}")
    for flag in r.flags:
        typer.echo(f"  [{flag.severity}] {flag.code}: {flag.message}")
        if flag.figure:
            typer.echo(f"      explain: bpass trace {r.lot} --explain {flag.figure}")
