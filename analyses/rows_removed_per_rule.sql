-- How many rows did each cleaning rule remove, per country?
--
-- Every loaded row counts once: under 'kept', or under the first rule it
-- failed (the order lives in int_vouchers_validated). Out-of-scope rows are
-- listed under their country as typed in the file, so the spellings that did
-- or did not match var('countries') are visible too.

with

vouchers as (

    select * from {{ ref('int_vouchers_validated') }}

),

outcomes as (

    select
        is_in_scope,
        coalesce(country_code, country_name) as country,
        coalesce(rejection_reason, 'kept') as outcome

    from vouchers

),

counted as (

    select
        is_in_scope,
        country,
        outcome,
        count(*) as row_count

    from outcomes
    group by
        is_in_scope,
        country,
        outcome

),

final as (

    select
        is_in_scope,
        country,
        outcome,
        row_count,
        round(
            cast(
                100.0 * row_count / sum(row_count) over (partition by country)
                as {{ dbt.type_numeric() }}
            ),
            2
        ) as share_of_country_pct

    from counted

)

select * from final
order by
    is_in_scope desc,
    country asc,
    row_count desc
