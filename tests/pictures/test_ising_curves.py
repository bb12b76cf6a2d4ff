"""GET /v1/ising/curves.png: models trained on Ising data at several temperatures against the
exact curves; the points are the models' own sample statistics."""

from __future__ import annotations

import numpy as np

from app.physics.observables import ising_observables
from app.pictures import service
from tests.api.helpers import error_of, ok, train_model
from tests.pictures.grid import decode_png


def ising_model(client, worker, T: float, L: int = 4) -> dict:
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "ising", "params": {"L": L, "T": T, "n_samples": 200}}), 201)
    return ok(client.get(f"/v1/models/{train_model(client, worker, ds['id'], epochs=2, model={'n_hidden': 6})['model_id']}"))


def test_one_temperature_is_not_a_curve(client, worker):
    ising_model(client, worker, 2.0)
    assert "two or more temperatures" in error_of(client.get("/v1/ising/curves.png"), 422)


def test_curves_png_from_models_at_two_temperatures(client, worker, ctx):
    older = ising_model(client, worker, 2.0)
    newest = ising_model(client, worker, 2.0)
    hot = ising_model(client, worker, 3.0)

    with ctx.db.session() as session:
        groups = service.ising_models(session, None)
        assert {m.row.id for m in groups[4]} == {newest["id"], hot["id"]}, "newest model per (L, T)"
        assert older["id"] not in {m.row.id for m in groups[4]}
        points = service.ising_points(ctx, session, None, n=50, steps=20, seed=3)
    by_t = {p.T: p for p in points[4]}
    samples = ok(client.post(f"/v1/models/{hot['id']}/samples", json={"n_samples": 50, "steps": 20, "seed": 3}))["samples"]
    expected = ising_observables(np.array(samples, dtype=np.int8), 4, 3.0)
    assert by_t[3.0].energy == expected["energy_per_site"] and by_t[3.0].heat == expected["specific_heat_per_site"]

    response = client.get("/v1/ising/curves.png", params={"n": 50, "steps": 20})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert decode_png(response.content).shape == (420, 1100)
    assert "L=8" in error_of(client.get("/v1/ising/curves.png", params={"L": 8}), 422)


def test_total_sampling_work_is_limited(client, worker, settings):
    ising_model(client, worker, 2.0)
    ising_model(client, worker, 3.0)
    settings.max_sampling_work = 1000
    assert "RBM_MAX_SAMPLING_WORK" in error_of(client.get("/v1/ising/curves.png", params={"n": 100, "steps": 100}), 422)
