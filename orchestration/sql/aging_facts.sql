-- Deal Aging facts of one run (the seeds' report query, set-based). Reads
-- int_current_deals through the transaction's search_path. Days are fractional:
-- seconds between the as-of time and the stage entry (or deal creation) / 86400,
-- never below 0. An omitted filter is a NULL parameter; the statement is executed
-- unprepared, so the planner folds "NULL is null or ..." away.
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

aged as (
    select
        pipeline_id,
        stage_id,
        amount,
        greatest(
            0,
            extract(epoch from (%(as_of)s::timestamptz - stage_entered_at)) / 86400
        ) as days_in_stage,
        greatest(
            0,
            extract(epoch from (%(as_of)s::timestamptz - deal_created_at)) / 86400
        ) as days_in_cycle
    from open_deals
),

flagged as (
    select
        pipeline_id,
        stage_id,
        amount,
        days_in_stage,
        (
            days_in_stage > %(threshold_days)s::integer
            or (
                %(cycle_threshold_days)s::integer is not null
                and days_in_cycle > %(cycle_threshold_days)s::integer
            )
        ) as is_at_risk
    from aged
),

per_stage as (
    select
        pipeline_id,
        stage_id,
        count(*) filter (where is_at_risk) as at_risk_count,
        coalesce(sum(amount) filter (where is_at_risk), 0) as at_risk_amount,
        avg(days_in_stage) as avg_days_in_stage,
        percentile_cont(0.5) within group (order by days_in_stage) as median_days_in_stage,
        count(*) as total_count,
        sum(amount) as total_amount,
        count(*) filter (where is_at_risk)::numeric / count(*) as percent_at_risk
    from flagged
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
    avg_days_in_stage,
    median_days_in_stage,
    total_count,
    total_amount,
    percent_at_risk
from per_stage
