"""Exact integer arithmetic and formatting for the roll-up (issue §4): half-even division,
milligrams of decimal kilograms, percents that add up, and proportional allocation by largest
remainder. The only rounding is the half-even rounding of each carbon contribution to a whole
milligram and of percents when they are printed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from passport.trace.model import Amount

__all__ = ["allocate", "fmt_scaled", "kg_to_mg", "percent_of", "percent_split", "rdiv"]


def rdiv(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-even to an integer."""
    q, r = divmod(numerator, denominator)
    if 2 * r > denominator or (2 * r == denominator and q % 2):
        q += 1
    return q


def kg_to_mg(kg: str) -> int:
    """Milligrams in a schema-checked decimal string of kilograms (at most 6 decimals: exact)."""
    return int(Decimal(kg).scaleb(6))


def fmt_scaled(value: int, decimals: int) -> str:
    if decimals == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 10**decimals}.{value % 10**decimals:0{decimals}d}"


def percent_of(part: int, whole: int, decimals: int) -> str:
    """``part / whole`` in percent, rounded half-even to ``decimals`` (exact arithmetic)."""
    if whole <= 0:
        return fmt_scaled(0, decimals)
    return fmt_scaled(rdiv(part * 100 * 10**decimals, whole), decimals)


def percent_split(
    parts: Mapping[str, int], whole: int, decimals: int, pinned: Amount | None = None
) -> dict[str, str]:
    """Percents of parts that partition ``whole``, by largest remainder, so they add up to exactly
    100 — or, with ``pinned`` (a share of the whole already rounded elsewhere, e.g. the unknown
    origin), to exactly 100 minus the pinned percent."""
    if whole <= 0:
        return {k: fmt_scaled(0, decimals) for k in parts}
    unit = 100 * 10**decimals
    target, rest_of_whole = unit, whole
    if pinned is not None:
        target -= int(pinned.percent.replace(".", ""))
        rest_of_whole -= pinned.micrograms
    quotas = {k: v * unit for k, v in parts.items()}
    base = {k: q // whole for k, q in quotas.items()}
    rest = target - sum(base.values()) if sum(parts.values()) == rest_of_whole else 0
    for k in sorted(quotas, key=lambda k: (-(quotas[k] % whole), k))[: max(rest, 0)]:
        base[k] += 1
    return {k: fmt_scaled(v, decimals) for k, v in base.items()}


def allocate(total: int, parts: Sequence[int], pool: int) -> list[int]:
    """Split ``total`` over ``parts`` in proportion, by largest remainder: the result sums to
    ``total`` exactly (``parts`` sum to ``pool`` and ``total <= pool``)."""
    if total == pool:
        return list(parts)
    if total == 0 or pool <= 0:
        return [0] * len(parts)
    out, rems = [], []
    for p in parts:
        q, r = divmod(total * p, pool)
        out.append(q)
        rems.append(r)
    rest = total - sum(out)
    if rest == 1:
        out[max(range(len(rems)), key=rems.__getitem__)] += 1  # first of the largest
    elif rest:
        # a stable sort keeps equal remainders in index order
        for i in sorted(range(len(rems)), key=rems.__getitem__, reverse=True)[:rest]:
            out[i] += 1
    return out
