-- The mart the API reads holds exactly one row per country in scope and
-- variant of the seed: a missing row would make the API fall back silently,
-- a duplicate would make its answer ambiguous, a stray row is a variant or
-- country nobody asked for.
with

countries as (

    {{ countries_in_scope() }}

),

segment_definitions as (

    select * from {{ ref('segment_definitions') }}

),

segment_modes as (

    select * from {{ ref('voucher_segment_modes') }}

),

expected as (

    select
        countries.country_code,
        segment_definitions.segment_name,
        segment_definitions.segment_variant

    from countries
    cross join segment_definitions

),

built as (

    select
        country_code,
        segment_name,
        segment_variant,
        count(*) as row_count

    from segment_modes
    group by
        country_code,
        segment_name,
        segment_variant

),

compared as (

    select
        coalesce(expected.country_code, built.country_code) as country_code,
        coalesce(expected.segment_name, built.segment_name) as segment_name,
        coalesce(expected.segment_variant, built.segment_variant)
            as segment_variant,
        expected.country_code is not null as is_expected,
        coalesce(built.row_count, 0) as row_count

    from expected
    full outer join built
        on expected.country_code = built.country_code
        and expected.segment_name = built.segment_name
        and expected.segment_variant = built.segment_variant

)

select * from compared
where not is_expected or row_count <> 1
