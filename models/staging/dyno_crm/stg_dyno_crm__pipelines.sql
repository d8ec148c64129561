with

-- Only the contract's columns: a view on `select *` would pin every other column of
-- the user's table, which could then no longer be dropped.
source as (
    select
        tenant_id,
        id,
        name
    from {{ source('dyno_crm', 'pipeline') }}
),

renamed as (
    select
        tenant_id::uuid as tenant_id,
        id::uuid as pipeline_id,
        name::text as pipeline_name
    from source
)

select * from renamed
