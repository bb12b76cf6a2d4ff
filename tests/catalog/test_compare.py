"""Jobs found and compared: a trained model inherits its job's name and tags; job and model lists
filter by dataset, kind, status, name and tag; /v1/jobs/compare puts options and final metrics
side by side; curves.png?ids= overlays several jobs; reconstructions.png of a model whose data
was deleted says that ?dataset_id= helps."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from tests.api.helpers import error_of, ok


def submit(client, dataset_id: str, name: str, lr: float, tags: dict[str, str]) -> dict:
    return ok(client.post("/v1/jobs", json={"dataset_id": dataset_id, "name": name, "tags": tags,
                                            "model": {"n_hidden": 8},
                                            "training": {"epochs": 2, "learning_rate": lr, "seed": 1}}), 202)


def test_find_compare_and_overlay(client, worker):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    other = ok(client.post("/v1/datasets/builtin", json={"builtin": "bars-and-stripes"}), 201)
    a = submit(client, ds["id"], "lr-0.1", 0.1, {"team": "vision", "sweep": "s1"})
    b = submit(client, ds["id"], "lr-0.01", 0.01, {"team": "vision", "sweep": "s1"})
    c = ok(client.post("/v1/jobs", json={"dataset_id": other["id"], "model": {"n_hidden": 4},
                                         "training": {"epochs": 1}}), 202)
    worker.run_until_idle()
    jobs = {j["id"]: j for j in ok(client.get("/v1/jobs"))["items"]}
    assert [j for j in jobs] == [c["id"], b["id"], a["id"]]  # newest first
    model_a = ok(client.get(f"/v1/models/{jobs[a['id']]['model_id']}"))
    assert model_a["name"] == "lr-0.1" and model_a["tags"] == {"team": "vision", "sweep": "s1"}  # inherited

    def job_ids(**params) -> list[str]:
        return [j["id"] for j in ok(client.get("/v1/jobs", params=params))["items"]]

    def model_jobs(**params) -> list[str]:
        return [m["job_id"] for m in ok(client.get("/v1/models", params=params))["items"]]

    assert job_ids(dataset_id=ds["id"]) == [b["id"], a["id"]]
    assert job_ids(tag="team:vision", name="lr-0.01") == [b["id"]]
    assert job_ids(kind="train", status="succeeded") == [c["id"], b["id"], a["id"]]
    assert job_ids(kind="estimate") == []
    assert model_jobs(dataset_id=ds["id"]) == [b["id"], a["id"]]
    assert model_jobs(tag="sweep:s1", name="lr-0.1") == [a["id"]]
    assert model_jobs(job_id=c["id"]) == [c["id"]]

    cmp = ok(client.get("/v1/jobs/compare", params={"ids": f"{a['id']},{b['id']}"}))
    assert [j["id"] for j in cmp["jobs"]] == [a["id"], b["id"]]
    assert cmp["options"]["training.learning_rate"] == [0.1, 0.01]
    assert cmp["options"]["model.n_hidden"] == [8, 8]
    assert "training.learning_rate" in cmp["differing"] and "model.n_hidden" not in cmp["differing"]
    last = {j: jobs[j]["metrics"][-1]["reconstruction_error"] for j in (a["id"], b["id"])}
    assert cmp["metrics"]["reconstruction_error"] == [last[a["id"]], last[b["id"]]]
    assert "does not exist" in error_of(client.get("/v1/jobs/compare", params={"ids": f"{a['id']},nope"}), 404)
    assert "RBM_COMPARE_MAX_JOBS" in error_of(client.get("/v1/jobs/compare", params={"ids": ",".join(
        f"{i:032x}" for i in range(51))}), 422)

    single = Image.open(io.BytesIO(client.get(f"/v1/jobs/{a['id']}/curves.png").content))
    overlay = client.get(f"/v1/jobs/{a['id']}/curves.png", params={"ids": f"{b['id']},{c['id']}"})
    assert overlay.status_code == 200 and overlay.headers["content-type"] == "image/png"
    picture = np.asarray(Image.open(io.BytesIO(overlay.content)).convert("RGB"))
    # matplotlib's first three colours (C0 blue, C1 orange, C2 green) all appear: three runs drawn
    for rgb in ((31, 119, 180), (255, 127, 14), (44, 160, 44)):
        assert (np.abs(picture.astype(int) - rgb).sum(axis=2) < 30).sum() > 50, rgb
    assert single.size[0] > 0


def test_reconstructions_of_a_model_whose_data_is_gone_say_dataset_id_helps(client, worker):
    ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    job = ok(client.post("/v1/jobs", json={"dataset_id": ds["id"], "model": {"n_hidden": 4},
                                           "training": {"epochs": 1}}), 202)
    worker.run_until_idle()
    model = ok(client.get(f"/v1/jobs/{job['id']}"))["model_id"]
    ok(client.delete(f"/v1/datasets/{ds['id']}"), 204)
    message = error_of(client.get(f"/v1/models/{model}/reconstructions.png"), 404)
    assert "?dataset_id=" in message and "64 features" in message
    again = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits"}), 201)
    shown = client.get(f"/v1/models/{model}/reconstructions.png", params={"dataset_id": again["id"]})
    assert shown.status_code == 200
