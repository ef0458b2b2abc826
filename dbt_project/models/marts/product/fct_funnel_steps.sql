{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'funnel_name', 'cohort_week'],
    on_schema_change='fail',
) }}

{#- Funnel conversion by entry week (docs/metrics.md fct_funnel_steps): one row per
    tenant, funnel of the seed funnel_definitions, cohort week and step, zeros for
    weeks nobody entered. Each funnel's weeks run from the tenant's covered start
    (tenant_spine), or from the funnel's first entry if that is earlier (CRM leads
    may predate the first app activity), to the as-of week. Progress comes from
    int_funnel_progress. Step 1 has conversion rates of 1 (null with no entries),
    drop_off 0 and no median or average time from previous. avg_seconds_from_previous
    (the brief's average time to convert) is the mean of the entities' seconds from
    reaching step k − 1 to reaching step k, over those that reached step k.

    Incremental (delete+insert per tenant, funnel and cohort week): a run
    rebuilds, per funnel, every week ending after the incremental window's
    start minus the funnel's window_days (int_funnel_progress recomputes only
    entities that entered since then, so an earlier week's entities, and its
    rows, are final), and the weeks the table does not hold yet. -#}

with

tenant_coverage as (

    select * from {{ ref('int_tenant_coverage') }}

),

funnel_definitions as (

    select * from {{ ref('funnel_definitions') }}

),

funnel_progress as (

    select * from {{ ref('int_funnel_progress') }}

),

first_entries as (

    select
        tenant_id,
        funnel_name,
        min(cohort_week) as first_entry_week
    from funnel_progress
    where step_number = 1
    group by tenant_id, funnel_name

),

tenants as (

    -- every tenant with a covered range or an entry
    select tenant_id
    from tenant_coverage
    where covered_from_date is not null

    union

    select tenant_id
    from first_entries

),

funnels as (

    select distinct funnel_name
    from funnel_definitions

),

funnel_windows as (

    {{ funnel_windows('funnel_definitions') }}

),

funnel_series as (

    -- every tenant × every funnel of the seed
    select
        tenants.tenant_id,
        funnels.funnel_name,
        first_entries.first_entry_week as start_date
    from tenants
    cross join funnels
    left join first_entries
        on tenants.tenant_id = first_entries.tenant_id
        and funnels.funnel_name = first_entries.funnel_name

),

funnel_weeks as (

    {{ tenant_spine('week', extra_starts='funnel_series', keys=['funnel_name']) }}

),

-- the weeks a run builds: every week on a full refresh; on an incremental run the weeks whose
-- entities int_funnel_progress may recompute (ending after the window's start minus the funnel's
-- window_days: an entity that entered earlier is final) and the weeks the table does not hold yet
-- (a new tenant or funnel, a covered range that grew earlier)
weeks_to_build as (

    select funnel_weeks.*
    from funnel_weeks
    {%- if is_incremental() %}
inner join funnel_windows
    on funnel_weeks.funnel_name = funnel_windows.funnel_name
where
    funnel_weeks.period_end > {{ incremental_window_start() }} - cast(funnel_windows.window_days as integer)
    or {{ missing_from_table({
        'tenant_id': 'funnel_weeks.tenant_id',
        'funnel_name': 'funnel_weeks.funnel_name',
        'cohort_week': 'funnel_weeks.period_start',
    }) }}
    {%- endif %}

),

step_grid as (

    select
        funnel_weeks.tenant_id,
        funnel_definitions.funnel_name,
        funnel_weeks.period_start as cohort_week,
        funnel_definitions.step_number,
        funnel_definitions.step_name
    from weeks_to_build as funnel_weeks
    inner join funnel_definitions
        on funnel_weeks.funnel_name = funnel_definitions.funnel_name

),

steps_reached as (

    select
        tenant_id,
        funnel_name,
        cohort_week,
        step_number,
        count(*) as entities_reached,
        percentile_cont(0.5) within group (order by seconds_from_previous) as median_seconds_from_previous,
        avg(seconds_from_previous) as avg_seconds_from_previous
    from funnel_progress
    {%- if is_incremental() %}
    where exists (
            select 1
            from weeks_to_build
            where
                weeks_to_build.tenant_id = funnel_progress.tenant_id
                and weeks_to_build.funnel_name = funnel_progress.funnel_name
                and weeks_to_build.period_start = funnel_progress.cohort_week
        )
    {%- endif %}
    group by tenant_id, funnel_name, cohort_week, step_number

),

-- every step of every week built, zero entities where none reached it (no median or average)
joined as (

    {{ spine_with_measures('step_grid', 'cohort_week', {
        'steps_reached': ['entities_reached'],
    }, keys=['funnel_name', 'step_number'], spine_period_column='cohort_week', nullable_measures={
        'steps_reached': ['median_seconds_from_previous', 'avg_seconds_from_previous'],
    }, spine_columns=['step_name']) }}

),

with_previous_steps as (

    select
        *,
        coalesce(lag(entities_reached) over funnel_week_steps, entities_reached) as previous_step_entities,
        first_value(entities_reached) over funnel_week_steps as entered_entities
    from joined
    window funnel_week_steps as (
        partition by tenant_id, funnel_name, cohort_week
        order by step_number
    )

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(funnel_name as text) as funnel_name,
        cast(cohort_week as date) as cohort_week,
        cast(step_number as integer) as step_number,
        cast(step_name as text) as step_name,
        cast(entities_reached as integer) as entities_reached,
        {{ safe_rate('entities_reached', 'previous_step_entities') }} as conversion_from_previous_rate,
        {{ safe_rate('entities_reached', 'entered_entities') }} as conversion_from_start_rate,
        cast(previous_step_entities - entities_reached as integer) as drop_off,
        cast(round(cast(median_seconds_from_previous as numeric), 2) as numeric(14, 2)) as median_seconds_from_previous,
        cast(round(avg_seconds_from_previous, 2) as numeric(14, 2)) as avg_seconds_from_previous
    from with_previous_steps

)

select * from final
