"""`bpass demo`: the README's main command. Builds (or reuses) a SQLite ledger holding the sample
mine-to-vehicle supply chain, issues the packs' passports, writes their QR codes, prints where
everything is and how to look at it, then serves the API.

Scriptable: ``bpass demo --db URL --packs N --no-serve --json`` builds and exits, printing a JSON
summary (each passport's id, pack lot, URL and QR image path).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import typer

from cli.common import EXIT_UNUSABLE, JsonOption, fail, handle_errors, print_json, settings
from passport.errors import ConfigurationError

if TYPE_CHECKING:
    from passport.settings import Settings

DEFAULT_HOME = Path("demo")
STATE_FILE = "demo.json"
"""Written into the demo home once the sample is completely loaded: what was built, and how."""
STATE_VERSION = 1
SERVER_FILE = "server.pid"
"""Written into the demo home while ``bpass demo`` serves it: the serving process's id, so a
second ``bpass demo`` never resets the ledger under a running server."""
RESTRICTED = {"saale": "legitimate-interest", "msa": "authority"}
"""The sample actors whose keys unlock restricted passport partitions (Art. 77(2))."""


def _sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, if it is one."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///") :])


def _read_state(home: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((home / STATE_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _wanted(
    state: dict[str, Any] | None,
    url: str,
    packs: int,
    seed: int,
    chemistry: str,
    passports: bool,
    base_url: str,
) -> bool:
    # The passports' battery identifiers (their Digital Links) hold the public base URL, and
    # they are signed: another base URL needs another ledger.
    return (
        state is not None
        and state.get("version") == STATE_VERSION
        and state.get("database") == url
        and state.get("packs") == packs
        and state.get("seed") == seed
        and state.get("chemistry") == chemistry
        and state.get("passports", True) == passports
        and state.get("baseUrl") == base_url
    )


def _owned_files(home: Path, url: str) -> list[Path]:
    """Everything the demo writes, and nothing else (a reset never removes other files)."""
    files = [home / STATE_FILE, home / "operator.key", home / "log.key"]
    db = _sqlite_path(url)
    if db is not None:
        files += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    for folder in ("keys", "qr"):
        if (home / folder).is_dir():
            files += sorted((home / folder).iterdir())
    return files


def _reset(home: Path, url: str) -> None:
    for path in _owned_files(home, url):
        if path.is_file():
            path.unlink()
    for folder in ("keys", "qr"):
        if (home / folder).is_dir() and not any((home / folder).iterdir()):
            (home / folder).rmdir()


def _ledger_exists(url: str) -> bool:
    """Whether the database already holds an initialised ledger."""
    from passport.store.sql.repository import Repository

    db = _sqlite_path(url)
    if db is not None and not db.exists():
        return False
    repo = Repository(url)
    try:
        with repo.read() as tx:
            return bool(tx.meta())
    except Exception:  # an empty database has no tables yet
        return False
    finally:
        repo.dispose()


def _write_qr(url: str, path: Path) -> None:
    from api.qr import qr_png  # the same generator as the API's (error correction Q)

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(qr_png(url))


def _build(
    cfg: Settings, *, packs: int, seed: int, chemistry: str, passports: bool, quiet: bool
) -> dict[str, Any]:
    """Initialise the ledger, load the sample with a progress bar, issue passports, write QRs."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from passport.ledger.keystore import load_or_create
    from passport.ledger.pipeline import Ledger
    from passport.store.sql.repository import Repository
    from samples.generate import build_sample_ledger

    home = cfg.home
    home.mkdir(parents=True, exist_ok=True)
    operator_key, _ = load_or_create(cfg.operator_key_path)
    log_key, _ = load_or_create(cfg.log_key_path)
    url = cfg.resolved_database_url()
    ledger = Ledger(
        Repository(url),
        log_key=log_key,
        max_record_bytes=cfg.max_record_bytes,
        clock_skew_seconds=cfg.clock_skew_seconds,
    )
    try:
        ledger.initialise(operator_key, f"battery-passport.demo/log/{seed}", "Demo ledger operator")
        console = Console(stderr=True)
        with Progress(
            TextColumn("[bold]loading the sample chain"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("records and passports"),
            TimeElapsedColumn(),
            console=console,
            disable=quiet,
            transient=False,
        ) as bar:
            task = bar.add_task("load", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            summary = build_sample_ledger(
                ledger,
                packs=packs,
                seed=seed,
                chemistry=chemistry,
                progress=progress,
                operator_key=operator_key,
                base_url=cfg.public_base_url,
                key_dir=home / "keys",
                issue_passports=passports,
            )
        size = ledger.info().size
    finally:
        ledger.close()
    state: dict[str, Any] = {
        "version": STATE_VERSION,
        "database": url,
        "packs": packs,
        "seed": seed,
        "chemistry": chemistry,
        "passports": passports,
        "baseUrl": cfg.public_base_url,
        "logSize": size,
        "summary": summary.to_dict(),
    }
    for pack in state["summary"]["packs"]:
        _write_qr(pack["batteryId"], home / "qr" / f"{pack['serial']}.png")
    (home / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n", "utf-8")
    return state


def _passport_url(base_url: str, battery_id: str) -> str:
    """The battery's Digital Link path under this server's public base URL."""
    return base_url.rstrip("/") + urlsplit(battery_id).path


def _cli_flags(cfg: Settings, db: str | None) -> str:
    flags = f"--home {shlex.quote(str(cfg.home))}"
    if db:
        flags += f" --db {shlex.quote(db)}"
    return flags


def _common(cfg: Settings, state: dict[str, Any], reused: bool) -> dict[str, Any]:
    return {
        "home": str(cfg.home),
        "database": state["database"],
        "reused": reused,
        "records": state["logSize"],
        "seed": state["seed"],
        "chemistry": state["chemistry"],
        "baseUrl": cfg.public_base_url,
        "modelFile": state["summary"]["modelFile"],
    }


def _report(
    cfg: Settings, state: dict[str, Any], *, db: str | None, reused: bool
) -> dict[str, Any]:
    """The JSON summary: passports (id, pack lot, URL, QR), restricted-role keys, commands."""
    summary = state["summary"]
    base = cfg.public_base_url
    actors = {a["slug"]: a for a in summary["actors"]}
    passports = [
        {
            "passportId": p["passportId"],
            "packLot": p["packLot"],
            "serial": p["serial"],
            "grade": p["grade"],
            "expectedArt8_2031": p["expectedArt8_2031"],
            "url": _passport_url(base, p["batteryId"]),
            "qr": str(cfg.home / "qr" / f"{p['serial']}.png"),
            "vehicleLot": p["vehicleLot"],
        }
        for p in summary["packs"]
    ]
    flags = _cli_flags(cfg, db)
    restricted = []
    for slug, access in RESTRICTED.items():
        actor = actors[slug]
        restricted.append(
            {
                "actor": actor["name"],
                "did": actor["did"],
                "accessRole": access,
                "keyFile": actor["keyFile"],
                "token": (
                    f"{shlex.quote(sys.executable)} -m samples.token "
                    f"{shlex.quote(str(actor['keyFile']))} --server {base}"
                ),
            }
        )
    first = passports[0]
    failing = next((p for p in passports if p["expectedArt8_2031"] == "fail"), first)
    passing = next((p for p in passports if p["expectedArt8_2031"] == "pass"), first)
    if passing["passportId"] is None:
        oem = actors["elbe"]["keyFile"]
        commands = [
            f"bpass passport issue --pack {p['packLot']} --model {summary['modelFile']} "
            f"--key {oem} --serial {p['serial']} {flags}"
            for p in passports
        ]
        commands += [f"bpass trace {passing['packLot']} {flags}", f"bpass audit {flags}"]
        return {
            **_common(cfg, state, reused),
            "passports": passports,
            "restricted": restricted,
            "commands": commands,
        }
    commands = [
        f"bpass passport show {passing['passportId']} --role public {flags}",
        f"bpass passport verify {passing['passportId']} {flags}",
        f"bpass passport bundle {passing['passportId']} --out bundle.json {flags}",
        "bpass verify bundle.json   # offline: no server, no database",
        f"bpass passport check {passing['passportId']} {flags}",
        f"bpass passport check {failing['passportId']} {flags}",
        f"bpass trace {passing['packLot']} {flags}",
        f"bpass trace {passing['packLot']} --explain Co.recycled.post-consumer {flags}",
        f"bpass audit {flags}",
    ]
    return {
        **_common(cfg, state, reused),
        "passports": passports,
        "restricted": restricted,
        "commands": commands,
    }


def _print_report(report: dict[str, Any], serving: bool) -> None:
    echo = typer.echo
    echo("")
    echo(f"Ledger:    {report['database']} ({report['records']} log leaves)")
    echo(
        f"Chemistry: {report['chemistry']}, seed {report['seed']}; model data {report['modelFile']}"
    )
    echo("")
    echo("Passports (scan the QR image, or open the URL, with the server running):")
    for p in report["passports"]:
        verdict = "meets" if p["expectedArt8_2031"] == "pass" else "misses"
        echo(f"  {p['passportId'] or '(no passport yet)'}  pack {p['packLot']}")
        echo(f"      {p['url']}")
        echo(f"      QR: {p['qr']}")
        echo(
            f"      {p['grade']} cathode grade: {verdict} the Art. 8 recycled-content "
            "minimums of 2031"
        )
    if _loopback(report["baseUrl"]):
        echo(
            f"  (These links point to {urlsplit(report['baseUrl']).hostname}, which only this "
            "machine opens. For a phone on your network: bpass demo --host 0.0.0.0 --base-url "
            "http://<this machine's address>:PORT, or set BPASS_PUBLIC_URL.)"
        )
    echo("")
    echo("Restricted passport data (Annex XIII points 2 to 4) needs a bearer token:")
    for r in report["restricted"]:
        echo(f"  {r['actor']} ({r['accessRole']})")
        echo(f"      DID: {r['did']}")
        echo(f"      key: {r['keyFile']}")
        echo(f"      token: {r['token']}")
    echo("")
    echo("Try (from another terminal):")
    for command in report["commands"]:
        echo(f"  {command}")
    if serving:
        echo("")
        echo(
            f"Serving the API at {report['baseUrl']}  "
            f"(API docs: {report['baseUrl']}/docs; Ctrl-C stops)"
        )


def demo_command(
    packs: Annotated[int, typer.Option("--packs", min=1, help="How many EV packs to make.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample (keys, lots).")] = 42,
    chemistry: Annotated[
        str, typer.Option("--chemistry", help="Pack chemistry: NMC811 or LFP.")
    ] = "NMC811",
    home: Annotated[
        Path, typer.Option("--home", help="Folder for the demo ledger, keys and QR images.")
    ] = DEFAULT_HOME,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Database URL (default: SQLite in --home); must be empty."),
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Throw the demo ledger away and build it again.")
    ] = False,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the API server afterwards.")
    ] = True,
    passports: Annotated[
        bool,
        typer.Option(
            "--passports/--no-passports",
            help="Issue the packs' passports (--no-passports leaves that to the OEM).",
        ),
    ] = True,
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default $BPASS_HOST).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default $BPASS_PORT).")] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="Public base URL of the passports' links and QR codes."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Load the sample mine-to-vehicle chain, issue the passports and serve them."""
    from samples.designs import DESIGNS

    @handle_errors
    def run() -> None:
        if chemistry not in DESIGNS:
            fail(f"--chemistry must be one of {', '.join(DESIGNS)}", EXIT_UNUSABLE)
        cfg = _demo_settings(home, db=db, host=host, port=port, base_url=base_url)
        url = cfg.resolved_database_url()
        if serve:
            _check_port_free(cfg)

        def say(text: str) -> None:
            typer.echo(text, err=as_json)

        state, reused = _reuse_or_reset(
            cfg,
            url,
            own_db=db is None,
            reset=reset,
            wanted=(packs, seed, chemistry, passports),
            say=say,
        )
        if not reused:
            say(
                f"building the demo ledger at {cfg.home} ({url}): "
                f"{packs} {chemistry} packs, seed {seed}"
                + ("" if passports else ", passports left to the OEM")
            )
            state = _build(
                cfg,
                packs=packs,
                seed=seed,
                chemistry=chemistry,
                passports=passports,
                quiet=as_json,
            )
        assert state is not None
        report = _report(cfg, state, db=db, reused=reused)
        if as_json:
            print_json(report)
        else:
            _print_report(report, serve)
        if serve:
            _serve(cfg)

    run()


