"""Reading stored report runs back: recent headers, one run's header and its fact rows."""

from __future__ import annotations

import uuid
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from orchestration.reports.parameters import RunLimits
from orchestration.reports.run_bounds import apply_limits, storage_required
from orchestration.settings import MODELS_SCHEMA

Row = dict[str, Any]

FACT_TABLES: Final = {
    "deal_win_loss": "report_deal_win_loss_fact",
    "deal_aging": "report_deal_aging_fact",
}

_RECENT_RUNS = """
select
    runs.run_id,
    runs.tenant_id,
    runs.report_type,
    runs.generated_at,
    runs.period_start,
    runs.period_end,
    runs.status,
    runs.error_message,
    -- A run's facts are in one table or the other; both lookups use the run_id index.
    (
        select count(*) from dyno_crm.report_deal_win_loss_fact as facts
        where facts.run_id = runs.run_id
    )
    + (
        select count(*) from dyno_crm.report_deal_aging_fact as facts
        where facts.run_id = runs.run_id
    ) as fact_rows
from dyno_crm.report_run as runs
where %(tenant_id)s::uuid is null or runs.tenant_id = %(tenant_id)s::uuid
order by runs.generated_at desc, runs.run_id
limit %(limit)s
"""

# Names are looked up in the staging views (as of the last build), matching tenant_id
# too: ids are unique per tenant only.
_FACTS = """
select
    facts.*,
    pipelines.pipeline_name,
    -- A deal without a pipeline can sit in any pipeline's stage: name that pipeline too.
    case
        when stages.pipeline_id is distinct from facts.pipeline_id
            then stages.stage_name || ' (' || stage_pipelines.pipeline_name || ')'
        else stages.stage_name
    end as stage_name
from {facts} as facts
left join {pipelines} as pipelines
    on
        facts.tenant_id = pipelines.tenant_id
        and facts.pipeline_id = pipelines.pipeline_id
left join {stages} as stages
    on
        facts.tenant_id = stages.tenant_id
        and facts.stage_id = stages.pipeline_stage_id
left join {pipelines} as stage_pipelines
    on
        stages.tenant_id = stage_pipelines.tenant_id
        and stages.pipeline_id = stage_pipelines.pipeline_id
where facts.run_id = %(run_id)s
-- The seeds' rows first (by pipeline, then stage), then the total across pipelines; then
-- each breakdown value's rows, values sorted and the deals without one last. Within a
-- pipeline its row across stages comes last.
order by
    facts.breakdown nulls first,
    {breakdown_value} nulls last,
    facts.all_pipelines,
    pipelines.pipeline_name nulls last,
    facts.pipeline_id,
    stages.stage_order nulls last,
    stage_name
"""


# The value a breakdown row stands for, to sort by (only win/loss has source and a
# first-stage breakdown).
_BREAKDOWN_VALUE: Final = {
    "deal_win_loss": (
        "case facts.breakdown when 'source' then facts.source"
        " when 'first_stage' then stages.stage_name || facts.stage_id::text"
        " else facts.principal_id::text end"
    ),
    "deal_aging": "case when facts.breakdown is not null then facts.principal_id::text end",
}


def recent_runs(
    conn: psycopg.Connection[Any], *, tenant_id: uuid.UUID | None = None, limit: int = 20
) -> list[Row]:
    """The newest ``limit`` run headers (of one tenant if given), with their fact counts."""
    with storage_required(), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_RECENT_RUNS, {"tenant_id": tenant_id, "limit": limit}).fetchall()


def run_header(
    conn: psycopg.Connection[Any], run_id: uuid.UUID, limits: RunLimits | None = None
) -> Row | None:
    """The run's ``report_run`` row; within ``limits`` when given (else the session's)."""
    with storage_required(), conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        if limits is not None:
            apply_limits(conn, limits)
        return cur.execute(
            "select * from dyno_crm.report_run where run_id = %s", (run_id,)
        ).fetchone()


def run_facts(
    conn: psycopg.Connection[Any],
    report_type: str,
    run_id: uuid.UUID,
    limits: RunLimits | None = None,
) -> list[Row]:
    """The run's fact rows, each with ``pipeline_name`` and ``stage_name`` where known."""
    query = sql.SQL(_FACTS).format(
        breakdown_value=sql.SQL(_BREAKDOWN_VALUE[report_type]),
        facts=sql.Identifier("dyno_crm", FACT_TABLES[report_type]),
        pipelines=sql.Identifier(MODELS_SCHEMA, "stg_dyno_crm__pipelines"),
        stages=sql.Identifier(MODELS_SCHEMA, "stg_dyno_crm__pipeline_stages"),
    )
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        if limits is not None:
            apply_limits(conn, limits)
        return cur.execute(query, {"run_id": run_id}).fetchall()
