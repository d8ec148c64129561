"""Session settings for the one statement that computes and writes a run's fact rows.

Set with ``set_config(..., is_local => true)`` (``apply_local_settings``), so they end with
the run's transaction.
docs/performance.md shows the plans that justify each one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import psycopg

FACTS_SETTINGS: Final = {
    # A tenant about twice the benchmark's largest pushes the aging plan over
    # jit_above_cost (100,000); compiling its expressions then costs 30 ms and more, about
    # what the whole statement takes. The plans are simple: JIT never pays off here.
    "jit": "off",
}


def apply_local_settings(conn: psycopg.Connection[Any], settings: Mapping[str, str]) -> None:
    """Apply ``settings`` to the current transaction only, in one round trip."""
    conn.execute(
        "select set_config(name, setting, true) from unnest(%s::text[], %s::text[])"
        " as settings (name, setting)",
        (list(settings), list(settings.values())),
    )
