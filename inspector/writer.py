"""Writer stage: the only process that writes the state file during a pass.

Every message is stored in its own transaction together with the cursor, so a kill at any
moment leaves a consistent state. Checkers finish batches out of order; the cursor only
advances over an unbroken run of stored batches, so "every row with id <= cursor is stored"
always holds and a resumed run re-checks (and replaces) anything above it.
"""

from __future__ import annotations

import logging

from .config import Config
from .stages import stage
from .state import State

log = logging.getLogger("inspector.writer")


class CursorTracker:
    """Turns out-of-order batch completions into the position (the last batch's (part, id),
    or the walk unit) up to which every batch is stored."""

    def __init__(self) -> None:
        self.next_seq = 0
        self._done: dict[int, object] = {}

    def complete(self, seq: int, last_id):
        self._done[seq] = last_id
        cursor = None
        while self.next_seq in self._done:
            cursor = self._done.pop(self.next_seq)
            self.next_seq += 1
        return cursor


@stage("writer")
def run(
    config: Config, pass_id: int, result_q, n_checkers: int, reading: bool, walking: int, progress, hashing=False
) -> None:
    """Store until every producer is done (``walking``: how many walkers). ``hashing``: the
    producers are the hash feeder and the checkers reading content; nothing is counted as a
    checked row or advances the cursor."""
    tracker, walk_tracker = CursorTracker(), CursorTracker()
    checkers_left = n_checkers if reading else 0
    reader_batches: int | None = None if reading else 0
    with State(config.state_db) as state:
        if not hashing:
            with progress.get_lock():
                progress.value = state.recount(pass_id)
        while checkers_left or reader_batches is None or walking:
            message = result_q.get()
            kind = message[0]
            if kind == "rows":
                _, seq, last_id, results = message
                state.write_results(pass_id, results, tracker.complete(seq, last_id))
                with progress.get_lock():
                    progress.value += len(results)
            elif kind == "hashes":
                _, seq, rows, bytes_read = message
                state.write_hashes(pass_id, rows, bytes_read)
                tracker.complete(seq, None)
            elif kind == "disk":
                _, entries, claimed, blocked = message
                # Walkers finish units out of order: checkpoint the walk only up to the last unit
                # before which every claimed one is stored.
                unit = walk_tracker.complete(*claimed) if claimed else None
                state.write_disk(pass_id, entries, unit, blocked)
            elif kind == "reader_done":
                reader_batches = message[1]
            elif kind == "checker_done":
                checkers_left -= 1
            elif kind == "walk_done":
                walking -= 1
                if not walking:
                    state.mark("walk_done", pass_id)
        if reading:
            if tracker.next_seq != reader_batches:
                raise RuntimeError(f"stored {tracker.next_seq} of {reader_batches} batches")
            if not hashing:
                state.mark("reader_done", pass_id)
    log.debug("writer: pass %d stored", pass_id)
