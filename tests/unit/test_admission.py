"""Admission control by request-body bytes (`immunotox.admission`)."""

from __future__ import annotations

import threading
import time

from immunotox.admission import ByteBudget


def _overlap(budget: ByteBudget, sizes: list[int | None], expect: int) -> int:
    """Run one thread per size, all asking at once; return the most that were inside at the
    same time. A thread inside holds its admission until `expect` threads are inside together
    (so a test expecting overlap never depends on threads happening to start quickly), or, when
    overlap is not expected, for a short while (slow threads can then only hide an overlap,
    never invent one), and at most 5 s either way."""
    inside = 0
    most = 0
    cond = threading.Condition()
    start = threading.Barrier(len(sizes), timeout=10)
    hold_s = 5.0 if expect > 1 else 0.2

    def work(size: int | None) -> None:
        nonlocal inside, most
        start.wait()
        with budget.admit(size), cond:
            inside += 1
            most = max(most, inside)
            cond.notify_all()
            cond.wait_for(lambda: expect > 1 and most >= expect, timeout=hold_s)
            inside -= 1

    threads = [threading.Thread(target=work, args=(s,)) for s in sizes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert budget.in_use == 0
    return most


def test_small_requests_run_side_by_side():
    assert _overlap(ByteBudget(1000), [100, 100, 100, 100], expect=4) == 4


def test_large_requests_take_turns():
    assert _overlap(ByteBudget(1000), [600, 600, 600], expect=1) == 1


def test_a_request_larger_than_the_budget_runs_alone_but_runs():
    assert (
        _overlap(ByteBudget(1000), [5000, 100, 100], expect=2) == 2
    )  # the two small ones together


def test_an_unknown_size_counts_as_the_whole_budget():
    assert _overlap(ByteBudget(1000), [None, None, 10], expect=1) == 1


def test_waiting_is_bounded_and_nothing_is_refused():
    budget = ByteBudget(1000, max_wait_s=0.1)
    inside, release = threading.Event(), threading.Event()

    def hog() -> None:
        with budget.admit(1000):
            inside.set()
            release.wait(30)

    t = threading.Thread(target=hog)
    t.start()
    assert inside.wait(10)  # the hog holds the whole budget now
    with budget.admit(1000) as waited:
        # admitted after its 0.1 s wait although the budget is still taken; the upper bound
        # is ten times the wait, for a loaded machine
        assert 0.1 <= waited < 1.0
        assert budget.in_use == 2000
    release.set()
    t.join(10)
    assert budget.in_use == 0


def test_bytes_counted_as_they_arrive_make_later_admissions_wait_and_are_given_back():
    budget = ByteBudget(100, max_wait_s=0.3)
    with budget.account() as arriving:
        arriving.add(60)
        arriving.add(30)
        assert budget.in_use == 90
        t0 = time.monotonic()
        with budget.admit(20):  # 90 + 20 > 100: waits (here until its wait runs out)
            waited = time.monotonic() - t0
        assert waited >= 0.25
        t0 = time.monotonic()
        with budget.admit(10):  # fits beside them: no wait (far below the 10 s default)
            assert time.monotonic() - t0 < 2.0
    assert budget.in_use == 0


def test_a_caller_can_wait_less_than_the_budget_default():
    budget = ByteBudget(100, max_wait_s=10.0)
    with budget.admit(100):
        t0 = time.monotonic()
        with budget.admit(50, max_wait_s=0.2):
            assert time.monotonic() - t0 < 5.0  # the budget's own wait would be 10 s
