{#-
    The landed batches as the extract_sources DAG recorded them in audit.batches
    (a view): what each batch landed, and the as-of date of the run that loaded
    it. batch_outcomes sets staging's counts beside `landed`; a batch's rows
    (event-file lines included) are visible to runs whose as-of instant is at or
    after its run's (as_of_at). is_purged:
    the raw retention dropped rows of the batch (their events live on in
    history.app__events).
-#}
with

batches as (

    select * from {{ source('audit', 'batches') }}

),

final as (

    select
        batch_id,
        source,
        table_name,
        as_of_date,
        as_of_at,
        file_name,
        landed,
        -- the raw retention dropped rows of the batch: its reconciled counts in audit.batches stand
        purged_at is not null as is_purged
    from batches

)

select * from final
