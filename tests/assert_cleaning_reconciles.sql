-- Every in-scope row is either kept or rejected with a reason, load by load:
-- in scope = kept + rejected, counted from staging independently of the rule
-- model (a load missing on either side fails too). Like the generic tests of
-- the incremental models (macros/where_subquery.sql), it leaves out the loads
-- a published build verified; every other load of staging is checked, also
-- one missing from both sides.
{%- set kept_loads = load_verification(ref('int_voucher_measure_counts')) %}
{%- set rejected_loads = load_verification(ref('rejected_vouchers')) %}
{%- set verified = (
    [] if kept_loads is none or rejected_loads is none
    else (kept_loads.verified + rejected_loads.verified) | unique | list
) %}
{%- set checked_loads = 'not (' ~ load_id_in(verified) ~ ')' %}
{%- set checked_staged_loads = (
    'not (' ~ load_id_in(verified, 'vouchers.load_id') ~ ')'
) %}

with

countries as (

    {{ countries_in_scope() }}

),

staged as (

    select
        vouchers.load_id,
        count(*) as row_count

    from {{ ref('stg_raw__vouchers') }} as vouchers
    inner join countries
        on vouchers.country_key = countries.country_key
    where {{ checked_staged_loads }}
    group by vouchers.load_id

),

-- Each kept voucher has one row per measure: one measure counts each once.
kept as (

    select
        load_id,
        sum(voucher_count) as row_count

    from {{ ref('int_voucher_measure_counts') }}
    where measure = 'total_orders' and {{ checked_loads }}
    group by load_id

),

rejected as (

    select
        load_id,
        count(*) as row_count

    from {{ ref('rejected_vouchers') }}
    where {{ checked_loads }}
    group by load_id

)

select
    staged.load_id,
    coalesce(staged.row_count, 0) as in_scope_rows,
    coalesce(kept.row_count, 0) as kept_rows,
    coalesce(rejected.row_count, 0) as rejected_rows

from staged
full outer join kept
    on staged.load_id = kept.load_id
full outer join rejected
    on coalesce(staged.load_id, kept.load_id) = rejected.load_id
where
    coalesce(staged.row_count, 0)
    <> coalesce(kept.row_count, 0) + coalesce(rejected.row_count, 0)
