with

countries as (

    {{ countries_in_scope() }}

),

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}
    where is_kept

),

amount_counts as (

    select
        country_code,
        voucher_amount,
        count(*) as voucher_count

    from vouchers
    group by
        country_code,
        voucher_amount

),

ranked as (

    select
        *,
        {{ most_used_rank(['country_code']) }} as amount_rank,
        sum(voucher_count) over (partition by country_code)
            as country_voucher_count

    from amount_counts

),

most_used as (

    select * from ranked
    where amount_rank = 1

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
