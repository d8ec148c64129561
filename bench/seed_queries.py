"""The seeds' report SQL (part B of each design document), as a reference oracle.

Transcribed verbatim but for the placeholders: ``:name`` became ``%(name)s``. The seeds'
SQL cannot run with its parameters untyped (a seed defect, see docs/deviations.md): inlined as
literals, ``GROUP BY ..., NULL`` is "non-integer constant in GROUP BY"; bound, PostgreSQL
cannot deduce their types. ``typed`` therefore casts each placeholder to its column's type,
the least change that makes the seeds' SQL run. The tests compare the project's fact rows
with these results.
"""

from __future__ import annotations

import re

PARAMETER_TYPES = {
    "tenant_id": "uuid",
    "period_start": "timestamptz",
    "period_end": "timestamptz",
    "pipeline_id": "uuid",
    "principal_type": "varchar",
    "principal_id": "uuid",
    "source": "varchar",
    "stage_id": "uuid",
    "threshold_days": "integer",
    "cycle_threshold_days": "integer",
}


def typed(query: str) -> str:
    """The query with every ``%(name)s`` placeholder cast to its parameter's type."""
    return re.sub(
        r"%\((\w+)\)s",
        lambda match: f"CAST({match.group(0)} AS {PARAMETER_TYPES[match.group(1)]})",
        query,
    )


SEED_WIN_LOSS_SQL = """
WITH closing_instances AS (
    SELECT
        dpss.deal_id,
        dpss.pipeline_id,
        dpss.pipeline_stage_id,
        dpss.entered_at,
        ps.stage_state
    FROM dyno_crm.deal_pipeline_stage_state dpss
    JOIN dyno_crm.pipeline_stage ps
        ON ps.id = dpss.pipeline_stage_id
        AND ps.tenant_id = dpss.tenant_id
    WHERE dpss.tenant_id = %(tenant_id)s
        AND dpss.is_current = TRUE
        AND ps.stage_state IN ('DONE_SUCCESS', 'DONE_FAILED')
        AND dpss.entered_at >= %(period_start)s
        AND dpss.entered_at < %(period_end)s
    ),
    earliest_stage AS (
        SELECT deal_id, MIN(entered_at) AS min_entered_at
        FROM dyno_crm.deal_pipeline_stage_state
        WHERE tenant_id = %(tenant_id)s
        GROUP BY deal_id
    ),
    earliest_stage_id AS (
        SELECT e.deal_id, dpss.pipeline_stage_id AS first_stage_id
        FROM earliest_stage e
        JOIN dyno_crm.deal_pipeline_stage_state dpss
            ON dpss.deal_id = e.deal_id
            AND dpss.entered_at = e.min_entered_at
            AND dpss.tenant_id = %(tenant_id)s
    )
    SELECT
        COALESCE(d.pipeline_id, %(pipeline_id)s) AS pipeline_id,
        %(principal_type)s AS principal_type,
        %(principal_id)s AS principal_id,
        %(source)s AS source,
        %(stage_id)s AS stage_id,
        SUM(CASE WHEN ci.stage_state = 'DONE_SUCCESS' THEN 1 ELSE 0 END) AS
        deals_closed_won_count,
        SUM(CASE WHEN ci.stage_state = 'DONE_FAILED' THEN 1 ELSE 0 END) AS
        deals_closed_lost_count,
        SUM(CASE WHEN ci.stage_state = 'DONE_SUCCESS' THEN COALESCE(d.amount,0)
        ELSE 0 END) AS total_amount_won,
        SUM(CASE WHEN ci.stage_state = 'DONE_FAILED' THEN COALESCE(d.amount,0)
        ELSE 0 END) AS total_amount_lost,
        CASE WHEN SUM(CASE WHEN ci.stage_state = 'DONE_SUCCESS' THEN 1 ELSE 0 END)
        > 0
            THEN AVG(CASE WHEN ci.stage_state = 'DONE_SUCCESS' THEN
        COALESCE(d.amount,0) END)
            END AS avg_deal_size_won,
        CASE WHEN SUM(CASE WHEN ci.stage_state = 'DONE_FAILED' THEN 1 ELSE 0 END) >
        0
            THEN AVG(CASE WHEN ci.stage_state = 'DONE_FAILED' THEN
        COALESCE(d.amount,0) END)
            END AS avg_deal_size_lost,
CASE
    WHEN SUM(CASE WHEN ci.stage_state IN ('DONE_SUCCESS', 'DONE_FAILED')
THEN 1 ELSE 0 END) > 0
    THEN SUM(CASE WHEN ci.stage_state = 'DONE_SUCCESS' THEN 1 ELSE 0 END) *
1.0
        / SUM(CASE WHEN ci.stage_state IN ('DONE_SUCCESS', 'DONE_FAILED')
THEN 1 ELSE 0 END)
    END AS win_rate
FROM closing_instances ci
JOIN dyno_crm.deal d
    ON d.id = ci.deal_id
    AND d.tenant_id = %(tenant_id)s
LEFT JOIN earliest_stage_id es
    ON es.deal_id = d.id
WHERE (%(pipeline_id)s IS NULL OR d.pipeline_id = %(pipeline_id)s)
    AND (%(source)s IS NULL OR d.source = %(source)s)
    AND (
        %(principal_type)s IS NULL
        OR (
            %(principal_type)s = 'USER' AND (
                (d.owned_by_user_id = %(principal_id)s) OR (d.assigned_user_id
= %(principal_id)s)
            )
        )
        OR (
            %(principal_type)s = 'GROUP' AND (
                (d.owned_by_group_id = %(principal_id)s) OR
(d.assigned_group_id = %(principal_id)s)
            )
        )
    )
    AND (
        %(stage_id)s IS NULL
        OR es.first_stage_id = %(stage_id)s
    )
GROUP BY
COALESCE(d.pipeline_id, %(pipeline_id)s), %(principal_type)s, %(principal_id)s, %(source)s, %(stage_id)s;
"""

