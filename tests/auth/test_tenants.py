"""Issue 15 item 9: two tenants, each with a train key, cannot read, list, cancel, delete or train
on each other's objects. Every route of the OpenAPI document is called with tenant B's key on
tenant A's objects (and their ids in bodies and queries); A's ids never appear in an answer to B.
Admin keys see everything; job event streams show worker host:pid only to admin keys."""

from __future__ import annotations

import re

import pytest

from app.auth.keys import create_key
from tests.api.helpers import ok

SCOPES = ["read", "train", "infer"]
ROW = [[0, 1] * 32]  # one digits-sized vector


def _key(ctx, scopes, tenant=None) -> dict[str, str]:
    with ctx.db.session() as session:
        _, key = create_key(session, scopes, tenant=tenant)
    return {"authorization": f"Bearer {key}"}


@pytest.fixture
def world(client, ctx, worker):
    a, b, admin = _key(ctx, SCOPES, "tenant-a"), _key(ctx, SCOPES, "tenant-b"), _key(ctx, ["admin"])
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}, headers=a), 201)["id"]
    job = ok(client.post("/v1/jobs", json={"dataset_id": ds, "model": {"n_hidden": 4},
                                           "training": {"epochs": 1, "seed": 1}}, headers=a), 202)["id"]
    worker.run_until_idle()
    model = ok(client.get(f"/v1/jobs/{job}", headers=a))["model_id"]
    assert model
    sweep = ok(client.post("/v1/sweeps", json={"base": {"dataset_id": ds, "model": {"n_hidden": 4},
                                                        "training": {"epochs": 1}},
                                               "grid": {"training.learning_rate": [0.01, 0.02]}}, headers=a), 202)["id"]
    return {"a": a, "b": b, "admin": admin, "ids": {"dataset_id": ds, "job_id": job, "model_id": model,
                                                      "sweep_id": sweep}}


BODIES = {
    "/v1/models/{model_id}/samples": {"n_samples": 2, "steps": 1, "seed": 1},
    "/v1/models/{model_id}/partition-function": {"method": "ais", "n_runs": 2, "n_betas": 10},
    "/v1/models/{model_id}/log-likelihood": {"data": ROW, "method": "ais", "n_runs": 2, "n_betas": 10},
    "/v1/models/{model_id}/kl-divergence": {"probabilities": [1.0]},
    "/v1/models/{model_id}/ising-observables": {"L": 8, "T": 2.0, "n_samples": 2},
    "/v1/models/{model_id}/features": {"dataset_id": "{dataset_id}"},
    "/v1/models/{model_id}/energy": {"n_samples": 10},
    "/v1/jobs/{job_id}/cancel": None,
    "/v1/sweeps/{sweep_id}/cancel": None,
    "/v1/models/{model_id}": {"name": "renamed"},
}
OPEN_ROUTES = {"/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json"}


def _call(client, method: str, path: str, ids: dict[str, str], headers: dict[str, str]):
    params = re.findall(r"{(\w+)}", path)
    unknown = [p for p in params if p not in ids]
    assert not unknown, f"{method} {path}: add an owned object for {unknown} to this test"
    url = path.format(**ids)
    query = {"ids": ids["job_id"]} if path == "/v1/jobs/compare" else None
    if method == "get":
        return client.get(url, params=query, headers=headers)
    if method == "delete":
        return client.delete(url, headers=headers)
    if path == "/v1/jobs":
        body = {"dataset_id": ids["dataset_id"], "model": {"n_hidden": 4}}
    elif path == "/v1/sweeps":
        body = {"base": {"dataset_id": ids["dataset_id"], "model": {"n_hidden": 4}},
                "grid": {"training.epochs": [1]}}
    elif path in ("/v1/datasets", "/v1/models"):
        return client.post(url, files={"file": ("x.csv", b"0,1\n")}, headers=headers)
    elif path == "/v1/datasets/builtin":
        body = {"builtin": "bars-and-stripes"}
    else:
        body = BODIES.get(path, {"data": ROW})
        if isinstance(body, dict):
            body = {k: (v.format(**ids) if isinstance(v, str) else v) for k, v in body.items()}
    return client.request(method.upper(), url, json=body, headers=headers)


