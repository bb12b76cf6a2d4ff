"""Picture endpoints through HTTP: each PNG shows what the matching JSON endpoint computes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.api.helpers import digits_dataset, error_of, ok, train_model
from tests.pictures.grid import cells


@pytest.fixture
def digits_job(client, worker) -> dict:
    return train_model(client, worker, digits_dataset(client)["id"], epochs=3, validation_fraction=0.1,
                       model={"n_hidden": 12})


def test_samples_png_shows_the_sampling_service_draw(client, digits_job):
    model = digits_job["model_id"]
    response = client.get(f"/v1/models/{model}/samples.png", params={"n": 9, "steps": 30, "seed": 5})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    expected = ok(client.post(f"/v1/models/{model}/samples", json={"n_samples": 9, "steps": 30, "seed": 5}))
    np.testing.assert_array_equal(cells(response.content, 9, 8, 8).reshape(9, 64), np.array(expected["samples"]))
    again = client.get(f"/v1/models/{model}/samples.png", params={"n": 9, "steps": 30, "seed": 5})
    assert again.content == response.content


def test_samples_png_honours_the_sampling_limits(client, digits_job, settings):
    model = digits_job["model_id"]
    message = error_of(client.get(f"/v1/models/{model}/samples.png", params={"steps": settings.max_sampling_steps + 1}), 413)
    assert "RBM_MAX_SAMPLING_STEPS" in message
    assert "n" in error_of(client.get(f"/v1/models/{model}/samples.png", params={"n": 0}), 422)
    error_of(client.get(f"/v1/models/{model}/samples.png", params={"sampler": "magic"}), 422)
    error_of(client.get("/v1/models/nope/samples.png"), 404)


def test_model_without_image_shape_gets_a_clear_422(client, digits_job):
    weights = client.get(f"/v1/models/{digits_job['model_id']}/weights").content
    bare = ok(client.post("/v1/models", files={"file": ("w.safetensors", weights)}), 201)
    assert bare["image_shape"] is None
    for picture in ("samples.png", "filters.png", "reconstructions.png"):
        assert "no image shape" in error_of(client.get(f"/v1/models/{bare['id']}/{picture}"), 422)


def test_filters_png_shows_each_hidden_units_weights_normalised(client, digits_job):
    from safetensors.numpy import load

    model = digits_job["model_id"]
    weight = load(client.get(f"/v1/models/{model}/weights").content)["weight"]  # [64, 12]
    got = cells(ok_png(client.get(f"/v1/models/{model}/filters.png")), 12, 8, 8).reshape(12, 64)
    expected = (weight.T - weight.T.min(axis=1, keepdims=True)) / np.ptp(weight.T, axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=1 / 255 + 1e-6)
    assert cells(ok_png(client.get(f"/v1/models/{model}/filters.png", params={"n": 4})), 4, 8, 8).shape == (4, 8, 8)


def test_reconstructions_png_pairs_rows_with_their_reconstruction(client, digits_job):
    model = digits_job["model_id"]
    got = cells(ok_png(client.get(f"/v1/models/{model}/reconstructions.png", params={"n": 4, "seed": 2})),
                8, 8, 8, ncols=8).reshape(8, 64)
    data, shown = got[0::2], got[1::2]
    assert set(np.unique(data)) <= {0.0, 1.0}, "left cells are binary data rows"
    expected = np.array(ok(client.post(f"/v1/models/{model}/reconstruct", json={"data": data.tolist()}))["reconstruction"])
    np.testing.assert_allclose(shown, expected, atol=1 / 255 + 1e-6)
    assert "test split" in error_of(client.get(f"/v1/models/{model}/reconstructions.png", params={"split": "test"}), 422)


def test_curves_png_for_a_finished_job_and_409_before_any_epoch(client, digits_job):
    assert len(ok_png(client.get(f"/v1/jobs/{digits_job['id']}/curves.png"))) > 1000
    queued = ok(client.post("/v1/jobs", json={"dataset_id": digits_job["dataset_id"], "model": {"n_hidden": 4}}), 202)
    assert "no finished epoch" in error_of(client.get(f"/v1/jobs/{queued['id']}/curves.png"), 409)
    error_of(client.get("/v1/jobs/nope/curves.png"), 404)


def ok_png(response) -> bytes:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return response.content
