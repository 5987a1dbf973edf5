{#
    The grain test dbt_utils would give us (the package hub is out of reach):
    no two rows share the same values in all of the given columns.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

grain as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as row_count

    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}

)

select * from grain
where row_count > 1

{% endtest %}
