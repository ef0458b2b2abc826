{{ config(materialized='table') }}

{#- Customer MRR at the end of each day (docs/metrics.md "Subscription MRR"; customer =
    user_id): the sum over the customer's subscriptions of the MRR of the state in
    force at the end of the day (the instant of the next day's 00:00 UTC, i.e. the
    last state of events with occurred_at before it), rounded to the cent.

    Stored as changes, not as a dense customer × day grid: one row per customer and
    day at whose end their MRR differs from the previous day's end. The value holds
    from mrr_date until the day before next_mrr_date (null: still in force at the
    end of the as-of date). Customers whose MRR was never > 0 have no rows. The
    end-of-day value on day d is the row with mrr_date <= d < next_mrr_date. -#}

with

subscription_states as (

    select * from {{ ref('int_subscription_states') }}

),

candidate_days as (

    -- a customer's MRR can only change on a day one of their states starts or ends
    -- (the end matters when the subscription's next event belongs to another user)
    select
        tenant_id,
        user_id,
        {{ utc_date('valid_from') }} as mrr_date
    from subscription_states

    union

    select
        tenant_id,
        user_id,
        {{ utc_date('valid_to') }} as mrr_date
    from subscription_states
    where valid_to is not null

),

end_of_day_mrr as (

    select
        candidate_days.tenant_id,
        candidate_days.user_id,
        candidate_days.mrr_date,
        -- one division of the summed annualized cents: exact before rounding to the cent
        {{ cents_to_money('coalesce(sum(subscription_states.subscription_arr_cents), 0) / 12.0') }} as mrr
    from candidate_days
    left join subscription_states
        on candidate_days.tenant_id = subscription_states.tenant_id
        and candidate_days.user_id = subscription_states.user_id
        and {{ version_in_force_at(utc_day_end('candidate_days.mrr_date'), 'subscription_states') }}
    group by candidate_days.tenant_id, candidate_days.user_id, candidate_days.mrr_date

),

end_of_day_mrr_with_previous as (

    select
        *,
        cast(
            coalesce(lag(mrr) over (partition by tenant_id, user_id order by mrr_date), 0)
            as numeric(14, 2)
        ) as previous_mrr
    from end_of_day_mrr

),

changes as (

    -- days whose end-of-day MRR equals the previous value carry no information
    select * from end_of_day_mrr_with_previous
    where mrr <> previous_mrr

),

final as (

    select
        tenant_id,
        user_id,
        mrr_date,
        mrr,
        previous_mrr,
        cast(mrr - previous_mrr as numeric(14, 2)) as mrr_change,
        lead(mrr_date) over (partition by tenant_id, user_id order by mrr_date) as next_mrr_date
    from changes

)

select * from final
