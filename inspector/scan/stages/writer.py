"""Writer stage: the only process that writes the state file during a pass.

Every message is stored in its own transaction together with the cursor, so a kill at any
moment leaves a consistent state. Checkers finish batches out of order; the cursor only
advances over an unbroken run of stored batches, so "every row with id <= cursor is stored"
always holds and a resumed run re-checks (and replaces) anything above it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ...config.config import Config
from ...state import State
from ..messages import Checked, CheckerDone, Facts, FeedDone, Hashed, Result, WalkDone, Walked
from .runtime import stage

log = logging.getLogger("inspector.writer")


@dataclass(frozen=True)
class Plan:
    """Who sends to the writer in one run of the stages, so it knows when all is stored.

    ``reading``: a feeder (the reader, or the hash feeder) and ``checkers`` checkers send
    batches; ``walkers`` walkers send walked entries. ``hashing``: the batches are hashes, not
    checked rows: nothing is counted as checked or advances the cursor."""

    pass_id: int
    checkers: int
    reading: bool
    walkers: int
    hashing: bool = False


class CursorTracker:
    """Turns out-of-order batch completions into the position (the last batch's cursor, or
    the walk unit) up to which every batch is stored."""

    def __init__(self) -> None:
        self.next_seq = 0
        self._done: dict[int, object] = {}

    def complete(self, seq: int, last: Any) -> Any:
        self._done[seq] = last
        cursor = None
        while self.next_seq in self._done:
            cursor = self._done.pop(self.next_seq)
            self.next_seq += 1
        return cursor


@stage("writer")
def run(config: Config, plan: Plan, result_q: Any, progress: Any) -> None:
    """Store until every producer is done."""
    pass_id = plan.pass_id
    tracker, walk_tracker = CursorTracker(), CursorTracker()
    checkers_left, walking = (plan.checkers if plan.reading else 0), plan.walkers
    fed: int | None = None if plan.reading else 0
    with State(config.state_db) as state:
        if not plan.hashing:
            with progress.get_lock():
                progress.value = state.recount(pass_id)
        while checkers_left or fed is None or walking:
            message: Result = result_q.get()
            if isinstance(message, Checked):
                state.write_results(pass_id, message.results, tracker.complete(message.seq, message.cursor))
                with progress.get_lock():
                    progress.value += len(message.results)
            elif isinstance(message, Facts):
                state.write_facts(pass_id, message.issues, message.authors)
            elif isinstance(message, Hashed):
                state.write_hashes(pass_id, message.rows, message.bytes_read)
                tracker.complete(message.seq, None)
                with progress.get_lock():  # hashing counts the bytes it was to read (a failed read too)
                    progress.value += message.planned
            elif isinstance(message, Walked):
                # Walkers finish units out of order: checkpoint the walk only up to the last unit
                # before which every claimed one is stored.
                unit = walk_tracker.complete(*message.claimed) if message.claimed else None
                state.write_disk(pass_id, message.entries, unit, message.blocked, message.folders)
            elif isinstance(message, FeedDone):
                fed = message.batches
            elif isinstance(message, CheckerDone):
                checkers_left -= 1
            elif isinstance(message, WalkDone):
                walking -= 1
                if not walking:
                    state.walk_finished(pass_id)
        if plan.reading:
            if tracker.next_seq != fed:
                raise RuntimeError(f"stored {tracker.next_seq} of {fed} batches")
            if not plan.hashing:
                state.reading_finished(pass_id)
    log.debug("writer: pass %d stored", pass_id)
