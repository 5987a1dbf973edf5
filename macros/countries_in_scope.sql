{#
    The countries the cleaning keeps (dbt var `countries`), as a relation with
    the canonical spelling given in the var and a key for matching raw text
    that may differ in case and surrounding spaces.
#}
{% macro countries_in_scope() -%}
    {%- for country in _countries_var() %}
    select
        cast('{{ dbt.escape_single_quotes(country | trim) }}' as {{ dbt.type_string() }})
            as country_code,
        cast('{{ dbt.escape_single_quotes(country | trim | lower) }}' as {{ dbt.type_string() }})
            as country_key
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#
    The same countries' keys as a list of literals, for `key in (...)`: a
    filter on constants is pushed below a view by every engine here (and on
    DuckDB it is several times faster than a join to the relation above).
#}
{% macro country_keys_in_scope() -%}
    {%- for country in _countries_var() -%}
        '{{ dbt.escape_single_quotes(country | trim | lower) }}'
        {%- if not loop.last %}, {% endif -%}
    {%- endfor -%}
{%- endmacro %}

{% macro _countries_var() -%}
    {%- set countries = var('countries') -%}
    {%- if countries is string -%}
        {%- set countries = countries.split(',') -%}
    {%- endif -%}
    {%- if countries | length == 0 -%}
        {{ exceptions.raise_compiler_error("var 'countries' must name at least one country") }}
    {%- endif -%}
    {{ return(countries) }}
{%- endmacro %}
