{#- KPI trends per tenant and day (docs/metrics.md fct_kpi_trends): for every day of the
    tenant's covered range (tenant_spine; as_of_date, the run's as-of date being the
    latest) and every metric and comparison, the value over the current window
    against the window before it. Windows end on as_of_date: `day` = that day vs the day before,
    `week` = the 7 days ending as_of_date vs the 7 days before them, `month` = 30 vs
    the 30 before.

    How each metric aggregates over a window ("sums for counts and money,
    recomputed ratios for rates, point values for mrr"):
    - new_users, gross_revenue, net_revenue, payments_succeeded: sums of the daily
      values of fct_daily_kpis (revenue and succeeded payments on their settled date).
    - active_users: distinct users active in the window, not a sum of daily counts
      (a user active on 3 days of the week is one active user): fct_daily_kpis'
      active_users (day), wau (7 days) and mau (30 days) at the window's last day.
    - payment_success_rate: succeeded / (succeeded + failed) of the payment attempts
      created in the window, recomputed from the window's counts (fct_payments_daily,
      by attempt date, as its success_rate); null when there were none.
    - avg_payment_value: window gross_revenue / window payments_succeeded (null
      without succeeded payments).
    - mrr: point values, MRR at the end of as_of_date vs at the end of the previous
      window's last day (as_of_date − 1, − 7, − 30).
    Days before the tenant's covered range had no activity: windows reaching back
    before it count them as zeros (so the previous value of a count, money or mrr is
    0 there, and a rate is null).

    change = current − previous; change_percent = 100 × change / |previous| (a
    percentage, null when previous is 0 or change is null); direction is `up`, `down` or
    `flat` by the sign of change, null when change is null (a rate without
    attempts in one of the windows). Window functions over the dense daily marts,
    one pass per tenant: every date costs the same as the as-of date alone. -#}

