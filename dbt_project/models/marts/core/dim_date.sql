{#- The calendar: one row per tenant and UTC day of the tenant's covered range
    (tenant_spine('day'): from its first activity through the as-of date), so the
    days of all tenants together span the whole covered range.

    Per tenant rather than one shared calendar, on purpose: the marts' contract puts
    tenant_id first, BI reads one tenant at a time, and the rows a tenant sees are
    exactly the days its facts cover. Join facts on (tenant_id, calendar_date).
    Weeks start on Monday (ISO); *_end columns are the last day of the period
    (inclusive), unlike the exclusive period_end of the period marts. -#}

with

days as (

    {{ tenant_spine('day') }}

),

calendar as (

    select
        tenant_id,
        period_start as calendar_date,
        {{ truncate_to_period("'week'", 'period_start') }} as week_start,
        {{ truncate_to_period("'month'", 'period_start') }} as month_start,
        {{ truncate_to_period("'quarter'", 'period_start') }} as quarter_start,
        {{ truncate_to_period("'year'", 'period_start') }} as year_start
    from days

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(calendar_date as date) as calendar_date,
        cast(extract(year from calendar_date) as integer) as calendar_year,
        cast(extract(quarter from calendar_date) as integer) as quarter_of_year,
        cast(extract(month from calendar_date) as integer) as month_of_year,
        cast(trim(to_char(calendar_date, 'Month')) as text) as month_name,
        cast(extract(day from calendar_date) as integer) as day_of_month,
        cast(extract(doy from calendar_date) as integer) as day_of_year,
        cast(extract(isodow from calendar_date) as integer) as day_of_week,
        cast(trim(to_char(calendar_date, 'Day')) as text) as day_name,
        extract(isodow from calendar_date) in (6, 7) as is_weekend,
        cast(extract(isoyear from calendar_date) as integer) as iso_year,
        cast(extract(week from calendar_date) as integer) as iso_week,
        cast(week_start as date) as week_start,
        cast(week_start + 6 as date) as week_end,
        cast(month_start as date) as month_start,
        cast(cast(month_start + interval '1 month' as date) - 1 as date) as month_end,
        cast(extract(day from month_start + interval '1 month' - interval '1 day') as integer) as days_in_month,
        cast(quarter_start as date) as quarter_start,
        cast(cast(quarter_start + interval '3 months' as date) - 1 as date) as quarter_end,
        cast(year_start as date) as year_start,
        cast(cast(year_start + interval '1 year' as date) - 1 as date) as year_end,
        calendar_date = cast(month_start + interval '1 month' as date) - 1 as is_month_end,
        calendar_date = {{ as_of_date() }} as is_as_of_date,
        cast({{ as_of_date() }} - calendar_date as integer) as days_before_as_of
    from calendar

)

select * from final
