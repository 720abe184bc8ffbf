"""`bpass demo --no-serve --json`: builds the sample ledger and its passports, writes the QR
images, prints the summary; a second run reuses the ledger, ``--reset`` rebuilds it, and a
database the demo did not build is refused. On both backends (``--db``)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app
from passport.ledger.pipeline import Ledger
from passport.settings import Settings

runner = CliRunner()


def _demo(home: Path, db_url: str, *extra: str) -> tuple[int, dict[str, Any] | None, str]:
    result = runner.invoke(
        app,
        ["demo", "--home", str(home), "--db", db_url, "--no-serve", "--json", *extra],
    )
    data = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, data, result.stderr


def test_demo_builds_then_reuses(tmp_path: Path, db_url: str) -> None:
    home = tmp_path / "demo"
    code, data, err = _demo(home, db_url, "--packs", "2")
    assert code == 0, err
    assert data is not None and data["reused"] is False
    assert "building the demo ledger" in err
    passports = data["passports"]
    assert [p["expectedArt8_2031"] for p in passports] == ["fail", "pass"]
    for p in passports:
        assert p["passportId"].startswith("urn:bpass:")
        assert p["packLot"].startswith("urn:lot:")
        assert p["url"].startswith(data["baseUrl"] + "/01/")
        assert Path(p["qr"]).read_bytes().startswith(b"\x89PNG")
    restricted = {r["accessRole"]: r for r in data["restricted"]}
    assert set(restricted) == {"legitimate-interest", "authority"}
    for r in restricted.values():
        assert Path(r["keyFile"]).exists() and "samples.token" in r["token"]
    assert any(c.startswith("bpass trace ") for c in data["commands"])
    assert any(c.startswith("bpass passport verify ") for c in data["commands"])

    ledger = Ledger.open(Settings(home=home, database_url=db_url))
    size = ledger.info().size
    ledger.close()
    assert size == data["records"]

    code, again, err = _demo(home, db_url, "--packs", "2")
    assert code == 0, err
    assert again is not None and again["reused"] is True
    assert "reusing the demo ledger" in err
    assert [p["passportId"] for p in again["passports"]] == [p["passportId"] for p in passports]

    code, _, err = _demo(home, db_url, "--packs", "3")
    if db_url.startswith("sqlite"):
        assert code == 0, err
        assert "resetting it" in err
    else:
        assert code == 2
        assert "built with other options" in err


def test_demo_resets_its_own_sqlite_ledger(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    result = runner.invoke(
        app, ["demo", "--home", str(home), "--packs", "1", "--no-serve", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    first = json.loads(result.stdout)
    assert first["database"] == f"sqlite:///{home / 'ledger.sqlite'}"
    result = runner.invoke(
        app, ["demo", "--home", str(home), "--packs", "1", "--no-serve", "--json", "--reset"]
    )
    assert result.exit_code == 0, result.stderr
    assert "resetting the demo ledger" in result.stderr
    second = json.loads(result.stdout)
    assert second["reused"] is False
    assert second["passports"][0]["passportId"] != first["passports"][0]["passportId"]
    assert second["passports"][0]["packLot"] == first["passports"][0]["packLot"]


def test_demo_refuses_a_foreign_ledger(tmp_path: Path, ledger: Ledger) -> None:
    url = ledger.repo.url
    result = runner.invoke(app, ["demo", "--home", str(tmp_path), "--db", url, "--no-serve"])
    assert result.exit_code == 2
    assert "did not build" in result.stderr


def test_walkthrough_runner_pastes_real_output(tmp_path: Path) -> None:
    from samples.walkthrough import render, run

    steps = [("Intro.", "echo hello", 5), ("Failing:", "false", 5), ("Prose only.", None, 0)]
    outputs = run(tmp_path, steps)
    assert outputs == [("hello", 0), ("", 1)]
    text = render(steps, outputs)
    assert "```sh\necho hello\n```" in text and "```text\nhello\n```" in text
    assert "Exit status 1." in text and text.rstrip().endswith("Prose only.")


def test_the_port_is_followed_by_the_links_and_a_new_port_rebuilds(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BPASS_PORT (or --port) sets the port of every link and QR code, unless BPASS_PUBLIC_URL
    names the public URL itself; the passports' Digital Links hold it, so another one rebuilds."""
    home = tmp_path / "demo"
    monkeypatch.setenv("BPASS_PORT", "8765")
    code, data, err = _demo(home, db_url, "--packs", "1")
    assert code == 0, err
    assert data is not None and data["baseUrl"] == "http://127.0.0.1:8765"
    assert all(p["url"].startswith("http://127.0.0.1:8765/01/") for p in data["passports"])
    monkeypatch.setenv("BPASS_PUBLIC_URL", "http://192.0.2.7:8765")
    code, rebuilt, err = _demo(home, db_url, "--packs", "1")
    if code == 0:  # a SQLite file: rebuilt with the new links
        assert rebuilt is not None and rebuilt["reused"] is False
        assert all(p["url"].startswith("http://192.0.2.7:8765/") for p in rebuilt["passports"])
    else:  # a database the demo may not empty: refused, never reused with the old links
        assert code == 2 and "built with other options" in err
    sqlite_home = tmp_path / "own"  # a SQLite ledger the demo owns is rebuilt instead
    code, first, err = runner_demo(sqlite_home)
    assert code == 0 and first is not None, err
    monkeypatch.setenv("BPASS_PUBLIC_URL", "http://192.0.2.8:8765")
    code, again, err = runner_demo(sqlite_home)
    assert code == 0 and again is not None, err
    assert again["reused"] is False
    assert all(p["url"].startswith("http://192.0.2.8:8765/01/") for p in again["passports"])


