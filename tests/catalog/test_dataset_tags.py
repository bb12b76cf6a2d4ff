"""Datasets carry names and tags (builtin body, upload form), lists filter by them, and an
upload's image_shape form field gives a 2-D array its picture shape."""

from __future__ import annotations

import io

import numpy as np

from tests.api.helpers import error_of, ok


def npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def test_builtin_and_upload_take_name_and_tags_and_lists_filter_by_them(client):
    a = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits", "name": "d-a", "tags": {"team": "vision"}}), 201)
    b = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits", "name": "d-b",
                                                     "tags": {"team": "vision", "run": "2"}}), 201)
    c = ok(client.post("/v1/datasets", files={"file": ("x.npy", npy(np.eye(4)))},
                       data={"name": "up", "tags": "team:audio,run:2"}), 201)
    assert a["tags"] == {"team": "vision"} and c["tags"] == {"team": "audio", "run": "2"}

    def ids(**params) -> list[str]:
        return [d["id"] for d in ok(client.get("/v1/datasets", params=params))["items"]]

    assert ids() == [c["id"], b["id"], a["id"]]  # newest first
    assert ids(tag="team:vision") == [b["id"], a["id"]]
    assert ids(tag=["team:vision", "run:2"]) == [b["id"]]  # repeated: all must match
    assert ids(tag="run:2") == [c["id"], b["id"]]
    assert ids(name="d-a") == [a["id"]]
    assert ids(builtin="digits") == [b["id"], a["id"]]
    assert ids(tag="team:nobody") == []
    assert "key:value" in error_of(client.get("/v1/datasets", params={"tag": "novalue"}), 422)


def test_bad_tags_are_refused_with_what_to_fix(client):
    assert "key:value" in error_of(client.post("/v1/datasets", files={"file": ("x.npy", npy(np.eye(4)))},
                                               data={"tags": "oops"}), 422)
    message = error_of(client.post("/v1/datasets/builtin", json={"builtin": "digits", "tags": {"k": 1}}), 422)
    assert "tags" in message


def test_upload_image_shape_field_is_honoured_for_2d_arrays(client):
    data = np.random.default_rng(0).integers(0, 2, (10, 12))
    ds = ok(client.post("/v1/datasets", files={"file": ("x.npy", npy(data))}, data={"image_shape": "3,4"}), 201)
    assert ds["image_shape"] == [3, 4]
    assert "12 features" in error_of(client.post("/v1/datasets", files={"file": ("x.npy", npy(data))},
                                                 data={"image_shape": "5,5"}), 422)
    assert "two integers" in error_of(client.post("/v1/datasets", files={"file": ("x.npy", npy(data))},
                                                  data={"image_shape": "a,b"}), 422)
