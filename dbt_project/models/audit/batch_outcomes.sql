{#-
    audit.batch_outcomes: per landed batch, how staging classified its rows at
    this as-of date: accepted, quarantined, duplicates (classified is their
    sum), beside what the batch landed (audit.batches.landed). The
    reconcile_batches task copies the counts into audit.batches and checks
    landed = accepted + quarantined + duplicates for every batch loaded by runs
    up to the as-of date (is_reconcilable); the same check runs as a dbt test.
    deferred counts event-file lines not visible at this as-of date (their batch
    was loaded by a later run). A batch the raw retention purged rows of
    (is_purged) is not reconcilable: its counts in audit.batches were
    reconciled before the purge and stay as they were.
-#}
{#- every base model but base_app__events, whose batches event_batch_outcomes counts as they are staged -#}
{%- set base_models = [
    'base_app__organizations',
    'base_app__users',
    'base_billing__plans',
    'base_billing__subscription_events',
    'base_billing__payments',
    'base_billing__refunds',
    'base_billing__webhook_deliveries',
    'base_crm__sales_reps',
    'base_crm__leads',
    'base_crm__proposals',
    'base_crm__customers',
    'base_crm__marketing_spend',
    'base_games__tournaments',
    'base_games__tournament_entries',
] %}

with

classified_rows as (

    {% for model in base_models %}
    select
        _batch_id as batch_id,
        {{ row_status_counts() | indent(8) }}
    from {{ ref(model) }}
    group by _batch_id

    union all
    {% endfor %}

    select
        batch_id,
        accepted,
        quarantined,
        duplicates
    from {{ ref('event_batch_outcomes') }}

),

batches as (

    select * from {{ ref('base_audit__batches') }}

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
        sum(accepted) as accepted,
        sum(quarantined) as quarantined,
        sum(duplicates) as duplicates
    from classified_rows
    group by batch_id

),

outcomes as (

    select
        coalesce(counted.batch_id, deferred_rows.batch_id) as batch_id,
        coalesce(counted.accepted, 0) as accepted,
        coalesce(counted.quarantined, 0) as quarantined,
        coalesce(counted.duplicates, 0) as duplicates,
        coalesce(deferred_rows.row_count, 0) as deferred
    from counted
    full outer join deferred_rows
        on counted.batch_id = deferred_rows.batch_id

),

final as (

    -- every recorded batch (one whose rows all went missing shows with zero counts)
    -- and every batch id seen in raw (one missing from audit.batches shows with landed null)
    select
        coalesce(outcomes.batch_id, batches.batch_id) as batch_id,
        batches.source,
        batches.table_name,
        batches.as_of_date,
        batches.landed,
        cast(coalesce(outcomes.accepted, 0) as integer) as accepted,
        cast(coalesce(outcomes.quarantined, 0) as integer) as quarantined,
        cast(coalesce(outcomes.duplicates, 0) as integer) as duplicates,
        cast(coalesce(outcomes.accepted + outcomes.quarantined + outcomes.duplicates, 0) as integer) as classified,
        cast(coalesce(outcomes.deferred, 0) as integer) as deferred,
        coalesce(batches.is_purged, false) as is_purged,
        -- a purged batch's remaining rows no longer add up to landed: its counts were reconciled before the purge
        coalesce(
            batches.as_of_at <= {{ as_of_end() }} and not coalesce(batches.is_purged, false), false
        ) as is_reconcilable
    from outcomes
    full outer join batches
        on outcomes.batch_id = batches.batch_id

)

select * from final
