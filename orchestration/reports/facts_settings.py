"""Session settings for the one statement that computes and writes a run's fact rows.

Set with ``set_config(..., is_local => true)``, so they end with the run's transaction.
docs/performance.md shows the plans that justify each one.
"""

from __future__ import annotations

from typing import Any, Final

import psycopg

FACTS_SETTINGS: Final = {
    # A report over a few hundred thousand rows crosses jit_above_cost, and compiling the
    # expressions costs more than the whole statement (tens of ms on a 10 ms query).
    "jit": "off",
}


def apply_facts_settings(conn: psycopg.Connection[Any]) -> None:
    """Apply ``FACTS_SETTINGS`` to the current transaction."""
    for name, value in FACTS_SETTINGS.items():
        conn.execute("select set_config(%s, %s, true)", (name, value))