{%- set comparisons = [('day', 1), ('week', 7), ('month', 30)] -%}
{%- set active_users_column = {'day': 'active_users', 'week': 'wau', 'month': 'mau'} -%}
{#- the daily columns summed over each window, and those a metric reports as is (with its unit) -#}
{%- set summed_columns = [
    'new_users', 'gross_revenue', 'net_revenue', 'payments_succeeded', 'attempts_succeeded', 'attempts_failed'
] -%}
{%- set summed_metrics = [
    ('new_users', 'count'), ('gross_revenue', 'money'), ('net_revenue', 'money'), ('payments_succeeded', 'count')
] -%}

with

days as (

    {{ tenant_spine('day') }}

),

daily_kpis as (

    select * from {{ ref('fct_daily_kpis') }}

),

payments_daily as (

    select * from {{ ref('fct_payments_daily') }}

),

daily_payment_outcomes as (

    select
        tenant_id,
        payment_date,
        sum(succeeded) as attempts_succeeded,
        sum(failed) as attempts_failed
    from payments_daily
    group by tenant_id, payment_date

),

daily as (

    -- each day's KPIs with the outcomes of the payment attempts created that day
    select
        daily_kpis.*,
        {{ measures_or_zero('daily_payment_outcomes', ['attempts_succeeded', 'attempts_failed']) }}
    from daily_kpis
    left join daily_payment_outcomes
        on daily_kpis.tenant_id = daily_payment_outcomes.tenant_id
        and daily_kpis.kpi_date = daily_payment_outcomes.payment_date

),

comparison_windows as (

    -- per comparison, the window ending kpi_date and the one before it: sums over
    -- range frames of window_days days (days before the covered range have no row and
    -- count as zeros), point values on kpi_date and window_days before it
    {% for comparison, days in comparisons %}
    select
        tenant_id,
        kpi_date,
        '{{ comparison }}' as comparison,
        {{ days }} as window_days,
        {{ active_users_column[comparison] }} as active_users_current,
        coalesce(sum({{ active_users_column[comparison] }}) over point_window, 0) as active_users_previous,
        {%- for column in summed_columns %}
        sum({{ column }}) over current_window as {{ column }}_current,
        coalesce(sum({{ column }}) over previous_window, 0) as {{ column }}_previous,
        {%- endfor %}
        mrr as mrr_current,
        coalesce(sum(mrr) over point_window, 0) as mrr_previous
    from daily
    window
        current_window as (
            partition by tenant_id order by kpi_date
            range between interval '{{ days - 1 }} days' preceding and current row
        ),
        previous_window as (
            partition by tenant_id order by kpi_date
            range between interval '{{ 2 * days - 1 }} days' preceding and interval '{{ days }} days' preceding
        ),
        point_window as (
            partition by tenant_id order by kpi_date
            range between interval '{{ days }} days' preceding and interval '{{ days }} days' preceding
        )
    {% if not loop.last %}
    union all
    {% endif %}
    {% endfor %}

),

metric_values as (

    select
        comparison_windows.tenant_id,
        comparison_windows.kpi_date as as_of_date,
        comparison_windows.comparison,
        comparison_windows.window_days,
        metric_values.metric,
        metric_values.metric_unit,
        metric_values.current_value,
        metric_values.previous_value,
        metric_values.current_value - metric_values.previous_value as change
    from comparison_windows
    -- one row per day of the covered range (tenant_spine); fct_daily_kpis holds exactly
    -- these days, and the windows above were computed over all of them
    inner join days
        on comparison_windows.tenant_id = days.tenant_id
        and comparison_windows.kpi_date = days.period_start
    cross join lateral (
        values
        (
            'active_users', 'count',
            cast(comparison_windows.active_users_current as numeric),
            cast(comparison_windows.active_users_previous as numeric)
        ),
        {%- for metric, unit in summed_metrics %}
        (
            '{{ metric }}', '{{ unit }}',
            cast(comparison_windows.{{ metric }}_current as numeric),
            cast(comparison_windows.{{ metric }}_previous as numeric)
        ),
        {%- endfor %}
        (
            'payment_success_rate', 'rate',
            cast({{ safe_rate(
                'comparison_windows.attempts_succeeded_current',
                'comparison_windows.attempts_succeeded_current + comparison_windows.attempts_failed_current'
            ) }} as numeric),
            cast({{ safe_rate(
                'comparison_windows.attempts_succeeded_previous',
                'comparison_windows.attempts_succeeded_previous + comparison_windows.attempts_failed_previous'
            ) }} as numeric)
        ),
        (
            'avg_payment_value', 'money',
            round(
                comparison_windows.gross_revenue_current / nullif(comparison_windows.payments_succeeded_current, 0), 2
            ),
            round(
                comparison_windows.gross_revenue_previous / nullif(comparison_windows.payments_succeeded_previous, 0), 2
            )
        ),
        (
            'mrr', 'money',
            cast(comparison_windows.mrr_current as numeric),
            cast(comparison_windows.mrr_previous as numeric)
        )
    ) as metric_values (metric, metric_unit, current_value, previous_value)

),

final as (

    select
        cast(tenant_id as text) as tenant_id,
        cast(as_of_date as date) as as_of_date,
        cast(metric as text) as metric,
        cast(comparison as text) as comparison,
        cast(current_value as numeric(18, 4)) as current_value,
        cast(previous_value as numeric(18, 4)) as previous_value,
        cast(change as numeric(18, 4)) as change,
        cast(round(100 * change / nullif(abs(previous_value), 0), 2) as numeric(18, 2)) as change_percent,
        cast(
            case
                when change > 0 then 'up'
                when change < 0 then 'down'
                when change = 0 then 'flat'
            end
            as text
        ) as direction,
        cast(metric_unit as text) as metric_unit,
        cast(window_days as integer) as window_days,
        cast(as_of_date - window_days as date) as previous_as_of_date
    from metric_values

)

select * from final
