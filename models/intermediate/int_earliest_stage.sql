{{
    config(
        indexes=[{'columns': ['tenant_id', 'deal_id'], 'unique': True}],
    )
}}

with

stage_states as (
    select * from {{ ref('stg_dyno_crm__deal_pipeline_stage_states') }}
),

pipeline_stages as (
    select * from {{ ref('stg_dyno_crm__pipeline_stages') }}
),

stage_states_with_order as (
    select
        stage_states.tenant_id,
        stage_states.deal_id,
        stage_states.deal_stage_state_id,
        stage_states.pipeline_stage_id,
        stage_states.entered_at,
        pipeline_stages.stage_order
    from stage_states
    left join pipeline_stages
        on
            stage_states.tenant_id = pipeline_stages.tenant_id
            and stage_states.pipeline_stage_id = pipeline_stages.pipeline_stage_id
),

-- One row per deal, even when two entries share the earliest timestamp (the seeds'
-- join counted such a deal twice): the earlier stage of the pipeline wins, then the
-- smaller stage-instance id.
first_entries as (
    select distinct on (tenant_id, deal_id)
        tenant_id,
        deal_id,
        deal_stage_state_id as first_deal_stage_state_id,
        pipeline_stage_id as first_stage_id,
        entered_at as first_entered_at
    from stage_states_with_order
    order by
        tenant_id asc,
        deal_id asc,
        entered_at asc,
        stage_order asc nulls last,
        deal_stage_state_id asc
),

final as (
    select * from first_entries
)

select * from final
