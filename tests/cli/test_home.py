"""A command run against a ledger that is not there names the path it looked at, says how to
point to the right one, and creates nothing (no folder, no empty database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BPASS = [sys.executable, "-m", "cli"]

READ_ONLY = [
    ["audit"],
    ["log", "checkpoint"],
    ["trace", "urn:lot:x"],
    ["passport", "show", "urn:bpass:00000000000000000000000000000000"],
    ["passport", "check", "urn:bpass:00000000000000000000000000000000"],
]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BPASS_")}
    return subprocess.run(
        [*BPASS, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a))
def test_a_mistyped_home_is_named_and_nothing_is_created(tmp_path: Path, args: list[str]) -> None:
    typo = tmp_path / "demo-typo"
    run = _run([*args, "--home", str(typo)], tmp_path)
    assert run.returncode == 2, run.stderr
    assert f"no ledger at {typo / 'ledger.sqlite'}" in run.stderr
    assert "--home" in run.stderr and "bpass init --home" in run.stderr
    assert not typo.exists()


def test_the_default_home_is_not_created_by_a_read(tmp_path: Path) -> None:
    run = _run(["audit"], tmp_path)
    assert run.returncode == 2
    assert "no ledger at .bpass/ledger.sqlite" in run.stderr
    assert list(tmp_path.iterdir()) == []
