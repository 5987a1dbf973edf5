{#
    How large a share of its group's rows each non-null value of the column
    holds, as a whole percent rounded up: one row per group and value. The
    test's failure count (fail_calc) is the largest of these percents, so
    warn_if / error_if set the thresholds, e.g. error_if: ">25" fails once
    one value holds more than a quarter of a group's rows. Nulls count in the
    denominator only (for rejection_reason: the kept rows). dbt's default
    thresholds (!= 0) fail on any value at all: set both.

    dbt's message only gives that number ("Got 36 results"), so during
    `dbt build` and `dbt test` the macro also logs the groups and values
    past warn_if, e.g. "country_code China, rejection_reason
    orders_dated_but_total_zero: 36 % of 99738 rows (warn_if >20)".
#}
{% test percent_of_rows_per_value(model, column_name, group_by) %}

{{ config(fail_calc='coalesce(max(percent_of_rows), 0)') }}

{% set percents_sql %}
with

value_rows as (

    select
        {{ group_by | join(', ') }},
        {{ column_name }},
        count(*) as value_row_count

    from {{ model }}
    group by
        {{ group_by | join(', ') }},
        {{ column_name }}

),

group_rows as (

    select
        *,
        sum(value_row_count) over (
            partition by {{ group_by | join(', ') }}
        ) as group_row_count

    from value_rows

),

final as (

    select
        *,
        cast(
            ceil(100.0 * value_row_count / group_row_count)
            as {{ dbt.type_int() }}
        ) as percent_of_rows

    from group_rows
    where {{ column_name }} is not null

)

select * from final
{% endset %}

{%- if execute and flags.WHICH in ('build', 'test', 'retry') -%}
    {%- set past_warn_if = run_query(
        'select * from (' ~ percents_sql ~ ') as percents'
        ~ ' where percent_of_rows ' ~ config.get('warn_if')
        ~ ' order by percent_of_rows desc'
    ) -%}
    {%- for row in past_warn_if.rows -%}
        {%- set where = [] -%}
        {%- for column in group_by + [column_name] -%}
            {%- do where.append(column ~ ' ' ~ row[column]) -%}
        {%- endfor -%}
        {%- do log(
            where | join(', ') ~ ': ' ~ row['percent_of_rows'] ~ ' % of '
            ~ row['group_row_count'] ~ ' rows (warn_if '
            ~ config.get('warn_if') ~ ')',
            info=true
        ) -%}
    {%- endfor -%}
{%- endif %}

{{ percents_sql }}

{% endtest %}
