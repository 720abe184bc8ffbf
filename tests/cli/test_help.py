"""Every `bpass … -h` shows readable placeholders (`--key KEY.key`, `--server URL`, `--packs N`),
never typer's type names (`<bool>`, `<str>`, `<path>`, `<int>`) or click's (`TEXT`, `PATH`)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cli import command

_TYPE_NAMES = re.compile(
    r"<(bool|str|path|int|float|list|file|int range)[^>]*>|\b(TEXT|INTEGER|PATH|FLOAT|BOOLEAN)\b"
)


def _paths(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(cmd, "commands", {}).items():
        found += _paths(sub, (*path, name))
    return found


ALL = _paths(command())


def _help(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        command().main(args=[*path, "-h"], prog_name="bpass")
    assert done.value.code == 0
    return capsys.readouterr().out


def test_the_tree_is_walked() -> None:
    assert ("record", "new") in ALL and ("passport", "verify-view") in ALL and len(ALL) >= 40


@pytest.mark.parametrize("path", ALL, ids=lambda p: " ".join(p) or "bpass")
def test_no_help_shows_a_type_name(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(path, capsys)
    assert "Usage: bpass" in text
    assert _TYPE_NAMES.search(text) is None, text


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        (("record", "new"), [r"--key\s+KEY\.key", r"--server\s+URL", r"--data\s+FILE\.json"]),
        (("demo",), [r"--packs\s+N"]),
        (("actor", "add"), [r"--key\s+MULTIKEY", r"--role\s+ROLE"]),
        (("passport", "export"), [r"--out\s+DIR", r"--format\s+FORMAT"]),
        (("passport", "status"), [r"--to\s+STATUS"]),
        (("append",), [r"FILES\.\.\."]),
    ],
)
def test_placeholders_say_what_is_expected(
    path: tuple[str, ...], shown: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(path, capsys)
    for pattern in shown:
        assert re.search(pattern, text), (pattern, text)
