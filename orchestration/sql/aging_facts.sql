-- Deal Aging facts of one run (the seeds' report query, set-based). Reads
-- int_current_deals through the transaction's search_path. Days are fractional:
-- seconds between the as-of time and the stage entry (or deal creation) / 86400,
-- never below 0; "more than N days" is therefore "entered before as-of minus N * 86400 s".
-- An omitted filter is a NULL parameter; the statement is executed unprepared, so the
-- planner folds "NULL is null or ..." away.
insert into dyno_crm.report_deal_aging_fact (
    run_id,
    tenant_id,
    pipeline_id,
    principal_type,
    principal_id,
    stage_id,
    threshold_days,
    cycle_threshold_days,
    at_risk_deal_count,
    at_risk_amount,
    avg_days_in_stage,
    median_days_in_stage,
    total_deal_count,
    total_amount,
    percent_at_risk
)

with

open_deals as (
    select
        pipeline_id,
        stage_id,
        coalesce(amount, 0) as amount,
        stage_entered_at,
        stage_entered_epoch_us,
        deal_created_at
    from int_current_deals
    where
        tenant_id = %(tenant_id)s::uuid
        and (
            %(period_start)s::timestamptz is null
            or stage_entered_at >= %(period_start)s::timestamptz
        )
        and (
            %(period_end)s::timestamptz is null
            or stage_entered_at < %(period_end)s::timestamptz
        )
        and (%(pipeline_id)s::uuid is null or pipeline_id = %(pipeline_id)s::uuid)
        and (%(stage_id)s::uuid is null or stage_id = %(stage_id)s::uuid)
        and (
            %(principal_type)s::varchar is null
            or (
                %(principal_type)s::varchar = 'USER'
                and %(principal_id)s::uuid in (owned_by_user_id, assigned_user_id)
            )
            or (
                %(principal_type)s::varchar = 'GROUP'
                and %(principal_id)s::uuid in (owned_by_group_id, assigned_group_id)
            )
        )
),

-- Time in stage in microseconds: bigint arithmetic, exact and allocation-free, instead of
-- numeric epoch division on every row (docs/performance.md); days once per group below.
-- The as-of values are scalar subqueries, computed once: as expressions of a stable
-- (time-zone dependent) function they would be evaluated again for every row.
aged as (
    select
        pipeline_id,
        stage_id,
        amount,
        greatest(
            0,
            (select (extract(epoch from %(as_of)s::timestamptz) * 1000000)::bigint)
            - stage_entered_epoch_us
        ) as us_in_stage,
        -- more than N days (of 86400 s) in the stage or the cycle, compared exactly; NULL
        -- (not at risk, in the filters below) when only the cycle could tell and it is not given
        stage_entered_at < (
            select %(as_of)s::timestamptz - %(threshold_days)s::integer * interval '86400 seconds'
        )
        or deal_created_at < (
            select
                %(as_of)s::timestamptz
                - %(cycle_threshold_days)s::integer * interval '86400 seconds'
        ) as is_at_risk
    from open_deals
),

-- Without a period the (tenant_id, pipeline_id, stage_id, stage_entered_at desc) index
-- delivers the rows in group order, each group already in the median's order: no sort.
-- With one, the period's range is read and sorted by group (cheaper, measured, than also
-- sorting each group by time for the median: docs/performance.md).
per_stage as (
    select
        pipeline_id,
        stage_id,
        count(*) filter (where is_at_risk) as at_risk_count,
        coalesce(sum(amount) filter (where is_at_risk), 0) as at_risk_amount,
        sum(us_in_stage) as total_us_in_stage,
        percentile_cont(0.5) within group (order by us_in_stage) as median_us_in_stage,
        count(*) as total_count,
        sum(amount) as total_amount,
        count(*) filter (where is_at_risk)::numeric / count(*) as percent_at_risk
    from aged
    group by pipeline_id, stage_id
)

select
    %(run_id)s::uuid as run_id,
    %(tenant_id)s::uuid as tenant_id,
    pipeline_id,
    %(principal_type)s::varchar(5) as principal_type,
    %(principal_id)s::uuid as principal_id,
    stage_id,
    %(threshold_days)s::integer as threshold_days,
    %(cycle_threshold_days)s::integer as cycle_threshold_days,
    at_risk_count,
    at_risk_amount,
    total_us_in_stage / (total_count * 86400000000) as avg_days_in_stage,
    median_us_in_stage::numeric / 86400000000 as median_days_in_stage,
    total_count,
    total_amount,
    percent_at_risk
from per_stage
