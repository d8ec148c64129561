"""Every tenant the models hold, with what the reports can see of it (``int_tenants``):
how a new user finds a tenant id without writing SQL (``dyno-reports tenants``)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from orchestration.reports.errors import ReportRunError
from orchestration.reports.facts_statement import models_missing
from orchestration.reports.stored_runs import Row
from orchestration.settings import MODELS_SCHEMA

_TENANTS = """
select tenant_id, deal_count, open_deal_count, pipeline_count, latest_stage_entry, built_at
from {tenants}
order by deal_count desc, tenant_id
"""


def tenant_summaries(conn: psycopg.Connection[Any]) -> list[Row]:
    """One row per tenant, the biggest first (as of the last build)."""
    query = sql.SQL(_TENANTS).format(tenants=sql.Identifier(MODELS_SCHEMA, "int_tenants"))
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
            return cursor.execute(query).fetchall()
    except psycopg.errors.UndefinedTable as error:
        raise ReportRunError(models_missing(error)) from error
