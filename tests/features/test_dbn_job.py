"""A DBN job over HTTP on digits: validation at submission, progress per layer and epoch, a model of
kind dbn, the final linear probe; [0,1] data on a bernoulli job; out-of-range data refused at
submission."""

from __future__ import annotations

import numpy as np

from tests.api.helpers import error_of, ok
from tests.worker.dying import die_after


def test_dbn_job_on_digits(client, worker):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits", "params": {"test_fraction": 0.2}}), 201)
    body = {"kind": "dbn", "dataset_id": ds["id"], "model": {"layers": [16, 8]},
            "layers_training": [{"epochs": 20, "seed": 1, "batch_size": 20},
                                {"epochs": 15, "seed": 2, "method": "pcd", "batch_size": 20}]}
    job = ok(client.post("/v1/jobs", json=body), 202)
    assert job["progress"]["epochs"] == 35
    worker.run_until_idle()
    job = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert job["status"] == "succeeded", job
    layers = [(m["layer"], m["layer_epoch"]) for m in job["metrics"]]
    assert layers == [(1, e) for e in range(1, 21)] + [(2, e) for e in range(1, 16)]
    assert [m["epoch"] for m in job["metrics"]] == list(range(1, 36))
    model = ok(client.get(f"/v1/models/{job['model_id']}"))
    assert model["kind"] == "dbn" and model["info"] == {"layers": [64, 16, 8]} and model["n_hidden"] == 8
    for m in (model["metrics"], job["result"]):
        # 8 top units after 35 short epochs: far above chance (0.1), below the raw pixels' ~0.93
        assert 0.5 < m["linear_probe_accuracy"] <= 1 and 0.85 < m["linear_probe_accuracy_raw"] <= 1
        assert m["linear_probe_scored_on"] == "test"
    ll = ok(client.post(f"/v1/models/{model['id']}/log-likelihood",
                        json={"dataset_id": ds["id"], "split": "test", "limit": 20, "method": "exact"}))
    assert ll["method"].startswith("variational lower bound") and len(ll["log_likelihood"]) == 20
    r = client.get(f"/v1/models/{model['id']}/samples.png?n=4&steps=10&seed=0&sampler=gibbs")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"


def test_dbn_submission_errors(client):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    base = {"kind": "dbn", "dataset_id": ds["id"], "model": {"layers": [8, 4]}}
    r = client.post("/v1/jobs", json={**base, "training": {"epochs": 1}, "layers_training": [{}, {}]})
    assert r.status_code == 422 and "either" in r.text
    r = client.post("/v1/jobs", json={**base, "layers_training": [{}]})
    assert r.status_code == 422 and "1 entries for 2 layers" in r.text
    msg = error_of(client.post("/v1/jobs", json={**base, "model": {"layers": [8] * 30}}), 422)
    assert "RBM_MAX_DBN_LAYERS" in msg
    msg = error_of(client.post("/v1/jobs", json={**base, "layers_training": [{}, {"learn_sigma": True}]}), 422)
    assert "learn_sigma" in msg


def test_rbm_job_on_unit_interval_data_trains_and_probes_a_holdout(client, worker):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits", "params": {"binarize": "none"}}), 201)
    assert ds["value_type"] == "continuous"
    job = ok(client.post("/v1/jobs", json={"dataset_id": ds["id"], "model": {"n_hidden": 16},
                                           "training": {"epochs": 2}}), 202)
    worker.run_until_idle()
    job = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert job["status"] == "succeeded", job
    assert job["result"]["linear_probe_scored_on"] == "train-holdout"


def test_bernoulli_job_on_data_outside_unit_interval_is_a_422_at_submission(client):
    import io

    x = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, x)
    ds = ok(client.post("/v1/datasets", files={"file": ("x.npy", buf.getvalue())}), 201)
    for body in ({"dataset_id": ds["id"], "model": {"n_hidden": 4}},
                 {"kind": "dbn", "dataset_id": ds["id"], "model": {"layers": [4, 2]}}):
        msg = error_of(client.post("/v1/jobs", json=body), 422)
        assert f"{x.min():.4g}"[:4] in msg and "outside [0, 1]" in msg, msg


