-- A measure value may fall in at most one variant of a segment; otherwise a
-- voucher would be counted twice and the lookup would be ambiguous.
with

segment_definitions as (

    select * from {{ ref('segment_definitions') }}

),

overlapping_variants as (

    select
        lower_variant.segment_name,
        lower_variant.segment_variant,
        upper_variant.segment_variant as overlapping_variant

    from segment_definitions as lower_variant
    inner join segment_definitions as upper_variant
        on lower_variant.segment_name = upper_variant.segment_name
        and lower_variant.segment_variant <> upper_variant.segment_variant
        and lower_variant.lower_bound <= upper_variant.lower_bound
        and (
            lower_variant.upper_bound is null
            or lower_variant.upper_bound >= upper_variant.lower_bound
        )

)

select * from overlapping_variants
