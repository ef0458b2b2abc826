{#- The pre-hook of a base model built by changed_landed_versions: on an
    incremental run, delete the table's rows without an id (delete+insert on id
    cannot match them; the model emits all of them again). Empty otherwise. -#}
{% macro delete_keyless_landed_rows() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where id is null
    {%- endif -%}
{%- endmacro %}
