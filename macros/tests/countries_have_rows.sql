{#
    Every country of var('countries') has at least one row of the model whose
    column holds its canonical spelling (and, when given, that satisfies
    row_condition). A country the data does not hold (a typo, a file without
    it) would otherwise build silently, with empty rows in the marts.

    A failing data test only says "Got 1 result", so during `dbt build` and
    `dbt test` the macro runs the same query first and fails with the names
    of the missing countries (a warning instead under severity warn). Other
    commands (compile, docs generate) only render the SQL: the model may not
    exist yet there.
#}
{% test countries_have_rows(model, column_name, row_condition=none) %}

{% set missing_countries_sql %}
with

countries as (

    {{ countries_in_scope() }}

),

country_rows as (

    select
        {{ column_name }} as country_code,
        count(*) as row_count,
        sum(
            case when {{ row_condition or 'true' }} then 1 else 0 end
        ) as matching_row_count

    from {{ model }}
    where {{ column_name }} is not null
    group by {{ column_name }}

),

missing_countries as (

    select
        countries.country_code,
        coalesce(country_rows.row_count, 0) as row_count

    from countries
    left join country_rows
        on countries.country_code = country_rows.country_code
    where coalesce(country_rows.matching_row_count, 0) = 0

)

select * from missing_countries
{% endset %}

{%- if execute and flags.WHICH in ('build', 'test', 'retry') -%}
    {#- A `where` config turns the model into a subquery, without a name. -#}
    {%- set model_name = (
        model.identifier if model.identifier is defined else model
    ) -%}
    {%- set missing = run_query(missing_countries_sql) -%}
    {%- set problems = [] -%}
    {%- for row in missing.rows -%}
        {%- do problems.append(
            "country '" ~ row[0] ~ "' in var countries has no rows in "
            ~ model_name
            ~ (
                " where " ~ row_condition ~ " (" ~ row[1] ~ " rows in all)"
                if row_condition else ""
            )
        ) -%}
    {%- endfor -%}
    {%- if problems and config.get('severity') | lower == 'error' -%}
        {{ exceptions.raise_compiler_error(problems | join('; ')) }}
    {%- elif problems -%}
        {%- do exceptions.warn(problems | join('; ')) -%}
    {%- endif -%}
{%- endif %}

{{ missing_countries_sql }}

{% endtest %}
