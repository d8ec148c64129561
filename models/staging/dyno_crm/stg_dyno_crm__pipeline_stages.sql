with

-- Only the contract's columns: a view on `select *` would pin every other column of
-- the user's table, which could then no longer be dropped.
source as (
    select
        tenant_id,
        id,
        pipeline_id,
        name,
        stage_order,
        stage_state
    from {{ source('dyno_crm', 'pipeline_stage') }}
),

renamed as (
    select
        tenant_id::uuid as tenant_id,
        id::uuid as pipeline_stage_id,
        pipeline_id::uuid as pipeline_id,
        name::text as stage_name,
        stage_order::integer as stage_order,
        stage_state::varchar(20) as stage_state,
        stage_state in {{ terminal_stage_states() }} as is_terminal
    from source
)

select * from renamed
