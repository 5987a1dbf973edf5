{#- One row per kept voucher and segment name, with the variant whose
    inclusive bounds (from the segment_definitions seed) hold the voucher's
    measure; null when no variant does. -#}

with

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}
    where is_kept

),

segment_definitions as (

    select * from {{ ref('segment_definitions') }}

),

segment_measures as (

    select distinct
        segment_name,
        measure

    from segment_definitions

),

measured as (

    select
        vouchers.voucher_id,
        vouchers.country_code,
        vouchers.voucher_amount,
        segment_measures.segment_name,
        case segment_measures.measure
            when 'total_orders' then vouchers.total_orders
            when 'days_since_last_order' then vouchers.days_since_last_order
        end as measure_value

    from vouchers
    cross join segment_measures

),

final as (

    select
        measured.voucher_id,
        measured.country_code,
        measured.segment_name,
        segment_definitions.segment_variant,
        measured.measure_value,
        measured.voucher_amount

    from measured
    left join segment_definitions
        on measured.segment_name = segment_definitions.segment_name
        and measured.measure_value >= segment_definitions.lower_bound
        and (
            segment_definitions.upper_bound is null
            or measured.measure_value <= segment_definitions.upper_bound
        )

)

select * from final
