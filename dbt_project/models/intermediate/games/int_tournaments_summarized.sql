{#- One row per tournament counted by the end of the as-of date, with what the
    tournament marts measure. A tournament counts at counted_at = started_at,
    or created_at if it never started (counted_date = its UTC date); one whose
    counted_at is after the as-of date is left out. entries = its accepted
    tournament entries (players); revenue_cents = entry_fee_cents × entries (a
    missing fee is 0); duration_minutes = ended_at − started_at of completed
    tournaments (null otherwise or when either is missing). -#}

with

tournaments as (

    select * from {{ ref('stg_games__tournaments') }}

),

tournament_entries as (

    select * from {{ ref('stg_games__tournament_entries') }}

),

entry_counts as (

    select
        tenant_id,
        tournament_id,
        count(*) as entries
    from tournament_entries
    group by tenant_id, tournament_id

),

counted_tournaments as (

    select
        tournaments.*,
        coalesce(tournaments.started_at, tournaments.created_at) as counted_at,
        coalesce(entry_counts.entries, 0) as entries
    from tournaments
    left join entry_counts
        on tournaments.tenant_id = entry_counts.tenant_id
        and tournaments.id = entry_counts.tournament_id
    where coalesce(tournaments.started_at, tournaments.created_at) < {{ as_of_end() }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(id as text) as tournament_id,
        cast(format as text) as format,
        cast(status as text) as status,
        cast(counted_at as timestamptz) as counted_at,
        {{ utc_date('counted_at') }} as counted_date,
        cast(status = 'completed' as boolean) as is_completed,
        cast(entries as integer) as entries,
        cast(entry_fee_cents as integer) as entry_fee_cents,
        cast(coalesce(entry_fee_cents, 0) * entries as bigint) as revenue_cents,
        case
            when status = 'completed' then cast(extract(epoch from ended_at - started_at) / 60 as numeric)
        end as duration_minutes
    from counted_tournaments

)

select * from final
