"""The `rbm` command line against the app: each command's output and files."""

from __future__ import annotations

import re
import threading

import numpy as np

from app.client import cli
from tests.client.reference import NumpyRBM
from tests.pictures.grid import cells

from tests.client.cli_harness import run, runner


def test_datasets_train_watch_sample_free_energy(rbm, worker, tmp_path):
    out = run("datasets", "add", "digits", "--param", "binarize=threshold", "--param", "test_fraction=0.1", "--name", "d")
    ds_id = re.search(r"dataset (\w+): d, 1617 x 64", out).group(1)
    assert rbm.dataset(ds_id)["params"]["test_fraction"] == 0.1
    assert ds_id in run("datasets", "ls")

    trainer = threading.Timer(0.3, worker.run_until_idle)  # the worker picks the job up while --watch listens
    trainer.start()
    out = run("train", "--dataset", ds_id, "--hidden", "8", "--epochs", "3", "--lr", "0.05", "--watch")
    trainer.join()
    job_id = re.search(r"job (\w+) queued", out).group(1)
    model_id = re.search(r"succeeded: model (\w+)", out).group(1)
    assert "3/3" in out
    job = rbm.job(job_id)
    assert job["model_id"] == model_id and job["training"]["learning_rate"] == 0.05
    assert job_id[:8] in run("jobs", "ls") and "succeeded" in run("jobs", "ls", "--status", "succeeded")
    assert "succeeded" in run("jobs", "watch", job_id)
    assert model_id in run("models", "ls")

    png, npy = tmp_path / "s.png", tmp_path / "s.npy"
    run("sample", model_id, "-n", "4", "--steps", "20", "--seed", "3", "--png", str(png), "--npy", str(npy))
    samples = np.load(npy)
    assert samples.shape == (4, 64) and set(np.unique(samples)) <= {0.0, 1.0}
    np.testing.assert_array_equal(cells(png.read_bytes(), 4, 8, 8).reshape(4, 64), samples)
    printed = run("sample", model_id, "-n", "2", "--steps", "5").split()
    assert len(printed) == 2 and all(len(r) == 64 and set(r) <= {"0", "1"} for r in printed)

    data = np.random.default_rng(1).integers(0, 2, size=(3, 64)).astype(np.float32)
    np.save(tmp_path / "v.npy", data)
    values = [float(x) for x in run("free-energy", model_id, str(tmp_path / "v.npy")).split()]
    np.testing.assert_allclose(values, NumpyRBM(rbm.weights(model_id)).free_energy(data.astype(float)), rtol=1e-5)


def test_failed_and_cancelled_jobs_exit_nonzero(rbm):
    ds = rbm.create_builtin("bars-and-stripes", {"n": 3})
    job = rbm.submit_job(ds["id"], 4)
    assert "cancelled" in run("jobs", "cancel", job["id"])
    assert "cancelled" in run("jobs", "watch", job["id"], code=1)


def test_server_errors_are_one_line_and_exit_1(rbm):
    result = runner.invoke(cli.app, ["train", "--dataset", "missing", "--hidden", "4"])
    assert result.exit_code == 1 and "404 not_found" in result.output and "Traceback" not in result.output
    assert "key=value" in run("datasets", "add", "digits", "--param", "oops", code=1)
    result = runner.invoke(cli.app, ["datasets", "add", "no-such-builtin"])
    assert result.exit_code == 1 and "error" in result.output


def test_estimate_runs_log_z_as_a_job_and_prints_the_result(rbm, client, worker):
    import threading

    from tests.api.helpers import train_model, upload_array

    ds = upload_array(client, (np.random.default_rng(0).random((50, 6)) < 0.5).astype(np.float32))
    model_id = train_model(client, worker, ds["id"])["model_id"]
    runner_thread = threading.Timer(0.3, worker.run_until_idle)
    runner_thread.start()
    out = run("estimate", model_id, "--method", "exact", "--watch")
    runner_thread.join()
    assert "queued" in out and '"method": "exact"' in out and "log_z" in out


def test_submit_takes_any_job_kind_from_a_json_file(rbm, worker, tmp_path):
    import json
    import threading

    spec = tmp_path / "vmc.json"
    spec.write_text(json.dumps({"kind": "vmc", "system": {"type": "tfim", "n_spins": 4, "h": 1.0, "J": 1.0},
                                "vmc": {"iterations": 5, "n_samples": 100, "n_chains": 20, "eval_samples": 500}}))
    runner_thread = threading.Timer(0.3, worker.run_until_idle)
    runner_thread.start()
    out = run("submit", str(spec), "--watch")
    runner_thread.join()
    assert "(vmc)" in out and "succeeded" in out and '"exact_energy"' in out
