"""The pacer behind INSPECTOR_MAX_ROWS_PER_SECOND: a long-run rate, one second of burst at most."""

from __future__ import annotations

import pytest

from inspector.runtime.throttle import Pacer


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.now += seconds


def test_rate_is_held_over_time():
    clock = Clock()
    pacer = Pacer(100, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        pacer.take(10)
    # 1000 units at 100/s: 10 s, less the one second of credit a fresh pacer starts with
    assert clock.now - 100 == pytest.approx(9.0)


def test_idle_time_buys_at_most_one_burst():
    clock = Clock()
    pacer = Pacer(100, clock=clock, sleep=clock.sleep)
    clock.now += 3600  # an hour blocked on a full queue
    slept = sum(pacer.take(50) for _ in range(4))
    assert slept == pytest.approx(1.0)  # 200 units: 100 from the burst, 100 paced


def test_zero_means_unlimited():
    clock = Clock()
    pacer = Pacer(0, clock=clock, sleep=clock.sleep)
    assert all(pacer.take(10**6) == 0 for _ in range(10)) and clock.now == 100.0


def test_pacers_sharing_a_value_hold_one_rate_together():
    import multiprocessing

    clock = Clock()
    shared = multiprocessing.get_context("spawn").Value("d", 0.0)
    a = Pacer(100, burst=0, shared=shared, clock=clock, sleep=clock.sleep)
    b = Pacer(100, burst=0, shared=shared, clock=clock, sleep=clock.sleep)
    for _ in range(50):
        a.take(10)
        b.take(10)
    assert clock.now - 100 == pytest.approx(10.0)  # 1000 units at 100/s between them
    alone = Pacer(100, burst=0, shared=multiprocessing.get_context("spawn").Value("d", 0.0), clock=clock,
                  sleep=clock.sleep)  # fmt: skip
    started = clock.now
    for _ in range(100):
        alone.take(10)
    assert clock.now - started == pytest.approx(10.0)  # one process alone gets the whole rate
