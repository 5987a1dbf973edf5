{#
    The countries the cleaning keeps (dbt var `countries`), as a relation with
    the canonical spelling given in the var and a key for matching raw text
    that may differ in case and surrounding spaces.
#}
{% macro countries_in_scope() -%}
    {%- set countries = var('countries') -%}
    {%- if countries is string -%}
        {%- set countries = countries.split(',') -%}
    {%- endif -%}
    {%- if countries | length == 0 -%}
        {{ exceptions.raise_compiler_error("var 'countries' must name at least one country") }}
    {%- endif -%}
    {%- for country in countries %}
    select
        cast('{{ dbt.escape_single_quotes(country | trim) }}' as {{ dbt.type_string() }})
            as country_code,
        cast('{{ dbt.escape_single_quotes(country | trim | lower) }}' as {{ dbt.type_string() }})
            as country_key
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
