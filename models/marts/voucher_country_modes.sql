with

countries as (

    {{ countries_in_scope() }}

),

-- Each kept voucher has one row per measure; one measure counts each once.
measure_counts as (

    select * from {{ ref('int_voucher_measure_counts') }}
    where measure = 'total_orders'

),

amount_counts as (

    select
        country_code,
        voucher_amount,
        sum(voucher_count) as voucher_count

    from measure_counts
    group by
        country_code,
        voucher_amount

),

most_used as (

    {{ most_used_amounts(
        'amount_counts', ['country_code'], 'country_voucher_count'
    ) }}

),

final as (

    select
        countries.country_code,
        cast(most_used.voucher_amount as {{ dbt.type_int() }})
            as voucher_amount,
        cast(coalesce(most_used.voucher_count, 0) as {{ dbt.type_bigint() }})
            as voucher_amount_count,
        cast(
            coalesce(most_used.country_voucher_count, 0)
            as {{ dbt.type_bigint() }}
        ) as country_voucher_count,
        {{ build_timestamp() }} as built_at

    from countries
    left join most_used
        on countries.country_code = most_used.country_code

)

select * from final
