-- Which vouchers are dated in 2015, before the customer's last order, and
-- by how much?
--
-- The file holds vouchers whose timestamp sits about three years before the
-- last order (2015 against 2018). Per country, year of the voucher and year
-- of the last order: rows in scope, how many of them the cleaning kept, how
-- many are dated before the last order (marts.voucher_anomalies lists the
-- kept ones) and the range of the gap in days.

with

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}
    where is_in_scope

),

dated as (

    select
        country_code,
        is_kept,
        is_given_before_last_order,
        days_since_last_order,
        cast(extract(year from given_at) as {{ dbt.type_int() }})
            as given_year,
        cast(extract(year from last_order_at) as {{ dbt.type_int() }})
            as last_order_year

    from vouchers

),

final as (

    select
        country_code,
        given_year,
        last_order_year,
        count(*) as row_count,
        sum(case when is_kept then 1 else 0 end) as kept_count,
        sum(case when is_given_before_last_order then 1 else 0 end)
            as given_before_last_order_count,
        min(days_since_last_order) as min_days_since_last_order,
        max(days_since_last_order) as max_days_since_last_order

    from dated
    group by
        country_code,
        given_year,
        last_order_year

)

select * from final
order by
    country_code,
    given_year,
    last_order_year
