"""Maintenance windows: when the inspector may load Jira's database and storage.

``INSPECTOR_WINDOWS="22:00-06:00,12:30-13:15"`` in ``INSPECTOR_TZ`` (IANA name, default the
machine's local time). A window may cross midnight. Everything here is pure: the clock is a
parameter, so tests can stand on any day, DST changes included.

On DST days wall-clock times are taken as the clock on the wall shows them: a window whose
start falls into the hour skipped in spring opens at the first valid minute after it, and in
the repeated autumn hour a window is open whenever the wall clock is inside it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import NamedTuple

_WINDOW = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)\Z")  # (the hours and minutes checked apart: said which is wrong)


class Window(NamedTuple):
    start: time
    end: time

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # crosses midnight

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse(text: str) -> list[Window]:
    """Strict HH:MM-HH:MM[,...]; raises ValueError naming the bad part."""
    windows = []
    for part in (p.strip() for p in text.split(",")):
        m = _WINDOW.match(part)
        if not m:
            raise ValueError(f"'{part}' is not HH:MM-HH:MM (24-hour clock)")
        for which, hour, minute in (("start", m[1], m[2]), ("end", m[3], m[4])):
            if int(hour) > 23:
                raise ValueError(f"'{part}': the {which} hour {hour} is out of range (00-23; midnight is 00:00)")
            if int(minute) > 59:
                raise ValueError(f"'{part}': the {which} minute {minute} is out of range (00-59)")
        start, end = time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))
        if start == end:
            raise ValueError(f"'{part}' is empty (start equals end)")
        windows.append(Window(start, end))
    if not windows:
        raise ValueError("no window given")
    return windows


def is_open(windows: list[Window], now: datetime) -> bool:
    wall = now.time().replace(second=0, microsecond=0)
    return any(w.contains(wall) for w in windows)


def _wall(day: datetime, at: time, tz: tzinfo) -> datetime:
    """The aware moment the wall clock shows ``at`` on ``day``, or just after a skipped hour."""
    naive = datetime.combine(day.date(), at)
    # A wall time inside the spring-forward gap does not round-trip through UTC: the window
    # then opens (or closes) at the first wall-clock minute that exists after it.
    for minutes in range(0, 24 * 60):
        candidate = (naive + timedelta(minutes=minutes)).replace(tzinfo=tz)
        if candidate.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == candidate.replace(tzinfo=None):
            return candidate
    raise ValueError(f"no valid wall-clock time near {naive} in {tz}")


def next_change(windows: list[Window], now: datetime) -> datetime:
    """The next moment after ``now`` at which some window opens or closes (minute precision)."""
    tz = now.tzinfo
    assert tz is not None, "windows need an aware clock"
    candidates = []
    for offset in range(0, 3):
        day = now + timedelta(days=offset)
        for w in windows:
            for at in (w.start, w.end):
                moment = _wall(day, at, tz)
                if moment > now:
                    candidates.append(moment)
    return min(candidates)