def test_dbn_job_resumed_mid_second_layer_equals_an_uninterrupted_run(client, ctx, worker):

    from safetensors.numpy import load as load_numpy


    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    body = {"kind": "dbn", "dataset_id": ds["id"], "model": {"layers": [12, 6]},
            "layers_training": [{"epochs": 2, "method": "pcd"}, {"epochs": 3, "method": "pcd", "seed": 5}]}

    def weights(job_id: str) -> dict:
        model_id = ok(client.get(f"/v1/jobs/{job_id}"))["model_id"]
        return load_numpy(client.get(f"/v1/models/{model_id}/weights").content)

    straight = ok(client.post("/v1/jobs", json=body), 202)["id"]
    worker.run_until_idle()
    reference = weights(straight)

    resumed = ok(client.post("/v1/jobs", json=body), 202)["id"]
    die_after(ctx, resumed, steps=3)  # dies after step 3: layer 2, epoch 1
    worker.run_until_idle()
    job = ok(client.get(f"/v1/jobs/{resumed}"))
    assert job["status"] == "succeeded" and job["attempts"] == 2
    assert [(m["layer"], m["layer_epoch"]) for m in job["metrics"]] == [(1, 1), (1, 2), (2, 1), (2, 2), (2, 3)]
    got = weights(resumed)
    assert set(got) == set(reference) and "layers.1.weight" in got
    for name in reference:
        np.testing.assert_array_equal(got[name], reference[name], err_msg=name)


def test_dbn_job_stores_each_layers_resolved_options_with_the_dbn_defaults(client):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    base = {"kind": "dbn", "dataset_id": ds["id"], "model": {"layers": [8, 4]}}
    job = ok(client.post("/v1/jobs", json=base), 202)
    spec = ok(client.get(f"/v1/jobs/{job['id']}"))["spec"]
    assert spec["training"] is None and len(spec["layers_training"]) == 2
    low, top = spec["layers_training"]
    assert (low["method"], top["method"]) == ("cd", "pt")
    assert low["sparsity_target"] == top["sparsity_target"] == 0.1 and low["sparsity_cost"] == 0.1
    assert low["batch_size"] == top["batch_size"] == ds["n_samples"] // 100  # 17 for 1,797 rows
    assert low["epochs"] == top["epochs"] == -(-15000 // -(-ds["n_samples"] // low["batch_size"]))  # 15,000 updates
    assert job["progress"]["epochs"] == low["epochs"] + top["epochs"]
    # what the request gives wins, for every layer; the rest is still filled in per layer
    job = ok(client.post("/v1/jobs", json={**base, "training": {"method": "pcd", "sparsity_cost": 0, "epochs": 2}}), 202)
    low, top = ok(client.get(f"/v1/jobs/{job['id']}"))["spec"]["layers_training"]
    assert low["method"] == top["method"] == "pcd" and low["sparsity_cost"] == top["sparsity_cost"] == 0
    assert low["epochs"] == top["epochs"] == 2 and top["sparsity_target"] == 0.1
    job = ok(client.post("/v1/jobs", json={**base, "layers_training": [{"epochs": 1}, {"epochs": 2, "method": "cd"}]}),
             202)
    low, top = ok(client.get(f"/v1/jobs/{job['id']}"))["spec"]["layers_training"]
    assert (low["method"], top["method"], low["epochs"], top["epochs"]) == ("cd", "cd", 1, 2)
    # a gaussian first layer keeps the gaussian RBM's defaults (method null: pcd in the trainer)
    cont = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits", "params": {"binarize": "none"}}), 201)
    job = ok(client.post("/v1/jobs", json={**base, "dataset_id": cont["id"], "model": {"layers": [8, 4],
                                                                                        "visible": "gaussian"}}), 202)
    low, top = ok(client.get(f"/v1/jobs/{job['id']}"))["spec"]["layers_training"]
    assert low["method"] is None and low["sparsity_target"] is None and top["method"] == "pt"
    assert low["batch_size"] == 100 and top["batch_size"] == 17  # the train kind's rule below, the DBN's above
