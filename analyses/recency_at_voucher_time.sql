-- Which recency variant does a customer fall in when recency is counted at
-- the voucher's time, and which one would they fall in if it were counted
-- from today?
--
-- At voucher time: UTC calendar date of the voucher minus that of the last
-- order (int_vouchers_validated.days_since_last_order). From today: today's
-- date minus the last order. The second drifts every day and puts every 2018
-- row in '180+', which is why the models use the first. Null variant: no
-- last order, under the lowest bound, or a voucher dated before the order.

with

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}
    where is_kept

),

segment_definitions as (

    select * from {{ ref('segment_definitions') }}
    where measure = 'days_since_last_order'

),

measured as (

    select
        voucher_id,
        country_code,
        days_since_last_order as days_at_voucher_time,
        {{ dbt.datediff(
            'cast(last_order_at as date)',
            'cast(' ~ dbt.current_timestamp() ~ ' as date)',
            'day'
        ) }} as days_until_today

    from vouchers

),

classified as (

    select
        measured.country_code,
        measured.days_at_voucher_time,
        at_voucher_time.segment_variant as variant_at_voucher_time,
        until_today.segment_variant as variant_if_counted_today

    from measured
    left join segment_definitions as at_voucher_time
        on measured.days_at_voucher_time >= at_voucher_time.lower_bound
        and (
            at_voucher_time.upper_bound is null
            or measured.days_at_voucher_time <= at_voucher_time.upper_bound
        )
    left join segment_definitions as until_today
        on measured.days_until_today >= until_today.lower_bound
        and (
            until_today.upper_bound is null
            or measured.days_until_today <= until_today.upper_bound
        )

),

final as (

    select
        country_code,
        variant_at_voucher_time,
        variant_if_counted_today,
        count(*) as voucher_count,
        min(days_at_voucher_time) as min_days_at_voucher_time,
        max(days_at_voucher_time) as max_days_at_voucher_time

    from classified
    group by
        country_code,
        variant_at_voucher_time,
        variant_if_counted_today

)

select * from final
order by
    country_code,
    min_days_at_voucher_time
