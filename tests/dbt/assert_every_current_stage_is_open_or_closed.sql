-- Reconciliation: every deal with a current stage of known state is in exactly one of
-- int_closing_instances and int_current_deals; returns the tenants where counts differ.
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

closing_instances as (
    select * from {{ ref('int_closing_instances') }}
),

current_deals as (
    select * from {{ ref('int_current_deals') }}
),

current_stages as (
    {{ current_stage_entries('stage_states', 'pipeline_stages') }}
),

expected as (
    select
        current_stages.tenant_id,
        count(*) as deal_count
    from current_stages
    inner join deals
        on
            current_stages.tenant_id = deals.tenant_id
            and current_stages.deal_id = deals.deal_id
    where current_stages.stage_state is not null
    group by current_stages.tenant_id
),

modelled as (
    select
        tenant_id,
        count(*) as deal_count
    from (
        select closing_instances.tenant_id from closing_instances
        union all
        select current_deals.tenant_id from current_deals
    ) as both_models
    group by tenant_id
),

mismatched as (
    select
        expected.deal_count as expected_count,
        modelled.deal_count as modelled_count,
        coalesce(expected.tenant_id, modelled.tenant_id) as tenant_id
    from expected
    full outer join modelled
        on expected.tenant_id = modelled.tenant_id
    where expected.deal_count is distinct from modelled.deal_count
)

select * from mismatched
