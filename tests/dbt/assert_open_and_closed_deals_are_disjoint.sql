-- A deal is either closed (current stage terminal) or open, never both.
with

closing_instances as (
    select * from {{ ref('int_closing_instances') }}
),

current_deals as (
    select * from {{ ref('int_current_deals') }}
),

in_both as (
    select
        closing_instances.tenant_id,
        closing_instances.deal_id
    from closing_instances
    inner join current_deals
        on
            closing_instances.tenant_id = current_deals.tenant_id
            and closing_instances.deal_id = current_deals.deal_id
)

select * from in_both
