{#- The base_app__events rows staged after the latest stamp the model's table holds (its transformed_at):
    the rows of the batches an incremental run adds. The stamp is unknown when the query is planned: alone,
    `_transformed_at > (subquery)` is estimated at a third of base_app__events and planned as a scan of
    every matching event; bounded on both sides it is estimated as a narrow range and read from the
    _transformed_at index (the new rows only). -#}
{% macro staged_since_built() -%}
    _transformed_at > (
        select coalesce(max(built.transformed_at), '-infinity')
        from {{ this }} as built
    )
    and _transformed_at < 'infinity'
{%- endmacro %}
