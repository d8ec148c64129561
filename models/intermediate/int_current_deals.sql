{#- Two covering indexes, each holding every column its reader needs (index-only scans).
    The first, in the report's group order: (pipeline, stage), longest-waiting first. The
    report walks it group by group, each group's period being one range of it, so neither
    the grouping nor the median sorts (docs/performance.md, plan choice 3). The second, by
    stage entry and with the deal id: a run that stores its deals reads its period's open
    deals as one range of it (docs/performance.md, storing the deals). -#}
{{
    config(
        indexes=[
            {
                'columns': [
                    'tenant_id', 'pipeline_id', 'stage_id', 'stage_entered_at desc',
                    'stage_entered_epoch_us', 'amount', 'deal_created_at',
                    'owned_by_user_id', 'assigned_user_id',
                    'owned_by_group_id', 'assigned_group_id',
                ],
            },
            {
                'columns': [
                    'tenant_id', 'stage_entered_at', 'deal_id', 'pipeline_id', 'stage_id',
                    'stage_entered_epoch_us', 'amount', 'deal_created_at',
                    'owned_by_user_id', 'assigned_user_id',
                    'owned_by_group_id', 'assigned_group_id',
                ],
            },
        ],
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

current_stages as (
    {{ current_stage_entries('stage_states', 'pipeline_stages') }}
),

current_open_stages as (
    select * from current_stages
    where not is_terminal
),

open_deals as (
    select
        current_open_stages.tenant_id,
        current_open_stages.deal_id,
        current_open_stages.deal_stage_state_id,
        current_open_stages.pipeline_stage_id as stage_id,
        current_open_stages.entered_at as stage_entered_at,
        current_open_stages.stage_state,
        deals.pipeline_id,
        deals.amount,
        deals.created_at as deal_created_at,
        deals.owned_by_user_id,
        deals.owned_by_group_id,
        deals.assigned_user_id,
        deals.assigned_group_id,
        -- microseconds since 1970: the report ages deals in bigint arithmetic, exactly
        (extract(epoch from current_open_stages.entered_at) * 1000000)::bigint
            as stage_entered_epoch_us
    from current_open_stages
    inner join deals
        on
            current_open_stages.tenant_id = deals.tenant_id
            and current_open_stages.deal_id = deals.deal_id
),

-- Stored in index order, so that a group's range is a few contiguous heap pages too (read
-- when the visibility map is not yet set, between the build and its vacuum).
final as (
    select * from open_deals
    order by tenant_id asc, pipeline_id asc, stage_id asc, stage_entered_at desc
)

select * from final
