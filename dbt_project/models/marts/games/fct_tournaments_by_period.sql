{#- Tournaments per tenant, period type and period (docs/metrics.md
    fct_tournaments_by_period). period_type day, week (Monday), month, quarter
    and year; period_end is the next period's start (exclusive), as in
    tenant_spine. Rows: every period of the tenant's covered range, extended
    back to its first tournament if that is earlier, zeros without
    tournaments. A tournament counts in the period of its counted_date
    (started_at, else created_at; int_tournaments_summarized).
    completion_rate = completed / tournaments; total_players = entries;
    avg_players = entries / tournaments; avg_duration_minutes over completed
    tournaments with both times; most_popular_format = the format with the
    most tournaments, ties to the alphabetically first, null without
    tournaments; revenue = Σ entry fee × entries. -#}

with

tenant_coverage as (

    select * from {{ ref('int_tenant_coverage') }}

),

tournaments as (

    select * from {{ ref('int_tournaments_summarized') }}

),

first_tournament_dates as (

    select
        tenant_id,
        min(counted_date) as first_tournament_date
    from tournaments
    group by tenant_id

),

tournament_tenants as (

    -- every tenant with a covered range or a tournament
    select tenant_id
    from tenant_coverage
    where covered_from_date is not null
    union
    select tenant_id
    from first_tournament_dates

),

tournament_series as (

    -- each starting at the earlier of its covered start and its first tournament (tenant_spine takes the least)
    select
        tournament_tenants.tenant_id,
        first_tournament_dates.first_tournament_date as start_date
    from tournament_tenants
    left join first_tournament_dates
        on tournament_tenants.tenant_id = first_tournament_dates.tenant_id

),

periods as (

    {{ tenant_spine_by_period_type(['day', 'week', 'month', 'quarter', 'year'], extra_starts='tournament_series') }}

),

tournament_periods as (

    select
        periods.tenant_id,
        periods.period_type,
        periods.period_start,
        tournaments.tournament_id,
        tournaments.format,
        tournaments.is_completed,
        tournaments.entries,
        tournaments.revenue_cents,
        tournaments.duration_minutes
    from periods
    inner join tournaments
        on periods.tenant_id = tournaments.tenant_id
        and periods.period_start <= tournaments.counted_date
        and periods.period_end > tournaments.counted_date

),

period_totals as (

    select
        tenant_id,
        period_type,
        period_start,
        count(*) as tournament_count,
        count(*) filter (where is_completed) as completed_count,
        sum(entries) as total_players,
        avg(duration_minutes) filter (where is_completed) as avg_duration_minutes,
        sum(revenue_cents) as revenue_cents
    from tournament_periods
    group by tenant_id, period_type, period_start

),

format_ranks as (

    select
        tenant_id,
        period_type,
        period_start,
        format,
        row_number() over (
            partition by tenant_id, period_type, period_start
            order by count(*) desc, format collate "C" asc
        ) as format_rank
    from tournament_periods
    group by tenant_id, period_type, period_start, format

),

most_popular_formats as (

    select
        tenant_id,
        period_type,
        period_start,
        format as most_popular_format
    from format_ranks
    where format_rank = 1

),

-- every period of the spine with its tournaments' measures
joined as (

    {{ spine_with_measures('periods', 'period_start', {
        'period_totals': ['tournament_count', 'completed_count', 'total_players', 'revenue_cents'],
    }, keys=['period_type'], spine_columns=['period_end'], nullable_measures={
        'period_totals': ['avg_duration_minutes'],
        'most_popular_formats': ['most_popular_format'],
    }) }}

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(period_type as text) as period_type,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(tournament_count as integer) as tournament_count,
        cast(completed_count as integer) as completed_count,
        {{ safe_rate('completed_count', 'tournament_count') }} as completion_rate,
        cast(total_players as integer) as total_players,
        cast(round(cast(total_players as numeric) / nullif(tournament_count, 0), 2) as numeric(10, 2)) as avg_players,
        cast(round(avg_duration_minutes, 2) as numeric(10, 2)) as avg_duration_minutes,
        cast(most_popular_format as text) as most_popular_format,
        {{ cents_to_money('revenue_cents') }} as revenue
    from joined

)

select * from final
