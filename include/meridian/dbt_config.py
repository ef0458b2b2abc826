"""Cosmos configuration for the dbt project, shared by the DAGs that run dbt.

The DAG renders from ``dbt_project/target/manifest.json`` (built once by
``meridian dbt-parse``, which `make install` runs), not by parsing dbt at every
DAG parse; without a manifest Cosmos falls back to ``dbt ls``. dbt reads its
connection from dbt_project/profiles.yml, whose variables are filled at run
time from the Airflow connection ``warehouse`` (``{{ conn.warehouse.* }}``),
so the profile works with or without a password and no secret is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meridian.config import WAREHOUSE_CONN_ID, settings

AS_OF_TASK_ID = "resolve_as_of"


def manifest_path() -> Path:
    return settings().dbt_project_dir / "target" / "manifest.json"


def dbt_env_templates() -> dict[str, str]:
    conn = f"conn.{WAREHOUSE_CONN_ID}"
    return {
        "MERIDIAN_WAREHOUSE_HOST": f"{{{{ {conn}.host }}}}",
        "MERIDIAN_WAREHOUSE_PORT": f"{{{{ {conn}.port or 5432 }}}}",
        "MERIDIAN_WAREHOUSE_USER": f"{{{{ {conn}.login }}}}",
        "MERIDIAN_WAREHOUSE_PASSWORD": f"{{{{ {conn}.password or '' }}}}",
        "MERIDIAN_WAREHOUSE_DB": f"{{{{ {conn}.schema }}}}",
        "PGTZ": "UTC",  # libpq sets the session time zone: marts are UTC calendar days
    }


def cosmos_kwargs() -> dict[str, Any]:
    """Keyword arguments for a Cosmos DbtTaskGroup over the whole project."""
    from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    project_dir = settings().dbt_project_dir
    manifest = manifest_path()
    has_manifest = manifest.exists()
    return {
        "project_config": ProjectConfig(
            dbt_project_path=project_dir,
            manifest_path=manifest if has_manifest else None,
            install_dbt_deps=False,
        ),
        "profile_config": ProfileConfig(
            profile_name="meridian",
            target_name="dev",
            profiles_yml_filepath=project_dir / "profiles.yml",
        ),
        "execution_config": ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.DBT_RUNNER,
        ),
        "render_config": RenderConfig(
            load_method=LoadMode.DBT_MANIFEST if has_manifest else LoadMode.DBT_LS,
            test_behavior=TestBehavior.BUILD,
            # a test over several models (the singular invariant tests) runs in a task of its own once all
            # of them are built, instead of inside the first parent's build
            should_detach_multiple_parents_tests=True,
            emit_datasets=False,
        ),
        "operator_args": {
            "install_deps": False,
            "append_env": True,
            "env": dbt_env_templates(),
            "vars": {"as_of_date": f"{{{{ ti.xcom_pull(task_ids='{AS_OF_TASK_ID}') }}}}"},
        },
    }
