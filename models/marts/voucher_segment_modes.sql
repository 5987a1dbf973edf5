with

countries as (

    {{ countries_in_scope() }}

),

segment_definitions as (

    select * from {{ ref('segment_definitions') }}

),

amount_counts as (

    select * from {{ ref('int_voucher_amounts_counted') }}

),

most_used as (

    {{ most_used_amounts(
        'amount_counts',
        ['country_code', 'segment_name', 'segment_variant'],
        'segment_voucher_count'
    ) }}

),

-- Every variant of the seed for every country in scope, so a variant with
-- no history is an explicit row (amount null, counts 0), not a missing one.
segment_grid as (

    select
        countries.country_code,
        segment_definitions.segment_name,
        segment_definitions.segment_variant,
        segment_definitions.measure,
        segment_definitions.lower_bound,
        segment_definitions.upper_bound,
        segment_definitions.segment_label,
        segment_definitions.variant_label

    from countries
    cross join segment_definitions

),

final as (

    select
        segment_grid.country_code,
        segment_grid.segment_name,
        segment_grid.segment_variant,
        segment_grid.measure,
        segment_grid.lower_bound,
        segment_grid.upper_bound,
        cast(most_used.voucher_amount as {{ dbt.type_int() }})
            as voucher_amount,
        cast(coalesce(most_used.voucher_count, 0) as {{ dbt.type_bigint() }})
            as voucher_amount_count,
        cast(
            coalesce(most_used.segment_voucher_count, 0)
            as {{ dbt.type_bigint() }}
        ) as segment_voucher_count,
        {{ build_timestamp() }} as built_at,
        segment_grid.segment_label,
        segment_grid.variant_label

    from segment_grid
    left join most_used
        on segment_grid.country_code = most_used.country_code
        and segment_grid.segment_name = most_used.segment_name
        and segment_grid.segment_variant = most_used.segment_variant

)

select * from final
