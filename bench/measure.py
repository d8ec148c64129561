"""Timing and memory: medians and spread of repeated calls, Python allocation peaks, RSS."""

from __future__ import annotations

import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of each run; ``timed_out`` when a run hit its time limit."""

    samples: tuple[float, ...]
    timed_out: bool = False

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def spread_ms(self) -> tuple[float, float]:
        return min(self.samples) * 1000, max(self.samples) * 1000


def time_calls(call: Callable[[], object], repeat: int, *, warmup: int = 1) -> Timing:
    """Median material: ``repeat`` timed calls after ``warmup`` untimed ones (caches, plans)."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return Timing(tuple(samples))


def timed_once(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def python_peak_kib(call: Callable[[], object]) -> float:
    """Peak Python heap allocated during one call (tracemalloc), in KiB.

    Independent of the tenant's size when no deal row reaches Python.
    """
    tracemalloc.start()
    try:
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1024


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
