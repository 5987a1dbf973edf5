-- How are orders per customer distributed, and where do the frequency
-- bounds cut that distribution?
--
-- One row per country and value of total_orders over the kept rows, with the
-- frequent_segment variant the value falls in (null: above every bound) and
-- the running share, which shows how much of the history the last bound
-- leaves without a variant.

with

segmented as (

    select * from {{ ref('int_vouchers_segmented') }}
    where segment_name = 'frequent_segment'

),

counted as (

    select
        country_code,
        measure_value as total_orders,
        segment_variant,
        sum(voucher_count) as voucher_count

    from segmented
    group by
        country_code,
        measure_value,
        segment_variant

),

final as (

    select
        country_code,
        total_orders,
        segment_variant,
        voucher_count,
        round(
            cast(
                100.0 * sum(voucher_count) over (
                    partition by country_code
                    order by total_orders
                    rows between unbounded preceding and current row
                ) / sum(voucher_count) over (partition by country_code)
                as {{ dbt.type_numeric() }}
            ),
            2
        ) as cumulative_share_pct

    from counted

)

select * from final
order by
    country_code,
    total_orders
