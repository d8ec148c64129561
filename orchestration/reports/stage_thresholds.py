"""Per-stage aging thresholds must name stages of the run's tenant: checked against the
models before anything is written."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from orchestration.reports.parameters import AgingParameters, ReportInputError, ReportParameters
from orchestration.settings import MODELS_SCHEMA


def check_stage_thresholds(conn: psycopg.Connection[Any], params: ReportParameters) -> None:
    """Refuse a stage of ``stage_threshold_days`` that is not one of the tenant's (unknown,
    or another tenant's: stage ids are unique per tenant only). Inside the caller's
    transaction, before the header is written."""
    if not isinstance(params, AgingParameters) or not params.stage_threshold_days:
        return
    stage_ids = [stage for stage, _ in params.stage_threshold_days]
    query = sql.SQL(
        "select wanted.stage_id from unnest(%s::uuid[]) with ordinality as wanted (stage_id, n)"
        " where not exists (select from {stages} as stages"
        " where stages.tenant_id = %s and stages.pipeline_stage_id = wanted.stage_id)"
        " order by wanted.n limit 1"
    ).format(stages=sql.Identifier(MODELS_SCHEMA, "stg_dyno_crm__pipeline_stages"))
    unknown = conn.execute(query, (stage_ids, params.tenant_id)).fetchone()
    if unknown is not None:
        raise ReportInputError(
            "stage_threshold_days",
            f"stage {unknown[0]} is not a pipeline stage of tenant {params.tenant_id}"
            " (unknown, or another tenant's)",
        )
