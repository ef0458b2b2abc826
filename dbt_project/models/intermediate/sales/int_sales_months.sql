{#- The months of the sales marts: one row per tenant and month from the month
    of the tenant's covered start (int_tenant_coverage), or of its first CRM
    lead or proposal if that is earlier (sales may predate the first app
    activity, as in fct_funnel_steps), through the as-of month. month_end_at is
    the instant the month's state is read at: the start of the next month, or
    the end of the as-of date for the as-of month. Tenants without a covered
    range and without CRM rows have no months. -#}

with

tenant_coverage as (

    select * from {{ ref('int_tenant_coverage') }}

),

leads as (

    select * from {{ ref('stg_crm__leads') }}

),

proposals as (

    select * from {{ ref('stg_crm__proposals') }}

),

crm_rows as (

    select
        tenant_id,
        created_at
    from leads
    union all
    select
        tenant_id,
        created_at
    from proposals

),

first_crm_dates as (

    select
        tenant_id,
        {{ utc_date('min(created_at)') }} as first_crm_date
    from crm_rows
    where created_at < {{ as_of_end() }}
    group by tenant_id

),

sales_tenants as (

    -- every tenant with a covered range or a CRM row
    select tenant_id
    from tenant_coverage
    where covered_from_date is not null
    union
    select tenant_id
    from first_crm_dates

),

sales_series as (

    -- each starting at the earlier of its covered start and its first CRM row (tenant_spine takes the least)
    select
        sales_tenants.tenant_id,
        first_crm_dates.first_crm_date as start_date
    from sales_tenants
    left join first_crm_dates
        on sales_tenants.tenant_id = first_crm_dates.tenant_id

),

months as (

    {{ tenant_spine('month', extra_starts='sales_series') }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(period_start as date) as sales_month,
        cast(period_end as date) as next_month_start,
        cast({{ utc_day_end(period_last_covered_date('period_end')) }} as timestamptz) as month_end_at
    from months

)

select * from final
