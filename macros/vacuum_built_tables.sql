{#- One VACUUM of every table model this invocation built, run by on-run-end
    outside any transaction: it sets the visibility map, so that the reports' covering
    indexes are read by index-only scans (docs/performance.md). It runs after all models,
    because a vacuum that overlaps another model's open transaction cannot mark the new
    rows all-visible. -#}
{% macro vacuum_built_tables(results) -%}
    {%- set tables = [] -%}
    {%- for result in results -%}
        {%- if result.node.resource_type == 'model'
            and result.node.config.materialized == 'table'
            and result.status == 'success' -%}
            {%- do tables.append(result.node.relation_name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if tables -%}
        vacuum {{ tables | join(', ') }}
    {%- else -%}
        select 1 as nothing_to_vacuum
    {%- endif -%}
{%- endmacro %}
