"""Every limit in app.core.settings refuses with 413/422/429 and a message naming its setting
(the ones tests/api does not already cover, plus the per-key job quota)."""

from __future__ import annotations

import numpy as np

from app.auth.keys import create_key
from tests.api.helpers import digits_dataset, error_of, ok, train_model, upload_array


def test_max_concurrent_jobs_per_key_is_429_and_frees_up(client, ctx):
    ctx.settings.max_concurrent_jobs_per_key = 2
    with ctx.db.session() as s:
        auth = {"Authorization": f"Bearer {create_key(s, ['train', 'read'], tenant='t')[1]}"}
        other = {"Authorization": f"Bearer {create_key(s, ['train'], tenant='t')[1]}"}  # same tenant, own quota
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}, headers=auth), 201)
    body = {"dataset_id": ds["id"], "model": {"n_hidden": 4}}
    ids = [ok(client.post("/v1/jobs", json=body, headers=auth), 202)["id"] for _ in range(2)]
    r = client.post("/v1/jobs", json=body, headers=auth)
    message = error_of(r, 429)
    assert "limit is 2" in message and "RBM_MAX_CONCURRENT_JOBS_PER_KEY" in message
    ok(client.post("/v1/jobs", json=body, headers=other), 202)  # the quota is per key
    ok(client.post(f"/v1/jobs/{ids[0]}/cancel", headers=auth))
    ok(client.post("/v1/jobs", json=body, headers=auth), 202)


def _row_and_feature_messages(client, ctx) -> list[str]:
    ctx.settings.max_dataset_rows = 10
    rows = error_of(client.post("/v1/datasets", files={"file": ("d.npy", _npy(np.zeros((11, 3))))}), 422)
    ctx.settings.max_features = 2
    cols = error_of(client.post("/v1/datasets", files={"file": ("d.npy", _npy(np.zeros((5, 3))))}), 422)
    return [rows, cols]


def test_max_dataset_rows_and_features_are_422(client, ctx):
    rows, cols = _row_and_feature_messages(client, ctx)
    assert "at most 10" in rows and "at most 2" in cols


def test_max_dataset_rows_and_features_name_their_setting(client, ctx):
    rows, cols = _row_and_feature_messages(client, ctx)
    assert "RBM_MAX_DATASET_ROWS" in rows and "RBM_MAX_FEATURES" in cols


def test_max_epochs(client, ctx):
    ctx.settings.max_epochs = 5
    ds = digits_dataset(client)
    msg = error_of(client.post("/v1/jobs", json={"dataset_id": ds["id"], "model": {"n_hidden": 4},
                                                 "training": {"epochs": 6}}), 422)
    assert "RBM_MAX_EPOCHS" in msg


def test_max_vectors_per_request_and_kl_max_visible(client, ctx, worker):
    job = train_model(client, worker, digits_dataset(client)["id"])
    ctx.settings.max_vectors_per_request = 3
    msg = error_of(client.post(f"/v1/models/{job['model_id']}/free-energy", json={"data": [[0] * 64] * 4}), 413)
    assert "RBM_MAX_VECTORS_PER_REQUEST" in msg
    msg = error_of(client.post(f"/v1/models/{job['model_id']}/kl-divergence", json={}), 422)
    assert "RBM_KL_MAX_VISIBLE" in msg


def test_model_upload_over_max_upload_bytes(client, ctx):
    ctx.settings.max_upload_bytes = 100
    r = client.post("/v1/models", files={"file": ("w.safetensors", b"x" * 101)})
    assert "RBM_MAX_UPLOAD_BYTES" in error_of(r, 413)


def _npy(a: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, a.astype(np.float32))
    return buf.getvalue()


def test_upload_array_helper_still_fine(client):
    assert upload_array(client, np.eye(3, dtype=np.float32))["n_samples"] == 3