def test_every_route_keeps_tenants_apart(client, world):
    ids, a, b = world["ids"], world["a"], world["b"]
    paths = client.app.openapi()["paths"]
    refused, checked = [], 0
    for path, ops in paths.items():
        if path in OPEN_ROUTES:
            continue
        for method in ops:
            r = _call(client, method, path, ids, b)
            checked += 1
            assert r.status_code < 500, f"{method.upper()} {path}: {r.status_code} {r.text[:300]}"
            # an error may echo the id B sent; an answer must not carry any of A's ids
            text = r.text if r.status_code < 300 and ("json" in r.headers.get("content-type", "") or
                                                     "event-stream" in r.headers.get("content-type", "")) else ""
            leaked = [name for name, value in ids.items() if value in text]
            assert not leaked, f"{method.upper()} {path} showed tenant A's {leaked} to tenant B: {text[:300]}"
            owns_path = bool(re.search(r"{\w+}", path))
            if owns_path:
                assert r.status_code in (403, 404), f"{method.upper()} {path} with B's key: {r.status_code} {r.text[:200]}"
                refused.append((method, path))
            elif method == "post" and path in ("/v1/jobs", "/v1/sweeps"):
                assert r.status_code in (404, 422), f"{method.upper()} {path} on A's dataset: {r.status_code} {r.text}"
    assert checked > 30 and len(refused) > 20
    # A still owns everything B touched, and sees it; B sees nothing of A's in its lists
    for kind, plural in (("dataset_id", "datasets"), ("job_id", "jobs"), ("model_id", "models"),
                         ("sweep_id", "sweeps")):
        ok(client.get(f"/v1/{plural}/{ids[kind]}", headers=a))
        assert ids[kind] in client.get(f"/v1/{plural}", headers=a).text
        assert ids[kind] in client.get(f"/v1/{plural}", headers=world["admin"]).text
        assert ids[kind] not in client.get(f"/v1/{plural}", headers=b).text
    assert ok(client.get(f"/v1/models/{ids['model_id']}", headers=a))["name"] != "renamed"


def test_a_key_of_the_same_tenant_shares_and_b_cannot_cancel(client, ctx, world):
    ids = world["ids"]
    a2 = _key(ctx, SCOPES, "tenant-a")
    ok(client.get(f"/v1/datasets/{ids['dataset_id']}", headers=a2))
    job = ok(client.post("/v1/jobs", json={"dataset_id": ids["dataset_id"], "model": {"n_hidden": 4}},
                         headers=a2), 202)["id"]
    assert client.post(f"/v1/jobs/{job}/cancel", headers=world["b"]).status_code == 404
    assert ok(client.get(f"/v1/jobs/{job}", headers=world["a"]))["status"] == "queued"
    assert ok(client.post(f"/v1/jobs/{job}/cancel", headers=world["a"]))["status"] == "cancelled"


def test_event_streams_show_worker_host_only_to_admin(client, world):
    job = world["ids"]["job_id"]
    own = client.get(f"/v1/jobs/{job}/events", headers=world["a"]).text
    assert '"status":"running"' in own and "owner" not in own
    assert '"owner"' in client.get(f"/v1/jobs/{job}/events", headers=world["admin"]).text


def test_default_tenant_of_a_key_is_its_own(client, ctx, world):
    lone = _key(ctx, SCOPES)
    assert world["ids"]["dataset_id"] not in client.get("/v1/datasets", headers=lone).text
    mine = ok(client.post("/v1/datasets/builtin", json={"builtin": "bars-and-stripes"}, headers=lone), 201)["id"]
    assert client.get(f"/v1/datasets/{mine}", headers=world["a"]).status_code == 404
