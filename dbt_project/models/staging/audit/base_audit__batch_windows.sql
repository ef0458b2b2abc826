{#-
    The extraction window and load time of every landed batch of a source table
    (audit.batches, a view): what the incremental base models over mutable
    source tables (changed_landed_versions) read to find the batches landed
    since their last build. window_end is the run's as-of instant: every row
    the batch landed has an extraction key before it, or none.

    audit.batches is named as a relation, not a source: it changes on every
    run, and what a base model builds depends on its raw table's rows alone
    (the batch log only says which of them are new), so a base model whose raw
    table has no new batch is still left out of a run
    (meridian.transform.selection). Event files are left out (their lines are
    batched by base_app__event_files).
-#}

with

batches as (

    -- the audit source's table (_staging__sources.yml), named directly: see above
    select * from audit.batches

),

final as (

    select
        batch_id,
        source,
        table_name,
        landed,
        window_end,
        loaded_at
    from batches
    where file_name is null

)

select * from final
