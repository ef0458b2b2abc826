"""Fixtures of the browser tests: one Airflow UI for the module, Debian's Chromium driven by Playwright.

Screenshots of every step go to ``out/test-artifacts/browser/`` in the checkout
(``MERIDIAN_TEST_ARTIFACTS`` overrides), kept after the run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.stack import AirflowUi, airflow_ui, api_token

CHROMIUM = "/usr/bin/chromium"
# no sandbox: the tests run as root in CI; no background networking: this machine's network is closed
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 60_000
ARTIFACTS = Path(os.environ.get("MERIDIAN_TEST_ARTIFACTS")
                 or Path(__file__).resolve().parents[2] / "out" / "test-artifacts" / "browser")


@pytest.fixture(scope="module")
def ui() -> Iterator[AirflowUi]:
    with airflow_ui() as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import expect, sync_playwright

    # a UI page on a busy 2-core machine can take many seconds to render
    expect.set_options(timeout=TIMEOUT_MS)

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: the browser tests drive Debian's chromium (`make system-deps` installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    return ARTIFACTS


def sign_in(page, ui: AirflowUi, password: str) -> None:
    """Fill the simple auth manager's login form and press Sign in."""
    page.goto(f"{ui.url}/", wait_until="domcontentloaded")
    page.get_by_label("Username").fill(ui.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture(scope="module")
def page(browser, ui: AirflowUi):
    """A page signed in through the login form (as the admin with the generated password)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    signed_in = context.new_page()
    sign_in(signed_in, ui, ui.password)
    signed_in.wait_for_url(lambda url: "/auth/login" not in url)
    yield signed_in
    context.close()


def wait_for_task(ui: AirflowUi, dag_id: str, run_id: str, task_id: str, timeout_s: float = 300) -> dict:
    """The task instance once it succeeded, read from Airflow's REST API; fails naming its state and log otherwise."""
    headers = {"Authorization": f"Bearer {api_token(ui.url, ui.username, ui.password)}"}
    path = f"{ui.url}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
    deadline = time.monotonic() + timeout_s
    state = None
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(path, headers=headers, timeout=30)
        except httpx.TimeoutException:  # the API server of a loaded 2-core machine: ask again until the deadline
            continue
        if answer.status_code == 200:
            state = answer.json().get("state")
            if state == "success":
                return answer.json()
            if state in ("failed", "upstream_failed", "up_for_retry"):
                break
        time.sleep(2)
    logs = ui.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    raise AssertionError(f"{dag_id}.{task_id} of {run_id} is {state!r}, not success, after up to {timeout_s:.0f}s; "
                         f"task logs in {logs}, server log {ui.home / 'standalone.log'}")
