"""One build at a time, whoever starts it: ``dyno-reports build`` and the Dagster dbt build
hold the same session-level advisory lock while they change the warehouse.

Two builds at once replace the same tables and fail on each other's ``__dbt_backup``
relations. The second build waits for the first, after saying which one it waits for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

import psycopg

# Its own advisory-lock space (ASCII "DYNB"), apart from the report runs' ("DYNO").
BUILD_LOCK_NAMESPACE: Final = 0x44594E42
BUILD_LOCK_KEY: Final = 1

_HOLDER = """
select activity.pid, activity.application_name, activity.usename,
    activity.client_addr::text, activity.backend_start
from pg_locks as locks
inner join pg_stat_activity as activity on locks.pid = activity.pid
where locks.locktype = 'advisory' and locks.granted
    and locks.database = (select oid from pg_database where datname = current_database())
    and locks.classid::bigint = %s and locks.objid::bigint = %s and locks.objsubid = 2
"""


def build_holder(conn: psycopg.Connection[Any]) -> str | None:
    """Who holds the build lock, in words, or None when nobody does."""
    with conn.transaction():
        row = conn.execute(_HOLDER, (BUILD_LOCK_NAMESPACE, BUILD_LOCK_KEY)).fetchone()
    if row is None:
        return None
    pid, application, user, client, started = row
    where = f" from {client}" if client else ""
    return (
        f"backend {pid} ({application or 'no application name'}, user {user}{where},"
        f" connected {started:%Y-%m-%d %H:%M:%S %Z})"
    )


@contextmanager
def build_lock(
    conn: psycopg.Connection[Any], announce: Callable[[str], None] = lambda message: None
) -> Iterator[None]:
    """Hold the build lock on ``conn``'s session for the block; wait for another build first.

    ``conn`` must stay open (and otherwise idle) for as long as the build runs.
    """
    with conn.transaction():
        row = conn.execute(
            "select pg_try_advisory_lock(%s, %s)", (BUILD_LOCK_NAMESPACE, BUILD_LOCK_KEY)
        ).fetchone()
    if row is None or not row[0]:
        holder = build_holder(conn) or "another session"
        announce(f"another build is running in {holder}: waiting for it to finish")
        with conn.transaction():
            # Waits as long as the other build takes: no lock_timeout for this one lock.
            conn.execute("select set_config('lock_timeout', '0', true)")
            conn.execute("select pg_advisory_lock(%s, %s)", (BUILD_LOCK_NAMESPACE, BUILD_LOCK_KEY))
    try:
        yield
    finally:
        if not conn.closed and not conn.broken:
            with conn.transaction():
                conn.execute(
                    "select pg_advisory_unlock(%s, %s)", (BUILD_LOCK_NAMESPACE, BUILD_LOCK_KEY)
                )
