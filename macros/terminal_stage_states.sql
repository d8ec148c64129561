{% macro terminal_stage_states() -%}
    ('DONE_SUCCESS', 'DONE_FAILED')
{%- endmacro %}
