-- Every in-scope row is either kept or rejected with a reason: in scope =
-- kept + rejected, counted from staging independently of the rule model.
with

countries as (

    {{ countries_in_scope() }}

),

staged as (

    select count(*) as row_count
    from {{ ref('stg_raw__vouchers') }} as vouchers
    inner join countries
        on vouchers.country_key = countries.country_key

),

kept as (

    select count(distinct voucher_id) as row_count
    from {{ ref('int_vouchers_segmented') }}

),

rejected as (

    select count(*) as row_count
    from {{ ref('rejected_vouchers') }}

)

select
    staged.row_count as in_scope_rows,
    kept.row_count as kept_rows,
    rejected.row_count as rejected_rows

from staged
cross join kept
cross join rejected
where staged.row_count <> kept.row_count + rejected.row_count
