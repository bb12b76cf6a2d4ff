"""A DBN through the model endpoints: samples, pictures, hidden/reconstruct at a layer, and the
log-likelihood answered as a variational lower bound below the exact value."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from app.rbm.dbn import DBN
from app.rbm.dbn_io import dbn_to_safetensors_bytes
from tests.api.helpers import error_of, ok
from tests.rbm.models import random_bb
from tests.rbm.reference import states
from tests.rbm.test_dbn import _np_dbn_log_prob


def _upload(client, dbn: DBN, **form) -> dict:
    files = {"file": ("dbn.safetensors", dbn_to_safetensors_bytes(dbn))}
    return ok(client.post("/v1/models", files=files, data=form), 201)


def test_dbn_queries(client):
    dbn = DBN([random_bb(9, 6, 1.0, 0), random_bb(6, 4, 1.0, 1)]).to(dtype=torch.float32)
    m = _upload(client, dbn, image_shape="3,3")
    mid = m["id"]
    v = states(9)[[0, 5, 100, 511]].tolist()

    s = ok(client.post(f"/v1/models/{mid}/samples", json={"n_samples": 5, "steps": 20, "seed": 1, "sampler": "gibbs"}))
    x = np.asarray(s["samples"])
    assert x.shape == (5, 9) and set(np.unique(x)) <= {0.0, 1.0} and s["sampler"] == "gibbs"
    pt = ok(client.post(f"/v1/models/{mid}/samples", json={"n_samples": 4, "steps": 10, "seed": 1, "sampler": "pt",
                                                           "n_replicas": 4}))
    assert np.asarray(pt["samples"]).shape == (4, 9) and pt["betas"]
    from_vectors = ok(client.post(f"/v1/models/{mid}/samples", json={"n_samples": 2, "steps": 1, "seed": 2,
                                                                     "sampler": "gibbs", "init": "vectors",
                                                                     "vectors": v[:2]}))
    assert np.asarray(from_vectors["samples"]).shape == (2, 9)
    assert "chains" in error_of(client.post(f"/v1/models/{mid}/samples", json={"init": "chains"}), 422)

    h1 = ok(client.post(f"/v1/models/{mid}/hidden", json={"data": v, "layer": 1}))["probabilities"]
    top = ok(client.post(f"/v1/models/{mid}/hidden", json={"data": v}))["probabilities"]
    t = torch.tensor(v, dtype=torch.float32)
    np.testing.assert_allclose(h1, dbn.up(t, 1).numpy(), atol=1e-6)
    np.testing.assert_allclose(top, dbn.up(t).numpy(), atol=1e-6)
    rec = ok(client.post(f"/v1/models/{mid}/reconstruct", json={"data": v, "layer": 2}))["reconstruction"]
    np.testing.assert_allclose(rec, dbn.reconstruct(t).numpy(), atol=1e-6)
    assert "between 0" in error_of(client.post(f"/v1/models/{mid}/hidden", json={"data": v, "layer": 5}), 422)

    ll = ok(client.post(f"/v1/models/{mid}/log-likelihood", json={"data": v, "method": "exact", "seed": 0}))
    assert ll["method"] == "variational lower bound, exact log Z of the top RBM"
    exact = _np_dbn_log_prob(dbn.to(dtype=torch.float64), np.asarray(v))
    bound, err = np.asarray(ll["log_likelihood"]), np.asarray(ll["bound_std"])
    assert np.all(bound <= exact + 4 * err + 1e-6), (bound, exact, err)

    for path in ("samples.png?n=4&steps=5&seed=0&sampler=gibbs", "filters.png?n=6"):
        r = client.get(f"/v1/models/{mid}/{path}")
        assert r.status_code == 200, r.text
        assert Image.open(io.BytesIO(r.content)).size[0] > 0
    bas = ok(client.post("/v1/datasets/builtin", json={"builtin": "bars-and-stripes", "params": {"n": 3}}), 201)
    r = client.get(f"/v1/models/{mid}/reconstructions.png?n=4&dataset_id={bas['id']}")
    assert r.status_code == 200, r.text


def test_rbm_hidden_takes_layer_1_only(client):
    from app.rbm.io import to_safetensors_bytes

    rbm = random_bb(4, 3, 1.0, 0).to(dtype=torch.float32)
    m = ok(client.post("/v1/models", files={"file": ("m.safetensors", to_safetensors_bytes(rbm))}), 201)
    ok(client.post(f"/v1/models/{m['id']}/hidden", json={"data": [[0, 1, 0, 1]], "layer": 1}))
    assert "one hidden layer" in error_of(client.post(f"/v1/models/{m['id']}/hidden",
                                                      json={"data": [[0, 1, 0, 1]], "layer": 2}), 422)
