{#- The CRM customer book at the end of every day: one row per tenant, day of
    the tenant's covered range (tenant_spine) and customer, with the version of
    the customer that the snapshot snp_crm__customers holds at the end of that
    day (snapshot_valid_at: dbt_valid_from < end of day <= dbt_valid_to), i.e.
    the latest version with updated_at before the end of the day among the
    versions the snapshot captured. Customers created after the end of the day
    are left out. Adds is_current_customer (status onboarding, active or
    at_risk: in the book, not churned), health_band (health_band macro) and
    is_churned_this_month (status churned with churned_at from the 1st of the
    day's month to the end of the day). A pure function of the snapshot and the
    day, so a day's rows never depend on when they are computed. -#}

with

days as (

    {{ tenant_spine('day') }}

),

customer_versions as (

    select * from {{ ref('snp_crm__customers') }}

),

day_ends as (

    select
        tenant_id,
        period_start as as_of_date,
        {{ utc_day_end('period_start') }} as day_end_at
    from days

),

states as (

    select
        day_ends.tenant_id,
        day_ends.as_of_date,
        day_ends.day_end_at,
        customer_versions.id as customer_id,
        customer_versions.status,
        customer_versions.segment,
        customer_versions.health_score,
        customer_versions.created_at,
        customer_versions.churned_at,
        customer_versions.updated_at,
        customer_versions.dbt_valid_from,
        customer_versions.dbt_valid_to
    from day_ends
    inner join customer_versions
        on day_ends.tenant_id = customer_versions.tenant_id
        and day_ends.day_end_at > customer_versions.created_at
        and {{ snapshot_valid_at('day_ends.day_end_at', 'customer_versions') }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(as_of_date as date) as as_of_date,
        cast(customer_id as text) as customer_id,
        cast(status as text) as status,
        cast(segment as text) as segment,
        cast(health_score as integer) as health_score,
        cast({{ health_band('health_score') }} as text) as health_band,
        cast(status in ('onboarding', 'active', 'at_risk') as boolean) as is_current_customer,
        coalesce(
            status = 'churned'
            and churned_at >= (cast(date_trunc('month', cast(as_of_date as timestamp)) as timestamp) at time zone 'UTC')
            and churned_at < day_end_at,
            false
        ) as is_churned_this_month,
        cast(created_at as timestamptz) as created_at,
        cast(churned_at as timestamptz) as churned_at,
        cast(updated_at as timestamptz) as updated_at,
        cast(dbt_valid_from as timestamptz) as valid_from,
        cast(dbt_valid_to as timestamptz) as valid_to
    from states

)

select * from final
