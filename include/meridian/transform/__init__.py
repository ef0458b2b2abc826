"""The transform step: deciding how a run builds (plan) and running dbt in-process (dbt_run)."""
