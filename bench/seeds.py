"""Timing the seeds' own report SQL (bench/seed_queries.py) on the benchmark's cases.

Each run has a time limit (``statement_timeout``); a run over it is shown as "> limit".
The seeds' SQL can take minutes on the large tenant, so it is repeated at most
``MAX_SEED_REPEAT`` times, and only once when a run takes over ``SLOW_S``.
"""

from __future__ import annotations

import time
from typing import Any, Final

import psycopg

from bench.cases import Case
from bench.checks import SEED_SQL
from bench.measure import Timing
from bench.seed_queries import typed

MAX_SEED_REPEAT: Final = 3
SLOW_S: Final = 1.0


def time_seed_sql(conn: psycopg.Connection[Any], case: Case, limit_s: float, repeat: int) -> Timing:
    """Wall-clock seconds of the seeds' query for ``case``, each run within ``limit_s``."""
    query = typed(SEED_SQL[case.report])
    params = case.seed_params()
    samples: list[float] = []
    for _ in range(min(repeat, MAX_SEED_REPEAT)):
        started = time.perf_counter()
        try:
            conn.execute(
                "select set_config('statement_timeout', %s, true)", (str(int(limit_s * 1000)),)
            )
            conn.execute(query, params).fetchall()
        except psycopg.errors.QueryCanceled:
            conn.rollback()
            return Timing((limit_s,), timed_out=True)
        samples.append(time.perf_counter() - started)
        conn.rollback()
        if samples[-1] > SLOW_S:
            break
    return Timing(tuple(samples))
