"""Names typed on the command line (record kinds, actor and reader roles, export formats, passport
statuses): matched case-insensitively where unambiguous, and a typo answered with the closest."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passport.records.kinds import ROLES
from passport.records.names import closest, did_you_mean, match_name
from tests.cli.test_cli import bpass


@given(st.sampled_from(sorted(ROLES)), st.lists(st.booleans(), min_size=20, max_size=20))
def test_any_casing_of_a_known_name_matches_it(name: str, upper: list[bool]) -> None:
    typed = "".join(c.upper() if u else c for c, u in zip(name, upper, strict=False))
    assert match_name(typed, ROLES) == name


def test_an_ambiguous_casing_matches_nothing_but_the_exact_name() -> None:
    assert match_name("ab", ["AB", "ab"]) == "ab"
    assert match_name("Ab", ["AB", "ab"]) is None


def test_a_typo_is_answered_with_the_closest_names() -> None:
    assert closest("minr", ROLES) == ["miner"]
    assert did_you_mean("recyler", ROLES) == "; did you mean 'recycler'?"
    assert did_you_mean("zzzzzz", ROLES) == ""


def test_record_template_typo_suggests_the_kind(tmp_path: Path) -> None:
    proc = bpass("record", "template", "extration", cwd=tmp_path, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "unknown record kind 'extration'; did you mean 'Extraction'" in proc.stderr
    assert "[kind_name_unknown]" in proc.stderr
    lower = bpass("record", "template", "extraction", cwd=tmp_path)
    assert lower.stdout.startswith("// Extraction:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["actor", "add", "--did", "did:key:z6Mkx", "--name", "X", "--role", "minr"],
            "[name_unknown] unknown actor role 'minr'; did you mean 'miner'?",
        ),
        (
            ["passport", "show", "urn:bpass:00", "--role", "publc"],
            "[access_role_unknown] unknown reader role 'publc'; did you mean 'public'?",
        ),
        (
            ["passport", "export", "urn:bpass:00", "--format", "batterypas"],
            "[name_unknown] unknown export format 'batterypas'; did you mean 'batterypass'?",
        ),
        (
            ["passport", "status", "urn:bpass:00", "--to", "recyled", "--key", "k.key"],
            "[name_unknown] unknown passport status 'recyled'; did you mean 'recycled'?",
        ),
        (
            ["passport", "bundle", "urn:bpass:00", "--out", "b.json", "--role", "authorty"],
            "[access_role_unknown] unknown reader role 'authorty'; did you mean 'authority'?",
        ),
    ],
)
def test_typos_in_roles_formats_and_statuses_suggest_the_value(
    tmp_path: Path, args: list[str], message: str
) -> None:
    bpass("init", "--home", "h", cwd=tmp_path)
    bpass("keys", "new", "--out", "k.key", cwd=tmp_path)
    proc = bpass(*args, "--home", "h", cwd=tmp_path, check=False)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
    assert proc.stdout == ""


def test_a_role_in_capitals_is_the_role(tmp_path: Path) -> None:
    bpass("init", "--home", "h", cwd=tmp_path)
    did = bpass("keys", "new", "--out", "k.key", cwd=tmp_path).stdout.strip()
    proc = bpass("actor", "add", "--did", did, "--name", "X", "--role", "Miner", "--home", "h",
                 cwd=tmp_path)  # fmt: skip
    assert f"registered {did} as miner" in proc.stdout
