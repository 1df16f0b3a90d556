"""Maintenance windows as pure functions of an explicit clock: parsing, midnight, DST days."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from inspector.ops import windows

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str, tz=BERLIN) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


@pytest.mark.parametrize(
    "bad",
    ["", "22:00", "22-06", "24:00-01:00", "22:60-23:00", "9:00-10:00", "22:00-22:00", "22:00-06:00,", "x"],
)
def test_strict_parsing(bad):
    with pytest.raises(ValueError):
        windows.parse(bad)


def test_parse_several():
    ws = windows.parse("22:00-06:00, 12:30-13:15")
    assert [str(w) for w in ws] == ["22:00-06:00", "12:30-13:15"]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-24 21:59", False), ("2026-11-24 22:00", True), ("2026-11-24 23:59", True),
        ("2026-11-25 00:00", True), ("2026-11-25 05:59", True), ("2026-11-25 06:00", False),
        ("2026-11-25 12:30", True), ("2026-11-25 13:14", True), ("2026-11-25 13:15", False),
    ],
)  # fmt: skip
def test_open_across_midnight(now, expected):
    assert windows.is_open(windows.parse("22:00-06:00,12:30-13:15"), at(now)) is expected


def test_next_change_in_a_normal_night():
    ws = windows.parse("22:00-06:00")
    assert windows.next_change(ws, at("2026-11-24 12:00")) == at("2026-11-24 22:00")
    assert windows.next_change(ws, at("2026-11-24 23:00")) == at("2026-11-25 06:00")


def test_spring_forward_window_starting_in_the_skipped_hour():
    # 2026-03-29 in Berlin: 02:00 jumps to 03:00. A 02:30-04:00 window opens at 03:00 CEST.
    ws = windows.parse("02:30-04:00")
    change = windows.next_change(ws, at("2026-03-29 01:00"))
    assert change.astimezone(ZoneInfo("UTC")) == datetime(2026, 3, 29, 1, 0, tzinfo=ZoneInfo("UTC"))
    assert windows.is_open(ws, datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("UTC")).astimezone(BERLIN))


def test_fall_back_night_is_longer_by_the_repeated_hour():
    # 2026-10-25 in Berlin: 03:00 CEST goes back to 02:00 CET; 22:00-06:00 lasts 9 real hours.
    ws = windows.parse("22:00-06:00")
    opened = windows.next_change(ws, at("2026-10-24 12:00"))
    closed = windows.next_change(ws, opened)
    utc = ZoneInfo("UTC")
    assert (closed.astimezone(utc) - opened.astimezone(utc)).total_seconds() == 9 * 3600
    repeated = datetime(2026, 10, 25, 1, 30, tzinfo=ZoneInfo("UTC")).astimezone(BERLIN)  # 02:30 CET
    assert windows.is_open(ws, repeated)
