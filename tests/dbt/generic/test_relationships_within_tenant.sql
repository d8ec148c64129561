{% test relationships_within_tenant(model, column_name, to, field, tenant_column='tenant_id') %}

with

children as (
    select
        {{ adapter.quote(tenant_column) }} as tenant_id,
        {{ column_name }} as parent_id
    from {{ model }}
    where {{ column_name }} is not null
),

parents as (
    select
        {{ adapter.quote(tenant_column) }} as tenant_id,
        {{ adapter.quote(field) }} as parent_id
    from {{ to }}
),

orphans as (
    select children.*
    from children
    left join parents
        on
            children.tenant_id = parents.tenant_id
            and children.parent_id = parents.parent_id
    where parents.parent_id is null
)

select * from orphans

{% endtest %}
