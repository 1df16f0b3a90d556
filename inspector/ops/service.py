"""Working inside maintenance windows: the process stays up, scans only while a window is
open, pauses at its end and resumes from the cursor when the next one opens.

The ``schedule`` library drives the loop: one job checks the windows every minute (windows
have minute precision) and starts or pauses the pass. The window arithmetic itself is in
``windows.py`` (pure, DST-aware); the clock and the sleep are parameters so tests can drive
them without waiting for midnight.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

import schedule

from ..config.config import Config
from ..errors import Paused
from ..scan.pipeline import Outcome, run_pass
from . import windows as win

log = logging.getLogger("inspector")


class WindowedRunner:
    def __init__(self, config: Config, now: Callable[[], datetime] | None = None, fresh: bool = False, notifier=None):
        self.config = config
        self.notifier = notifier
        self.windows = list(config.windows)
        self.now = now or config.now
        self.fresh = fresh
        self.outcome: Outcome | None = None
        self.pauses = 0

    def window_open(self) -> bool:
        return win.is_open(self.windows, self.now())

    def step(self) -> None:
        """One scheduler tick: if a window is open, work until the pass ends or the window closes."""
        if self.outcome is not None or not self.window_open():
            return
        log.info("maintenance window open (%s): scanning", ", ".join(map(str, self.windows)))
        if self.pauses and self.notifier:
            self.notifier.send("resume", "Jira attachment inspection resumed: a maintenance window opened")
        try:
            self.outcome = run_pass(self.config, fresh=self.fresh, should_stop=lambda: not self.window_open())
        except Paused:
            self.pauses += 1
            reopens = win.next_change(self.windows, self.now()).isoformat(timespec="minutes")
            log.info("maintenance window closed: paused at a checkpoint; next window opens %s", reopens)
            if self.notifier:
                self.notifier.send("pause", f"Jira attachment inspection paused until {reopens}")
        self.fresh = False


def serve(
    config: Config,
    *,
    fresh: bool = False,
    now=None,
    sleep: Callable[[float], None] = time.sleep,
    tick: float = 60,
    notifier=None,
) -> Outcome:
    """Run one pass across as many windows as it takes; returns when it has finished."""
    runner = WindowedRunner(config, now, fresh, notifier)
    scheduler = schedule.Scheduler()
    scheduler.every(tick).seconds.do(runner.step)  # type: ignore[arg-type]  # schedule takes float intervals
    if not runner.window_open():
        log.info(
            "outside the maintenance windows (%s); waiting until %s",
            ", ".join(map(str, runner.windows)),
            win.next_change(runner.windows, runner.now()).isoformat(timespec="minutes"),
        )
    runner.step()
    while runner.outcome is None:
        scheduler.run_pending()
        sleep(max(0.05, min(tick, scheduler.idle_seconds or tick)))
    return runner.outcome
