"""The advisory lock a run's session holds while the run is open.

Taken before the header is written and given back when the run ends. A header still
``IN_PROGRESS`` whose lock nobody holds belongs to a process that died: the lock goes when
the backend goes, so recovery and the audit can tell, with no extra privilege.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)

# First key of the two-int advisory lock space, so that the run locks cannot collide
# with single-bigint advisory locks other software takes. ASCII "DYNO".
LOCK_NAMESPACE: Final = 0x44594E4F


def run_lock_key(run_id: uuid.UUID) -> int:
    """Second key of the run's advisory lock: the run id's first 32 bits, signed."""
    return int.from_bytes(run_id.bytes[:4], "big", signed=True)


def lock_key_sql(*run_id_column: str) -> sql.Composable:
    """``run_lock_key`` in SQL, for the run id in the named column."""
    return sql.SQL("('x' || left({}::text, 8))::bit(32)::integer").format(
        sql.Identifier(*run_id_column)
    )


def release_run_lock(conn: psycopg.Connection[Any], lock_key: int) -> None:
    """Give the run's session lock back (it outlives a rolled-back transaction)."""
    if conn.closed or conn.broken:
        return  # the server released it with the session
    try:
        with conn.transaction():
            conn.execute("select pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, lock_key))
    except psycopg.Error:
        # The session died after the run's outcome was written: the lock went with it.
        logger.info("run lock %s not released: its session is gone, and the lock with it", lock_key)
