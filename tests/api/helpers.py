"""Small helpers for API tests: make a dataset, train a tiny model, poll a job."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

from app.worker.runner import Worker


def ok(response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def upload_array(client: TestClient, array: np.ndarray, name: str = "arr", filename: str = "data.npy") -> dict:
    buf = io.BytesIO()
    np.save(buf, array)
    return ok(client.post("/v1/datasets", files={"file": (filename, buf.getvalue())}, data={"name": name}), 201)


def digits_dataset(client: TestClient) -> dict:
    return ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)


def train_model(client: TestClient, worker: Worker, dataset_id: str, **training: Any) -> dict:
    """Submit a small job, run it to the end on the test worker, return the finished job."""
    model = training.pop("model", {"n_hidden": 8})
    body = {"dataset_id": dataset_id, "model": model, "training": {"epochs": 2, "seed": 3, **training}}
    job = ok(client.post("/v1/jobs", json=body), 202)
    worker.run_until_idle()
    job = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert job["status"] == "succeeded", job
    return job


def error_of(response, status: int) -> str:
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return body["error"]["message"]
