"""POST /v1/models/{id}/features, DBN weights import/export, and the 422 of RBM-only endpoints."""

from __future__ import annotations

import io

import numpy as np
import torch

from app.rbm.dbn import DBN
from app.rbm.dbn_io import dbn_from_safetensors_bytes, dbn_to_safetensors_bytes
from tests.api.helpers import error_of, ok
from tests.rbm.models import random_bb


def _digits(client) -> dict:
    return ok(client.post("/v1/datasets/builtin", json={"builtin": "digits", "params": {"test_fraction": 0.2}}), 201)


def _upload_dbn(client, dbn: DBN, **form) -> dict:
    files = {"file": ("dbn.safetensors", dbn_to_safetensors_bytes(dbn.to(dtype=torch.float32)))}
    return ok(client.post("/v1/models", files=files, data=form), 201)


def test_features_of_a_dbn_match_its_up_pass_and_carry_the_labels(client):
    from sklearn.datasets import load_digits

    ds = _digits(client)
    dbn = DBN([random_bb(64, 12, 0.3, 0), random_bb(12, 5, 0.3, 1)]).to(dtype=torch.float32)
    model = _upload_dbn(client, dbn, image_shape="8,8")
    assert model["kind"] == "dbn" and model["info"] == {"layers": [64, 12, 5]} and model["n_hidden"] == 5

    r = client.post(f"/v1/models/{model['id']}/features", json={"dataset_id": ds["id"], "split": "test"})
    assert r.status_code == 200, r.text
    npz = np.load(io.BytesIO(r.content))
    assert npz["features"].shape == (ds["n_test"], 5) and npz["labels"].shape == (ds["n_test"],)
    # the rows are the digits test split: their labels are digits' labels, their features the up-pass
    x, y = load_digits(return_X_y=True)
    test_rows = (x >= 8).astype(np.float32)
    from app.data.builtin_base import split_indices
    _, test_idx = split_indices(len(x), 0.2, 0)
    np.testing.assert_array_equal(npz["labels"], y[test_idx])
    np.testing.assert_allclose(npz["features"], dbn.up(torch.from_numpy(test_rows[test_idx])).numpy(), atol=1e-6)

    js = ok(client.post(f"/v1/models/{model['id']}/features",
                        json={"dataset_id": ds["id"], "layer": 1, "format": "json", "limit": 7}))
    assert js["layer"] == 1 and np.asarray(js["features"]).shape == (7, 12) and len(js["labels"]) == 7
    raw = ok(client.post(f"/v1/models/{model['id']}/features",
                         json={"dataset_id": ds["id"], "layer": 0, "format": "json", "limit": 3}))
    assert np.asarray(raw["features"]).shape == (3, 64)
    msg = error_of(client.post(f"/v1/models/{model['id']}/features", json={"dataset_id": ds["id"], "layer": 3}), 422)
    assert "between 0" in msg and "2" in msg

    # weights export gives the same DBN back
    back, meta = dbn_from_safetensors_bytes(client.get(f"/v1/models/{model['id']}/weights").content)
    assert meta["kind"] == "dbn" and back.sizes == [64, 12, 5]
    assert all(torch.equal(back.parameters()[k], t) for k, t in dbn.parameters().items())


def test_rbm_only_endpoints_answer_a_clear_422_for_a_dbn(client):
    dbn = DBN([random_bb(6, 4, 0.3, 0), random_bb(4, 3, 0.3, 1)])
    model = _upload_dbn(client, dbn)
    for path, body in [("free-energy", {"data": [[0, 1, 0, 1, 0, 1]]}), ("pseudo-likelihood", {"data": [[0] * 6]}),
                       ("partition-function", {"method": "exact"})]:
        msg = error_of(client.post(f"/v1/models/{model['id']}/{path}", json=body), 422)
        assert "deep belief network" in msg and "/samples" in msg, (path, msg)


def test_features_of_an_unlabelled_dataset_have_no_labels(client):
    bas = ok(client.post("/v1/datasets/builtin", json={"builtin": "bars-and-stripes", "params": {"n": 3}}), 201)
    model = _upload_dbn(client, DBN([random_bb(9, 4, 0.3, 0), random_bb(4, 2, 0.3, 1)]))
    r = client.post(f"/v1/models/{model['id']}/features", json={"dataset_id": bas["id"]})
    npz = np.load(io.BytesIO(r.content))
    assert set(npz.files) == {"features"} and npz["features"].shape == (bas["n_samples"], 2)
    js = ok(client.post(f"/v1/models/{model['id']}/features", json={"dataset_id": bas["id"], "format": "json"}))
    assert js["labels"] is None
