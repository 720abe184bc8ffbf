"""RFC 3339 UTC timestamps as the ledger writes and compares them."""

from __future__ import annotations

from datetime import UTC, datetime

from passport.errors import MalformedRecordError


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)


def format_ts(moment: datetime, *, micro: bool = True) -> str:
    """``2026-11-22T10:00:00.123456Z`` (fixed width, so string order equals time order)."""
    moment = moment.astimezone(UTC)
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(value: str) -> datetime:
    """Parse a ``…Z`` timestamp; a typed error if it names no real instant."""
    try:
        if not value.endswith("Z"):
            raise ValueError("not UTC")
        return datetime.fromisoformat(value[:-1] + "+00:00").astimezone(UTC)
    except ValueError as exc:
        raise MalformedRecordError(f"not an RFC 3339 UTC timestamp: {value!r}") from exc


def normalise_ts(value: str) -> str:
    """Any accepted timestamp in the fixed-width microsecond form, for ordering."""
    return format_ts(parse_ts(value))