def runner_demo(home: Path) -> tuple[int, dict[str, Any] | None, str]:
    """The demo on its own SQLite ledger in ``home`` (no --db)."""
    result = runner.invoke(
        app, ["demo", "--home", str(home), "--no-serve", "--json", "--packs", "1"]
    )
    data = json.loads(result.stdout) if result.exit_code == 0 else None
    return result.exit_code, data, result.stderr


def test_a_taken_port_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    """Serving on a port another program holds fails at once, naming the port and how to pick
    another, and builds nothing."""
    home = tmp_path / "demo"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = runner.invoke(app, ["demo", "--home", str(home), "--port", str(port)])
    assert result.exit_code == 2
    assert f"port {port} on 127.0.0.1 is taken" in result.stderr
    assert f"make demo PORT={port + 1}" in result.stderr
    assert not (home / "ledger.sqlite").exists()


def test_a_served_demo_ledger_is_never_rebuilt_under_its_server(tmp_path: Path) -> None:
    """While a `bpass demo` process serves a home (its pid in server.pid), another `bpass demo`
    that would reset or rebuild that ledger refuses and changes nothing; reusing it is fine, and
    a pid file left by a process gone is ignored."""
    import subprocess

    from cli.demo import SERVER_FILE

    home = tmp_path / "demo"
    code, first, err = runner_demo(home)
    assert code == 0 and first is not None, err
    ledger_file = home / "ledger.sqlite"
    before = ledger_file.read_bytes()
    server = subprocess.Popen(["sleep", "600"])  # stands for the serving process
    try:
        (home / SERVER_FILE).write_text(f"{server.pid}\n")
        refused = runner.invoke(app, ["demo", "--home", str(home), "--no-serve", "--reset"])
        assert refused.exit_code == 2
        assert f"process {server.pid}" in refused.stderr and "stop it" in refused.stderr
        other = runner.invoke(
            app, ["demo", "--home", str(home), "--no-serve", "--json", "--packs", "2"]
        )
        assert other.exit_code == 2 and "stop it" in other.stderr
        assert ledger_file.read_bytes() == before
        code, reused, err = runner_demo(home)  # the same options: reused, not rebuilt
        assert code == 0 and reused is not None and reused["reused"] is True, err
    finally:
        server.kill()
        server.wait()
    # the server is gone (its pid file left behind): --reset works again
    result = runner.invoke(app, ["demo", "--home", str(home), "--no-serve", "--reset", "--json",
                                 "--packs", "1"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
