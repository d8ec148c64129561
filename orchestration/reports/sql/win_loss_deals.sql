-- The deals a win/loss run counted, in closing order, with names from the staging views
-- (through the transaction's search_path; as of the last build; every join matches
-- tenant_id too), looked up deal by deal: one index probe each, whatever the planner
-- guesses of the run's size. Optional filters are NULL; stage_id is the first stage.
with

run_deals as (
    select *
    from dyno_crm.report_win_loss_deal
    where
        run_id = %(run_id)s
        and (%(pipeline_id)s::uuid is null or pipeline_id = %(pipeline_id)s::uuid)
        and (%(stage_id)s::uuid is null or first_stage_id = %(stage_id)s::uuid)
    order by closed_at asc, deal_id asc
    limit %(row_limit)s
),

final as (
    select
        run_deals.deal_id,
        run_deals.pipeline_id,
        run_deals.outcome,
        run_deals.amount,
        run_deals.closed_at,
        run_deals.first_stage_id,
        run_deals.source,
        run_deals.owned_by_user_id,
        run_deals.owned_by_group_id,
        run_deals.assigned_user_id,
        run_deals.assigned_group_id,
        (
            select deal_names.deal_name
            from stg_dyno_crm__deals as deal_names
            where
                run_deals.tenant_id = deal_names.tenant_id
                and run_deals.deal_id = deal_names.deal_id
        ) as deal_name,
        (
            select pipelines.pipeline_name
            from stg_dyno_crm__pipelines as pipelines
            where
                run_deals.tenant_id = pipelines.tenant_id
                and run_deals.pipeline_id = pipelines.pipeline_id
        ) as pipeline_name,
        (
            select pipeline_stages.stage_name
            from stg_dyno_crm__pipeline_stages as pipeline_stages
            where
                run_deals.tenant_id = pipeline_stages.tenant_id
                and run_deals.first_stage_id = pipeline_stages.pipeline_stage_id
        ) as first_stage_name
    from run_deals
)

select
    deal_id,
    deal_name,
    pipeline_id,
    pipeline_name,
    outcome,
    amount,
    closed_at,
    first_stage_id,
    first_stage_name,
    source,
    owned_by_user_id,
    owned_by_group_id,
    assigned_user_id,
    assigned_group_id
from final
order by closed_at asc, deal_id asc
