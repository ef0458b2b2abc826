{#-
    The landed batches as the extract_sources DAG recorded them in audit.batches
    (a view): what each batch landed, and the as-of date of the run that loaded
    it. batch_outcomes sets staging's counts beside `landed`; event-file lines
    are visible from their batch's as-of date on. is_purged: the raw retention
    dropped rows of the batch (their events live on in history.app__events).
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
        file_name,
        landed,
        -- the raw retention dropped rows of the batch: its reconciled counts in audit.batches stand
        purged_at is not null as is_purged
    from batches

)

select * from final
