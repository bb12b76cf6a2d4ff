"""Idempotency-Key: same key + same request replays the first response; another request with the
key is a 409; keys are per API key; the record is in the database, so another process replays it."""

from __future__ import annotations

import io

import numpy as np
from fastapi.testclient import TestClient

from app.auth.keys import create_key
from app.core.context import ServiceContext
from app.main import create_app
from tests.api.helpers import digits_dataset, error_of, ok, train_model


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def job_body(dataset_id: str, epochs: int = 2) -> dict:
    return {"dataset_id": dataset_id, "model": {"n_hidden": 4}, "training": {"epochs": epochs}}


def test_job_submission_replays_and_conflicts(client):
    ds = digits_dataset(client)
    first = client.post("/v1/jobs", json=job_body(ds["id"]), headers={"Idempotency-Key": "k1"})
    again = client.post("/v1/jobs", json=job_body(ds["id"]), headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len(ok(client.get("/v1/jobs"))["items"]) == 1
    msg = error_of(client.post("/v1/jobs", json=job_body(ds["id"], 3), headers={"Idempotency-Key": "k1"}), 409)
    assert "k1" in msg and "different request" in msg
    # same JSON, keys in another order: the same request
    reordered = {"training": {"epochs": 2}, "model": {"n_hidden": 4}, "dataset_id": ds["id"]}
    assert client.post("/v1/jobs", json=reordered, headers={"Idempotency-Key": "k1"}).json() == first.json()
    # the same key on another route is another request
    error_of(client.post("/v1/datasets/builtin", json={"builtin": "digits"}, headers={"Idempotency-Key": "k1"}), 409)


def test_uploads_replay_despite_a_new_multipart_boundary(client):
    content = npy(np.eye(4, dtype=np.float32))
    first = client.post("/v1/datasets", files={"file": ("a.npy", content)}, data={"name": "a"},
                        headers={"Idempotency-Key": "up"})
    again = client.post("/v1/datasets", files={"file": ("a.npy", content)}, data={"name": "a"},
                        headers={"Idempotency-Key": "up"})
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert len(ok(client.get("/v1/datasets"))["items"]) == 1
    other = client.post("/v1/datasets", files={"file": ("a.npy", npy(np.zeros((4, 4), np.float32)))},
                        data={"name": "a"}, headers={"Idempotency-Key": "up"})
    assert "different request" in error_of(other, 409)


def test_model_upload_replays(client, worker):
    job = train_model(client, worker, digits_dataset(client)["id"])
    weights = client.get(f"/v1/models/{job['model_id']}/weights").content
    responses = [client.post("/v1/models", files={"file": ("w.safetensors", weights)}, headers={"Idempotency-Key": "m"})
                 for _ in range(2)]
    assert [r.status_code for r in responses] == [201, 201] and responses[0].json() == responses[1].json()
    assert len(ok(client.get("/v1/models"))["items"]) == 2  # the trained one + one upload


def test_a_refused_request_does_not_use_up_its_key(client):
    ds = digits_dataset(client)
    bad = {"dataset_id": ds["id"], "model": {"n_hidden": 0}}
    error_of(client.post("/v1/jobs", json=bad, headers={"Idempotency-Key": "retry-me"}), 422)
    ok(client.post("/v1/jobs", json=job_body(ds["id"]), headers={"Idempotency-Key": "retry-me"}), 202)


def test_keys_are_per_api_key(client, ctx):
    with ctx.db.session() as s:
        keys = [create_key(s, ["train", "read"], tenant="shared")[1] for _ in range(2)]  # one tenant: one dataset
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"},
                        headers={"Authorization": f"Bearer {keys[0]}"}), 201)
    ids = {ok(client.post("/v1/jobs", json=job_body(ds["id"]),
                          headers={"Authorization": f"Bearer {k}", "Idempotency-Key": "shared"}), 202)["id"]
           for k in keys}
    assert len(ids) == 2


def test_another_process_replays_the_first_response(client, settings):
    ds = digits_dataset(client)
    first = ok(client.post("/v1/jobs", json=job_body(ds["id"]), headers={"Idempotency-Key": "x"}), 202)
    other_ctx = ServiceContext.from_settings(settings)  # its own engine: as good as another process
    try:
        with TestClient(create_app(context=other_ctx)) as other:
            again = other.post("/v1/jobs", json=job_body(ds["id"]), headers={"Idempotency-Key": "x"})
            assert again.status_code == 202 and again.json() == first
    finally:
        other_ctx.close()


def test_key_longer_than_200_is_422(client):
    ds = digits_dataset(client)
    error_of(client.post("/v1/jobs", json=job_body(ds["id"]), headers={"Idempotency-Key": "k" * 201}), 422)
