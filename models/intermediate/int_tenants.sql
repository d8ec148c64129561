{#- One row per tenant: what the reports can see of it, as of this build. The report runs
    record latest_stage_entry and built_at as the freshness of what they read, and
    `dyno-reports tenants` lists it, so a user finds a tenant id without writing SQL. -#}
{{
    config(
        indexes=[{'columns': ['tenant_id'], 'unique': True}],
    )
}}

with

deals as (
    select * from {{ ref('stg_dyno_crm__deals') }}
),

pipelines as (
    select * from {{ ref('stg_dyno_crm__pipelines') }}
),

stage_states as (
    select * from {{ ref('stg_dyno_crm__deal_pipeline_stage_states') }}
),

current_deals as (
    select * from {{ ref('int_current_deals') }}
),

deal_counts as (
    select
        tenant_id,
        count(*) as deal_count
    from deals
    group by tenant_id
),

open_deal_counts as (
    select
        tenant_id,
        count(*) as open_deal_count
    from current_deals
    group by tenant_id
),

pipeline_counts as (
    select
        tenant_id,
        count(*) as pipeline_count
    from pipelines
    group by tenant_id
),

latest_stage_entries as (
    select
        tenant_id,
        max(entered_at) as latest_stage_entry
    from stage_states
    group by tenant_id
),

-- A tenant is known by a deal or a pipeline (a new tenant may have pipelines only).
tenants as (
    select tenant_id from deal_counts
    union
    select tenant_id from pipeline_counts
),

final as (
    select
        tenants.tenant_id,
        latest_stage_entries.latest_stage_entry,
        coalesce(deal_counts.deal_count, 0) as deal_count,
        coalesce(open_deal_counts.open_deal_count, 0) as open_deal_count,
        coalesce(pipeline_counts.pipeline_count, 0) as pipeline_count,
        -- the build's transaction time: when the models a run reads were built
        current_timestamp as built_at
    from tenants
    left join deal_counts
        on tenants.tenant_id = deal_counts.tenant_id
    left join open_deal_counts
        on tenants.tenant_id = open_deal_counts.tenant_id
    left join pipeline_counts
        on tenants.tenant_id = pipeline_counts.tenant_id
    left join latest_stage_entries
        on tenants.tenant_id = latest_stage_entries.tenant_id
)

select * from final
