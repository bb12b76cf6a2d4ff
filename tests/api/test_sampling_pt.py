"""Sampling over HTTP: parallel tempering, equilibrium diagnostics, the resolved plan, stored chains."""

from __future__ import annotations

import numpy as np
import torch

from app.data.builtin_bars_stripes import bars_and_stripes_patterns
from app.rbm.io import to_safetensors_bytes
from app.rbm.model import BernoulliRBM
from app.rbm.training import Trainer, TrainingConfig
from tests.api.helpers import error_of, ok


def bas_model() -> BernoulliRBM:
    data = torch.from_numpy(bars_and_stripes_patterns(4).astype(np.float32)).repeat(20, 1)
    model = BernoulliRBM.init_random(16, 16, generator=torch.Generator().manual_seed(0), data=data)
    Trainer(model, data, TrainingConfig(method="pcd", epochs=40, batch_size=30, learning_rate=0.1, seed=0)).fit()
    return model


def upload(client, model, chains=None) -> str:
    weights = to_safetensors_bytes(model, chains=chains)
    return ok(client.post("/v1/models", files={"file": ("w.safetensors", weights)}), 201)["id"]


def test_pt_over_http_returns_swap_acceptance_and_diagnostics(client):
    mid = upload(client, bas_model())
    body = ok(client.post(f"/v1/models/{mid}/samples",
                          json={"n_samples": 200, "sampler": "pt", "n_replicas": 8, "steps": 400, "seed": 1}))
    assert body["sampler"] == "pt" and body["n_replicas"] == 8 and len(body["betas"]) == 8
    assert body["betas"][0] == 1.0 and body["betas"][-1] == 0.0
    assert len(body["swap_acceptance"]) == 7 and all(0 <= a <= 1 for a in body["swap_acceptance"])
    d = body["diagnostics"]
    assert d["scalar"] == "free_energy" and d["steps"] == 400 and d["rhat"] is not None and d["tau"] > 0
    assert d["equilibrated"] is True, d
    assert np.isin(np.asarray(body["samples"]), [0.0, 1.0]).all()


def test_a_two_sweep_gibbs_request_is_not_equilibrated(client):
    mid = upload(client, bas_model())
    body = ok(client.post(f"/v1/models/{mid}/samples",
                          json={"n_samples": 50, "sampler": "gibbs", "steps": 2, "seed": 1}))
    assert body["sampler"] == "gibbs" and body["steps"] == 2 and body["init"] == "random"
    assert body["diagnostics"]["equilibrated"] is False
    assert body["swap_acceptance"] is None


def test_default_request_is_pt_from_random_starts_or_from_stored_chains(client, ctx):
    model = bas_model()
    bare = upload(client, model)
    body = ok(client.post(f"/v1/models/{bare}/samples", json={"n_samples": 100, "seed": 2}))
    assert body["sampler"] == "pt" and body["init"] == "random" and body["n_chains"] <= 100
    assert len(body["samples"]) == 100 and body["steps"] >= 50
    rounds = -(-100 // body["n_chains"])
    assert body["diagnostics"]["steps"] == body["steps"] + (rounds - 1) * body["thin"]

    # a model stored with its chains (as the train runner stores them): default = PT started from them
    with_chains = upload(client, model)
    from app.db.tables import Model

    with ctx.db.session() as session:
        key = session.get(Model, with_chains).weights_key
    chains = torch.from_numpy(bars_and_stripes_patterns(4).astype(np.float32))
    ctx.store.put_bytes(key, to_safetensors_bytes(model, chains=chains))
    body = ok(client.post(f"/v1/models/{with_chains}/samples", json={"n_samples": 30, "seed": 2}))
    assert body["sampler"] == "pt" and body["init"] == "chains" and body["n_chains"] == 30
    assert body["diagnostics"]["equilibrated"] is True
    body = ok(client.post(f"/v1/models/{with_chains}/samples",
                          json={"n_samples": 30, "sampler": "gibbs", "init": "chains", "steps": 0, "seed": 3}))
    got = {tuple(r) for r in body["samples"]}
    assert got == {tuple(map(float, r)) for r in chains.tolist()}  # steps=0: the stored chains themselves


def test_bad_ladders_and_options_are_422(client):
    mid = upload(client, bas_model())
    msg = error_of(client.post(f"/v1/models/{mid}/samples", json={"sampler": "pt", "betas": [0.5, 1.0]}), 422)
    assert "decrease" in msg
    msg = error_of(client.post(f"/v1/models/{mid}/samples", json={"sampler": "gibbs", "betas": [1.0, 0.0]}), 422)
    assert "sampler='pt'" in msg
    msg = error_of(client.post(f"/v1/models/{mid}/samples", json={"init": "chains"}), 422)
    assert "chains" in msg


def test_replicas_count_in_the_work_limit(client, settings):
    mid = upload(client, bas_model())
    settings.max_sampling_work = 16 * 100 * 10  # exactly 10 chains x 100 sweeps of 16 units
    ok(client.post(f"/v1/models/{mid}/samples", json={"n_samples": 10, "sampler": "gibbs", "steps": 100}))
    msg = error_of(client.post(f"/v1/models/{mid}/samples",
                               json={"n_samples": 10, "sampler": "pt", "n_replicas": 2, "steps": 100}), 413)
    assert "replicas" in msg


def test_a_pt_training_job_reports_the_final_evaluation_and_samples_start_from_its_chains(client, worker):
    from tests.api.helpers import digits_dataset, train_model

    ds = digits_dataset(client)
    job = train_model(client, worker, ds["id"], method="pt", n_replicas=4, n_chains=20,
                      model={"n_hidden": 12})
    result = job["result"]
    assert result["final_log_z_method"] == "exact" and result["final_ll_train"] < 0
    assert result["final_free_energy_samples"] is not None and result["final_free_energy_data"] is not None
    assert 0 <= result["final_swap_acceptance_min"] <= 1
    body = ok(client.post(f"/v1/models/{job['model_id']}/samples", json={"n_samples": 20, "seed": 1}))
    assert body["sampler"] == "pt" and body["init"] == "chains" and body["diagnostics"]["steps"] == body["steps"]
    from app.rbm.io import read_chains, read_tempering_base

    weights = client.get(f"/v1/models/{job['model_id']}/weights").content
    assert read_chains(weights).shape[1] == 64 and read_tempering_base(weights)[0].shape == (64,)
