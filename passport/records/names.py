"""Names typed by a person (record kinds, roles, formats, status values): matched
case-insensitively where that is unambiguous, and, when none matches, the closest known names
suggested (``difflib``'s ratio, as a typo usually keeps most letters in order)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean", "match_name"]


def match_name(name: str, known: Iterable[str]) -> str | None:
    """The known name ``name`` spells, exactly or else case-insensitively (when just one known
    name folds to it); None if none does."""
    names = list(known)
    if name in names:
        return name
    folded = [k for k in names if k.casefold() == name.strip().casefold()]
    return folded[0] if len(folded) == 1 else None


def closest(name: str, known: Iterable[str], *, n: int = 3) -> list[str]:
    """Up to ``n`` known names closest to ``name`` (case ignored), best first."""
    by_folded = {k.casefold(): k for k in known}
    hits = difflib.get_close_matches(name.strip().casefold(), list(by_folded), n=n, cutoff=0.6)
    return [by_folded[h] for h in hits]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'X'?"`` (or ``'X' or 'Y'``) naming the closest known names; empty
    when none is close."""
    hits = closest(name, known)
    return f"; did you mean {' or '.join(repr(h) for h in hits)}?" if hits else ""
