{#- Kept vouchers counted per country, segment name, measure value and
    amount, with the variant whose inclusive bounds (from the
    segment_definitions seed) hold the value; null when no variant does.
    Read from the per-load counts, so new bounds need no reprocessing. -#}

with

measure_counts as (

    select * from {{ ref('int_voucher_measure_counts') }}

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
        measure_counts.country_code,
        segment_measures.segment_name,
        measure_counts.measure_value,
        measure_counts.voucher_amount,
        sum(measure_counts.voucher_count) as voucher_count

    from measure_counts
    inner join segment_measures
        on measure_counts.measure = segment_measures.measure
    group by
        measure_counts.country_code,
        segment_measures.segment_name,
        measure_counts.measure_value,
        measure_counts.voucher_amount

),

final as (

    select
        measured.country_code,
        measured.segment_name,
        segment_definitions.segment_variant,
        measured.measure_value,
        measured.voucher_amount,
        cast(measured.voucher_count as {{ dbt.type_bigint() }}) as voucher_count

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
