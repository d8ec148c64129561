"""Timing and memory: medians and spread of repeated calls, Python allocation peaks, RSS."""

from __future__ import annotations

import resource
import statistics
import time
import tracemalloc
from collections.abc import Callable, Sequence
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


def time_interleaved(
    calls: Sequence[Callable[[], object]], repeat: int, *, warmup: int = 1
) -> list[Timing]:
    """``repeat`` timed runs of each call after ``warmup`` untimed ones (caches, plans), the
    calls taking turns round by round.

    A load that comes and goes (another process, a checkpoint) then weighs on every call
    alike, instead of on whichever happened to run during it: the ratio of their medians
    is what it is meant to be, a comparison on the same machine state.
    """
    for _ in range(warmup):
        for call in calls:
            call()
    samples: list[list[float]] = [[] for _ in calls]
    for _ in range(repeat):
        for call, taken in zip(calls, samples, strict=True):
            started = time.perf_counter()
            call()
            taken.append(time.perf_counter() - started)
    return [Timing(tuple(taken)) for taken in samples]


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
