{#- The rows of `relation` an incremental run touched, as a predicate, when the
    test's model, seed or snapshot for that relation has `meta.tested_rows` and
    the run passes var tested_rows_since (the end of the last successful build;
    meridian.transform.dbt_run passes it on incremental runs only); else ''.

    meta.tested_rows names one of
      added_after: a column stamped with the dbt invocation that wrote the row
                   (run_started_at): rows written after the last successful
                   build, by this run or a failed one since;
      in_window:   the date or timestamp column the model rebuilds from
                   incremental_window_start() on (delete+insert on its window);
    and optionally
      key:         a column or list of columns: every row that shares its key
                   with a touched row, so a uniqueness test still sees an older
                   row the new one duplicates (the touched rows are always in).
    Each row a test could fail on and the run wrote is among these rows. -#}
{% macro tested_rows_condition(relation) -%}
    {%- set since = var('tested_rows_since', '') -%}
    {%- if not since or model is not mapping -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set tested = namespace(meta=none) -%}
    {%- for uid in model.get('depends_on', {}).get('nodes', []) -%}
        {%- set node = graph.nodes.get(uid) -%}
        {%- if node and (node.schema | lower) == (relation.schema | lower)
              and ((node.alias or node.name) | lower) == (relation.identifier | lower) -%}
            {%- set tested.meta = node.config.get('meta', {}).get('tested_rows') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set rows = tested.meta -%}
    {%- if not rows -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- if rows.get('added_after') -%}
        {%- set touched = rows['added_after'] ~ " > cast('" ~ since ~ "' as timestamptz)" -%}
    {%- elif rows.get('in_window') -%}
        {%- set touched = rows['in_window'] ~ ' >= ' ~ incremental_window_start() -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("meta.tested_rows of " ~ relation ~ " needs added_after or in_window, got " ~ rows) }}
    {%- endif -%}
    {%- set key = rows.get('key') -%}
    {%- if key -%}
        {%- set columns = ([key] if key is string else key) | join(', ') -%}
        {#- the touched rows themselves too: a null key matches no `in` -#}
        {%- do return('(' ~ touched ~ ' or (' ~ columns ~ ') in (select ' ~ columns ~ ' from ' ~ relation
                      ~ ' where ' ~ touched ~ '))') -%}
    {%- endif -%}
    {%- do return(touched) -%}
{%- endmacro %}
