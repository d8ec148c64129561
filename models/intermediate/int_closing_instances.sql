{#- The one index the win/loss report reads: its range (tenant_id, entered_at) first,
    then every column the report filters and sums, so that a period is one index-only
    range scan (docs/performance.md). Analysed before the swap commits: the planner has
    statistics from the first report on. -#}
{{
    config(
        indexes=[{
            'columns': [
                'tenant_id', 'entered_at', 'pipeline_id', 'is_won', 'amount', 'source',
                'first_stage_id', 'owned_by_user_id', 'assigned_user_id',
                'owned_by_group_id', 'assigned_group_id',
            ],
        }],
        post_hook=['analyze {{ this }}'],
    )
}}

with

stage_states as (
    select * from {{ ref('stg_dyno_crm__deal_pipeline_stage_states') }}
),

pipeline_stages as (
    select * from {{ ref('stg_dyno_crm__pipeline_stages') }}
),

deals as (
    select * from {{ ref('stg_dyno_crm__deals') }}
),

earliest_stage as (
    select * from {{ ref('int_earliest_stage') }}
),

current_stages as (
    {{ current_stage_entries('stage_states', 'pipeline_stages') }}
),

current_terminal_stages as (
    select * from current_stages
    where is_terminal
),

closed_deals as (
    select
        current_terminal_stages.tenant_id,
        current_terminal_stages.deal_id,
        current_terminal_stages.deal_stage_state_id,
        current_terminal_stages.stage_pipeline_id,
        current_terminal_stages.pipeline_stage_id,
        current_terminal_stages.entered_at,
        current_terminal_stages.stage_state,
        deals.pipeline_id,
        deals.amount,
        deals.source,
        deals.owned_by_user_id,
        deals.owned_by_group_id,
        deals.assigned_user_id,
        deals.assigned_group_id,
        earliest_stage.first_stage_id,
        current_terminal_stages.stage_state = 'DONE_SUCCESS' as is_won
    from current_terminal_stages
    inner join deals
        on
            current_terminal_stages.tenant_id = deals.tenant_id
            and current_terminal_stages.deal_id = deals.deal_id
    left join earliest_stage
        on
            current_terminal_stages.tenant_id = earliest_stage.tenant_id
            and current_terminal_stages.deal_id = earliest_stage.deal_id
),

-- Stored in index order so that a tenant's period is a few contiguous heap pages.
final as (
    select * from closed_deals
    order by tenant_id asc, entered_at asc
)

select * from final
