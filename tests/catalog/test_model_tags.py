"""Models: tags on upload, PATCH for name and tags, list filters (name, tag, kind, source,
dataset_id, job_id), newest first."""

from __future__ import annotations

import torch

from app.rbm.io import to_safetensors_bytes
from app.rbm.model import BernoulliRBM
from tests.api.helpers import error_of, ok


def weights(n_visible: int = 4, n_hidden: int = 2) -> bytes:
    return to_safetensors_bytes(BernoulliRBM(torch.zeros(n_visible, n_hidden), torch.zeros(n_visible),
                                             torch.zeros(n_hidden)))


def upload(client, **form: str) -> dict:
    return ok(client.post("/v1/models", files={"file": ("w.safetensors", weights())}, data=form), 201)


def test_uploaded_models_take_tags_patch_and_filters(client):
    a = upload(client, name="a", tags='{"team": "vision"}')
    b = upload(client, name="b", tags="team:audio")
    assert a["tags"] == {"team": "vision"} and a["kind"] == "rbm"

    def ids(**params) -> list[str]:
        return [m["id"] for m in ok(client.get("/v1/models", params=params))["items"]]

    assert ids() == [b["id"], a["id"]]
    assert ids(tag="team:vision") == [a["id"]]
    assert ids(name="b") == [b["id"]]
    assert ids(kind="rbm", source="upload") == [b["id"], a["id"]]
    assert ids(kind="dbn") == []
    assert ids(job_id="0" * 32) == [] and ids(dataset_id="0" * 32) == []

    renamed = ok(client.patch(f"/v1/models/{a['id']}", json={"name": "best", "tags": {"stage": "prod"}}))
    assert renamed["name"] == "best" and renamed["tags"] == {"stage": "prod"}
    only_tags = ok(client.patch(f"/v1/models/{a['id']}", json={"tags": {"stage": "old"}}))
    assert only_tags["name"] == "best"  # left out: unchanged
    assert ids(tag="stage:old") == [a["id"]] and ids(tag="team:vision") == []
    error_of(client.patch("/v1/models/" + "0" * 32, json={"name": "x"}), 404)
    error_of(client.patch(f"/v1/models/{a['id']}", json={"colour": "red"}), 422)
