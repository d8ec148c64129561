"""Session settings for the one statement that computes and writes a run's fact rows.

Set with ``set_config(..., is_local => true)``, so they end with the run's transaction.
docs/performance.md shows the plans that justify each one.
"""

from __future__ import annotations

from typing import Any, Final

import psycopg

FACTS_SETTINGS: Final = {
    # A report over a few hundred thousand rows crosses jit_above_cost, and compiling the
    # expressions costs more than the whole statement.
    "jit": "off",
    # The aging report sorts a period's open deals into group order; at the default 4MB a
    # year of the large tenant (90,000 rows) spills to disk ("external merge").
    "work_mem": "64MB",
}


def apply_facts_settings(conn: psycopg.Connection[Any]) -> None:
    """Apply ``FACTS_SETTINGS`` to the current transaction, in one round trip."""
    names = list(FACTS_SETTINGS)
    conn.execute(
        "select set_config(name, setting, true) from unnest(%s::text[], %s::text[])"
        " as settings (name, setting)",
        (names, [FACTS_SETTINGS[name] for name in names]),
    )