def _demo_settings(
    home: Path, *, db: str | None, host: str | None, port: int | None, base_url: str | None
) -> Settings:
    """The demo's settings: the environment's, overridden by the command's options. The public
    base URL follows the host and port unless it is set itself (``--base-url``,
    ``BPASS_PUBLIC_URL``), so the banner, the links and the QR codes name the server's port."""
    return settings(db, home, host=host, port=port, public_base_url=base_url or None)


def _check_port_free(cfg: Settings) -> None:
    """Refuse, before building anything, to serve on a port another program holds."""
    with socket.socket(socket.AF_INET6 if ":" in cfg.host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((cfg.host, cfg.port))
        except OSError as exc:
            raise ConfigurationError(
                f"port {cfg.port} on {cfg.host} is taken ({exc.strerror}; another demo?): "
                f"choose another with `make demo PORT={cfg.port + 1}`, "
                f"`bpass demo --port {cfg.port + 1}` or BPASS_PORT"
            ) from None


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _reuse_or_reset(
    cfg: Settings,
    url: str,
    *,
    own_db: bool,
    reset: bool,
    wanted: tuple[int, int, str, bool],
    say: Callable[[str], None],
) -> tuple[dict[str, Any] | None, bool]:
    """Reuse the demo ledger if it was built with the wanted options (packs, seed, chemistry,
    passports) and public base URL, else reset it (only SQLite files the demo owns); its state
    and whether reused."""
    state = _read_state(cfg.home)
    reused = False
    rebuild = reset or not (
        _wanted(state, url, *wanted, cfg.public_base_url) and _ledger_exists(url)
    )
    serving = _serving_pid(cfg.home)
    if rebuild and serving is not None and _ledger_exists(url):
        raise ConfigurationError(
            f"a demo server (process {serving}) serves the ledger in {cfg.home}: stop it "
            "(Ctrl-C) before rebuilding that ledger, or give another --home"
        )
    if reset:
        if not own_db and _sqlite_path(url) is None:
            raise ConfigurationError(
                "--reset removes only SQLite files; empty the database yourself"
            )
        say(f"resetting the demo ledger at {cfg.home}")
        _reset(cfg.home, url)
        state = None
    elif _wanted(state, url, *wanted, cfg.public_base_url) and _ledger_exists(url):
        reused = True
        say(f"reusing the demo ledger at {cfg.home} ({url}); --reset builds it afresh")
    elif _ledger_exists(url):
        if not own_db and (state is None or _sqlite_path(url) is None):
            raise ConfigurationError(
                f"{url} already holds a ledger"
                + (" that the demo did not build" if state is None else " built with other options")
                + "; give an empty database (or --reset for a SQLite file)"
            )
        say(
            f"the demo ledger at {cfg.home} is incomplete or was built with other options; "
            "resetting it"
        )
        _reset(cfg.home, url)
        state = None
    return state, reused


def _serving_pid(home: Path) -> int | None:
    """The id of a live process serving the demo in ``home`` (its :data:`SERVER_FILE`), if
    any; a file left by a process gone is ignored."""
    try:
        pid = int((home / SERVER_FILE).read_text("utf-8").strip())
    except (OSError, ValueError):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return None
    except PermissionError:  # it exists, owned by another user
        return pid
    return pid


def _serve(cfg: Settings) -> None:
    """Run the API server over the demo ledger until interrupted, its process id noted in the
    demo home meanwhile (:data:`SERVER_FILE`)."""
    import uvicorn

    from api.app import create_app
    from cli.serve import log_config

    app = create_app(cfg)
    marker = cfg.home / SERVER_FILE
    marker.write_text(f"{os.getpid()}\n", "utf-8")
    try:
        uvicorn.run(
            app,
            host=cfg.host,
            port=cfg.port,
            access_log=False,
            log_config=log_config("warning"),
            log_level="warning",
            server_header=False,
        )
    finally:
        marker.unlink(missing_ok=True)
