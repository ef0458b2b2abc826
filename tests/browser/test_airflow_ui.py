"""The Airflow UI as a data engineer uses it, in Chromium: sign in, the DAGs, a run triggered from the UI,
the dbt build's log, a model task's log, a model task cleared and built again alone, the dbt docs and the
KPI API's docs.

One server for the module (tests/browser/stack.py): a small generated dataset, the raw layer loaded by
``airflow dags test extract_sources``, then ``airflow standalone``. ``transform_warehouse`` is triggered
from the UI and runs under the scheduler; the later tests read what that run produced. Every step keeps a
screenshot in out/test-artifacts/browser/ and asserts on text the page shows.
"""

from __future__ import annotations

import re
import time
from urllib.parse import unquote

import httpx
import pytest
from playwright.sync_api import expect

from meridian.runtime import to_instant
from tests.browser.conftest import VIEWPORT, sign_in, wait_for_task
from tests.browser.stack import DAGS

pytestmark = pytest.mark.browser

RUN_TIMEOUT_S = 900  # a first build under the scheduler: minutes on a busy 2-core machine


def shot(page, artifacts, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def triggered_run(page, ui, artifacts) -> str:
    """Trigger transform_warehouse from its page (as-of: the extract run's), unpausing it; the new run's id."""
    page.goto(f"{ui.url}/dags/transform_warehouse", wait_until="domcontentloaded")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Trigger Dag - transform_warehouse")).to_be_visible()
    expect(dialog.get_by_text("Unpause transform_warehouse on trigger")).to_be_visible()
    dialog.get_by_role("textbox").last.fill(to_instant(ui.as_of).isoformat())
    shot(page, artifacts, "03-trigger-form")
    dialog.get_by_role("button", name="Trigger").click()
    page.wait_for_url(re.compile(r"/dags/transform_warehouse/runs/manual__"))
    return unquote(page.url.rsplit("/runs/", 1)[1].split("/")[0])


def test_a_wrong_password_is_refused(browser, ui, artifacts):
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        sign_in(page, ui, ui.password + "-wrong")
        expect(page.get_by_text("Invalid credentials")).to_be_visible()
        shot(page, artifacts, "01-wrong-password")
        assert "/auth/login" in page.url
        # still signed out: the DAG list sends the browser back to the login form
        page.goto(f"{ui.url}/dags", wait_until="domcontentloaded")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert "/auth/login" in page.url
    finally:
        context.close()


def test_signed_in_the_dag_list_shows_the_four_dags(page, ui, artifacts):
    page.goto(f"{ui.url}/dags", wait_until="domcontentloaded")
    expect(page.get_by_text(f"{len(DAGS)} Dags")).to_be_visible()
    for dag_id in DAGS:
        expect(page.get_by_role("link", name=dag_id, exact=True)).to_be_visible()
    shot(page, artifacts, "02-dag-list")


def test_transform_warehouse_triggered_from_the_ui_appears_in_its_runs(page, ui, artifacts, triggered_run):
    page.goto(f"{ui.url}/dags/transform_warehouse/runs", wait_until="domcontentloaded")
    row = page.get_by_role("row").filter(has_text=triggered_run)
    expect(row).to_be_visible()
    expect(row.get_by_test_id("table-cell-run_type")).to_have_text("Manual")
    expect(row.get_by_text(ui.username, exact=True)).to_be_visible()
    shot(page, artifacts, "04-run-triggered")


def test_the_kpi_api_docs_page_lists_its_endpoints(page, ui, artifacts):
    # the Swagger UI is served by the API itself: this machine reaches no CDN
    page.goto(f"{ui.url}/meridian/api/v1/docs", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name=re.compile("Meridian KPI API"))).to_be_visible()
    expect(page.get_by_text("/api/v1/payments/metrics", exact=True)).to_be_visible()
    expect(page.get_by_text("/api/v1/health", exact=True)).to_be_visible()
    shot(page, artifacts, "05-kpi-api-docs")


