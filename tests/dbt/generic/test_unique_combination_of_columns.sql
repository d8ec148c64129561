{% test unique_combination_of_columns(model, combination_of_columns) %}

with

keyed as (
    select
        {% for column in combination_of_columns -%}
            {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {% endfor %}
    from {{ model }}
),

duplicated as (
    select
        {% for column in combination_of_columns -%}
            {{ adapter.quote(column) }},
        {% endfor -%}
        count(*) as row_count
    from keyed
    group by
        {% for column in combination_of_columns -%}
            {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {% endfor %}
    having count(*) > 1
)

select * from duplicated

{% endtest %}
