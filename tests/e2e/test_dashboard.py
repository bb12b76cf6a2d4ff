"""The dashboard in a real browser (Debian's chromium driven by Playwright) against a real
`rbm-service serve`: start a job from the form, watch its progress bar reach 100% through the
event stream, see the model's samples picture load; then again with API keys on.

Artifacts: test-artifacts/dashboard.png and test-artifacts/samples-digits.png; with
RBM_UPDATE_DOCS=1 they are also copied to docs/ (the README's pictures)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.client.server import running_server
from tests.e2e.browser import skip_reason

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

if skip_reason():
    pytest.skip(skip_reason(), allow_module_level=True)

from playwright.sync_api import Page, expect  # noqa: E402

#: Real processes or a browser, tens of seconds each: scripts/test.sh runs them; -m "not slow" skips them.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("dashboard")
    with running_server(data_dir) as url:
        yield url, data_dir


def train_from_form(page: Page, epochs: int, hidden: int, name: str = "", tags: str = "",
                    dataset: str = "builtin:digits") -> str:
    """Fill the form (a new digits data set unless ``dataset`` names one), submit, return the new job's id."""
    expect(page.locator(f"#dataset option[value='{dataset}']")).to_have_count(1)
    page.select_option("#dataset", dataset)
    page.fill("#n-hidden", str(hidden))
    page.fill("#epochs", str(epochs))
    page.fill("#job-name", name)
    page.fill("#job-tags", tags)
    page.fill("#sweep", "")
    page.evaluate("document.querySelector('#message').textContent = ''")  # not the previous job's message
    page.click("#train")
    message = page.locator("#message")
    expect(message).to_have_text(re.compile(r"job [0-9a-f]{8} queued"), timeout=30_000)
    short = message.inner_text().split()[1]
    # the page names the job it queued; its row may appear a moment later (the list reloads)
    row = page.locator(f"#jobs tr[id^='job-{short}']")
    expect(row).to_have_count(1, timeout=30_000)
    return (row.get_attribute("id") or "").removeprefix("job-")


def see_job_finish_and_samples(page: Page, job_id: str) -> str:
    row = page.locator(f"#job-{job_id}")
    expect(row.locator(".bar")).to_have_attribute("data-progress", "100", timeout=90_000)
    # after the last epoch: the final evaluation and the probe (a few seconds on digits)
    expect(row.locator(".status")).to_have_text("succeeded", timeout=120_000)
    model_id = page.evaluate("async (id) => (await (await fetch(`/v1/jobs/${id}`, {headers: "
                             "localStorage.getItem('rbm-api-key') ? {Authorization: 'Bearer ' + "
                             "localStorage.getItem('rbm-api-key')} : {}})).json()).model_id", job_id)
    img = page.locator(f"#model-{model_id} img.samples")
    expect(img).to_have_count(1, timeout=30_000)
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=img.element_handle(), timeout=60_000)
    assert img.evaluate("img => img.naturalWidth") > 0
    filters = page.locator(f"#model-{model_id} img.filters")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=filters.element_handle(), timeout=60_000)
    return model_id


def test_train_from_the_form_and_watch_it_finish(server, page):
    url, _ = server
    started = time.monotonic()
    page.goto(url + "/")
    job_id = train_from_form(page, epochs=30, hidden=64)
    # the bar moves through the event stream before the job ends (the page does not poll)
    expect(page.locator(f"#job-{job_id} .pct")).not_to_have_text("", timeout=60_000)
    model_id = see_job_finish_and_samples(page, job_id)
    elapsed = time.monotonic() - started

    ARTIFACTS.mkdir(exist_ok=True)
    samples = httpx.get(f"{url}/v1/models/{model_id}/samples.png", params={"n": 64, "steps": 1000, "seed": 0}, timeout=60)
    assert samples.status_code == 200
    (ARTIFACTS / "samples-digits.png").write_bytes(samples.content)
    if os.environ.get("RBM_UPDATE_DOCS") == "1":
        shutil.copyfile(ARTIFACTS / "samples-digits.png", ROOT / "docs" / "samples-digits.png")
    print(f"\nbrowser: job submitted, trained 30 epochs and samples shown in {elapsed:.1f}s")


