"""Which tenants the warehouse holds."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg import sql

from orchestration.settings import MODELS_SCHEMA

# A loose index scan (one index probe per tenant) over the staging view, which reads the
# source's (tenant_id, id) primary key: milliseconds even with millions of deals.
_DISTINCT_TENANTS = """
with recursive tenants as (
    (select tenant_id from {deals} order by tenant_id limit 1)
    union all
    select (
        select deals.tenant_id from {deals} as deals
        where deals.tenant_id > tenants.tenant_id
        order by deals.tenant_id limit 1
    )
    from tenants
    where tenants.tenant_id is not null
)
select tenant_id from tenants where tenant_id is not null
"""


def discover_tenants(conn: psycopg.Connection[Any]) -> list[uuid.UUID]:
    """Every tenant with at least one deal, in id order (read through the staging view)."""
    query = sql.SQL(_DISTINCT_TENANTS).format(
        deals=sql.Identifier(MODELS_SCHEMA, "stg_dyno_crm__deals")
    )
    with conn.transaction():
        rows = conn.execute(query).fetchall()
    return [row[0] for row in rows]
