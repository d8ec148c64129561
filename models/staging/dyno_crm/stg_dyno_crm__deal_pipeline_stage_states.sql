with

-- Only the contract's columns: a view on `select *` would pin every other column of
-- the user's table, which could then no longer be dropped.
source as (
    select
        tenant_id,
        id,
        deal_id,
        pipeline_id,
        pipeline_stage_id,
        entered_at,
        exited_at,
        is_current
    from {{ source('dyno_crm', 'deal_pipeline_stage_state') }}
),

renamed as (
    select
        tenant_id::uuid as tenant_id,
        id::uuid as deal_stage_state_id,
        deal_id::uuid as deal_id,
        pipeline_id::uuid as pipeline_id,
        pipeline_stage_id::uuid as pipeline_stage_id,
        entered_at::timestamptz as entered_at,
        exited_at::timestamptz as exited_at,
        is_current::boolean as is_current
    from source
)

select * from renamed