def test_names_tags_filters_compare_sweeps_diagnostics_and_delete(server, page):
    url, _ = server
    page.on("dialog", lambda dialog: dialog.accept())  # the delete buttons ask first
    page.goto(url + "/")
    job_a = train_from_form(page, epochs=3, hidden=8, name="dash-a", tags="team:vision")
    see_job_finish_and_samples(page, job_a)
    dataset_id = httpx.get(f"{url}/v1/jobs/{job_a}").json()["dataset_id"]
    job_b = train_from_form(page, epochs=3, hidden=16, name="dash-b", tags="team:audio", dataset=f"dataset:{dataset_id}")
    model_b = see_job_finish_and_samples(page, job_b)

    # newest first, names, tags and dataset ids shown
    rows = page.locator("#jobs tr")
    expect(rows.first).to_have_id(f"job-{job_b}")
    expect(page.locator(f"#job-{job_a} td.name")).to_have_text("dash-a")
    expect(page.locator(f"#job-{job_a}")).to_contain_text("team:vision")
    expect(page.locator(f"#dataset-{dataset_id}")).to_contain_text(dataset_id[:8])
    # the sampler's diagnostics under the samples
    expect(page.locator(f"#model-{model_b} .diag")).to_contain_text("R-hat", timeout=30_000)

    # filter by tag: jobs and models of the other tag disappear
    page.fill("#filter-tag", "team:vision")
    page.click("#apply-filter")
    expect(page.locator(f"#job-{job_b}")).to_have_count(0)
    expect(page.locator(f"#job-{job_a}")).to_have_count(1)
    expect(page.locator(f"#model-{model_b}")).to_have_count(0)
    page.click("#clear-filter")
    expect(page.locator(f"#job-{job_b}")).to_have_count(1)

    # compare: the differing option highlighted, both runs' curves overlaid
    page.check(f"#job-{job_a} input.pick")
    page.check(f"#job-{job_b} input.pick")
    page.click("#compare-button")
    differs = page.locator("#compare-table tr.differs")
    expect(differs.filter(has_text="model.n_hidden")).to_have_count(1)
    expect(page.locator("#compare-table")).to_contain_text("reconstruction_error")
    overlay = page.locator("#compare img.overlay")
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=overlay.element_handle(), timeout=60_000)

    # a sweep from the form: two learning rates, ranked, the best model named
    page.select_option("#dataset", f"dataset:{dataset_id}")
    page.fill("#n-hidden", "8")
    page.fill("#epochs", "2")
    page.fill("#job-name", "dash-sweep")
    page.fill("#job-tags", "")
    page.fill("#sweep", "training.learning_rate=0.1|0.05")
    page.evaluate("document.querySelector('#message').textContent = ''")
    page.click("#train")
    expect(page.locator("#message")).to_have_text(re.compile(r"sweep [0-9a-f]{8} queued: 2 jobs"), timeout=30_000)
    sweep_id = httpx.get(f"{url}/v1/sweeps").json()["items"][0]["id"]
    expect(page.locator(f"#sweep-{sweep_id} .counts")).to_have_text("2/2 succeeded", timeout=120_000)
    best = httpx.get(f"{url}/v1/sweeps/{sweep_id}").json()["best"]
    expect(page.locator(f"#sweep-{sweep_id} .best")).to_contain_text(best["model_id"][:8])
    page.click(f"#sweep-{sweep_id} a")
    expect(page.locator("#sweep-detail tr.best")).to_contain_text(best["name"])

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    if os.environ.get("RBM_UPDATE_DOCS") == "1":
        shutil.copyfile(ARTIFACTS / "dashboard.png", ROOT / "docs" / "dashboard.png")

    # delete a model (confirmed): its card goes, the API no longer has it
    page.click(f"#model-{model_b} button.danger")
    expect(page.locator(f"#model-{model_b}")).to_have_count(0)
    assert httpx.get(f"{url}/v1/models/{model_b}").status_code == 404


def test_with_api_keys_on_the_page_sends_the_stored_key(server, page):
    url, data_dir = server
    created = subprocess.run([sys.executable, "-m", "app.cli", "keys", "create", "--scope", "admin", "--name", "e2e"],
                             env={**os.environ, "RBM_DATA_DIR": str(data_dir)}, capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()

    page.goto(url + "/")
    expect(page.locator("#message")).to_contain_text("401", timeout=30_000)  # no key yet: the API refuses
    page.fill("#api-key", key)
    page.click("#save-key")
    expect(page.locator("#key-state")).to_have_text("key saved in this browser")
    page.reload()  # the key survives in localStorage
    job_id = train_from_form(page, epochs=3, hidden=16)
    see_job_finish_and_samples(page, job_id)
