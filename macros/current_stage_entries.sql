{#- Each deal's current stage entry joined to its pipeline stage, within the tenant (ids are
    unique per tenant only). The caller passes the names of its import CTEs (or relations)
    for stg_dyno_crm__deal_pipeline_stage_states and stg_dyno_crm__pipeline_stages, and
    filters on is_terminal or stage_state itself. An entry whose stage is missing is
    dropped (inner join); a NULL stage_state gives a NULL is_terminal. -#}
{% macro current_stage_entries(stage_states, pipeline_stages) -%}
    select
        {{ stage_states }}.tenant_id,
        {{ stage_states }}.deal_id,
        {{ stage_states }}.deal_stage_state_id,
        {{ stage_states }}.pipeline_id as stage_pipeline_id,
        {{ stage_states }}.pipeline_stage_id,
        {{ stage_states }}.entered_at,
        {{ pipeline_stages }}.stage_state,
        {{ pipeline_stages }}.is_terminal
    from {{ stage_states }}
    inner join {{ pipeline_stages }}
        on
            {{ stage_states }}.tenant_id = {{ pipeline_stages }}.tenant_id
            and {{ stage_states }}.pipeline_stage_id = {{ pipeline_stages }}.pipeline_stage_id
    where {{ stage_states }}.is_current
{%- endmacro %}
