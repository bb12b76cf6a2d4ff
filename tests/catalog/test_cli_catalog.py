"""Names, tags, filters, compare and sweeps through the Python client and the `rbm` CLI."""

from __future__ import annotations

import re



from tests.client.cli_harness import run


def test_client_names_tags_filters_compare(rbm, worker):
    ds = rbm.create_builtin("digits", tags={"team": "vision"})
    other = rbm.create_builtin("bars-and-stripes")
    assert [d["id"] for d in rbm.datasets(tags={"team": "vision"})["items"]] == [ds["id"]]
    assert [d["id"] for d in rbm.datasets(builtin="bars-and-stripes")["items"]] == [other["id"]]
    a = rbm.submit_job(ds["id"], 4, epochs=1, name="a", tags={"run": "1"}, priority=2)
    b = rbm.submit_job(ds["id"], 8, epochs=1, name="b", tags={"run": "2"})
    assert a["priority"] == 2 and a["tags"] == {"run": "1"}
    worker.run_until_idle()
    assert [j["id"] for j in rbm.jobs(tags={"run": "2"})["items"]] == [b["id"]]
    assert [j["id"] for j in rbm.jobs(dataset_id=ds["id"], kind="train", name="a")["items"]] == [a["id"]]
    model_a = rbm.job(a["id"])["model_id"]
    assert [m["id"] for m in rbm.models(tags={"run": "1"})["items"]] == [model_a]
    assert rbm.update_model(model_a, name="best")["name"] == "best"
    cmp = rbm.compare([a["id"], b["id"]])
    assert cmp["options"]["model.n_hidden"] == [4, 8] and cmp["differing"] == ["model.n_hidden"]
    assert rbm.curves_png(a["id"], [b["id"]])[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_names_tags_wait_compare_and_sweeps(rbm, worker, tmp_path):
    out = run("datasets", "add", "digits", "--name", "dig", "--tag", "team:vision")
    ds_id = re.search(r"dataset (\w+): dig", out).group(1)
    assert "team:vision" in run("datasets", "ls", "--tag", "team:vision")
    assert ds_id not in run("datasets", "ls", "--tag", "team:nobody")
    job_a = re.search(r"job (\w+) queued", run("train", "-d", ds_id, "--hidden", "4", "--epochs", "1",
                                               "--name", "run-a", "--tag", "team:vision")).group(1)
    job_b = re.search(r"job (\w+) queued", run("train", "-d", ds_id, "--hidden", "8", "--epochs", "1",
                                               "--name", "run-b")).group(1)
    worker.run_until_idle()
    model = run("jobs", "wait", job_a).strip().splitlines()[-1]
    assert model == rbm.job(job_a)["model_id"]
    listing = run("jobs", "ls", "--tag", "team:vision")
    assert "run-a" in listing and "run-b" not in listing
    assert "run-a" in run("models", "ls") and model in run("models", "ls", "--tag", "team:vision")
    assert "renamed" in run("models", "tag", model, "--name", "renamed", "--tag", "stage:best")
    compared = run("jobs", "compare", job_a, job_b, "--png", str(tmp_path / "c.png"))
    assert "model.n_hidden" in compared and "reconstruction_error" in compared
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"

    out = run("sweeps", "start", "-d", ds_id, "--hidden", "4", "--epochs", "1",
              "--grid", "training.learning_rate=0.1,0.01", "--grid", "model.n_hidden=4,8", "--name", "sw")
    sweep_id = re.search(r"sweep (\w+): 4 jobs queued", out).group(1)
    worker.run_until_idle()
    shown = run("sweeps", "show", sweep_id)
    best = rbm.sweep(sweep_id)["best"]
    assert f"best: model {best['model_id']}" in shown and shown.count("succeeded") == 4
    assert sweep_id in run("sweeps", "ls")
    assert "sw-1" in run("jobs", "ls", "--sweep", sweep_id)
