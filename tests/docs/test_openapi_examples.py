"""Every POST route's OpenAPI example, sent as Swagger UI's "Try it out" would send it, in the
README's order (a digits data set, a job, then queries on its 64-unit model) to a fresh server,
answers 2xx. Ids in paths come from that flow; an example body's id placeholder is replaced by
the id the README's step made, as the example says to do by hand. A new POST route without a
working example fails here."""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pytest

from app.apidocs.examples import DATASET_PLACEHOLDER, MODEL_PLACEHOLDER
from tests.api.helpers import ok

# routes whose example needs a model other than the README's digits model, and why
SMALL_MODEL_ROUTES = {"kl_divergence"}  # enumerates 2^V states: the bars-and-stripes n=2 model (4 units)


def _resolve(spec: dict, schema: dict) -> dict:
    return spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema


def json_examples(spec: dict, operation: dict) -> list[Any]:
    """The bodies Swagger UI offers: the media type's example, else the schema's first example;
    for a union (POST /v1/jobs: one spec per kind) the first example of every member."""
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if media is None:
        return []
    if "example" in media:
        return [media["example"]]
    schema = _resolve(spec, media.get("schema", {}))
    members = [_resolve(spec, m) for m in schema.get("oneOf", schema.get("anyOf", []))] or [schema]
    return [m["examples"][0] for m in members if m.get("examples")]


def form_example(spec: dict, operation: dict) -> dict[str, str]:
    """The multipart form fields' examples (the file is added by the caller)."""
    media = operation["requestBody"]["content"]["multipart/form-data"]
    schema = spec["components"]["schemas"][media["schema"]["$ref"].rsplit("/", 1)[-1]]
    fields = {}
    for name, prop in schema.get("properties", {}).items():
        examples = prop.get("examples") or [e for alt in prop.get("anyOf", []) for e in alt.get("examples", [])]
        if examples and prop.get("format") != "binary":
            fields[name] = examples[0] if isinstance(examples[0], str) else str(examples[0])
    return fields


def substitute(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [substitute(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, ids) for k, v in value.items()}
    return value


def post_operations(spec: dict) -> list[tuple[str, dict]]:
    return [(path, ops["post"]) for path, ops in spec["paths"].items() if "post" in ops]


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


@pytest.mark.slow
def test_every_post_example_answers_2xx_in_readme_order(client, worker):
    spec = ok(client.get("/openapi.json"))
    operations = {op["operationId"]: (path, op) for path, op in post_operations(spec)}

    def send(op_id: str, path_ids: dict[str, str], ids: dict[str, str], file: tuple[str, bytes] | None = None):
        path, op = operations.pop(op_id)
        url = re.sub(r"\{(\w+)\}", lambda m: path_ids[m.group(1)], path)
        if file is not None:
            answers = [client.post(url, files={"file": file}, data=form_example(spec, op))]
        else:
            bodies = json_examples(spec, op)
            if not bodies and op.get("requestBody", {}).get("required"):
                pytest.fail(f"POST {path} ({op_id}) has a required body but no example")
            answers = [client.post(url, json=substitute(body, ids)) for body in bodies] or [client.post(url)]
        for body, response in zip(json_examples(spec, op) or [None], answers):
            assert 200 <= response.status_code < 300, \
                f"POST {path} with its example {body}: {response.status_code} {response.text[:500]}"
        first = answers[0]
        return first.json() if first.headers.get("content-type", "").startswith("application/json") else None

    # README walkthrough: 1. a digits data set, 2. a job on it, 3. its model
    dataset = send("create_builtin_dataset", {}, {})
    ids = {DATASET_PLACEHOLDER: dataset["id"]}
    job = ok(client.post("/v1/jobs", json=substitute(json_examples(spec, operations["submit_job"][1])[0], ids)), 202)
    worker.run_until_idle()
    job = ok(client.get(f"/v1/jobs/{job['id']}"))
    assert job["status"] == "succeeded", job
    model_ids = {"model_id": job["model_id"], "job_id": job["id"]}
    ids[MODEL_PLACEHOLDER] = job["model_id"]
    send("submit_job", {}, ids)  # every kind's example (train again, estimate on that model, ...)
    worker.run_until_idle()
    for finished in ok(client.get("/v1/jobs"))["items"]:
        assert finished["status"] == "succeeded", finished

    # the README's "upload your own data" and "import weights" (a file of the right kind plus the example fields)
    send("upload_dataset", {}, ids, file=("data.npy", npy(np.random.default_rng(0).integers(0, 2, (20, 64)))))
    send("upload_model", {}, ids, file=("w.safetensors", client.get(f"/v1/models/{job['model_id']}/weights").content))

    # a 4-unit model for what enumerates all 2^V states (the KL example says so)
    small_ds = ok(client.post("/v1/datasets/builtin", json={"builtin": "bars-and-stripes", "params": {"n": 2}}), 201)
    small = ok(client.post("/v1/jobs", json={"dataset_id": small_ds["id"], "model": {"n_hidden": 4},
                                             "training": {"epochs": 2}}), 202)
    worker.run_until_idle()
    small_ids = {"model_id": ok(client.get(f"/v1/jobs/{small['id']}"))["model_id"], "job_id": small["id"]}

    # routes of another model kind (tag wavefunctions: /energy, /log-psi) use the model its job example made
    by_kind = {m["kind"]: m["id"] for m in reversed(ok(client.get("/v1/models"))["items"])}
    for op_id, (path, op) in sorted(operations.items()):
        if "{model_id}" in path or "{job_id}" in path:
            path_ids = small_ids if op_id in SMALL_MODEL_ROUTES else model_ids
            if "wavefunctions" in op.get("tags", []):
                assert "wavefunction" in by_kind, f"{op_id}: no job example made a wavefunction model"
                path_ids = {**model_ids, "model_id": by_kind["wavefunction"]}
            send(op_id, path_ids, ids)

    # the README's sweeps section: a sweep from its example, then cancelled (its jobs need not run here)
    sweep = send("create_sweep", {}, ids)
    send("cancel_sweep", {"sweep_id": sweep["id"]}, ids)
    assert not operations, f"POST routes this test does not know how to reach: {sorted(operations)}"
