{#- The CRM customer book at the end of every day (docs/metrics.md
    fct_customer_health_daily): one row per tenant, day of the tenant's
    covered range (tenant_spine) and customer created before the end of that
    day, whatever the snapshot knows of it that day.

    A customer exists from its created_at, not from its first captured version:
    the snapshot snp_crm__customers only starts a customer's history at the
    updated_at of the first version it captured, which may be long after the
    customer was created. Its state on a day (status, segment, health score) is
    the version valid at the end of the day (snapshot_valid_at:
    dbt_valid_from < end of day <= dbt_valid_to); before its earliest known
    version the state is unknown (is_known_state false; status, segment,
    health_score and health_band null). created_at comes from the earliest
    known version.

    churned_at is the churn the state on that day records (the valid version's
    churned_at when its status is churned); while the state is unknown, the
    earliest known version's (when that version is churned), so a customer that
    had already churned before its history starts is not counted as a customer
    on the days after its churn. is_current_customer: counted on the day,
    i.e. not churned before the start of the day (a customer churning during
    the day still counts that day). is_churned_this_month: churned_at from the
    1st of the day's month to the end of the day. health_band: health_band
    macro. A pure function of the snapshot and the day. -#}

with

days as (

    {{ tenant_spine('day') }}

),

customer_versions as (

    select * from {{ ref('snp_crm__customers') }}

),

earliest_versions as (

    -- each customer's first captured version: its created_at and what it says of an earlier churn
    select distinct on (tenant_id, id)
        tenant_id,
        id as customer_id,
        created_at,
        case when status = 'churned' then churned_at end as churned_at
    from customer_versions
    order by tenant_id, id, dbt_valid_from

),

day_ends as (

    select
        tenant_id,
        period_start as as_of_date,
        {{ utc_day_end('period_start') }} as day_end_at
    from days

),

customer_days as (

    select
        day_ends.tenant_id,
        day_ends.as_of_date,
        day_ends.day_end_at,
        earliest_versions.customer_id,
        earliest_versions.created_at,
        earliest_versions.churned_at as earliest_churned_at
    from day_ends
    inner join earliest_versions
        on day_ends.tenant_id = earliest_versions.tenant_id
        and day_ends.day_end_at > earliest_versions.created_at

),

states as (

    select
        customer_days.tenant_id,
        customer_days.as_of_date,
        customer_days.day_end_at,
        customer_days.customer_id,
        customer_days.created_at,
        customer_versions.id is not null as is_known_state,
        customer_versions.status,
        customer_versions.segment,
        customer_versions.health_score,
        case
            when customer_versions.id is null then customer_days.earliest_churned_at
            when customer_versions.status = 'churned' then customer_versions.churned_at
        end as churned_at,
        customer_versions.updated_at,
        customer_versions.dbt_valid_from,
        customer_versions.dbt_valid_to
    from customer_days
    left join customer_versions
        on customer_days.tenant_id = customer_versions.tenant_id
        and customer_days.customer_id = customer_versions.id
        and {{ snapshot_valid_at('customer_days.day_end_at', 'customer_versions') }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(as_of_date as date) as as_of_date,
        cast(customer_id as text) as customer_id,
        cast(is_known_state as boolean) as is_known_state,
        cast(status as text) as status,
        cast(segment as text) as segment,
        cast(health_score as integer) as health_score,
        cast({{ health_band('health_score') }} as text) as health_band,
        cast(
            case
                -- a churned state without a churn date counts as churned before the day
                when is_known_state and status = 'churned'
                    then coalesce(churned_at >= (cast(as_of_date as timestamp) at time zone 'UTC'), false)
                else churned_at is null or churned_at >= (cast(as_of_date as timestamp) at time zone 'UTC')
            end as boolean
        ) as is_current_customer,
        coalesce(
            churned_at >= (cast(date_trunc('month', cast(as_of_date as timestamp)) as timestamp) at time zone 'UTC')
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
