"""Building everything the reports need in the ``PG*`` database."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orchestration.db import connect
from orchestration.dbt_cli import run_dbt
from orchestration.storage import ensure_report_storage


def build_reports_database(
    environ: Mapping[str, str] | None = None, dbt_args: Sequence[str] = ()
) -> str:
    """Create the report storage if missing, then ``dbt build`` (models and their tests).

    Returns dbt's output. Never creates or alters the CRM source tables.
    """
    with connect(environ) as conn:
        ensure_report_storage(conn)
    return run_dbt(["build", *dbt_args], environ=environ)
