"""The one retry policy (retry.py), pinned here once, and every backend built on it."""

from __future__ import annotations

import threading

import pytest

from inspector.runtime.retry import BASE_DELAY, MAX_DELAY, Outage, backoff


class Clock:
    """Time that moves only when someone sleeps."""

    def __init__(self):
        self.now, self.slept = 0.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_backoff_doubles_with_equal_jitter_and_is_capped():
    assert [backoff(n, rng=lambda: 0.0) for n in range(4)] == [BASE_DELAY / 2 * 2**n for n in range(4)]
    assert [backoff(n, rng=lambda: 1.0) for n in range(4)] == [BASE_DELAY * 2**n for n in range(4)]
    assert backoff(500, rng=lambda: 1.0) == MAX_DELAY and backoff(500, rng=lambda: 0.0) == MAX_DELAY / 2


def test_an_outage_ends_at_its_budget_counted_from_the_first_failure_no_success_followed():
    clock = Clock()
    outage = Outage(5, sleep=clock.sleep, clock=clock, rng=lambda: 1.0)
    waits = []
    attempt = 0
    while (waited := outage.failed(attempt)) is not None:
        waits.append(waited)
        attempt += 1
    assert waits == [0.25, 0.5, 1.0, 2.0]  # the next (4 s) would end past 5 s: given up without waiting
    assert clock.slept == waits and outage.failing() == 3.75
    assert outage.failed(0) is None, "once spent, it stays spent: every thread gives up"
    outage.succeeded()
    assert outage.failed(0) == 0.25, "until the service answers again"
    # A success ends an outage: the next one has a whole budget again.
    fresh = Outage(5, sleep=clock.sleep, clock=clock, rng=lambda: 1.0)
    for _ in range(3):
        assert fresh.failed(0) == 0.25
        clock.now += 4  # long apart, but each followed by a success
        fresh.succeeded()
    assert fresh.failing() == 0 and fresh.retries == 3


def test_a_wait_the_service_asks_for_is_honoured_but_never_past_the_budget():
    clock = Clock()
    outage = Outage(30, sleep=clock.sleep, clock=clock, rng=lambda: 0.0)
    assert outage.failed(0, asked=7) == 7  # Retry-After: 7
    assert outage.failed(1, asked=0) == backoff(1, rng=lambda: 0.0)  # "0" is not a reason to hammer
    assert outage.failed(2, asked=3600) is None  # an hour would end past the budget: stop now
    assert clock.now == 7 + backoff(1, rng=lambda: 0.0)


def test_the_threads_of_a_process_share_one_outage_and_with_hold_all_one_wait():
    clock = Clock()
    lock = threading.Lock()
    outage = Outage(10, hold_all=True, sleep=lambda s: None, clock=clock, rng=lambda: 1.0)
    results = []

    def thread(n):
        with lock:
            results.append(outage.failed(n))

    threads = [threading.Thread(target=thread, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outage.retries == 3
    # The longest wait holds every thread: hold() before the next request waits it out.
    clock.now = 0.5
    outage.hold()  # sleeps through the quiet time (the fake sleep does not move the clock)
    assert outage.failing() == 0.5
    clock.now = 9.9
    assert outage.failed(0) is None  # one outage: the time of every thread's failures adds up


def test_every_backend_takes_the_policy_with_its_budget():
    """PostgreSQL, S3, Jira Cloud and the restore's breaker keep no retry loop of their own:
    each holds an Outage of the policy with the budget its setting names."""
    from inspector.restore.breaker import Breaker
    from inspector.sources.cloudapi import CloudApi
    from inspector.sources.postgres import Retry
    from inspector.storage.s3 import S3Storage

    pytest.importorskip("boto3")
    assert Retry(30, "db").outage.budget == 30
    s3 = S3Storage("s3://bucket/prefix", endpoint="http://127.0.0.1:9", retry_timeout=12)
    assert isinstance(s3.outage, Outage) and s3.outage.budget == 12 and s3.outage.hold_all
    api = CloudApi("https://acme.atlassian.net", "a@b.c", "t", rate=1, retry_timeout=40)
    assert isinstance(api.outage, Outage) and api.outage.budget == 40
    assert Breaker("b", 300, threading.Event()).outage.budget == 300
