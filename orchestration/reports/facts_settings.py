"""Session settings for the one statement that computes and writes a run's fact rows.

Set with ``set_config(..., is_local => true)``, so they end with the run's transaction.
docs/performance.md shows the plans that justify each one.
"""

from __future__ import annotations

from typing import Any, Final

import psycopg

FACTS_SETTINGS: Final = {
    # A tenant about twice the benchmark's largest pushes the aging plan over
    # jit_above_cost (100,000); compiling its expressions then costs 30 ms and more, about
    # what the whole statement takes. The plans are simple: JIT never pays off here.
    "jit": "off",
}


def apply_facts_settings(conn: psycopg.Connection[Any]) -> None:
    """Apply ``FACTS_SETTINGS`` to the current transaction, in one round trip."""
    names = list(FACTS_SETTINGS)
    conn.execute(
        "select set_config(name, setting, true) from unnest(%s::text[], %s::text[])"
        " as settings (name, setting)",
        (names, [FACTS_SETTINGS[name] for name in names]),
    )
