-- Deal Win/Loss facts of one run (the seeds' report query, set-based: no deal row
-- leaves the database). Reads int_closing_instances through the transaction's
-- search_path. An omitted filter is a NULL parameter; the statement is executed
-- unprepared, so the planner folds "NULL is null or ..." away and keeps the index range.
insert into dyno_crm.report_deal_win_loss_fact (
    run_id,
    tenant_id,
    pipeline_id,
    principal_type,
    principal_id,
    source,
    stage_id,
    deals_closed_won_count,
    deals_closed_lost_count,
    total_amount_won,
    total_amount_lost,
    avg_deal_size_won,
    avg_deal_size_lost,
    win_rate
)

with

closed_in_period as (
    select
        pipeline_id,
        is_won,
        coalesce(amount, 0) as amount
    from int_closing_instances
    where
        tenant_id = %(tenant_id)s::uuid
        and entered_at >= %(period_start)s::timestamptz
        and entered_at < %(period_end)s::timestamptz
        and (%(pipeline_id)s::uuid is null or pipeline_id = %(pipeline_id)s::uuid)
        and (%(source)s::varchar is null or source = %(source)s::varchar)
        and (%(stage_id)s::uuid is null or first_stage_id = %(stage_id)s::uuid)
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

per_pipeline as (
    select
        pipeline_id,
        count(*) filter (where is_won) as won_count,
        count(*) filter (where not is_won) as lost_count,
        coalesce(sum(amount) filter (where is_won), 0) as won_amount,
        coalesce(sum(amount) filter (where not is_won), 0) as lost_amount,
        avg(amount) filter (where is_won) as avg_won,
        avg(amount) filter (where not is_won) as avg_lost,
        count(*) filter (where is_won)::numeric / count(*) as win_rate
    from closed_in_period
    group by pipeline_id
)

select
    %(run_id)s::uuid as run_id,
    %(tenant_id)s::uuid as tenant_id,
    pipeline_id,
    %(principal_type)s::varchar(5) as principal_type,
    %(principal_id)s::uuid as principal_id,
    %(source)s::varchar(200) as source,
    %(stage_id)s::uuid as stage_id,
    won_count,
    lost_count,
    won_amount,
    lost_amount,
    avg_won,
    avg_lost,
    win_rate
from per_pipeline
