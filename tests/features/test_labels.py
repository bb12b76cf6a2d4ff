"""Labels on datasets: built-ins keep theirs, uploads may carry them; they never change the features."""

from __future__ import annotations

import io

import numpy as np

from tests.api.helpers import error_of, ok


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_builtin_digits_and_uploads_report_their_labels(client):
    digits = ok(client.post("/v1/datasets/builtin", json={"builtin": "digits", "params": {"test_fraction": 0.2}}), 201)
    assert digits["has_labels"] is True and digits["n_classes"] == 10
    bas = ok(client.post("/v1/datasets/builtin", json={"builtin": "bars-and-stripes"}), 201)
    assert bas["has_labels"] is False and bas["n_classes"] is None

    rng = np.random.default_rng(0)
    x = (rng.random((50, 6)) < 0.5).astype(np.float32)
    y = rng.integers(0, 3, 50)
    ds = ok(client.post("/v1/datasets", files={"file": ("d.npz", _npz(train=x, y=y))}), 201)
    assert ds["has_labels"] is True and ds["n_classes"] == 3 and ds["n_features"] == 6
    assert ds["value_type"] == "binary"
    assert ok(client.get(f"/v1/datasets/{ds['id']}"))["has_labels"] is True
    assert "y" not in (ds["info"].get("ignored_arrays") or [])

    plain = ok(client.post("/v1/datasets", files={"file": ("d.npz", _npz(train=x))}), 201)
    assert plain["has_labels"] is False

    # a CSV with a label column: the column leaves the features
    rows = "\n".join(",".join([*(str(int(v)) for v in r), str(int(c))]) for r, c in zip(x, y))
    csv = "a,b,c,d,e,f,cls\n" + rows + "\n"
    ds = ok(client.post("/v1/datasets", files={"file": ("d.csv", csv.encode())}, data={"label_column": "cls"}), 201)
    assert ds["n_features"] == 6 and ds["n_classes"] == 3 and ds["value_type"] == "binary"
    assert ds["info"]["feature_names"] == list("abcdef")


def test_bad_labels_are_a_422_that_says_what_to_fix(client):
    x = np.zeros((10, 4), np.float32)
    msg = error_of(client.post("/v1/datasets", files={"file": ("d.npz", _npz(train=x, y=np.arange(9)))}), 422)
    assert "9 entries" in msg and "10 rows" in msg
    msg = error_of(client.post("/v1/datasets", files={"file": ("d.npz", _npz(train=x, y=np.full(10, -1)))}), 422)
    assert "class indices" in msg
    msg = error_of(client.post("/v1/datasets", files={"file": ("d.csv", b"a,b\n1,0\n0,1\n")},
                               data={"label_column": "c"}), 422)
    assert "not a column" in msg
    msg = error_of(client.post("/v1/datasets", files={"file": ("d.npz", _npz(train=x, test=x, y=np.zeros(10)))}), 422)
    assert "y_test" in msg
