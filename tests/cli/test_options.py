"""`bpass --version` and `-h` on every level of the command line."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from typer.testing import CliRunner

from cli import app


def test_version() -> None:
    for flag in ("--version", "-V"):
        result = CliRunner().invoke(app, [flag])
        assert result.exit_code == 0
        assert result.stdout.strip() == f"bpass {version('battery-passport')}"


@pytest.mark.parametrize(
    "args", [[], ["passport"], ["passport", "issue"], ["keys", "new"], ["verify"], ["log"]]
)
def test_short_help_everywhere(args: list[str]) -> None:
    short = CliRunner().invoke(app, [*args, "-h"])
    long = CliRunner().invoke(app, [*args, "--help"])
    assert short.exit_code == 0 and long.exit_code == 0
    assert short.stdout == long.stdout
    assert "Usage: " in short.stdout and "-h" in short.stdout
