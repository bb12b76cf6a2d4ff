"""Real-valued data through the API (issue 18): dequantised built-ins, a gaussian job with the
defaults, and every answer in the data's units (checked against numpy on the exported weights)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import load as st_load_np

from tests.api.helpers import error_of, ok, train_model


def _dequantised_digits(client) -> dict:
    body = {"builtin": "digits", "params": {"binarize": "none", "dequantize": True, "test_fraction": 0.2}}
    return ok(client.post("/v1/datasets/builtin", json=body), 201)


def test_dequantized_digits_fill_the_open_unit_interval(client):
    ds = _dequantised_digits(client)
    low, high = ds["info"]["value_range"]
    assert 0.0 < low < 1 / 17 and 16 / 17 < high < 1.0
    assert ds["value_type"] == "continuous"


def test_dequantize_without_real_values_is_a_422(client):
    body = {"builtin": "digits", "params": {"dequantize": True}}
    assert "binarize" in error_of(client.post("/v1/datasets/builtin", json=body), 422)


@pytest.mark.parametrize("standardize", [None, True], ids=["default-whiten", "diagonal"])
def test_gaussian_job_with_defaults_answers_in_the_data_units(client, worker, standardize):
    ds = _dequantised_digits(client)
    spec = {"visible": "gaussian", "n_hidden": 6, **({} if standardize is None else {"standardize": standardize})}
    job = train_model(client, worker, ds["id"], model=spec, epochs=3)
    assert job["training"]["epochs"] == 3
    model_id = job["model_id"]
    blob = client.get(f"/v1/models/{model_id}/weights").content
    t = st_load_np(blob)
    assert {"visible_offset", "visible_scale"} <= set(t)  # standardised by default, stored with the model
    m, c = t["visible_offset"].astype(np.float64), t["visible_scale"].astype(np.float64)
    W, a, b = (t[k].astype(np.float64) for k in ("weight", "visible_bias", "hidden_bias"))
    s = np.exp(t["visible_log_sigma"].astype(np.float64))
    # whitened by default: the parameters are over y = v R (R orthogonal, the data's principal axes)
    R = t["visible_rotation"].astype(np.float64) if standardize is None else np.eye(64)
    assert ("visible_rotation" in t) == (standardize is None)
    np.testing.assert_allclose(R.T @ R, np.eye(64), atol=1e-5)
    # the data's mean and std (test split excluded) are the stored standardisation
    rows = ok(client.post(f"/v1/models/{model_id}/samples", json={"n_samples": 200, "steps": 50, "seed": 1}))
    x = np.asarray(rows["samples"], dtype=np.float64)
    assert 0.2 < x.mean() < 0.6  # data units (pixels in (0, 1)), not standard units (mean 0)
    pixel_mean = m @ R.T
    assert np.all((0.0 < pixel_mean) & (pixel_mean < 1.0)) and np.all(c > 0)
    # free energy in numpy from the exported parameters
    v = x[:5]
    y = v @ R
    inv_var = 1.0 / s ** 2
    f_np = 0.5 * (((y - a) ** 2) * inv_var).sum(1) - np.logaddexp(0, b + (y * inv_var) @ W).sum(1)
    f_api = ok(client.post(f"/v1/models/{model_id}/free-energy", json={"data": v.tolist()}))["free_energy"]
    np.testing.assert_allclose(f_api, f_np, rtol=1e-4, atol=1e-3)
    # log Z by enumerating the 2^6 hidden states in numpy: the Jacobian is in it (parameters in data units;
    # the rotation has |det R| = 1)
    hs = ((np.arange(64)[:, None] >> np.arange(6)) & 1).astype(np.float64)
    wh = hs @ W.T
    log_z_np = np.logaddexp.reduce(hs @ b + ((wh ** 2 + 2 * a * wh) * 0.5 * inv_var).sum(1)) \
        + (np.log(s) + 0.5 * np.log(2 * np.pi)).sum()
    z = ok(client.post(f"/v1/models/{model_id}/partition-function", json={"method": "exact"}))
    assert abs(z["log_z"] - log_z_np) < 1e-3


def test_standardize_false_trains_on_raw_values(client, worker):
    ds = _dequantised_digits(client)
    job = train_model(client, worker, ds["id"], model={"visible": "gaussian", "n_hidden": 4, "standardize": False},
                      epochs=2, learning_rate=0.001)
    t = st_load_np(client.get(f"/v1/models/{job['model_id']}/weights").content)
    assert "visible_offset" not in t and "visible_scale" not in t


def test_gaussian_samples_png_is_drawn_in_the_data_units(client, worker):
    ds = _dequantised_digits(client)
    job = train_model(client, worker, ds["id"], model={"visible": "gaussian", "n_hidden": 6}, epochs=2)
    r = client.get(f"/v1/models/{job['model_id']}/samples.png?n=16&steps=20&seed=0&sampler=gibbs")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = np.asarray(Image.open(io.BytesIO(r.content)))
    assert img.std() > 5  # a picture, not a flat grey field


def test_a_standardised_gaussian_job_evaluates_from_its_training_chains_and_stores_them(client, worker, monkeypatch):
    """The final evaluation starts PT from the training's persistent chains, in the data's units
    (before, a standardised model's started from random states, and MNIST's fell into a spurious
    bright mode there), and stores its samples, which the default sampler starts from."""
    import app.worker.kinds.train as train_kind

    seen = {}
    real = train_kind.evaluate_model

    def spy(model, train, test, *, chains, **kw):
        seen["chains"] = chains
        return real(model, train, test, chains=chains, **kw)

    monkeypatch.setattr(train_kind, "evaluate_model", spy)
    ds = _dequantised_digits(client)
    job = train_model(client, worker, ds["id"], model={"visible": "gaussian", "n_hidden": 6}, epochs=3)
    start = seen["chains"]
    assert start is not None and start.shape[1] == 64
    assert 0.0 < float(start.mean()) < 1.0  # the data's units (dequantised pixels in (0, 1)), not z-scores
    t = st_load_np(client.get(f"/v1/models/{job['model_id']}/weights").content)
    chains = t["persistent_chains"]
    assert chains.shape[1] == 64 and np.isfinite(chains).all()
    # data in (0, 1): chains in the data's units sit there too, not at whitened z-scores
    assert -0.5 < chains.mean() < 1.0 and chains.std() < 1.0
