"""RFC 3339 UTC timestamps as the ledger writes and compares them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from passport.errors import MalformedRecordError

DEFAULT_CLOCK_SKEW_SECONDS = 300
"""How far ahead of the ledger's acceptance time a record's ``validFrom`` or proof ``created``
may lie (signers' clocks drift): five minutes unless configured (``BPASS_CLOCK_SKEW_SECONDS``)."""


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def format_ts(moment: datetime, *, micro: bool = True) -> str:
    """``2026-11-22T10:00:00.123456Z`` (fixed width, so string order equals time order)."""
    # isoformat of a UTC time ends "+00:00"; it is the strftime form without its three calls
    # of the C library (about 1 us a record on the append path).
    text = moment.astimezone(UTC).isoformat(timespec="microseconds" if micro else "seconds")
    return text[:-6] + "Z"


def parse_ts(value: str) -> datetime:
    """Parse a ``…Z`` timestamp; a typed error if it names no real instant."""
    try:
        if not value.endswith("Z"):
            raise ValueError("not UTC")
        return datetime.fromisoformat(value[:-1] + "+00:00").astimezone(UTC)
    except ValueError as exc:
        raise MalformedRecordError(f"not an RFC 3339 UTC timestamp: {value!r}") from exc


_FIXED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def normalise_ts(value: str) -> str:
    """Any accepted timestamp in the fixed-width microsecond form, for ordering.

    Answers are remembered: the records of a batch or a bundle repeat a few times (periods,
    validity dates), and a parse and format costs a few microseconds. A value that is not a
    timestamp raises every time (``lru_cache`` keeps no exceptions).
    """
    if type(value) is str:
        return _normalise_str(value)
    return _normalise(value)


def _normalise(value: str) -> str:
    moment = parse_ts(value)  # validates even a value already in that form
    return value if _FIXED.fullmatch(value) else format_ts(moment)


_normalise_str = lru_cache(maxsize=4096)(_normalise)


@lru_cache(maxsize=64)
def latest_allowed(accepted_at: str, skew_seconds: int) -> str:
    """The latest time a record accepted at ``accepted_at`` may speak of: ``accepted_at`` plus
    ``skew_seconds``, in the fixed-width form :func:`normalise_ts` gives (so strings compare as
    times). Remembered: every record of a batch shares its acceptance time."""
    return format_ts(parse_ts(accepted_at) + timedelta(seconds=skew_seconds))
