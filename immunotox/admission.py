"""Admission control: how many request-body bytes one worker process works on at once.

Parsing a hook request costs memory and CPU in proportion to its body: a 6.5 MB prefetch of
10,000 Observations peaks at about 45 MB of Python objects and takes about 80 ms to parse. Each
worker runs several threads, but the work is CPU-bound under one interpreter lock, so four large
requests at once take as long as four in a row, hold four times the memory, and make the cyclic
collector scan four parses at a time. A byte budget lets small requests through side by side and
makes large ones take turns: memory per worker stays bounded, and throughput is what the CPU
gives either way.

A request larger than the whole budget runs alone. Nothing is refused: a request that has waited
`MAX_WAIT_S` (or the time its caller gives) runs anyway, and the wait is logged.

Bytes that are in memory without having been admitted are counted as they arrive (`account`):
a request body while it is read (so a client declaring 30 MB and sending a byte a second holds
one byte of the budget, not 30 MB) and FHIR answers while a call fetches them. They make later
admissions wait; they never block the request that holds them (that could deadlock two
requests each waiting for the other's bytes).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("immunotox")

MAX_WAIT_S = 10.0


class ByteBudget:
    def __init__(self, capacity: int, max_wait_s: float = MAX_WAIT_S):
        self.capacity = max(int(capacity), 1)
        self.max_wait_s = max_wait_s
        self.in_use = 0
        self._cond = threading.Condition()

    @contextmanager
    def admit(self, size: int | None, max_wait_s: float | None = None) -> Iterator[float]:
        """Hold `size` bytes of the budget (the whole budget when the size is unknown or larger)
        for the duration of the block; yields the seconds spent waiting."""
        want = self.capacity if size is None else min(max(int(size), 0), self.capacity)
        started = time.monotonic()
        wait_s = (
            self.max_wait_s if max_wait_s is None else max(0.0, min(max_wait_s, self.max_wait_s))
        )
        with self._cond:
            while self.in_use and self.in_use + want > self.capacity:
                left = started + wait_s - time.monotonic()
                if left <= 0:
                    log.warning(
                        "admission: ran a %d-byte request after waiting %.1f s (budget %d bytes)",
                        want,
                        wait_s,
                        self.capacity,
                    )
                    break
                self._cond.wait(left)
            self.in_use += want
        try:
            yield time.monotonic() - started
        finally:
            with self._cond:
                self.in_use -= want
                self._cond.notify_all()

    @contextmanager
    def account(self) -> Iterator[Charged]:
        """Count bytes as they arrive (`Charged.add`), without waiting; all are given back when
        the block ends."""
        charged = Charged(self)
        try:
            yield charged
        finally:
            charged.release()


class Charged:
    def __init__(self, budget: ByteBudget):
        self._budget = budget
        self.total = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        if n <= 0:
            return
        with self._lock:
            self.total += n
        with self._budget._cond:
            self._budget.in_use += n

    def release(self) -> None:
        with self._lock:
            n, self.total = self.total, 0
        if n:
            with self._budget._cond:
                self._budget.in_use -= n
                self._budget._cond.notify_all()
