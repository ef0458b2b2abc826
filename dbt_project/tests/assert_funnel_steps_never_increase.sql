{#- Invariant of fct_funnel_steps: within a tenant, funnel and cohort_week, no
    step is reached by more entities than the step before it
    (entities_reached at k <= at k − 1). Compares each step with the row of step
    k − 1 itself (not with the derived drop_off column), so a missing previous
    step is a violation too. Returns one row per violating step. -#}

with

funnel_steps as (

    select * from {{ ref('fct_funnel_steps') }}

),

compared as (

    select
        current_step.tenant_id,
        current_step.funnel_name,
        current_step.cohort_week,
        current_step.step_number,
        current_step.entities_reached,
        previous_step.entities_reached as previous_step_entities_reached,
        previous_step.step_number is null as is_missing_previous_step
    from funnel_steps as current_step
    left join funnel_steps as previous_step
        on current_step.tenant_id = previous_step.tenant_id
        and current_step.funnel_name = previous_step.funnel_name
        and current_step.cohort_week = previous_step.cohort_week
        and current_step.step_number - 1 = previous_step.step_number
    where current_step.step_number > 1

),

violations as (

    select * from compared
    where is_missing_previous_step
        or not coalesce(entities_reached <= previous_step_entities_reached, false)

)

select * from violations
