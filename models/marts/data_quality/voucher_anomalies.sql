{#- Kept rows that look wrong without breaking a cleaning rule. A voucher
    dated before the customer's last order (the file has timestamps shifted
    into 2015) keeps its frequency segment but gets no recency variant.
    Incremental by load, like int_vouchers_validated. -#}

{{ incremental_by_load() }}

with

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}
    where is_kept and is_given_before_last_order and {{ loads_to_process() }}

),

final as (

    select
        voucher_id,
        country_code,
        'given_before_last_order' as anomaly,
        given_at,
        last_order_at,
        days_since_last_order,
        load_id,
        {{ load_state_columns() }}

    from vouchers

)

select * from final
