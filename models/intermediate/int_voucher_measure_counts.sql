{#- How many kept vouchers of each load have each amount and each value of
    each measure a segment can be defined on: additive counts that every
    segmentation, bound and mode is computed from, whatever the seed says.
    Incremental by load, like int_vouchers_validated. -#}

{{ incremental_by_load() }}

with

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}
    where is_kept and {{ loads_to_process() }}

),

-- One row per kept voucher and measure (the measures segment_definitions
-- may name: its accepted_values test lists the same two).
measured as (

    select
        load_id,
        country_code,
        'total_orders' as measure,
        total_orders as measure_value,
        voucher_amount

    from vouchers

    union all

    select
        load_id,
        country_code,
        'days_since_last_order' as measure,
        days_since_last_order as measure_value,
        voucher_amount

    from vouchers

),

final as (

    select
        load_id,
        country_code,
        measure,
        measure_value,
        voucher_amount,
        cast(count(*) as {{ dbt.type_bigint() }}) as voucher_count,
        {{ load_state_columns() }}

    from measured
    group by
        load_id,
        country_code,
        measure,
        measure_value,
        voucher_amount

)

select * from final