SEED_AGING_SQL = """
WITH params AS (
    SELECT
        %(tenant_id)s      AS tenant_id,
        %(threshold_days)s AS threshold_days,
        %(cycle_threshold_days)s AS cycle_threshold_days,
        %(period_start)s   AS period_start,
        %(period_end)s     AS period_end,
        %(pipeline_id)s    AS pipeline_id,
        %(principal_type)s AS principal_type,
        %(principal_id)s   AS principal_id,
        %(stage_id)s       AS stage_id
),
as_of_ts AS (
    SELECT COALESCE(params.period_end, NOW()) AS as_of_ts FROM params
),
-- Identify current stage instances for open deals and compute durations
current_deals AS (
    SELECT
        d.id                  AS deal_id,
        d.pipeline_id         AS pipeline_id,
        d.amount               AS amount,
        d.created_at          AS deal_created_at,
        d.owned_by_user_id,
        d.owned_by_group_id,
        d.assigned_user_id,
        d.assigned_group_id,
        cs.pipeline_stage_id AS stage_id,
        cs.entered_at          AS stage_entered_at,
        ps.stage_state,
        GREATEST(0, EXTRACT(EPOCH FROM (a.as_of_ts - cs.entered_at)) / 86400)
AS days_in_stage,
        GREATEST(0, EXTRACT(EPOCH FROM (a.as_of_ts - d.created_at)) / 86400) AS
days_in_cycle
  FROM dyno_crm.deal_pipeline_stage_state cs
  JOIN dyno_crm.pipeline_stage ps
    ON ps.id = cs.pipeline_stage_id
   AND ps.tenant_id = cs.tenant_id
  JOIN dyno_crm.deal d
    ON d.id = cs.deal_id
   AND d.tenant_id = cs.tenant_id
CROSS JOIN as_of_ts a
JOIN params p ON true
WHERE cs.tenant_id = p.tenant_id
  AND cs.is_current = TRUE
  AND ps.stage_state NOT IN ('DONE_SUCCESS', 'DONE_FAILED')
  AND (p.period_start IS NULL OR cs.entered_at >= p.period_start)
  AND (p.period_end IS NULL OR cs.entered_at < p.period_end)
  AND (p.pipeline_id IS NULL OR d.pipeline_id = p.pipeline_id)
  AND (p.stage_id IS NULL OR cs.pipeline_stage_id = p.stage_id)
  AND (
    p.principal_type IS NULL
    OR (
      p.principal_type = 'USER' AND (d.owned_by_user_id =
p.principal_id OR d.assigned_user_id = p.principal_id)
    )
    OR (
      p.principal_type = 'GROUP' AND (d.owned_by_group_id =
p.principal_id OR d.assigned_group_id = p.principal_id)
    )
  )
)
SELECT
  COALESCE(cd.pipeline_id, params.pipeline_id) AS pipeline_id,
  params.principal_type AS principal_type,
  params.principal_id AS principal_id,
  COALESCE(cd.stage_id, params.stage_id) AS stage_id,
  params.threshold_days AS threshold_days,
  params.cycle_threshold_days AS cycle_threshold_days,
  COUNT(*) FILTER (WHERE (cd.days_in_stage > params.threshold_days) OR
(params.cycle_threshold_days IS NOT NULL AND cd.days_in_cycle >
params.cycle_threshold_days)) AS at_risk_deal_count,
  SUM(CASE WHEN (cd.days_in_stage > params.threshold_days) OR
(params.cycle_threshold_days IS NOT NULL AND cd.days_in_cycle >
params.cycle_threshold_days) THEN COALESCE(cd.amount,0) ELSE 0 END) AS
at_risk_amount,
  AVG(cd.days_in_stage) AS avg_days_in_stage,
  PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY cd.days_in_stage) AS
median_days_in_stage,
  COUNT(*) AS total_deal_count,
  SUM(COALESCE(cd.amount,0)) AS total_amount,
CASE WHEN COUNT(*) > 0 THEN (
    COUNT(*) FILTER (WHERE (cd.days_in_stage > params.threshold_days) OR
(params.cycle_threshold_days IS NOT NULL AND cd.days_in_cycle >
params.cycle_threshold_days))::NUMERIC
    / COUNT(*)
) END AS percent_at_risk
FROM current_deals cd
CROSS JOIN params
GROUP BY COALESCE(cd.pipeline_id, params.pipeline_id), params.principal_type,
params.principal_id, COALESCE(cd.stage_id, params.stage_id),
params.threshold_days, params.cycle_threshold_days;
"""