def test_the_build_models_log_shows_the_dbt_build(page, ui, artifacts, triggered_run):
    wait_for_task(ui, "transform_warehouse", triggered_run, "build_models", RUN_TIMEOUT_S)
    page.goto(f"{ui.url}/dags/transform_warehouse/runs/{triggered_run}/tasks/build_models",
              wait_until="domcontentloaded")
    # the log opens at its end: the build's summary and dbt's last lines
    expect(page.get_by_text(re.compile(r"dbt build: \d+ nodes in [\d.]+s, 0 failed; source freshness"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Finished running .* in \d+ hours \d+ minutes")).first).to_be_visible()
    shot(page, artifacts, "06-build-models-log-end")
    # one model's line found with the log's search box
    page.get_by_placeholder("Search logs...").fill("marts.fct_daily_kpis")
    expect(page.get_by_text(re.compile(r"OK created sql incremental model marts\.fct_daily_kpis")).first).to_be_visible()
    shot(page, artifacts, "07-build-models-log-model")


DOCS_TIMEOUT_MS = 180_000  # the docs site parses the whole manifest and catalog in the browser: slow on a busy machine


def test_the_dbt_docs_menu_item_shows_the_generated_site(page, ui, artifacts, triggered_run):
    wait_for_task(ui, "transform_warehouse", triggered_run, "generate_docs", RUN_TIMEOUT_S)
    page.goto(f"{ui.url}/dags", wait_until="domcontentloaded")
    page.get_by_role("link", name="dbt docs").click()
    page.wait_for_url(re.compile(r"/plugin/dbt-docs"))
    docs = page.frame_locator("iframe")
    # the site loaded in the UI's frame: its search box is there
    expect(docs.get_by_placeholder("Search for models...")).to_be_visible(timeout=DOCS_TIMEOUT_MS)
    shot(page, artifacts, "08-dbt-docs-in-the-ui")
    # the model's page by its address in the site (the search box's result list races its own title on a
    # busy machine): its relation in the warehouse and its description from the project's YAML
    page.goto(f"{ui.url}/dbt-docs/#!/model/model.meridian.fct_daily_kpis", wait_until="domcontentloaded")
    expect(page.get_by_text("warehouse.marts.fct_daily_kpis", exact=True)).to_be_visible(timeout=DOCS_TIMEOUT_MS)
    expect(page.get_by_text(re.compile(r"^Daily product, revenue and subscription KPIs per tenant\."))).to_be_visible(
        timeout=DOCS_TIMEOUT_MS)
    shot(page, artifacts, "09-dbt-docs-model")


MODEL_TASK = "fct_daily_kpis"


def task_instance(ui, run_id: str, task_id: str) -> dict:
    from tests.browser.stack import api_token

    headers = {"Authorization": f"Bearer {api_token(ui.url, ui.username, ui.password)}"}
    answer = httpx.get(f"{ui.url}/api/v2/dags/transform_warehouse/dagRuns/{run_id}/taskInstances/{task_id}",
                       headers=headers, timeout=30)
    answer.raise_for_status()
    return answer.json()


def test_a_model_tasks_log_shows_its_dbt_lines(page, ui, artifacts, triggered_run):
    """The model's own task: its lines of the run's dbt build (start, rows and timing), not the whole build."""
    wait_for_task(ui, "transform_warehouse", triggered_run, MODEL_TASK, RUN_TIMEOUT_S)
    page.goto(f"{ui.url}/dags/transform_warehouse/runs/{triggered_run}/tasks/{MODEL_TASK}",
              wait_until="domcontentloaded")
    expect(page.get_by_text(re.compile(r"START sql incremental model marts\.fct_daily_kpis")).first).to_be_visible()
    expect(page.get_by_text(re.compile(
        r"OK created sql incremental model marts\.fct_daily_kpis .*\[(SELECT|INSERT 0) \d+ in [\d.]+s\]")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"fct_daily_kpis: success, \d+ data test\(s\) passed")).first).to_be_visible()
    # the other models' lines are in their own tasks
    expect(page.get_by_text(re.compile(r"sql \w+ model marts\.fct_sessions "))).to_have_count(0)
    shot(page, artifacts, "10-model-task-log")
    keep_model_task_timing(ui, triggered_run, artifacts)


def keep_model_task_timing(ui, run_id: str, artifacts) -> None:
    """How long after the producer the model tasks ended, under the scheduler (a kept figure, not a check).

    Seconds after build_models' end: its reports written, the first, median and last model task's end; the
    load average beside them; the run's task logs (the trigger lines' timestamps) in model-task-logs/.
    """
    import json
    import os
    import shutil
    from datetime import datetime

    from meridian import db
    from tests.browser.stack import api_token

    wait_for_task(ui, "transform_warehouse", run_id, "publish_marts", RUN_TIMEOUT_S)
    headers = {"Authorization": f"Bearer {api_token(ui.url, ui.username, ui.password)}"}
    answer = httpx.get(f"{ui.url}/api/v2/dags/transform_warehouse/dagRuns/{run_id}/taskInstances",
                       params={"limit": 500}, headers=headers, timeout=30)
    answer.raise_for_status()
    ends = {ti["task_id"]: datetime.fromisoformat(ti["end_date"]) for ti in answer.json()["task_instances"]
            if ti["end_date"]}
    fixed = {"plan_transform", "build_models", "check_data_quality", "reconcile_batches", "generate_docs",
             "publish_marts"}
    models = [task for task in ends if task not in fixed]
    produced = ends["build_models"]
    after = sorted((ends[task] - produced).total_seconds() for task in models)
    with db.connection("warehouse") as conn, conn.cursor() as cur:
        cur.execute("select max(reported_at) from audit.dbt_model_reports where run_id = %s", (run_id,))
        [(reported,)] = cur.fetchall()
    figure = {"model_tasks": len(models), "after_build_models_s": after[-1],
              # the producer wrote its reports this long before it ended (negative: before)
              "reports_written_s": (reported - produced).total_seconds(),
              "first_s": after[0], "median_s": after[len(after) // 2],
              "load_average": list(os.getloadavg())}
    (artifacts / "model-task-timing.json").write_text(json.dumps(figure, indent=2) + "\n")
    # the run's task logs (each model task's trigger lines carry their timestamps) beside the figure
    logs = ui.home / "logs" / "dag_id=transform_warehouse" / f"run_id={run_id}"
    shutil.rmtree(artifacts / "model-task-logs", ignore_errors=True)
    shutil.copytree(logs, artifacts / "model-task-logs")


def test_one_model_task_cleared_builds_it_again_alone(page, ui, artifacts, triggered_run):
    """Cleared alone through the REST API (as the UI's Clear does), the task builds its model again and succeeds."""
    from tests.browser.stack import api_token

    wait_for_task(ui, "transform_warehouse", triggered_run, MODEL_TASK, RUN_TIMEOUT_S)
    before = task_instance(ui, triggered_run, MODEL_TASK)["try_number"]
    headers = {"Authorization": f"Bearer {api_token(ui.url, ui.username, ui.password)}"}
    answer = httpx.post(f"{ui.url}/api/v2/dags/transform_warehouse/clearTaskInstances", headers=headers, timeout=60,
                        json={"dry_run": False, "dag_run_id": triggered_run, "task_ids": [MODEL_TASK],
                              "include_upstream": False, "include_downstream": False, "only_failed": False})
    answer.raise_for_status()
    assert [ti["task_id"] for ti in answer.json()["task_instances"]] == [MODEL_TASK]
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        current = task_instance(ui, triggered_run, MODEL_TASK)
        if current["try_number"] > before and current["state"] == "success":
            break
        assert current["state"] not in ("failed", "upstream_failed"), current
        assert time.monotonic() < deadline, f"{MODEL_TASK} was not rebuilt within {RUN_TIMEOUT_S}s: {current}"
        time.sleep(2)
    # the other tasks were not run again
    assert task_instance(ui, triggered_run, "build_models")["try_number"] == 1
    page.goto(f"{ui.url}/dags/transform_warehouse/runs/{triggered_run}/tasks/{MODEL_TASK}",
              wait_until="domcontentloaded")
    # the log opens at the rebuild's end; its first lines found with the log's search box
    expect(page.get_by_text("Completed successfully").first).to_be_visible()
    page.get_by_placeholder("Search logs...").fill("again alone")
    expect(page.get_by_text(re.compile(r"building fct_daily_kpis again alone: dbt build --select fct_daily_kpis"))
           .first).to_be_visible()
    page.get_by_placeholder("Search logs...").fill("OK created sql incremental model")
    expect(page.get_by_text(re.compile(r"1 of \d+ OK created sql incremental model marts\.fct_daily_kpis")).first
           ).to_be_visible()
    shot(page, artifacts, "11-model-task-rebuilt-alone")
