"""Admission control by request-body bytes (`immunotox.admission`)."""

from __future__ import annotations

import threading
import time

from immunotox.admission import ByteBudget


def _overlap(budget: ByteBudget, sizes: list[int | None], hold_s: float = 0.15) -> int:
    """Run one thread per size, each holding its admission for `hold_s`; return the most that
    were inside at the same time."""
    inside = 0
    most = 0
    lock = threading.Lock()

    def work(size: int | None) -> None:
        nonlocal inside, most
        with budget.admit(size):
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(hold_s)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=work, args=(s,)) for s in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert budget.in_use == 0
    return most


def test_small_requests_run_side_by_side():
    assert _overlap(ByteBudget(1000), [100, 100, 100, 100]) == 4


def test_large_requests_take_turns():
    assert _overlap(ByteBudget(1000), [600, 600, 600]) == 1


def test_a_request_larger_than_the_budget_runs_alone_but_runs():
    assert _overlap(ByteBudget(1000), [5000, 100, 100]) == 2  # the two small ones together


def test_an_unknown_size_counts_as_the_whole_budget():
    assert _overlap(ByteBudget(1000), [None, None, 10]) == 1


def test_waiting_is_bounded_and_nothing_is_refused():
    budget = ByteBudget(1000, max_wait_s=0.1)
    release = threading.Event()

    def hog() -> None:
        with budget.admit(1000):
            release.wait(5)

    t = threading.Thread(target=hog)
    t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    with budget.admit(1000) as waited:
        assert 0.05 <= waited < 1.0
    assert time.monotonic() - t0 < 1.0
    release.set()
    t.join()
    assert budget.in_use == 0
