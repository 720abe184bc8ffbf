"""Timestamps: the fixed-width form is the strftime form, and normalising is idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passport.errors import MalformedRecordError
from passport.timefmt import format_ts, normalise_ts

MOMENTS = st.datetimes(
    min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@given(MOMENTS, st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_format_equals_strftime(moment: datetime, offset_minutes: int) -> None:
    local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    assert format_ts(local) == moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert format_ts(local, micro=False) == moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@given(MOMENTS)
def test_normalise_is_idempotent_and_orders_like_time(moment: datetime) -> None:
    fixed = format_ts(moment)
    assert normalise_ts(fixed) == fixed
    assert normalise_ts(format_ts(moment, micro=False)) == format_ts(moment.replace(microsecond=0))


@pytest.mark.parametrize(
    "bad", ["2026-13-01T00:00:00.000000Z", "2026-02-30T00:00:00.000000Z", "2026-01-01T00:00:00"]
)
def test_a_fixed_looking_value_that_names_no_instant_is_refused(bad: str) -> None:
    with pytest.raises(MalformedRecordError):
        normalise_ts(bad)


def test_answers_are_remembered_but_refusals_are_not() -> None:
    # normalise_ts caches its answers; a refused value must raise on every call, not once.
    value = "2026-05-01T10:00:00Z"
    assert normalise_ts(value) == normalise_ts(value) == "2026-05-01T10:00:00.000000Z"
    for _ in range(2):
        with pytest.raises(MalformedRecordError):
            normalise_ts("2026-02-30T00:00:00Z")
