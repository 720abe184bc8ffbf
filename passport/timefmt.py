"""RFC 3339 UTC timestamps as the ledger writes and compares them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from passport.errors import MalformedRecordError


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
    """Any accepted timestamp in the fixed-width microsecond form, for ordering."""
    moment = parse_ts(value)  # validates even a value already in that form
    return value if _FIXED.fullmatch(value) else format_ts(moment)
