with

-- Only the contract's columns: a view on `select *` would pin every other column of
-- the user's table, which could then no longer be dropped.
source as (
    select
        tenant_id,
        id,
        pipeline_id,
        name,
        amount,
        source,
        created_at,
        owned_by_user_id,
        owned_by_group_id,
        assigned_user_id,
        assigned_group_id
    from {{ source('dyno_crm', 'deal') }}
),

renamed as (
    select
        tenant_id::uuid as tenant_id,
        id::uuid as deal_id,
        pipeline_id::uuid as pipeline_id,
        name::text as deal_name,
        amount::numeric(20, 2) as amount,
        source::varchar(200) as source,
        created_at::timestamptz as created_at,
        owned_by_user_id::uuid as owned_by_user_id,
        owned_by_group_id::uuid as owned_by_group_id,
        assigned_user_id::uuid as assigned_user_id,
        assigned_group_id::uuid as assigned_group_id
    from source
)

select * from renamed
