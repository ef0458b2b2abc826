{#-
    audit.batch_outcomes: per landed batch, how staging classified its rows at
    this as-of date: accepted, quarantined, duplicates. The reconcile_batches
    task copies the counts into audit.batches and checks
    landed = accepted + quarantined + duplicates for every batch loaded by runs
    up to the as-of date. deferred counts event-file lines not visible at this
    as-of date (their batch was loaded by a later run); it is 0 for the batches
    the check covers.
-#}
{%- set base_models = [
    'base_app__organizations',
    'base_app__users',
    'base_app__events',
    'base_billing__plans',
    'base_billing__subscription_events',
    'base_billing__payments',
    'base_billing__refunds',
    'base_billing__webhook_deliveries',
    'base_crm__sales_reps',
    'base_crm__leads',
    'base_crm__proposals',
    'base_crm__customers',
    'base_games__tournaments',
    'base_games__tournament_entries',
] %}

with

classified_rows as (

    {% for model in base_models %}
    select
        _batch_id as batch_id,
        row_status,
        count(*) as row_count
    from {{ ref(model) }}
    group by _batch_id, row_status
    {{ 'union all' if not loop.last }}
    {% endfor %}

),

deferred_rows as (

    select
        _batch_id as batch_id,
        count(*) as row_count
    from {{ ref('base_app__event_files') }}
    where not is_visible
    group by _batch_id

),

counted as (

    select
        batch_id,
        sum(row_count) filter (where row_status = 'accepted') as accepted,
        sum(row_count) filter (where row_status = 'quarantined') as quarantined,
        sum(row_count) filter (where row_status = 'duplicate') as duplicates
    from classified_rows
    group by batch_id

),

final as (

    select
        coalesce(counted.batch_id, deferred_rows.batch_id) as batch_id,
        cast(coalesce(counted.accepted, 0) as integer) as accepted,
        cast(coalesce(counted.quarantined, 0) as integer) as quarantined,
        cast(coalesce(counted.duplicates, 0) as integer) as duplicates,
        cast(coalesce(counted.accepted, 0) + coalesce(counted.quarantined, 0) + coalesce(counted.duplicates, 0) as integer) as classified,
        cast(coalesce(deferred_rows.row_count, 0) as integer) as deferred
    from counted
    full outer join deferred_rows
        on counted.batch_id = deferred_rows.batch_id

)

select * from final
