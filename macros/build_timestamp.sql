{#
    When this dbt invocation started, in UTC, as a plain timestamp. Every mart
    of one build carries the same value, so a reader can tell builds apart
    (the API swaps its snapshot when it changes).
#}
{% macro build_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
