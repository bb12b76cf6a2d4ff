"""Issue 15 items 2 and 5: answers bounded by rows x width (RBM_MAX_ANSWER_VALUES) before any
work, binary answers (.npy and raw float32 + X-Shape) equal to an independent numpy computation,
steps=0 still counted, uploaded models held to the trained models' limits, and extreme
parameters refused at upload instead of answered with nulls."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from safetensors.torch import save as save_tensors

from tests.api.helpers import error_of, ok

V, H = 6, 4


def _weights(visible_type: str = "bernoulli", v: int = V, h: int = H, seed: int = 0, **override) -> bytes:
    g = torch.Generator().manual_seed(seed)
    tensors = {"weight": torch.randn(v, h, generator=g) * 0.5, "visible_bias": torch.randn(v, generator=g) * 0.1,
               "hidden_bias": torch.randn(h, generator=g) * 0.1}
    if visible_type == "gaussian":
        tensors["visible_log_sigma"] = torch.zeros(v)
    tensors.update(override)
    return save_tensors(tensors, metadata={"visible_type": visible_type})


def _upload(client, content: bytes):
    return client.post("/v1/models", files={"file": ("m.safetensors", content)})


def _model(client) -> tuple[str, dict[str, np.ndarray]]:
    content = _weights()
    model_id = ok(_upload(client, content), 201)["id"]
    from safetensors.numpy import load
    return model_id, load(content)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def test_hidden_and_reconstruct_binary_answers_match_numpy(client):
    model_id, w = _model(client)
    v = (np.random.default_rng(1).random((5, V)) < 0.5).astype(np.float32)
    expected_h = _sigmoid(v.astype(np.float64) @ w["weight"] + w["hidden_bias"])
    expected_r = _sigmoid(expected_h @ w["weight"].T + w["visible_bias"])
    for route, expected in (("hidden", expected_h), ("reconstruct", expected_r)):
        js = ok(client.post(f"/v1/models/{model_id}/{route}", json={"data": v.tolist()}))
        np.testing.assert_allclose(np.array(next(iter(js.values()))), expected, rtol=1e-5, atol=1e-6)
        r = client.post(f"/v1/models/{model_id}/{route}", json={"data": v.tolist()},
                        headers={"accept": "application/x-npy"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/x-npy"
        arr = np.load(io.BytesIO(r.content))
        assert arr.dtype == np.float32 and arr.shape == expected.shape
        np.testing.assert_allclose(arr, expected, rtol=1e-5, atol=1e-6)
        r = client.post(f"/v1/models/{model_id}/{route}", json={"data": v.tolist()},
                        headers={"accept": "application/octet-stream"})
        assert r.headers["x-shape"] == f"{expected.shape[0]},{expected.shape[1]}"
        raw = np.frombuffer(r.content, dtype="<f4").reshape(expected.shape)
        np.testing.assert_allclose(raw, expected, rtol=1e-5, atol=1e-6)


def test_samples_binary_answer_equals_the_json_answer(client):
    model_id, _ = _model(client)
    body = {"n_samples": 7, "steps": 5, "seed": 3, "sampler": "gibbs", "return_hidden": True}
    js = ok(client.post(f"/v1/models/{model_id}/samples", json=body))
    r = client.post(f"/v1/models/{model_id}/samples", json=body, headers={"accept": "application/x-npy"})
    assert r.status_code == 200, r.text
    arr = np.load(io.BytesIO(r.content))
    meta = json.loads(r.headers["x-rbm-meta"])
    assert meta["seed"] == 3 and meta["columns"] == {"samples": V, "hidden": H}
    np.testing.assert_array_equal(arr[:, :V], np.array(js["samples"], dtype=np.float32))
    np.testing.assert_array_equal(arr[:, V:], np.array(js["hidden"], dtype=np.float32))


def test_answers_over_the_size_limit_are_413_before_any_work(ctx, client):
    model_id, _ = _model(client)
    ctx.settings.max_answer_values = 100
    message = error_of(client.post(f"/v1/models/{model_id}/hidden", json={"data": [[0] * V] * 26}), 413)
    assert "26 x 4" in message and "RBM_MAX_ANSWER_VALUES" in message
    message = error_of(client.post(f"/v1/models/{model_id}/reconstruct", json={"data": [[0] * V] * 17}), 413)
    assert "RBM_MAX_ANSWER_VALUES" in message
    # steps=0 used to skip the budget entirely
    message = error_of(client.post(f"/v1/models/{model_id}/samples", json={"n_samples": 17, "steps": 0}), 413)
    assert "17 x 6" in message and "RBM_MAX_ANSWER_VALUES" in message
    ok(client.post(f"/v1/models/{model_id}/samples", json={"n_samples": 16, "steps": 0, "seed": 1}))


def test_steps_zero_still_counts_as_sampling_work(ctx, client):
    model_id, _ = _model(client)
    ctx.settings.max_sampling_work = 50
    message = error_of(client.post(f"/v1/models/{model_id}/samples", json={"n_samples": 10, "steps": 0}), 413)
    assert "RBM_MAX_SAMPLING_WORK" in message


@pytest.mark.parametrize("v,h,setting", [(12, 2, "RBM_MAX_FEATURES"), (2, 12, "RBM_MAX_HIDDEN"),
                                         (10, 10, "RBM_MAX_MODEL_PARAMETERS")])
def test_uploaded_models_obey_the_trained_models_limits(ctx, client, v, h, setting):
    ctx.settings.max_features, ctx.settings.max_hidden, ctx.settings.max_model_parameters = 10, 10, 99
    message = error_of(_upload(client, _weights(v=v, h=h)), 422)
    assert setting in message


@pytest.mark.parametrize("visible_type,override,name", [
    ("gaussian", {"visible_log_sigma": torch.full((V,), -200.0)}, "visible_log_sigma"),
    ("gaussian", {"visible_log_sigma": torch.full((V,), 200.0)}, "visible_log_sigma"),
    ("bernoulli", {"weight": torch.full((V, H), 3e38)}, "weight"),
])
def test_extreme_parameters_are_refused_at_upload_with_the_reason(client, visible_type, override, name):
    message = error_of(_upload(client, _weights(visible_type, **override)), 422)
    assert name in message and "float32" in message
