"""Dated results of the benchmarks, kept in ``bench/README.md``.

Every bench ends by calling :func:`record` with its figures. That rewrites the bench's table in
``bench/README.md`` (the lines between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->``):
this run's rows first, then the rows already there, at most :data:`KEEP` per figure (and per
way of running the bench). Everything
outside those markers (the introduction, each bench's notes) is hand-written and left as it is;
a bench without a section gets one at the end of the file.

``--no-record`` (see :func:`add_argument`) or ``BPASS_BENCH_NO_RECORD=1`` in the environment
leaves the file alone, for CI and tests that run a bench only to see that it still runs.

Not a bench itself: ``make bench`` runs ``bench/bench_*.py`` only.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"
KEEP = 20
"""Rows kept per figure and way of running the bench (its options), the newest."""
NO_RECORD_ENV = "BPASS_BENCH_NO_RECORD"
COLUMNS = ("date (UTC)", "machine", "run", "figure", "target", "measured", "verdict")
NONE = "—"


@dataclass(frozen=True)
class Figure:
    """One measured figure of a run: its name, its target (or none), the measured value as text,
    and the verdict against the target (empty without one)."""

    name: str
    measured: str
    target: str = NONE
    verdict: str = ""


def add_argument(parser: argparse.ArgumentParser) -> None:
    """Give a bench's command line the ``--no-record`` flag."""
    parser.add_argument(
        "--no-record",
        action="store_true",
        help=f"do not add this run to bench/README.md (also: {NO_RECORD_ENV}=1)",
    )


def machine() -> str:
    """The processor's model name and the number of cores this process may use."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if not model:
        import platform

        model = platform.processor() or platform.machine() or "unknown processor"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, {cores} cores"


def _cell(text: str) -> str:
    """Text as one table cell: no line breaks, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|") or NONE


def _cells(line: str) -> list[str]:
    """The cells of one table row (pipes escaped inside a cell stay escaped)."""
    inner = line.strip()[1:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", inner)]


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(rows: Sequence[list[str]]) -> list[str]:
    return [_row(COLUMNS), _row("---" for _ in COLUMNS), *(_row(r) for r in rows)]


def merge(text: str, bench: str, new_rows: Sequence[list[str]], keep: int = KEEP) -> str:
    """``text`` (the README) with ``new_rows`` put first in ``bench``'s table, at most ``keep``
    rows per figure and run kept, everything else unchanged."""
    start, end = f"<!-- results:{bench} -->", f"<!-- /results:{bench} -->"
    lines = text.splitlines()
    if start in lines and end in lines:
        first, last = lines.index(start), lines.index(end)
        old = [
            _cells(line)
            for line in lines[first + 1 : last]
            if line.startswith("|") and not line.startswith(("| date", "| ---"))
        ]
    else:
        if lines and lines[-1].strip():
            lines.append("")
        lines += [f"## {bench}", "", start, end]
        first, last = len(lines) - 2, len(lines) - 1
        old = []
    seen: Counter[tuple[str, ...]] = Counter()
    kept: list[list[str]] = []
    for row in [*new_rows, *old]:
        figure = tuple(row[2:4])  # (run, figure): a --quick run does not push out a full one
        seen[figure] += 1
        if seen[figure] <= keep:
            kept.append(row)
    lines[first + 1 : last] = _table(kept)
    return "\n".join(lines) + "\n"


def record_run(
    bench: str,
    figures: Sequence[Figure],
    *,
    no_record: bool = False,
    run: str | None = None,
    readme: Path = README,
) -> None:
    """Add this run's ``figures`` to ``bench``'s table in ``bench/README.md``.

    ``run`` says how the bench was run (its options; by default the command line's arguments
    other than ``--no-record``). Nothing is written with ``no_record`` or the environment
    variable set.
    """
    if no_record or os.environ.get(NO_RECORD_ENV, "") not in ("", "0"):
        return
    if run is None:
        run = " ".join(a for a in sys.argv[1:] if a != "--no-record") or "defaults"
    date = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    where = machine()
    rows = [
        [_cell(c) for c in (date, where, run, f.name, f.target, f.measured, f.verdict)]
        for f in figures
    ]
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    readme.write_text(merge(text, bench, rows), encoding="utf-8")
    print(f"(recorded {len(rows)} figures in {readme.name}; --no-record leaves it alone)")
