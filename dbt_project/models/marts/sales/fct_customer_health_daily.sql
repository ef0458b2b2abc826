{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'as_of_date'],
    on_schema_change='fail',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where as_of_date >= {{ incremental_window_start() }}{% endif %}",
) }}

{#- The CRM customer book per tenant and day (docs/metrics.md
    fct_customer_health_daily), from the snapshot snp_crm__customers through
    int_customer_states_daily. Rows: every date of the tenant's covered range
    (tenant_spine; zeros when it had no customers), each the state of the
    customers at the end of that date: the snapshot versions valid at that
    instant (snapshot_valid_at), i.e. what staging showed at that as-of date.

    A date's row is a function of the snapshot versions with updated_at before
    the end of that date only. A version first captured by the run of as-of
    date D was not visible to the run of the day before, so (unless it landed
    late) its updated_at is after the end of D − 1 and it changes dates from D
    on only. Dates before the snapshot's first run see only the versions that
    were still current at that run: the snapshot keeps history from its first
    run on.

    total_customers counts every customer created before the end of the date
    and not churned before it (is_current_customer), from its created_at on,
    even before the snapshot's earliest version of it: its state is then
    unknown and it counts in no status, score or band column.
    customers_with_known_state counts those with a known state;
    avg_health_score and the bands cover them. churned_this_month: churned_at
    from the 1st of the date's month to the end of the date; churned: customers
    whose known state is churned (whenever it happened).

    Incremental (delete+insert on the grain), so that daily runs give exactly
    the rows of a full refresh: every date is computed (a few rows per tenant
    and day) and a run writes
    - the dates from incremental_window_start on (the as-of date − var
      late_arrival_days, widened by the DAG after skipped days); a pre-hook
      first deletes the table's rows from that date on, so a rerun of an
      earlier date leaves no later rows behind;
    - any older date whose computed row differs from the table's: a snapshot
      version that landed late, or a tenant the table does not hold yet. -#}

{#- the contract's columns, in order: the rows computed, held and compared -#}
{%- set columns = [
    'tenant_id', 'as_of_date', 'total_customers', 'active', 'onboarding', 'at_risk', 'churned_this_month',
    'avg_health_score', 'healthy', 'stable', 'at_risk_band', 'critical', 'churned', 'customers_with_known_state',
] %}

with

days as (

    {{ tenant_spine('day') }}

),

customer_states as (

    select * from {{ ref('int_customer_states_daily') }}

),

daily_book as (

    select
        tenant_id,
        as_of_date,
        count(*) filter (where is_current_customer) as total_customers,
        count(*) filter (where status = 'active') as active,
        count(*) filter (where status = 'onboarding') as onboarding,
        count(*) filter (where status = 'at_risk') as at_risk,
        count(*) filter (where is_churned_this_month) as churned_this_month,
        avg(health_score) filter (where is_current_customer) as avg_health_score,
        count(*) filter (where is_current_customer and health_band = 'healthy') as healthy,
        count(*) filter (where is_current_customer and health_band = 'stable') as stable,
        count(*) filter (where is_current_customer and health_band = 'at_risk') as at_risk_band,
        count(*) filter (where is_current_customer and health_band = 'critical') as critical,
        count(*) filter (where status = 'churned') as churned,
        count(*) filter (where is_current_customer and is_known_state) as customers_with_known_state
    from customer_states
    group by tenant_id, as_of_date

),

joined as (

    {{ spine_with_measures('days', 'as_of_date', {
        'daily_book': [
            'total_customers', 'active', 'onboarding', 'at_risk', 'churned_this_month', 'healthy', 'stable',
            'at_risk_band', 'critical', 'churned', 'customers_with_known_state',
        ],
    }, nullable_measures={'daily_book': ['avg_health_score']}) }}

),

computed as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(as_of_date as date) as as_of_date,
        cast(total_customers as integer) as total_customers,
        cast(active as integer) as active,
        cast(onboarding as integer) as onboarding,
        cast(at_risk as integer) as at_risk,
        cast(churned_this_month as integer) as churned_this_month,
        cast(round(avg_health_score, 2) as numeric(6, 2)) as avg_health_score,
        cast(healthy as integer) as healthy,
        cast(stable as integer) as stable,
        cast(at_risk_band as integer) as at_risk_band,
        cast(critical as integer) as critical,
        cast(churned as integer) as churned,
        cast(customers_with_known_state as integer) as customers_with_known_state
    from joined

),

built_rows as (

    -- the rows the table holds (none on a full refresh)
    select
        {{ columns | join(',\n        ') }}
    {%- if is_incremental() %}
    from {{ this }}
    {%- else %}
    from computed
    where false
    {%- endif %}

),

changed_rows as (

    select
        {{ columns | join(',\n        ') }}
    from computed
    except
    select
        {{ columns | join(',\n        ') }}
    from built_rows

),

final as (

    select
        {{ columns | join(',\n        ') }}
    from computed
    where {{ in_incremental_window('as_of_date') }}
    union
    select
        {{ columns | join(',\n        ') }}
    from changed_rows

)

select * from final
