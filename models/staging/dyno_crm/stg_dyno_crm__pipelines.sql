with

source as (
    select * from {{ source('dyno_crm', 'pipeline') }}
),

renamed as (
    select
        tenant_id::uuid as tenant_id,
        id::uuid as pipeline_id,
        name::text as pipeline_name
    from source
)

select * from renamed
